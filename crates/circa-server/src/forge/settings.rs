//! A project's forge settings as a client gives them, checked: every field named in the error
//! when it is wrong. Fields left out keep their current value (or their default for a new
//! forge), so one call can change only the statuses switch or only the token.

use circa_store::ForgeKind;
use serde_json::Value;

/// The longest token accepted, in bytes.
const MAX_TOKEN_BYTES: usize = 4096;

/// What a client asked to change, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForgeInput {
    /// The forge kind.
    pub kind: Option<ForgeKind>,
    /// The API root.
    pub api_url: Option<String>,
    /// The repository path on the forge.
    pub repo: Option<String>,
    /// A new token (never shown again).
    pub token: Option<String>,
    /// Whether statuses are reported.
    pub statuses: Option<bool>,
}

/// A field a client gave wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl ForgeInput {
    /// Reads a JSON object's `kind`, `api_url`, `repo`, `token` and `statuses`.
    pub fn from_json(body: &Value) -> Result<ForgeInput, FieldError> {
        let text = |field: &'static str| -> Result<Option<String>, FieldError> {
            match &body[field] {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.trim().to_string())),
                _ => Err(field_error(field, "must be a string")),
            }
        };
        let statuses = match &body["statuses"] {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            _ => return Err(field_error("statuses", "must be true or false")),
        };
        let kind = text("kind")?.map(|k| parse_kind(&k)).transpose()?;
        let api_url = text("api_url")?.map(|u| check_api_url(&u)).transpose()?;
        let repo = text("repo")?.map(|r| check_repo(&r)).transpose()?;
        let token = text("token")?.map(|t| check_token(&t)).transpose()?;
        Ok(ForgeInput {
            kind,
            api_url,
            repo,
            token,
            statuses,
        })
    }
}

/// A forge kind by name.
pub fn parse_kind(text: &str) -> Result<ForgeKind, FieldError> {
    ForgeKind::parse(&text.to_ascii_lowercase())
        .ok_or_else(|| field_error("kind", "must be one of github, gitlab, gitea, bitbucket"))
}

/// An API root: an absolute `http` or `https` URL with a host, no credentials, query or
/// fragment; without its trailing slash.
pub fn check_api_url(text: &str) -> Result<String, FieldError> {
    let bad = |why: &str| field_error("api_url", why);
    let url = reqwest::Url::parse(text).map_err(|e| bad(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold credentials (give the token as `token`)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must have no query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// A repository path: `OWNER/REPO`, or GitLab's `group/subgroup/project`.
pub fn check_repo(text: &str) -> Result<String, FieldError> {
    let ok = text.contains('/')
        && text.split('/').all(|part| !part.is_empty())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(field_error(
            "repo",
            "must be OWNER/REPO (letters, digits, '-', '_', '.')",
        ))
    }
}

/// A token: non-empty, no spaces or control characters (it goes into a header).
pub fn check_token(text: &str) -> Result<String, FieldError> {
    if text.is_empty() || text.len() > MAX_TOKEN_BYTES {
        return Err(field_error(
            "token",
            format!("must be 1 to {MAX_TOKEN_BYTES} bytes"),
        ));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(field_error(
            "token",
            "must hold no spaces or control characters",
        ));
    }
    Ok(text.to_string())
}

/// The API root when none is given: the forge's hosted service (Gitea has none).
pub fn default_api_url(kind: ForgeKind) -> Result<String, FieldError> {
    kind.hosted_api_base()
        .map(str::to_string)
        .ok_or_else(|| field_error("api_url", "is required for gitea (https://HOST/api/v1)"))
}

/// Whether a repository path suits `kind`: only GitLab has nested groups.
pub fn check_repo_for(kind: ForgeKind, repo: &str) -> Result<(), FieldError> {
    if kind != ForgeKind::GitLab && repo.matches('/').count() != 1 {
        return Err(field_error(
            "repo",
            format!("must be OWNER/REPO for {kind}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_checked_and_named() {
        let input = ForgeInput::from_json(&json!({
            "kind": "GitHub", "api_url": "https://ghe.example/api/v3/",
            "token": "ghp_abc", "statuses": false, "repo": "acme/app"
        }))
        .unwrap();
        assert_eq!(input.kind, Some(ForgeKind::GitHub));
        assert_eq!(input.api_url.as_deref(), Some("https://ghe.example/api/v3"));
        assert_eq!(input.statuses, Some(false));
        for (body, field) in [
            (json!({"kind": "svn"}), "kind"),
            (json!({"api_url": "ftp://x"}), "api_url"),
            (json!({"api_url": "https://u:p@x/api"}), "api_url"),
            (json!({"api_url": "not a url"}), "api_url"),
            (json!({"token": "two words"}), "token"),
            (json!({"token": ""}), "token"),
            (json!({"statuses": "yes"}), "statuses"),
            (json!({"repo": "noslash"}), "repo"),
            (json!({"repo": 3}), "repo"),
        ] {
            assert_eq!(
                ForgeInput::from_json(&body).unwrap_err().field,
                field,
                "{body}"
            );
        }
        assert_eq!(
            ForgeInput::from_json(&json!({})).unwrap(),
            ForgeInput::default()
        );
    }

    #[test]
    fn defaults_and_repo_shapes_follow_the_kind() {
        assert_eq!(
            default_api_url(ForgeKind::GitHub).unwrap(),
            "https://api.github.com"
        );
        assert_eq!(
            default_api_url(ForgeKind::Gitea).unwrap_err().field,
            "api_url"
        );
        assert!(check_repo_for(ForgeKind::GitLab, "a/b/c").is_ok());
        assert!(check_repo_for(ForgeKind::GitHub, "a/b/c").is_err());
    }
}
