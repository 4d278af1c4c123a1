//! `circa admin ...`: server administration through the API.

use std::process::ExitCode;

use serde_json::json;

use super::client::{Client, ClientArgs, runtime};

/// `circa admin rotate-key`: asks the server to rotate its secret key.
pub fn rotate_key(client: &ClientArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let done = client
            .post("/api/circa/admin/rotate-key", &json!({}))
            .await?;
        let key = done["key_id"].as_str().unwrap_or_default();
        let resealed = done["resealed"].as_u64().unwrap_or_default();
        println!("secret key {key} is current; {resealed} value(s) sealed again with it");
        match done["retired"].as_array() {
            Some(old) if !old.is_empty() => {
                let ids: Vec<&str> = old.iter().filter_map(|v| v.as_str()).collect();
                println!("retired key(s): {}", ids.join(", "));
            }
            _ => println!(
                "the old keys stay in the key file: values changed during the rotation; run it again"
            ),
        }
        Ok(ExitCode::SUCCESS)
    })
}
