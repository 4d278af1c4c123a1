//! Client commands that talk to a server's API: `project add`, `pipeline trigger`,
//! `token create`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Where the server is and who is asking.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's URL.
    #[arg(long, env = "CIRCA_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API token [default: the local `circa up`'s DATA_DIR/admin.token].
    #[arg(long, env = "CIRCA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The local `circa up`'s data folder, where admin.token is.
    #[arg(long, env = "CIRCA_DATA_DIR", default_value = ".circa")]
    pub data_dir: PathBuf,
}

/// A client of the API.
pub struct Client {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client from the options.
    pub fn new(args: &ClientArgs) -> anyhow::Result<Client> {
        let token = match &args.token {
            Some(t) => t.clone(),
            None => {
                let path = args.data_dir.join("admin.token");
                std::fs::read_to_string(&path)
                    .with_context(|| {
                        format!(
                            "no --token given and {} cannot be read (is `circa up` running here?)",
                            path.display()
                        )
                    })?
                    .trim()
                    .to_string()
            }
        };
        Ok(Client {
            url: args.url.trim_end_matches('/').to_string(),
            token,
            http: reqwest::Client::new(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = body["message"].as_str().unwrap_or("no message");
            bail!("the server answered {status}: {message}");
        }
        Ok(body)
    }

    /// `POST` JSON.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.url)).json(body))
            .await
    }

    /// `GET` JSON.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    /// Follows an SSE route, handing each `data:` payload to `on_event` until it returns false.
    pub async fn follow(
        &self,
        path: &str,
        mut on_event: impl FnMut(Value) -> bool,
    ) -> anyhow::Result<()> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        if !response.status().is_success() {
            bail!("the server answered {}", response.status());
        }
        let mut stream = response.bytes_stream();
        let mut buffer = Vec::new();
        while let Some(chunk) = stream.next().await {
            buffer.extend_from_slice(&chunk.context("the event stream broke off")?);
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                if let Some(data) = line.trim_end().strip_prefix("data:") {
                    let value: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                    if !on_event(value) {
                        return Ok(());
                    }
                }
            }
        }
        bail!("the server closed the event stream")
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `circa project add`.
pub fn project_add(
    client: &ClientArgs,
    slug: &str,
    repo: &str,
    default_branch: Option<&str>,
    auto_cancel: bool,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let repo_path = std::path::Path::new(repo);
        let repo = if repo_path.exists() {
            super::settings::absolute(repo_path)?.display().to_string()
        } else {
            repo.to_string()
        };
        let mut body = json!({ "slug": slug, "repo": repo });
        if let Some(b) = default_branch {
            body["default_branch"] = json!(b);
        }
        if auto_cancel {
            body["settings"] = json!({ "auto_cancel_redundant": true });
        }
        let project = client.post("/api/circa/projects", &body).await?;
        println!("added project {}", project["slug"].as_str().unwrap_or(slug));
        println!(
            "webhook URL: {}",
            project["webhook"]["url"].as_str().unwrap_or_default()
        );
        println!(
            "webhook secret: {}",
            project["webhook"]["secret"].as_str().unwrap_or_default()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa token create`.
pub fn token_create(
    client: &ClientArgs,
    name: &str,
    runner_class: Option<&str>,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let body = match runner_class {
            Some(class) => json!({ "kind": "runner", "name": name, "resource_class": class }),
            None => json!({ "kind": "user", "name": name }),
        };
        let token = client.post("/api/circa/tokens", &body).await?;
        println!("{}", token["token"].as_str().unwrap_or_default());
        Ok(ExitCode::SUCCESS)
    })
}

const FINAL_WORKFLOW: &[&str] = &[
    "success",
    "failed",
    "error",
    "canceled",
    "not_run",
    "unauthorized",
];

/// `circa pipeline trigger`.
pub fn pipeline_trigger(
    client: &ClientArgs,
    slug: &str,
    branch: Option<&str>,
    tag: Option<&str>,
    params: &[String],
    wait: bool,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let mut parameters = serde_json::Map::new();
        for p in params {
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
        if let Some(b) = branch {
            body["branch"] = json!(b);
        }
        if let Some(t) = tag {
            body["tag"] = json!(t);
        }
        let created = client
            .post(&format!("/api/v2/project/{slug}/pipeline"), &body)
            .await?;
        let id = created["id"].as_str().unwrap_or_default().to_string();
        println!(
            "pipeline {} ({id}): {}",
            created["number"],
            created["state"].as_str().unwrap_or_default()
        );
        if !wait {
            return Ok(ExitCode::SUCCESS);
        }
        let mut workflows: std::collections::BTreeMap<String, (String, String)> =
            Default::default();
        let mut errored = false;
        let mut seen_pipeline = false;
        client
            .follow(&format!("/api/circa/pipelines/{id}/watch"), |event| {
                match event["kind"].as_str() {
                    Some("pipeline") => {
                        seen_pipeline = true;
                        if event["status"] == "errored" {
                            errored = true;
                            return false;
                        }
                    }
                    Some("workflow") => {
                        let wid = event["workflow_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        let name = event["name"].as_str().unwrap_or_default().to_string();
                        let status = event["status"].as_str().unwrap_or_default().to_string();
                        if FINAL_WORKFLOW.contains(&status.as_str()) {
                            println!("workflow {name}: {status}");
                        }
                        workflows.insert(wid, (name, status));
                    }
                    Some("job") => {
                        let status = event["status"].as_str().unwrap_or_default();
                        if matches!(
                            status,
                            "success"
                                | "failed"
                                | "canceled"
                                | "infrastructure_fail"
                                | "timedout"
                                | "not_run"
                                | "unauthorized"
                        ) {
                            println!(
                                "  job {}: {status}",
                                event["name"].as_str().unwrap_or_default()
                            );
                        } else if status == "on_hold" {
                            println!(
                                "  job {}: on hold, waiting for approval",
                                event["name"].as_str().unwrap_or_default()
                            );
                        }
                    }
                    _ => {}
                }
                let done = seen_pipeline
                    && workflows
                        .values()
                        .all(|(_, s)| FINAL_WORKFLOW.contains(&s.as_str()));
                !done
            })
            .await?;
        if errored {
            let pipeline = client.get(&format!("/api/v2/pipeline/{id}")).await?;
            eprintln!("pipeline errored:");
            for e in pipeline["errors"].as_array().into_iter().flatten() {
                eprintln!("{}", e["message"].as_str().unwrap_or_default());
            }
            return Ok(ExitCode::from(1));
        }
        let ok = !workflows.is_empty() && workflows.values().all(|(_, s)| s == "success");
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}
