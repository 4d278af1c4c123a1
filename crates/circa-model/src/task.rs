//! The job a runner receives: one job of the processed config, typed, with everything an
//! executor needs and nothing it would have to look up.
//!
//! [`JobSpec::from_processed`] reads a job from the processed config (orbs, commands and
//! parameters already expanded). The spec is plain data with serde, so it travels from the
//! server to a runner as JSON unchanged.

use circa_config::yaml::{Map, Node, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `no_output_timeout` when a `run` step does not say: ten minutes, as CircleCI.
pub const DEFAULT_NO_OUTPUT_TIMEOUT_SECS: u64 = 600;

/// A job's working directory when the config does not say.
pub const DEFAULT_WORKING_DIRECTORY: &str = "~/project";

/// Why a job of the processed config cannot be turned into a [`JobSpec`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The config has no job by that name.
    #[error("no job named `{name}`; the config has: {}", known.join(", "))]
    UnknownJob {
        /// The name asked for.
        name: String,
        /// The job names the config has, in order.
        known: Vec<String>,
    },
    /// A value has a shape the processed config never has (the config was not processed).
    #[error("job `{job}`: {message}")]
    Malformed {
        /// The job.
        job: String,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// One job, ready to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The job's key in the processed config.
    pub name: String,
    /// Where the steps run.
    pub executor: ExecutorSpec,
    /// Job-level `environment`.
    pub environment: BTreeMap<String, String>,
    /// `working_directory` as written (`~` not yet resolved).
    pub working_directory: String,
    /// The job's default `shell`, when set.
    pub shell: Option<String>,
    /// `parallelism` (at least 1).
    pub parallelism: u32,
    /// `resource_class`, when set.
    pub resource_class: Option<String>,
    /// The steps, in order.
    pub steps: Vec<StepSpec>,
}

/// Where a job's steps run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExecutorSpec {
    /// `docker:` — the first image is the primary container, the others are services.
    Docker {
        /// The images, primary first.
        images: Vec<DockerImage>,
    },
    /// `machine:` (or `macos:`): steps run on the runner's host.
    Machine {
        /// `machine.image`, when given.
        image: Option<String>,
    },
}

/// One entry of a `docker:` list.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct DockerImage {
    /// `image`.
    pub image: String,
    /// `name`: a host name for the container.
    pub name: Option<String>,
    /// `entrypoint`, as a list of words.
    pub entrypoint: Option<Vec<String>>,
    /// `command`, as a list of words.
    pub command: Option<Vec<String>>,
    /// `user`.
    pub user: Option<String>,
    /// `environment` of this container.
    pub environment: BTreeMap<String, String>,
    /// `auth`: registry credentials (the password may name an environment variable, `$VAR`).
    pub auth: Option<RegistryAuth>,
}

/// Registry credentials of an image.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryAuth {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: String,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// When a step runs, given how the steps before it went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Only while every earlier step succeeded (the default).
    #[default]
    OnSuccess,
    /// Whatever happened before.
    Always,
    /// Only after an earlier step failed.
    OnFail,
}

/// One step with its display name and `when`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSpec {
    /// The name shown for the step.
    pub name: String,
    /// When it runs.
    pub when: When,
    /// What it does.
    pub action: StepAction,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepAction {
    /// `run` (and the deprecated `deploy`).
    Run(RunStep),
    /// `checkout`.
    Checkout {
        /// `path`, relative to the working directory.
        path: Option<String>,
    },
    /// `save_cache`.
    SaveCache {
        /// The key template.
        key: String,
        /// The paths to save.
        paths: Vec<String>,
    },
    /// `restore_cache`.
    RestoreCache {
        /// Key templates, tried in order (`key` first).
        keys: Vec<String>,
    },
    /// `persist_to_workspace`.
    PersistToWorkspace {
        /// `root`.
        root: String,
        /// `paths`: patterns relative to the root.
        paths: Vec<String>,
    },
    /// `attach_workspace`.
    AttachWorkspace {
        /// `at`.
        at: String,
    },
    /// `store_artifacts`.
    StoreArtifacts {
        /// `path`.
        path: String,
        /// `destination`.
        destination: Option<String>,
    },
    /// `store_test_results`.
    StoreTestResults {
        /// `path`: a JUnit file or a folder of them.
        path: String,
    },
    /// `setup_remote_docker`.
    SetupRemoteDocker,
    /// `add_ssh_keys`.
    AddSshKeys {
        /// `fingerprints`.
        fingerprints: Vec<String>,
    },
    /// A step this version does not run (e.g. `install_signing_bundle`): it is reported, not run.
    Unsupported {
        /// The step's key.
        step: String,
    },
}

/// A `run` step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStep {
    /// `command`.
    pub command: String,
    /// `shell`, when set on the step.
    pub shell: Option<String>,
    /// Step `environment`.
    pub environment: BTreeMap<String, String>,
    /// `background`.
    pub background: bool,
    /// `working_directory`, relative to the job's.
    pub working_directory: Option<String>,
    /// `no_output_timeout` in seconds.
    pub no_output_timeout_secs: u64,
}

impl JobSpec {
    /// Reads job `name` from a processed config (`jobs:` at the top).
    pub fn from_processed(config: &Node, name: &str) -> Result<JobSpec, TaskError> {
        let jobs = config
            .as_map()
            .and_then(|m| m.get("jobs"))
            .and_then(Node::as_map);
        let Some(job) = jobs.and_then(|j| j.get(name)) else {
            return Err(TaskError::UnknownJob {
                name: name.to_string(),
                known: jobs
                    .map(|j| j.keys().map(str::to_string).collect())
                    .unwrap_or_default(),
            });
        };
        Reader { job: name }.job(job)
    }
}

struct Reader<'a> {
    job: &'a str,
}

impl Reader<'_> {
    fn bad(&self, message: impl Into<String>) -> TaskError {
        TaskError::Malformed {
            job: self.job.to_string(),
            message: message.into(),
        }
    }

    fn job(&self, node: &Node) -> Result<JobSpec, TaskError> {
        let map = node
            .as_map()
            .ok_or_else(|| self.bad("the job is not a map"))?;
        let executor = if let Some(docker) = map.get("docker") {
            let images = docker
                .as_seq()
                .ok_or_else(|| self.bad("`docker` is not a list"))?
                .iter()
                .map(|i| self.image(i))
                .collect::<Result<Vec<_>, _>>()?;
            if images.is_empty() {
                return Err(self.bad("`docker` lists no image"));
            }
            ExecutorSpec::Docker { images }
        } else if let Some(machine) = map.get("machine").or_else(|| map.get("macos")) {
            let image = machine
                .as_map()
                .and_then(|m| m.get("image"))
                .and_then(Node::scalar_text);
            ExecutorSpec::Machine { image }
        } else {
            ExecutorSpec::Machine { image: None }
        };
        let parallelism = match map.get("parallelism") {
            None => 1,
            Some(p) => p
                .as_int()
                .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|n| *n >= 1)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| self.bad("`parallelism` is not a positive integer"))?,
        };
        let steps = match map.get("steps") {
            None => Vec::new(),
            Some(s) => s
                .as_seq()
                .ok_or_else(|| self.bad("`steps` is not a list"))?
                .iter()
                .map(|s| self.step(s))
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(JobSpec {
            name: self.job.to_string(),
            executor,
            environment: self.env(map.get("environment"), "environment")?,
            working_directory: self
                .text(map, "working_directory")
                .unwrap_or_else(|| DEFAULT_WORKING_DIRECTORY.to_string()),
            shell: self.text(map, "shell"),
            parallelism,
            resource_class: self.text(map, "resource_class"),
            steps,
        })
    }

    fn text(&self, map: &Map, key: &str) -> Option<String> {
        map.get(key).and_then(Node::scalar_text)
    }

    fn env(&self, node: Option<&Node>, key: &str) -> Result<BTreeMap<String, String>, TaskError> {
        let mut env = BTreeMap::new();
        let Some(node) = node else { return Ok(env) };
        if node.is_null() {
            return Ok(env);
        }
        if let Some(map) = node.as_map() {
            for (k, v) in map.iter() {
                env.insert(k.to_string(), v.scalar_text().unwrap_or_default());
            }
        } else if let Some(seq) = node.as_seq() {
            // The list form: `- KEY=value` or `- KEY: value`.
            for item in seq {
                if let Some((k, v)) = item.as_str().and_then(|s| s.split_once('=')) {
                    env.insert(k.to_string(), v.to_string());
                } else if let Some(m) = item.as_map() {
                    for (k, v) in m.iter() {
                        env.insert(k.to_string(), v.scalar_text().unwrap_or_default());
                    }
                } else {
                    return Err(self.bad(format!("`{key}` has an entry that is not KEY=value")));
                }
            }
        } else {
            return Err(self.bad(format!("`{key}` is not a map")));
        }
        Ok(env)
    }

    fn words(&self, node: Option<&Node>, key: &str) -> Result<Option<Vec<String>>, TaskError> {
        let Some(node) = node else { return Ok(None) };
        if let Some(seq) = node.as_seq() {
            return Ok(Some(
                seq.iter()
                    .map(|w| w.scalar_text().unwrap_or_default())
                    .collect(),
            ));
        }
        let text = node
            .scalar_text()
            .ok_or_else(|| self.bad(format!("`{key}` is not a string or a list")))?;
        Ok(Some(split_words(&text)))
    }

    fn image(&self, node: &Node) -> Result<DockerImage, TaskError> {
        let map = node
            .as_map()
            .ok_or_else(|| self.bad("a `docker` entry is not a map"))?;
        let image = self
            .text(map, "image")
            .ok_or_else(|| self.bad("a `docker` entry has no `image`"))?;
        let auth = map
            .get("auth")
            .and_then(Node::as_map)
            .map(|a| RegistryAuth {
                username: a
                    .get("username")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default(),
                password: a
                    .get("password")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default(),
            });
        Ok(DockerImage {
            image,
            name: self.text(map, "name"),
            entrypoint: self.words(map.get("entrypoint"), "entrypoint")?,
            command: self.words(map.get("command"), "command")?,
            user: self.text(map, "user"),
            environment: self.env(map.get("environment"), "environment")?,
            auth,
        })
    }

    fn step(&self, node: &Node) -> Result<StepSpec, TaskError> {
        let (key, body) = match &node.value {
            Value::Str(s) => (s.as_str(), None),
            Value::Map(m) if m.len() == 1 => {
                let Some((k, v)) = m.iter().next() else {
                    return Err(self.bad("an empty step"));
                };
                (k, Some(v))
            }
            _ => return Err(self.bad("a step is neither a name nor a one-key map")),
        };
        let map = body.and_then(Node::as_map);
        let get = |k: &str| map.and_then(|m| m.get(k)).and_then(Node::scalar_text);
        let when = match get("when").as_deref() {
            None | Some("on_success") => When::OnSuccess,
            Some("always") => When::Always,
            Some("on_fail") => When::OnFail,
            Some(other) => return Err(self.bad(format!("`when: {other}` is not a step condition"))),
        };
        let list = |k: &str| -> Vec<String> {
            map.and_then(|m| m.get(k))
                .map(|n| match n.as_seq() {
                    Some(seq) => seq.iter().filter_map(Node::scalar_text).collect(),
                    None => n.scalar_text().into_iter().collect(),
                })
                .unwrap_or_default()
        };
        let (default_name, action) = match key {
            "run" | "deploy" => {
                let run = self.run(body)?;
                let name = match body.and_then(Node::as_str) {
                    Some(s) => s.to_string(),
                    None => get("name").unwrap_or_else(|| run.command.clone()),
                };
                (name, StepAction::Run(run))
            }
            "checkout" => (
                "Checkout code".to_string(),
                StepAction::Checkout { path: get("path") },
            ),
            "save_cache" => (
                "Saving Cache".to_string(),
                StepAction::SaveCache {
                    key: get("key").ok_or_else(|| self.bad("`save_cache` has no `key`"))?,
                    paths: list("paths"),
                },
            ),
            "restore_cache" => {
                let mut keys = Vec::new();
                keys.extend(get("key"));
                keys.extend(list("keys"));
                (
                    "Restoring Cache".to_string(),
                    StepAction::RestoreCache { keys },
                )
            }
            "persist_to_workspace" => (
                "Persisting to Workspace".to_string(),
                StepAction::PersistToWorkspace {
                    root: get("root").unwrap_or_else(|| ".".to_string()),
                    paths: list("paths"),
                },
            ),
            "attach_workspace" => (
                "Attaching Workspace".to_string(),
                StepAction::AttachWorkspace {
                    at: get("at").unwrap_or_else(|| ".".to_string()),
                },
            ),
            "store_artifacts" => (
                "Uploading artifacts".to_string(),
                StepAction::StoreArtifacts {
                    path: get("path").ok_or_else(|| self.bad("`store_artifacts` has no `path`"))?,
                    destination: get("destination"),
                },
            ),
            "store_test_results" => (
                "Uploading test results".to_string(),
                StepAction::StoreTestResults {
                    path: get("path")
                        .ok_or_else(|| self.bad("`store_test_results` has no `path`"))?,
                },
            ),
            "setup_remote_docker" => (
                "Setup a remote Docker engine".to_string(),
                StepAction::SetupRemoteDocker,
            ),
            "add_ssh_keys" => (
                "Install additional SSH keys".to_string(),
                StepAction::AddSshKeys {
                    fingerprints: list("fingerprints"),
                },
            ),
            other => (
                other.to_string(),
                StepAction::Unsupported {
                    step: other.to_string(),
                },
            ),
        };
        let name = match &action {
            StepAction::Run(_) => default_name,
            _ => get("name").unwrap_or(default_name),
        };
        Ok(StepSpec { name, when, action })
    }

    fn run(&self, body: Option<&Node>) -> Result<RunStep, TaskError> {
        if let Some(command) = body.and_then(Node::as_str) {
            return Ok(RunStep {
                command: command.to_string(),
                shell: None,
                environment: BTreeMap::new(),
                background: false,
                working_directory: None,
                no_output_timeout_secs: DEFAULT_NO_OUTPUT_TIMEOUT_SECS,
            });
        }
        let map = body
            .and_then(Node::as_map)
            .ok_or_else(|| self.bad("a `run` step is neither a command nor a map"))?;
        let command = self
            .text(map, "command")
            .ok_or_else(|| self.bad("a `run` step has no `command`"))?;
        let no_output_timeout_secs = match self.text(map, "no_output_timeout") {
            None => DEFAULT_NO_OUTPUT_TIMEOUT_SECS,
            Some(t) => parse_duration_secs(&t).ok_or_else(|| {
                self.bad(format!(
                    "`no_output_timeout: {t}` is not a duration like 10m, 1.5h or 30s"
                ))
            })?,
        };
        Ok(RunStep {
            command,
            shell: self.text(map, "shell"),
            environment: self.env(map.get("environment"), "environment")?,
            background: map
                .get("background")
                .and_then(Node::as_bool_lenient)
                .unwrap_or(false),
            working_directory: self.text(map, "working_directory"),
            no_output_timeout_secs,
        })
    }
}

/// Splits a shell-like word string (`entrypoint: /bin/sh -c "x y"`) on blanks, honouring
/// single and double quotes.
pub fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Parses a CircleCI duration (`20m`, `1.25h`, `5s`, `90`; a bare number is seconds) into whole
/// seconds, rounding up.
pub fn parse_duration_secs(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: f64 = num.trim().parse().ok()?;
    let factor = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "ms" => 0.001,
        _ => return None,
    };
    let secs = n * factor;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(secs.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::yaml;

    fn job(text: &str) -> JobSpec {
        JobSpec::from_processed(&yaml(text), "build").unwrap()
    }

    #[test]
    fn reads_a_docker_job_with_every_step_kind() {
        let spec = job(r#"
jobs:
  build:
    docker:
      - image: cimg/base:2024.01
        environment: {A: b}
        auth: {username: u, password: $PW}
      - image: postgres:16
        name: db
        command: postgres -c "fsync=off"
    parallelism: 2
    environment: {X: "1"}
    steps:
      - checkout
      - run: echo hi
      - run:
          name: tests
          command: make test
          when: always
          background: true
          no_output_timeout: 1.5m
          environment: {Y: z}
      - save_cache: {key: 'k-{{ .Branch }}', paths: [a]}
      - restore_cache: {key: k1, keys: [k-, j]}
      - store_test_results: {path: r}
      - store_artifacts: {path: out, destination: o}
      - persist_to_workspace: {root: ., paths: [a]}
      - attach_workspace: {at: ws}
      - setup_remote_docker
      - add_ssh_keys
"#);
        insta::assert_debug_snapshot!(spec);
    }

    #[test]
    fn machine_and_defaults() {
        let spec = job("jobs:\n  build:\n    machine: true\n    steps: [checkout]\n");
        assert_eq!(spec.executor, ExecutorSpec::Machine { image: None });
        assert_eq!(spec.working_directory, "~/project");
        assert_eq!(spec.parallelism, 1);
    }

    #[test]
    fn unknown_job_lists_the_jobs() {
        let err = JobSpec::from_processed(
            &yaml("jobs:\n  a: {machine: true}\n  b: {machine: true}\n"),
            "c",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "no job named `c`; the config has: a, b");
    }

    #[test]
    fn durations_and_words() {
        assert_eq!(parse_duration_secs("10m"), Some(600));
        assert_eq!(parse_duration_secs("1.25h"), Some(4500));
        assert_eq!(parse_duration_secs("5s"), Some(5));
        assert_eq!(parse_duration_secs("7"), Some(7));
        assert_eq!(parse_duration_secs("x"), None);
        assert_eq!(
            split_words(r#"sh -c "a b" 'c'"#),
            vec!["sh", "-c", "a b", "c"]
        );
    }

    #[test]
    fn spec_round_trips_through_json() {
        let spec =
            job("jobs:\n  build:\n    docker: [{image: x}]\n    steps: [checkout, {run: ls}]\n");
        let json = serde_json::to_string(&spec).unwrap();
        let back: JobSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
    }
}
