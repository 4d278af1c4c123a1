//! Continuation keys of setup workflows: `PIPELINE_ID.HMAC`, made from a server secret, so the
//! key need not be stored (only its hash is).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The continuation key of a pipeline.
pub fn key_for(secret: &[u8], pipeline_id: &str) -> String {
    let mac = Hmac::<Sha256>::new_from_slice(secret)
        .map(|mut m| {
            m.update(b"continuation:");
            m.update(pipeline_id.as_bytes());
            hex::encode(m.finalize().into_bytes())
        })
        .unwrap_or_default();
    format!("{pipeline_id}.{mac}")
}

/// The pipeline a continuation key names.
pub fn pipeline_of(key: &str) -> Option<&str> {
    key.split_once('.')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_pipeline_and_depends_on_the_secret() {
        let a = key_for(b"secret-a", "p1");
        assert_eq!(pipeline_of(&a), Some("p1"));
        assert_ne!(a, key_for(b"secret-b", "p1"));
        assert_eq!(a, key_for(b"secret-a", "p1"));
    }
}
