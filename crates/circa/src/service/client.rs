//! Client commands that talk to a server's API: `project add` (its forge options in
//! `project_forge`), `token create`, users; the
//! client itself (`Client`) and the pipeline progress a watch stream tells. Pipeline and job
//! commands are in `remote`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
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
        Ok(Client::with_token(&args.url, &token))
    }

    /// A client for `url` with `token`.
    pub fn with_token(url: &str, token: &str) -> Client {
        Client::with_http(url, token, reqwest::Client::new())
    }

    /// A client for `url` with `token` that sends through `http`, a connection pool the caller
    /// already has (making a pool loads the system's root certificates, a few milliseconds).
    pub fn with_http(url: &str, token: &str, http: reqwest::Client) -> Client {
        Client {
            url: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
        }
    }

    /// Sends `request` with the token: the response when its status is a success, else an
    /// error with the server's message.
    async fn answered(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let status = response.status();
        if !status.is_success() {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let message = body["message"].as_str().unwrap_or("no message");
            bail!("the server answered {status}: {message}");
        }
        Ok(response)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = self.answered(request).await?;
        Ok(response.json().await.unwrap_or(Value::Null))
    }

    /// `POST` JSON.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.url)).json(body))
            .await
    }

    /// `PUT` JSON.
    pub async fn put(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.put(format!("{}{path}", self.url)).json(body))
            .await
    }

    /// `GET` JSON.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    /// `GET` a text body (a step's log).
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let response = self.open(path).await?;
        response
            .text()
            .await
            .with_context(|| format!("reading {path} from {}", self.url))
    }

    /// `GET` with the token, answered with a success status: the response, body unread (an
    /// event stream, a text).
    pub async fn open(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        self.answered(self.http.get(format!("{}{path}", self.url)))
            .await
    }

    /// `DELETE`.
    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.delete(format!("{}{path}", self.url)))
            .await
    }

    /// `DELETE` with a JSON body (as CircleCI's v1.1 `ssh-key` route takes it).
    pub async fn delete_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.delete(format!("{}{path}", self.url)).json(body))
            .await
    }

    /// Follows an SSE route, handing each `data:` payload to `on_event` until it returns false.
    pub async fn follow(
        &self,
        path: &str,
        mut on_event: impl FnMut(Value) -> bool,
    ) -> anyhow::Result<()> {
        let mut stream = super::remote::sse::EventStream::open(self, path).await?;
        while let Some(data) = stream.next().await? {
            let value: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            if !on_event(value) {
                return Ok(());
            }
        }
        bail!("the server closed the event stream")
    }
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// What `circa project add` was given.
pub struct NewProject<'a> {
    /// `VCS/ORG/REPO`.
    pub slug: &'a str,
    /// A git URL or a path.
    pub repo: &'a str,
    /// The branch built when none is named.
    pub default_branch: Option<&'a str>,
    /// Cancel redundant workflows.
    pub auto_cancel: bool,
    /// `known_hosts` lines for the repository's SSH server.
    pub known_hosts_file: Option<&'a std::path::Path>,
    /// A file holding the HTTPS token.
    pub repo_token_file: Option<&'a std::path::Path>,
    /// The user name given with the token.
    pub repo_user: Option<&'a str>,
    /// The repository's forge, where commit statuses go.
    pub forge: &'a super::project_forge::ForgeArgs,
    /// Whether job states are reported to the forge.
    pub statuses: bool,
}

/// `circa project add`.
pub fn project_add(client: &ClientArgs, new: &NewProject) -> anyhow::Result<ExitCode> {
    // Files are read (and host keys checked) before anything is added.
    let known_hosts = match new.known_hosts_file {
        Some(path) => {
            let text = read_file(path)?;
            circa_server::known_hosts::parse(&text)
                .with_context(|| format!("{}", path.display()))?;
            Some(text)
        }
        None => None,
    };
    let token = match new.repo_token_file {
        Some(path) => Some(read_file(path)?.trim().to_string()),
        None => None,
    };
    let forge_body = if new.forge.any() {
        if new.forge.forge.is_none() {
            bail!("--forge-api, --forge-repo and --forge-token-file need --forge KIND");
        }
        Some(new.forge.body((!new.statuses).then_some(false))?)
    } else {
        None
    };
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let repo = local_repo(new.repo)?;
        let mut body = json!({ "slug": new.slug, "repo": repo });
        if let Some(b) = new.default_branch {
            body["default_branch"] = json!(b);
        }
        if new.auto_cancel {
            body["settings"] = json!({ "auto_cancel_redundant": true });
        }
        let project = client.post("/api/circa/projects", &body).await?;
        for warning in project["warnings"].as_array().into_iter().flatten() {
            eprintln!("warning: {}", warning.as_str().unwrap_or_default());
        }
        let slug = project["slug"].as_str().unwrap_or(new.slug);
        println!("added project {slug}");
        if let Some(text) = known_hosts {
            let path = format!("/api/circa/projects/{slug}/known-hosts");
            client.put(&path, &json!({ "known_hosts": text })).await?;
            println!("known hosts set");
        }
        if let Some(token) = token {
            let path = format!("/api/circa/projects/{slug}/repo-token");
            let body = json!({ "token": token.as_str(), "user": new.repo_user });
            let answer = client.put(&path, &body).await?;
            println!(
                "repository token set (user {})",
                answer["user"].as_str().unwrap_or_default()
            );
        }
        println!(
            "webhook URL: {}",
            project["webhook"]["url"].as_str().unwrap_or_default()
        );
        println!(
            "webhook secret: {}",
            project["webhook"]["secret"].as_str().unwrap_or_default()
        );
        println!("deploy key, to add to the repository on its forge (read-only):");
        println!(
            "{}",
            project["checkout_key"]["public-key"]
                .as_str()
                .unwrap_or_default()
        );
        if let Some(body) = forge_body {
            super::project_forge::put_forge(&client, slug, &body).await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn read_file(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// A repository as `project add` sends it: a URL as given, a path made absolute against the
/// current folder and normalised (`.` stores the folder itself).
fn local_repo(repo: &str) -> anyhow::Result<String> {
    let repo = repo.trim();
    if repo.is_empty() || circa_server::repository::is_remote(repo) || repo.starts_with("file://") {
        return Ok(repo.to_string());
    }
    let path = super::settings::absolute(std::path::Path::new(repo))?;
    Ok(circa_server::repository::normalise(&path)
        .display()
        .to_string())
}

/// `circa token create`.
pub fn token_create(
    client: &ClientArgs,
    name: &str,
    runner_class: Option<&str>,
    user: Option<&str>,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let body = match runner_class {
            Some(class) => json!({ "kind": "runner", "name": name, "resource_class": class }),
            None => json!({ "kind": "user", "name": name, "user": user }),
        };
        let token = client.post("/api/circa/tokens", &body).await?;
        println!("{}", token["token"].as_str().unwrap_or_default());
        eprintln!("token id: {}", token["id"].as_str().unwrap_or_default());
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa token revoke`.
pub fn token_revoke(client: &ClientArgs, id: &str) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        client.delete(&format!("/api/circa/tokens/{id}")).await?;
        println!("revoked token {id}");
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa user add`.
pub fn user_add(
    client: &ClientArgs,
    login: &str,
    name: Option<&str>,
    admin: bool,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        let body = json!({ "login": login, "name": name, "admin": admin });
        let user = client.post("/api/circa/users", &body).await?;
        println!("added user {}", user["login"].as_str().unwrap_or(login));
        Ok(ExitCode::SUCCESS)
    })
}

/// `circa project grant`.
pub fn project_grant(client: &ClientArgs, slug: &str, login: &str) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let client = Client::new(client)?;
        client
            .post(
                &format!("/api/circa/projects/{slug}/members"),
                &json!({ "login": login }),
            )
            .await?;
        println!("{login} may now use {slug}");
        Ok(ExitCode::SUCCESS)
    })
}

/// Whether a workflow status (CircleCI's spelling) is final.
fn workflow_finished(status: &str) -> bool {
    status
        .parse::<circa_model::WorkflowStatus>()
        .is_ok_and(|s| s.is_terminal())
}

/// A pipeline as its watch stream (`/api/circa/pipelines/{id}/watch`) tells it.
#[derive(Debug, Default)]
pub struct PipelineProgress {
    /// Each workflow's name and status, by id.
    pub workflows: std::collections::BTreeMap<String, (String, String)>,
    /// Whether the pipeline's own state came (it follows its workflows' in the stream).
    seen_pipeline: bool,
    /// Whether the pipeline errored (its config could not be used).
    pub errored: bool,
}

impl PipelineProgress {
    /// Takes one event of the stream.
    pub fn apply(&mut self, event: &Value) {
        match event["kind"].as_str() {
            Some("pipeline") => {
                self.seen_pipeline = true;
                self.errored |= event["status"] == "errored";
            }
            Some("workflow") => {
                let id = event["workflow_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let name = event["name"].as_str().unwrap_or_default().to_string();
                let status = event["status"].as_str().unwrap_or_default().to_string();
                self.workflows.insert(id, (name, status));
            }
            _ => {}
        }
    }

    /// Whether nothing more will happen: it errored, or every workflow finished.
    pub fn done(&self) -> bool {
        self.errored
            || (self.seen_pipeline && self.workflows.values().all(|(_, s)| workflow_finished(s)))
    }

    /// Whether it has workflows and every one succeeded.
    pub fn succeeded(&self) -> bool {
        !self.errored
            && !self.workflows.is_empty()
            && self.workflows.values().all(|(_, s)| s == "success")
    }
}
