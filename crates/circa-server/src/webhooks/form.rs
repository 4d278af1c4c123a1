//! Form-encoded deliveries: GitHub (and Gitea) can send `Content-Type:
//! application/x-www-form-urlencoded` with the JSON in a `payload` field. The signature covers
//! the raw body as sent, so this runs after [`super::verify`], on the way to the parser.

use std::borrow::Cow;

use super::{Headers, WebhookError};

/// The content type of a form-encoded delivery.
const FORM: &str = "application/x-www-form-urlencoded";

/// Whether the request says its body is form-encoded.
fn is_form(headers: &Headers<'_>) -> bool {
    headers.get("Content-Type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(FORM))
    })
}

/// The JSON of a delivery: the body itself, or a form-encoded body's `payload` field.
pub fn json_payload<'b>(
    headers: &Headers<'_>,
    body: &'b [u8],
) -> Result<Cow<'b, [u8]>, WebhookError> {
    if !is_form(headers) {
        return Ok(Cow::Borrowed(body));
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        WebhookError::malformed("body: not application/x-www-form-urlencoded as the header says")
    })?;
    fields
        .into_iter()
        .find(|(name, _)| name == "payload")
        .map(|(_, json)| Cow::Owned(json.into_bytes()))
        .ok_or_else(|| WebhookError::malformed("payload: missing from the form-encoded body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_encoded_body_gives_its_payload_field() {
        let form = Headers::from_pairs(&[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )]);
        let body = b"payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D";
        assert_eq!(
            json_payload(&form, body).unwrap().as_ref(),
            br#"{"ref":"refs/heads/main"}"#
        );
        let e = json_payload(&form, b"other=1").unwrap_err();
        assert!(e.to_string().contains("payload"), "{e}");
        let json = Headers::from_pairs(&[("Content-Type", "application/json")]);
        assert_eq!(json_payload(&json, b"{}").unwrap().as_ref(), b"{}");
        assert_eq!(
            json_payload(&Headers::default(), b"{}").unwrap().as_ref(),
            b"{}"
        );
    }
}
