//! Sealing values: XChaCha20-Poly1305 with a random 24-byte nonce, and the value's owner and
//! name as associated data, so a sealed value cannot be moved to another variable unnoticed.
//!
//! Sealed text: `v1:` then base64 of nonce ‖ ciphertext ‖ tag. The key's id is stored beside
//! it (see [`circa_store::SealedValue`]).

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use circa_store::{EnvOwner, SealedValue};
use rand::RngCore;
use zeroize::Zeroizing;

use super::SecretError;
use super::keys::{Key, Keyring};

const PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 24;

/// The associated data of a variable: what it belongs to and its name.
fn aad(owner: &EnvOwner, name: &str) -> Vec<u8> {
    let mut aad = b"circa env var v1\0".to_vec();
    aad.extend_from_slice(owner.kind().as_bytes());
    aad.push(0);
    aad.extend_from_slice(owner.id().as_bytes());
    aad.push(0);
    aad.extend_from_slice(name.as_bytes());
    aad
}

fn cipher(key: &Key) -> Result<XChaCha20Poly1305, SecretError> {
    XChaCha20Poly1305::new_from_slice(key.bytes()).map_err(|_| SecretError::Crypto)
}

/// Seals `value` of the variable `owner`/`name` with `key`.
pub fn seal_with(
    key: &Key,
    owner: &EnvOwner,
    name: &str,
    value: &str,
) -> Result<SealedValue, SecretError> {
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    let aad = aad(owner, name);
    let ciphertext = cipher(key)?
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: value.as_bytes(),
                aad: &aad,
            },
        )
        .map_err(|_| SecretError::Crypto)?;
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&ciphertext);
    Ok(SealedValue {
        key_id: key.id().to_string(),
        sealed: format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        ),
    })
}

/// Seals with the keyring's current key.
pub fn seal(
    ring: &Keyring,
    owner: &EnvOwner,
    name: &str,
    value: &str,
) -> Result<SealedValue, SecretError> {
    seal_with(ring.current(), owner, name, value)
}

/// Opens a sealed value of `owner`/`name`: [`SecretError::UnknownKey`] when no key has its
/// id, [`SecretError::Tampered`] when it does not authenticate (changed, moved, wrong key).
pub fn open(
    ring: &Keyring,
    owner: &EnvOwner,
    name: &str,
    sealed: &SealedValue,
) -> Result<Zeroizing<String>, SecretError> {
    let key = ring
        .get(&sealed.key_id)
        .ok_or_else(|| SecretError::UnknownKey(sealed.key_id.clone()))?;
    let tampered = || SecretError::Tampered {
        name: name.to_string(),
    };
    let body = sealed.sealed.strip_prefix(PREFIX).ok_or_else(tampered)?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(body)
        .map_err(|_| tampered())?;
    if bytes.len() < NONCE_BYTES {
        return Err(tampered());
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| tampered())?;
    let aad = aad(owner, name);
    let plain = Zeroizing::new(
        cipher(key)?
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| tampered())?,
    );
    let text = std::str::from_utf8(&plain).map_err(|_| tampered())?;
    Ok(Zeroizing::new(text.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn owner() -> EnvOwner {
        EnvOwner::Project("p1".into())
    }

    #[test]
    fn a_value_round_trips_and_is_not_stored_in_clear() {
        let ring = Keyring::single(Key::generate());
        let sealed = seal(&ring, &owner(), "TOKEN", "hunter2-very-secret").unwrap();
        assert_eq!(sealed.key_id, ring.current().id());
        assert!(!sealed.sealed.contains("hunter2"));
        let again = seal(&ring, &owner(), "TOKEN", "hunter2-very-secret").unwrap();
        assert_ne!(sealed.sealed, again.sealed, "a fresh nonce every time");
        let opened = open(&ring, &owner(), "TOKEN", &sealed).unwrap();
        assert_eq!(opened.as_str(), "hunter2-very-secret");
    }

    #[test]
    fn a_tampered_value_is_an_error() {
        let ring = Keyring::single(Key::generate());
        let sealed = seal(&ring, &owner(), "TOKEN", "value-1234").unwrap();
        // Flip one character of the ciphertext.
        let mut chars: Vec<char> = sealed.sealed.chars().collect();
        let i = chars.len() - 3;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let changed = SealedValue {
            key_id: sealed.key_id.clone(),
            sealed: chars.into_iter().collect(),
        };
        assert!(matches!(
            open(&ring, &owner(), "TOKEN", &changed),
            Err(SecretError::Tampered { .. })
        ));
        for broken in ["", "v1:", "v2:abcd", "v1:!!!!", "v1:AAAA"] {
            let bad = SealedValue {
                key_id: sealed.key_id.clone(),
                sealed: broken.into(),
            };
            assert!(matches!(
                open(&ring, &owner(), "TOKEN", &bad),
                Err(SecretError::Tampered { .. })
            ));
        }
    }

    #[test]
    fn a_value_moved_to_another_variable_does_not_open() {
        let ring = Keyring::single(Key::generate());
        let sealed = seal(&ring, &owner(), "TOKEN", "value-1234").unwrap();
        assert!(open(&ring, &owner(), "OTHER", &sealed).is_err());
        assert!(open(&ring, &EnvOwner::Project("p2".into()), "TOKEN", &sealed).is_err());
        assert!(open(&ring, &EnvOwner::Context("p1".into()), "TOKEN", &sealed).is_err());
    }

    #[test]
    fn wrong_or_unknown_key_ids_are_errors() {
        let ring = Keyring::single(Key::generate());
        let other = Keyring::single(Key::generate());
        let sealed = seal(&ring, &owner(), "TOKEN", "value-1234").unwrap();
        assert!(matches!(
            open(&other, &owner(), "TOKEN", &sealed),
            Err(SecretError::UnknownKey(id)) if id == sealed.key_id
        ));
        // A value claiming another key's id does not open with that key.
        let mut both = ring.clone();
        both.push(other.current().clone());
        let relabelled = SealedValue {
            key_id: other.current().id().to_string(),
            sealed: sealed.sealed.clone(),
        };
        assert!(matches!(
            open(&both, &owner(), "TOKEN", &relabelled),
            Err(SecretError::Tampered { .. })
        ));
        // After a rotation the old key still opens old values until it is retired.
        assert_eq!(
            open(&both, &owner(), "TOKEN", &sealed).unwrap().as_str(),
            "value-1234"
        );
    }
}
