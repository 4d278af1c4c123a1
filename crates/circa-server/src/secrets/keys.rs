//! The keyring: the keys that seal secrets at rest, read from a key file.
//!
//! A key file holds one key per line, each 32 random bytes in standard base64 (what
//! `head -c 32 /dev/urandom | base64` prints); blank lines and lines starting with `#` are
//! ignored. The **last** key is the current one (new values are sealed with it); the others
//! only open values sealed before a rotation finished. A key's id is derived from the key
//! (the first 16 hex digits of a SHA-256 over a label and the key), so a stored value names
//! its key without the key file having to say anything more.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::SecretError;

/// The length of a key in bytes.
pub const KEY_BYTES: usize = 32;

/// One key and its id.
#[derive(Clone)]
pub struct Key {
    id: String,
    bytes: Zeroizing<[u8; KEY_BYTES]>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(b"circa secret key id\0");
        hasher.update(bytes);
        let id = hex::encode(&hasher.finalize()[..8]);
        Key {
            id,
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A new random key.
    pub fn generate() -> Key {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Key::from_bytes(bytes)
    }

    /// Its id (16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its bytes.
    pub(super) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.bytes
    }

    /// A secret for one purpose (`label`), derived from this key (HMAC-SHA256): every server
    /// with the same key file derives the same one.
    pub fn derive(&self, label: &str) -> Zeroizing<Vec<u8>> {
        use hmac::{Hmac, KeyInit, Mac};
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.bytes[..]) else {
            // HMAC takes a key of any length.
            return Zeroizing::new(Sha256::digest(label.as_bytes()).to_vec());
        };
        mac.update(b"circa derived secret\0");
        mac.update(label.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().to_vec())
    }

    /// Its line in a key file.
    fn line(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(*self.bytes)
    }
}

/// The keys, oldest first; the last is current. Never empty.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl Keyring {
    /// A keyring of one key.
    pub fn single(key: Key) -> Keyring {
        Keyring { keys: vec![key] }
    }

    /// Reads a key file's text; `what` names the file in errors.
    pub fn parse(text: &str, what: &str) -> Result<Keyring, SecretError> {
        let mut keys: Vec<Key> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| SecretError::KeyFile {
                path: what.to_string(),
                message: format!("line {}: {why}", n + 1),
            };
            let decoded = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(line)
                    .map_err(|_| bad("not base64"))?,
            );
            let bytes: [u8; KEY_BYTES] = decoded
                .as_slice()
                .try_into()
                .map_err(|_| bad(&format!("a key must be {KEY_BYTES} bytes")))?;
            let key = Key::from_bytes(bytes);
            keys.retain(|k| k.id != key.id);
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(SecretError::KeyFile {
                path: what.to_string(),
                message: "holds no key".to_string(),
            });
        }
        Ok(Keyring { keys })
    }

    /// The key file's text for these keys.
    pub fn to_text(&self) -> String {
        let mut text = String::from(
            "# Circa's secret keys, one per line (base64 of 32 bytes); the last one is current.\n",
        );
        for key in &self.keys {
            text.push_str(&key.line());
            text.push('\n');
        }
        text
    }

    /// The key new values are sealed with.
    pub fn current(&self) -> &Key {
        // `keys` is never empty: every constructor puts a key in.
        &self.keys[self.keys.len() - 1]
    }

    /// The key with this id.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The ids of every key, oldest first.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// Adds `key` as the current key (the older ones stay until [`Keyring::retire_old`]).
    pub fn push(&mut self, key: Key) {
        self.keys.retain(|k| k.id != key.id);
        self.keys.push(key);
    }

    /// Drops every key but the current one.
    pub fn retire_old(&mut self) {
        let current = self.current().clone();
        self.keys = vec![current];
    }
}

/// Where the keyring lives and whether Circa may rewrite it.
#[derive(Clone, Debug)]
pub struct KeyFile {
    /// The file.
    pub path: PathBuf,
}

impl KeyFile {
    /// Reads the keyring; when the file does not exist and `create` is set, makes it with
    /// one new key (mode 0600).
    pub fn load(&self, create: bool) -> Result<Keyring, SecretError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                check_private(&self.path)?;
                Keyring::parse(&text, &self.path.display().to_string())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let ring = Keyring::single(Key::generate());
                self.save(&ring)?;
                Ok(ring)
            }
            Err(e) => Err(SecretError::KeyFile {
                path: self.path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Writes the keyring (mode 0600, replacing the file at once).
    pub fn save(&self, ring: &Keyring) -> Result<(), SecretError> {
        crate::serve::write_private(&self.path, ring.to_text().as_bytes()).map_err(|e| {
            SecretError::KeyFile {
                path: self.path.display().to_string(),
                message: e.to_string(),
            }
        })
    }
}

/// Refuses a key file others may read (like ssh and garage refuse such secrets).
fn check_private(path: &Path) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| SecretError::KeyFile {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(SecretError::KeyFile {
            path: path.display().to_string(),
            message: "group or others may read it; make it private (chmod 600)".to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_key_file_round_trips_and_the_last_key_is_current() {
        let mut ring = Keyring::single(Key::generate());
        let first = ring.current().id().to_string();
        ring.push(Key::generate());
        let text = ring.to_text();
        let back = Keyring::parse(&text, "f").unwrap();
        assert_eq!(back.ids(), ring.ids());
        assert_ne!(back.current().id(), first);
        assert!(back.get(&first).is_some());
        let mut retired = back.clone();
        retired.retire_old();
        assert_eq!(retired.ids(), vec![back.current().id().to_string()]);
        assert_eq!(back.current().id().len(), 16);
    }

    #[test]
    fn bad_key_files_are_refused_with_the_line() {
        let e = Keyring::parse("# c\n\nnot-base64!\n", "keys").unwrap_err();
        assert!(
            e.to_string().contains("keys") && e.to_string().contains("line 3"),
            "{e}"
        );
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        let e = Keyring::parse(&short, "keys").unwrap_err();
        assert!(e.to_string().contains("32 bytes"), "{e}");
        assert!(Keyring::parse("# only a comment\n", "keys").is_err());
    }

    #[test]
    fn a_missing_file_is_created_private_and_a_readable_one_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = KeyFile {
            path: dir.path().join("secret.keys"),
        };
        let ring = file.load(true).unwrap();
        let mode = std::fs::metadata(&file.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(file.load(false).unwrap().ids(), ring.ids());
        std::fs::set_permissions(&file.path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            file.load(false)
                .unwrap_err()
                .to_string()
                .contains("chmod 600")
        );
        let missing = KeyFile {
            path: dir.path().join("nope"),
        };
        assert!(missing.load(false).is_err());
    }
}
