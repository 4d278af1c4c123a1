//! `circa pipeline trigger`: start a pipeline, and with `--wait` follow it to its end.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use super::fetch::Api;
use super::screen::Screen;
use super::wait;
use crate::service::client::Client;

/// What to trigger.
pub struct Trigger<'a> {
    /// The project.
    pub slug: &'a str,
    /// The branch.
    pub branch: Option<&'a str>,
    /// The tag.
    pub tag: Option<&'a str>,
    /// `KEY=VALUE` pipeline parameters.
    pub params: &'a [String],
    /// Follow the pipeline to its end.
    pub wait: bool,
}

/// The trigger's body: branch or tag, and the parameters (`true`, `false` and numbers typed).
fn body(trigger: &Trigger<'_>) -> anyhow::Result<Value> {
    let mut parameters = serde_json::Map::new();
    for p in trigger.params {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("--param {p:?}: expected KEY=VALUE"))?;
        let value = serde_json::from_str::<Value>(v)
            .ok()
            .filter(|v| v.is_boolean() || v.is_number())
            .unwrap_or_else(|| json!(v));
        parameters.insert(k.to_string(), value);
    }
    let mut body = json!({ "parameters": parameters });
    if let Some(b) = trigger.branch {
        body["branch"] = json!(b);
    }
    if let Some(t) = trigger.tag {
        body["tag"] = json!(t);
    }
    Ok(body)
}

/// Starts the pipeline; with `wait`, follows it: exit 0 only if every workflow succeeded.
pub async fn trigger(client: &Client, trigger: &Trigger<'_>) -> anyhow::Result<ExitCode> {
    let slug = trigger.slug;
    let created = client
        .post(&format!("/api/v2/project/{slug}/pipeline"), &body(trigger)?)
        .await?;
    let id = created["id"]
        .as_str()
        .context("the server's answer has no pipeline id")?
        .to_string();
    Screen::new().line(&format!(
        "pipeline {} ({id}): {}",
        created["number"],
        created["state"].as_str().unwrap_or_default()
    ));
    if !trigger.wait {
        return Ok(ExitCode::SUCCESS);
    }
    wait::follow(&Api::new(client), slug, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_keep_their_types_and_a_bad_one_is_named() {
        let params = ["n=3".to_string(), "deploy=true".into(), "who=me".into()];
        let t = Trigger {
            slug: "gh/a/b",
            branch: Some("main"),
            tag: None,
            params: &params,
            wait: false,
        };
        assert_eq!(
            body(&t).unwrap(),
            json!({ "branch": "main", "parameters": { "n": 3, "deploy": true, "who": "me" } })
        );
        let bad = ["oops".to_string()];
        let err = body(&Trigger { params: &bad, ..t }).unwrap_err();
        assert_eq!(err.to_string(), "--param \"oops\": expected KEY=VALUE");
    }
}
