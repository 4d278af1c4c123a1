//! Passwords: Argon2id PHC strings, hashed and checked on a blocking thread; the admin's first
//! password, made at first start.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};

use crate::auth;
use crate::serve::{ADMIN_LOGIN, StartError, write_private};
use crate::state::AppState;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password with Argon2id and a random salt (blocking: call it off the async threads).
pub fn hash_blocking(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches a PHC string (blocking).
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Hashes a password on a blocking thread.
pub async fn hash(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

/// Checks a password on a blocking thread. With no stored hash it still spends the time of
/// one check, so a missing user is not told apart by timing.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            let _ = hash_blocking(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Gives the `admin` user a random password when it has none (first start), saved in
/// `DATA/admin.password` (mode 0600). Returns the password when it was made now.
pub async fn ensure_admin_password(state: &AppState) -> Result<Option<String>, StartError> {
    let Some(admin) = state.store.user_by_login(ADMIN_LOGIN).await? else {
        return Ok(None);
    };
    if admin.password_hash.is_some() {
        return Ok(None);
    }
    let password = auth::new_token("")[..24].to_string();
    let phc = hash(password.clone()).await.map_err(|e| StartError::Io {
        what: "hashing the admin password".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    // Written aside first: the password is set only if no other replica starting at the same
    // time set one, and then the file takes its name (a crash in between leaves no password
    // set, and the next start makes one).
    let path = state.config.data_dir.join("admin.password");
    let pending = state.config.data_dir.join("admin.password.new");
    write_private(&pending, format!("{password}\n").as_bytes())?;
    if !state.store.set_first_password(&admin.id, &phc).await? {
        let _ = std::fs::remove_file(&pending);
        return Ok(None);
    }
    std::fs::rename(&pending, &path).map_err(|source| StartError::Io {
        what: format!("naming {}", path.display()),
        source,
    })?;
    Ok(Some(password))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_hash_checks_its_password_only() {
        let phc = hash_blocking("correct horse battery").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_blocking("correct horse battery", &phc));
        assert!(!verify_blocking("wrong horse battery", &phc));
        assert!(!verify_blocking(
            "correct horse battery",
            "not a phc string"
        ));
    }
}
