//! `circa project ssh-key ...`: a project's additional SSH keys, through CircleCI's v1.1
//! `ssh-key` routes. The private key is read from a file and sent in the request body, never
//! on a command line or in a URL.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::client::{Client, ClientArgs, runtime};

fn route(slug: &str) -> String {
    format!("/api/v1.1/project/{slug}/ssh-key")
}

/// One key as a line: fingerprint, hostname (`*` for every host), public key.
fn line(key: &Value) -> String {
    let hostname = key["hostname"].as_str().unwrap_or_default();
    format!(
        "{}  {}  {}",
        key["fingerprint"].as_str().unwrap_or_default(),
        if hostname.is_empty() { "*" } else { hostname },
        key["public_key"].as_str().unwrap_or_default()
    )
}

/// `circa project ssh-key add SLUG --hostname H --private-key-file F`.
pub fn add(
    client: &ClientArgs,
    slug: &str,
    hostname: Option<&str>,
    private_key_file: &Path,
) -> anyhow::Result<ExitCode> {
    let private_key = std::fs::read_to_string(private_key_file)
        .with_context(|| format!("reading {}", private_key_file.display()))?;
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let body = json!({ "hostname": hostname.unwrap_or_default(), "private_key": private_key });
        let key = client.post(&route(slug), &body).await?;
        println!("added SSH key to {slug}:");
        println!("{}", line(&key));
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa project ssh-key list SLUG`.
pub fn list(client: &ClientArgs, slug: &str) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let keys = client.get(&route(slug)).await?;
        for key in keys.as_array().into_iter().flatten() {
            println!("{}", line(key));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa project ssh-key remove SLUG FINGERPRINT [--hostname H]`.
pub fn remove(
    client: &ClientArgs,
    slug: &str,
    fingerprint: &str,
    hostname: Option<&str>,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let body = json!({ "fingerprint": fingerprint, "hostname": hostname });
        client.delete_json(&route(slug), &body).await?;
        println!("removed SSH key {fingerprint} from {slug}");
        Ok(ExitCode::SUCCESS)
    })
}
