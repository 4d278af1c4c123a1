//! Webhook authentication, each forge its own way; every comparison is constant-time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Forge, Headers, WebhookError};

const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
const BITBUCKET_SIGNATURE: &str = "X-Hub-Signature";
const GITEA_SIGNATURE: &str = "X-Gitea-Signature";
const FORGEJO_SIGNATURE: &str = "X-Forgejo-Signature";
const GITLAB_TOKEN: &str = "X-Gitlab-Token";

/// Verifies the request the forge's way; constant-time comparisons.
///
/// - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>` (the SHA-1
///   `X-Hub-Signature` is not accepted).
/// - GitLab: `X-Gitlab-Token` equals the secret (GitLab sends the token itself, not a
///   signature; both sides are hashed before the comparison so that their lengths do not leak).
/// - Gitea / Forgejo: `X-Gitea-Signature` and/or `X-Forgejo-Signature: <hex HMAC-SHA256>`; each
///   one present must match, and one at least must be present.
/// - Bitbucket (Cloud, and Server / Data Center): `X-Hub-Signature: sha256=<hex HMAC-SHA256>`.
///
/// An empty `secret` is refused ([`WebhookError::NoSecret`]): it would let anyone in.
pub fn verify(
    forge: Forge,
    headers: &Headers<'_>,
    body: &[u8],
    secret: &str,
) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    match forge {
        Forge::GitHub => check_hmac(headers, GITHUB_SIGNATURE, "sha256=", body, secret),
        Forge::Bitbucket => check_hmac(headers, BITBUCKET_SIGNATURE, "sha256=", body, secret),
        Forge::Gitea => {
            let present: Vec<&'static str> = [FORGEJO_SIGNATURE, GITEA_SIGNATURE]
                .into_iter()
                .filter(|h| headers.contains(h))
                .collect();
            if present.is_empty() {
                return Err(WebhookError::MissingSignature {
                    header: GITEA_SIGNATURE,
                });
            }
            present
                .into_iter()
                .try_for_each(|h| check_hmac(headers, h, "", body, secret))
        }
        Forge::GitLab => {
            let token = headers
                .get(GITLAB_TOKEN)
                .ok_or(WebhookError::MissingSignature {
                    header: GITLAB_TOKEN,
                })?;
            let given = Sha256::digest(token.as_bytes());
            let expected = Sha256::digest(secret.as_bytes());
            if bool::from(given.as_slice().ct_eq(expected.as_slice())) {
                Ok(())
            } else {
                Err(WebhookError::BadSignature {
                    header: GITLAB_TOKEN,
                })
            }
        }
    }
}

/// Checks `header: <prefix><hex HMAC-SHA256(secret, body)>`.
fn check_hmac(
    headers: &Headers<'_>,
    header: &'static str,
    prefix: &str,
    body: &[u8],
    secret: &str,
) -> Result<(), WebhookError> {
    let value = headers
        .get(header)
        .ok_or(WebhookError::MissingSignature { header })?;
    let bad = WebhookError::BadSignature { header };
    let hex_digest = value.strip_prefix(prefix).ok_or_else(|| bad.clone())?;
    let given = hex::decode(hex_digest).map_err(|_| bad.clone())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| bad.clone())?;
    mac.update(body);
    // `verify_slice` compares in constant time (and refuses a tag of the wrong length).
    mac.verify_slice(&given).map_err(|_| bad)
}

/// `hex(HMAC-SHA256(secret, body))`, for tests that sign payloads.
#[cfg(test)]
pub(super) fn sign(secret: &str, body: &[u8]) -> String {
    #![allow(clippy::unwrap_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all_payloads, read};
    use super::*;

    const SECRET: &str = "It's a Secret to Everybody";

    /// The headers a forge sends for `body` signed with `secret`.
    fn signed(forge: Forge, secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let sig = sign(secret, body);
        match forge {
            Forge::GitHub => vec![
                ("X-GitHub-Event", "push".into()),
                ("X-Hub-Signature-256", format!("sha256={sig}")),
            ],
            Forge::Bitbucket => vec![
                ("X-Event-Key", "repo:push".into()),
                ("X-Hub-Signature", format!("sha256={sig}")),
            ],
            Forge::Gitea => vec![
                ("X-Gitea-Event", "push".into()),
                ("X-Gitea-Signature", sig.clone()),
                ("X-Forgejo-Signature", sig),
            ],
            Forge::GitLab => vec![
                ("X-Gitlab-Event", "Push Hook".into()),
                ("X-Gitlab-Token", secret.into()),
            ],
        }
    }

    fn check(
        forge: Forge,
        headers: &[(&'static str, String)],
        body: &[u8],
        secret: &str,
    ) -> Result<(), WebhookError> {
        let h: Headers<'_> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        verify(forge, &h, body, secret)
    }

    #[test]
    fn github_documented_test_vector() {
        // GitHub's "Validating webhook deliveries" example: secret "It's a Secret to
        // Everybody", payload "Hello, World!".
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let h = Headers::from_pairs(&[("X-Hub-Signature-256", sig)]);
        assert_eq!(verify(Forge::GitHub, &h, b"Hello, World!", SECRET), Ok(()));
    }

    #[test]
    fn every_payload_signed_verifies_and_tampering_fails() {
        for (forge, path) in all_payloads() {
            let body = read(&path);
            let headers = signed(forge, SECRET, &body);
            assert_eq!(check(forge, &headers, &body, SECRET), Ok(()), "{path}");

            // A flipped byte in the body.
            let mut flipped = body.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0x01;
            let r = check(forge, &headers, &flipped, SECRET);
            if forge == Forge::GitLab {
                // A token does not cover the body.
                assert_eq!(r, Ok(()));
            } else {
                let err = r.unwrap_err();
                assert!(
                    matches!(err, WebhookError::BadSignature { .. }) && err.is_unauthorized(),
                    "{path}: {err:?}"
                );
            }

            // Wrong secret.
            let err = check(forge, &headers, &body, "another secret").unwrap_err();
            assert!(matches!(err, WebhookError::BadSignature { .. }), "{path}");

            // A flipped hex digit in the signature.
            let tampered: Vec<_> = headers
                .iter()
                .map(|(n, v)| {
                    if n.contains("Signature") || n.contains("Token") {
                        let mut v = v.clone().into_bytes();
                        let last = v.len() - 1;
                        v[last] = if v[last] == b'0' { b'1' } else { b'0' };
                        (*n, String::from_utf8(v).unwrap())
                    } else {
                        (*n, v.clone())
                    }
                })
                .collect();
            let err = check(forge, &tampered, &body, SECRET).unwrap_err();
            assert!(matches!(err, WebhookError::BadSignature { .. }), "{path}");

            // No signature header.
            let bare: Vec<_> = headers
                .iter()
                .filter(|(n, _)| !n.contains("Signature") && !n.contains("Token"))
                .cloned()
                .collect();
            let err = check(forge, &bare, &body, SECRET).unwrap_err();
            assert!(
                matches!(err, WebhookError::MissingSignature { .. }) && err.is_unauthorized(),
                "{path}: {err:?}"
            );
        }
    }

    #[test]
    fn gitlab_token() {
        let ok = [("X-Gitlab-Token", SECRET.to_owned())];
        assert_eq!(check(Forge::GitLab, &ok, b"{}", SECRET), Ok(()));
        let wrong = [("x-gitlab-token", "It's a Secret to Everybod".to_owned())];
        assert_eq!(
            check(Forge::GitLab, &wrong, b"{}", SECRET),
            Err(WebhookError::BadSignature {
                header: GITLAB_TOKEN
            })
        );
        let err = check(Forge::GitLab, &ok, b"{}", "other").unwrap_err();
        assert!(err.is_unauthorized());
        assert_eq!(
            check(Forge::GitLab, &[], b"{}", SECRET),
            Err(WebhookError::MissingSignature {
                header: GITLAB_TOKEN
            })
        );
    }

    #[test]
    fn signature_formats() {
        let body = b"{\"a\":1}";
        let sig = sign(SECRET, body);
        let upper = sig.to_uppercase();
        let cases: [(Forge, &'static str, String, bool); 8] = [
            (
                Forge::GitHub,
                "X-Hub-Signature-256",
                format!("sha256={sig}"),
                true,
            ),
            (
                Forge::GitHub,
                "x-hub-signature-256",
                format!(" sha256={upper} "),
                true,
            ),
            (Forge::GitHub, "X-Hub-Signature-256", sig.clone(), false),
            (
                Forge::GitHub,
                "X-Hub-Signature-256",
                format!("sha1={sig}"),
                false,
            ),
            (
                Forge::GitHub,
                "X-Hub-Signature-256",
                "sha256=zz".into(),
                false,
            ),
            (
                Forge::Bitbucket,
                "X-Hub-Signature",
                format!("sha256={}", &sig[..40]),
                false,
            ),
            (
                Forge::Gitea,
                "X-Gitea-Signature",
                format!("sha256={sig}"),
                false,
            ),
            (Forge::Gitea, "X-Forgejo-Signature", sig.clone(), true),
        ];
        for (forge, header, value, ok) in cases {
            let r = check(forge, &[(header, value.clone())], body, SECRET);
            assert_eq!(r.is_ok(), ok, "{forge} {header}: {value} → {r:?}");
        }
        // Gitea: a bad Forgejo signature beside a good Gitea one fails.
        let both = [
            ("X-Gitea-Signature", sig.clone()),
            ("X-Forgejo-Signature", "00".repeat(32)),
        ];
        assert!(check(Forge::Gitea, &both, body, SECRET).is_err());
    }

    #[test]
    fn empty_secret_is_refused() {
        let body = b"{}";
        for forge in [Forge::GitHub, Forge::GitLab, Forge::Gitea, Forge::Bitbucket] {
            let headers = signed(forge, "", body);
            let err = check(forge, &headers, body, "").unwrap_err();
            assert_eq!(err, WebhookError::NoSecret);
            assert!(err.is_unauthorized());
        }
    }
}
