//! The forge options of `circa project add` and `circa project edit`: they become one `PUT`
//! of the project's forge (`/api/circa/projects/SLUG/forge`). The token is read from a file,
//! never taken on the command line, and goes to the server only in the request body.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::client::{Client, ClientArgs, runtime};

/// A forge's kind as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForgeKindArg {
    /// GitHub.com or GitHub Enterprise Server (`https://HOST/api/v3`).
    Github,
    /// GitLab.com or self-managed GitLab (`https://HOST/api/v4`).
    Gitlab,
    /// Gitea or Forgejo (`https://HOST/api/v1`).
    Gitea,
    /// Bitbucket Cloud.
    Bitbucket,
}

impl ForgeKindArg {
    fn as_str(self) -> &'static str {
        match self {
            ForgeKindArg::Github => "github",
            ForgeKindArg::Gitlab => "gitlab",
            ForgeKindArg::Gitea => "gitea",
            ForgeKindArg::Bitbucket => "bitbucket",
        }
    }
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// A project's forge, as options.
#[derive(Debug, Clone, Default, Args)]
pub struct ForgeArgs {
    /// The forge the repository is on: where job states go as commit statuses.
    #[arg(long, value_enum)]
    pub forge: Option<ForgeKindArg>,
    /// The forge's API root [default: the hosted service's].
    #[arg(long, value_name = "URL")]
    pub forge_api: Option<String>,
    /// The repository on the forge, OWNER/REPO [default: from the slug].
    #[arg(long, value_name = "PATH")]
    pub forge_repo: Option<String>,
    /// A file holding the forge's API token (sealed by the server, never shown again).
    #[arg(long, value_name = "FILE")]
    pub forge_token_file: Option<PathBuf>,
}

impl ForgeArgs {
    /// Whether any forge option is given.
    pub fn any(&self) -> bool {
        self.forge.is_some()
            || self.forge_api.is_some()
            || self.forge_repo.is_some()
            || self.forge_token_file.is_some()
    }

    /// The `PUT` body the options make, with `statuses` if given.
    pub fn body(&self, statuses: Option<bool>) -> anyhow::Result<Value> {
        let mut body = json!({});
        if let Some(kind) = self.forge {
            body["kind"] = json!(kind.as_str());
        }
        if let Some(url) = &self.forge_api {
            body["api_url"] = json!(url);
        }
        if let Some(repo) = &self.forge_repo {
            body["repo"] = json!(repo);
        }
        if let Some(path) = &self.forge_token_file {
            let token = std::fs::read_to_string(path)
                .with_context(|| format!("reading the forge token from {}", path.display()))?;
            body["token"] = json!(token.trim());
        }
        if let Some(on) = statuses {
            body["statuses"] = json!(on);
        }
        Ok(body)
    }
}

/// Sets a project's forge from `body`; prints what the server answered.
pub async fn put_forge(client: &Client, slug: &str, body: &Value) -> anyhow::Result<()> {
    let forge = client
        .put(&format!("/api/circa/projects/{slug}/forge"), body)
        .await?;
    println!(
        "forge: {} at {} (repository {}), statuses {}, token {}",
        forge["kind"].as_str().unwrap_or_default(),
        forge["api_url"].as_str().unwrap_or_default(),
        forge["repo"].as_str().unwrap_or_default(),
        if forge["statuses"] == true {
            "on"
        } else {
            "off"
        },
        if forge["token_set"] == true {
            "set"
        } else {
            "not set"
        },
    );
    if let Some(error) = forge["deploy_key"]["error"].as_str() {
        eprintln!("warning: the deploy key was not added: {error}");
    } else if forge["deploy_key"]["added"] == true {
        println!("deploy key added to the repository (read-only)");
    }
    Ok(())
}

/// `circa project edit`.
pub fn project_edit(
    client: &ClientArgs,
    slug: &str,
    forge: &ForgeArgs,
    statuses: Option<Switch>,
) -> anyhow::Result<ExitCode> {
    if !forge.any() && statuses.is_none() {
        bail!(
            "nothing to change: give --forge, --forge-api, --forge-repo, --forge-token-file or --statuses"
        );
    }
    let body = forge.body(statuses.map(|s| s == Switch::On))?;
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        put_forge(&client, slug, &body).await?;
        Ok(ExitCode::SUCCESS)
    })
}
