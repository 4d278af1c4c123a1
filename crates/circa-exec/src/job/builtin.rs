//! The built-in steps other than `run`: checkout, caches, workspaces, artifacts, test results,
//! and the steps that only print a notice locally.
//!
//! Each works the same on every executor: files are read where they are when the environment
//! is this host ([`Executor::host_path`]), otherwise copied out to a temporary folder first,
//! and written back with [`Executor::copy_in`].

use std::collections::BTreeMap;
use std::io::Seek;
use std::path::{Path, PathBuf};

use circa_model::StepAction;

use super::{JobContext, Progress, StepResult, env};
use crate::archive::{self, ArchiveLimits};
use crate::artifacts::ArtifactStore;
use crate::cache::{KeyContext, SaveOutcome, host_arch, render_key};
use crate::events::{EventKind, FailedTest, Reporter};
use crate::executor::{Executor, Started, resolve_path};
use crate::git_access::{self, GitAuth, HostKeys, Refusal};
use crate::junit::{self, Outcome, TestReport};
use crate::split::Timings;

/// Failed tests listed in a [`EventKind::TestResults`] event, at most.
const MAX_LISTED_FAILURES: usize = 50;

/// Runs a built-in step.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run<E: Executor>(
    executor: &E,
    ctx: &JobContext,
    reporter: &Reporter,
    started: &Started,
    job_env: &mut BTreeMap<String, String>,
    index: usize,
    action: &StepAction,
    progress: &mut Progress,
) -> StepResult {
    let step = Builtin {
        executor,
        ctx,
        reporter,
        started,
    };
    let result = match action {
        StepAction::Run(_) => Ok(()),
        StepAction::Checkout { path } => step.checkout(path.as_deref()).await,
        StepAction::SaveCache { key, paths } => step.save_cache(key, paths).await,
        StepAction::RestoreCache { keys } => step.restore_cache(keys).await,
        StepAction::PersistToWorkspace { root, paths } => step.persist(root, paths).await,
        StepAction::AttachWorkspace { at } => step.attach(at).await,
        StepAction::StoreArtifacts { path, destination } => step
            .store_artifacts(path, destination.as_deref())
            .await
            .map(|stored| progress.artifacts.extend(stored)),
        StepAction::StoreTestResults { path } => {
            step.store_test_results(index, path).await.map(|(t, f)| {
                let (pt, pf) = progress.tests.unwrap_or((0, 0));
                progress.tests = Some((pt + t, pf + f));
            })
        }
        StepAction::SetupRemoteDocker => {
            step.setup_remote_docker(job_env);
            Ok(())
        }
        StepAction::AddSshKeys { fingerprints } => match &ctx.ssh_keys {
            Some(keys) => match super::ssh_keys::select(keys, fingerprints) {
                Ok(chosen) if chosen.is_empty() => {
                    reporter.notice("add_ssh_keys: the project has no SSH keys to add", false);
                    Ok(())
                }
                Ok(chosen) => {
                    super::ssh_keys::install(executor, started, reporter, job_env, &chosen).await
                }
                Err(why) => Err(why),
            },
            None => {
                reporter.notice(
                format!(
                    "add_ssh_keys: no keys are installed locally ({}); the job uses this machine's own SSH setup",
                    if fingerprints.is_empty() {
                        "all project keys".to_string()
                    } else {
                        fingerprints.join(", ")
                    }
                ),
                false,
            );
                Ok(())
            }
        },
        StepAction::Unsupported { step } => {
            reporter.notice(format!("`{step}` is not supported here; skipped"), true);
            Ok(())
        }
    };
    match result {
        Ok(()) => StepResult::success(),
        Err(message) => StepResult::failed(message),
    }
}

struct Builtin<'a, E> {
    executor: &'a E,
    ctx: &'a JobContext,
    reporter: &'a Reporter,
    started: &'a Started,
}

/// A host folder holding environment files, copied out when needed.
struct HostDir {
    path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

fn temp_dir() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("circa-step-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))
}

impl<E: Executor> Builtin<'_, E> {
    fn resolve(&self, path: &str) -> String {
        resolve_path(path, &self.started.home, &self.started.working_directory)
    }

    /// `patterns` under the environment folder `root`, readable on the host; also returns the
    /// patterns that matched nothing.
    async fn bring_out(
        &self,
        root: &str,
        patterns: &[String],
    ) -> Result<(HostDir, Vec<String>), String> {
        if let Some(path) = self.executor.host_path(root) {
            let missing = patterns
                .iter()
                .filter(|p| {
                    crate::workspace::select(&path, p)
                        .map(|found| found.is_empty())
                        .unwrap_or(true)
                })
                .cloned()
                .collect();
            return Ok((HostDir { path, _temp: None }, missing));
        }
        let temp = temp_dir()?;
        let copied = self
            .executor
            .copy_out(root, patterns, temp.path())
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            HostDir {
                path: temp.path().to_path_buf(),
                _temp: Some(temp),
            },
            copied.missing,
        ))
    }

    /// Runs `fill` on a host folder that ends up as the environment folder `dest`.
    async fn bring_in(
        &self,
        dest: &str,
        fill: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        if let Some(path) = self.executor.host_path(dest) {
            std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            return fill(&path);
        }
        let temp = temp_dir()?;
        fill(temp.path())?;
        self.executor
            .copy_in(temp.path(), dest)
            .await
            .map_err(|e| e.to_string())
    }

    async fn checkout(&self, path: Option<&str>) -> Result<(), String> {
        let vcs = &self.ctx.vcs;
        if vcs.repo_dir.is_none() && vcs.repository_url.is_empty() {
            return Err(
                "checkout: no repository to check out from (run inside a git repository)"
                    .to_string(),
            );
        }
        let dest = self.resolve(path.unwrap_or("."));
        if let Some(host) = self.executor.host_path(&dest) {
            let is_git = host.join(".git").exists();
            if !is_git && std::fs::read_dir(&host).is_ok_and(|mut d| d.next().is_some()) {
                return Err(format!(
                    "checkout: directory {dest} is not empty and not a git repository"
                ));
            }
            if is_git {
                self.reporter.notice(
                    "checkout: the directory is already a git repository; updating it",
                    false,
                );
            }
        }
        let temp = temp_dir()?;
        let clone = temp.path().join("repo");
        match &vcs.repo_dir {
            Some(repo) => {
                let mut cmd = std::process::Command::new("git");
                cmd.args(["clone", "--quiet", "--no-checkout"])
                    .arg(repo)
                    .arg(&clone);
                finish_git(cmd)?;
            }
            None => self.fetch(&clone).await?,
        }
        let mut checkout: Vec<&str> = vec!["checkout", "--quiet", "--force"];
        let branch;
        if let Some(b) = &vcs.branch {
            branch = b.clone();
            checkout.extend(["-B", branch.as_str()]);
        } else {
            checkout.push("--detach");
        }
        checkout.push(vcs.sha1.as_str());
        run_git(&clone, &checkout)?;
        if !vcs.repository_url.is_empty() {
            run_git(
                &clone,
                &["remote", "set-url", "origin", &vcs.repository_url],
            )?;
        }
        run_git(&clone, &["config", "gc.auto", "0"])?;
        self.bring_in(&dest, |host| {
            archive::copy_dir(&clone, host, &ArchiveLimits::default())
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .await?;
        self.reporter
            .notice(format!("checked out {} at {dest}", short(&vcs.sha1)), false);
        Ok(())
    }

    /// Fetches `vcs.sha1` from `vcs.repository_url` into a new repository at `clone` on this
    /// host: only that commit when the server allows it, else every branch and tag.
    async fn fetch(&self, clone: &Path) -> Result<(), String> {
        let vcs = &self.ctx.vcs;
        if vcs.sha1.is_empty() {
            return Err("checkout: no commit to check out".to_string());
        }
        std::fs::create_dir_all(clone).map_err(|e| format!("checkout: {e}"))?;
        let auth = match &vcs.access {
            Some(access) => Some(
                GitAuth::prepare(None, access, HostKeys::Strict)
                    .map_err(|e| format!("checkout: cannot write the fetch's credentials: {e}"))?,
            ),
            None => None,
        };
        let env = auth.as_ref().map(GitAuth::env).unwrap_or_default();
        run_git(clone, &["init", "--quiet"])?;
        run_git(clone, &["remote", "add", "origin", &vcs.repository_url])?;
        self.reporter
            .progress(format!("Fetching {}", vcs.repository_url), false);
        let shallow = [
            "fetch",
            "--quiet",
            "--depth",
            "1",
            "origin",
            vcs.sha1.as_str(),
        ];
        if let Err(first) = self.git_cancellable(clone, &shallow, env).await {
            if self.ctx.cancel.is_cancelled() {
                return Err(first);
            }
            let full = [
                "fetch",
                "--quiet",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ];
            self.git_cancellable(clone, &full, env).await?;
        }
        self.reporter
            .progress(format!("Fetched {}", short(&vcs.sha1)), true);
        Ok(())
    }

    /// Runs git in `dir` with `env` (the fetch's credentials) without ever prompting for
    /// credentials, stopping it on cancel.
    async fn git_cancellable(
        &self,
        dir: &Path,
        args: &[&str],
        env: &[(&'static str, std::ffi::OsString)],
    ) -> Result<(), String> {
        let mut cmd = tokio::process::Command::new("git");
        cmd.arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = tokio::select! {
            out = cmd.output() => out.map_err(|e| format!("checkout: cannot run git: {e}"))?,
            () = self.ctx.cancel.cancelled() => return Err("checkout: canceled".to_string()),
        };
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(match git_access::classify(&stderr) {
            Some(refusal) => format!("checkout: {}", refused(refusal, &self.ctx.vcs)),
            None => format!(
                "checkout: git {} failed: {}",
                args.first().copied().unwrap_or_default(),
                stderr.trim()
            ),
        })
    }

    fn key_env(&self) -> BTreeMap<String, String> {
        let mut e = self.ctx.project_env.clone();
        e.extend(self.ctx.context_env.clone());
        e.extend(env::builtins(self.ctx, self.started));
        e
    }

    async fn render(&self, template: &str) -> Result<String, String> {
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for file in checksum_files(template) {
            let abs = self.resolve(&file);
            files.insert(file.clone(), self.read_file(&abs).await?);
        }
        let lookup = |f: &str| -> Result<Vec<u8>, String> {
            files
                .get(f)
                .cloned()
                .ok_or_else(|| format!("{f}: not found"))
        };
        let vcs = &self.ctx.vcs;
        let kc = KeyContext {
            branch: vcs.branch.clone().unwrap_or_default(),
            build_num: self.ctx.ids.build_num,
            revision: vcs.sha1.clone(),
            checkout_key: String::new(),
            environment: self.key_env(),
            epoch: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            arch: host_arch(),
            checksum: &lookup,
        };
        render_key(template, &kc).map_err(|e| e.to_string())
    }

    async fn read_file(&self, abs: &str) -> Result<Vec<u8>, String> {
        let (parent, name) = split_parent(abs);
        let (dir, missing) = self.bring_out(&parent, std::slice::from_ref(&name)).await?;
        if !missing.is_empty() {
            return Err(format!("{abs}: no such file"));
        }
        let p = dir.path.join(&name);
        std::fs::read(&p).map_err(|e| format!("{abs}: {e}"))
    }

    /// Where cache archives are rooted: `/` in a container, the job's home on the host.
    fn cache_root(&self) -> String {
        if self.executor.host_path("/").is_some() {
            self.started.home.clone()
        } else {
            "/".to_string()
        }
    }

    fn cache_rel(&self, root: &str, abs: &str) -> Option<String> {
        if root == "/" {
            return Some(abs.trim_start_matches('/').to_string());
        }
        abs.strip_prefix(root)
            .and_then(|r| r.strip_prefix('/'))
            .map(str::to_string)
            .filter(|r| !r.is_empty())
    }

    async fn save_cache(&self, template: &str, paths: &[String]) -> Result<(), String> {
        let key = self.render(template).await?;
        if self.ctx.stores.caches.contains(&key) {
            self.reporter.notice(
                format!("Skipping cache generation, cache already exists for key: {key}"),
                false,
            );
            return Ok(());
        }
        let root = self.cache_root();
        let mut rels = Vec::new();
        for p in paths {
            let abs = self.resolve(p);
            match self.cache_rel(&root, &abs) {
                Some(rel) => rels.push(rel),
                None => self.reporter.notice(
                    format!("save_cache: {abs} is outside the job's home folder on this executor; not saved"),
                    true,
                ),
            }
        }
        let (dir, missing) = self.bring_out(&root, &rels).await?;
        for m in &missing {
            self.reporter.notice(
                format!("save_cache: no file or folder at /{m}; skipped"),
                true,
            );
        }
        let present: Vec<PathBuf> = rels
            .iter()
            .filter(|r| !missing.contains(r))
            .map(PathBuf::from)
            .collect();
        if present.is_empty() {
            self.reporter
                .notice("save_cache: nothing to save; no cache stored", true);
            return Ok(());
        }
        self.reporter
            .progress(format!("Creating cache archive for key {key}"), false);
        let mut file = tempfile::tempfile().map_err(|e| e.to_string())?;
        let stats = archive::pack(&dir.path, &present, &mut file, &ArchiveLimits::default())
            .map_err(|e| e.to_string())?;
        file.rewind().map_err(|e| e.to_string())?;
        match self
            .ctx
            .stores
            .caches
            .save(&key, file)
            .map_err(|e| e.to_string())?
        {
            SaveOutcome::Saved { size } => self.reporter.progress(
                format!(
                    "Stored cache {key}: {} files, {} compressed",
                    stats.files,
                    human_bytes(size)
                ),
                true,
            ),
            SaveOutcome::AlreadyExists => self.reporter.progress(
                format!("Skipping cache generation, cache already exists for key: {key}"),
                true,
            ),
        }
        Ok(())
    }

    async fn restore_cache(&self, templates: &[String]) -> Result<(), String> {
        let mut keys = Vec::new();
        for t in templates {
            keys.push(self.render(t).await?);
        }
        let hit = self
            .ctx
            .stores
            .caches
            .restore(&keys)
            .map_err(|e| e.to_string())?;
        let Some(hit) = hit else {
            self.reporter.notice(
                format!("No cache is found for key: {}", keys.join(", ")),
                false,
            );
            return Ok(());
        };
        self.reporter.progress(
            format!(
                "Found a cache from key {} ({})",
                hit.key,
                human_bytes(hit.size)
            ),
            false,
        );
        let root = self.cache_root();
        let archive_path = hit.path.clone();
        let mut files = 0;
        self.bring_in(&root, |host| {
            let f = std::fs::File::open(&archive_path)
                .map_err(|e| format!("{}: {e}", archive_path.display()))?;
            let stats = archive::unpack(f, host, &ArchiveLimits::default())
                .map_err(|e| format!("cache {}: {e}", hit.key))?;
            files = stats.files;
            Ok(())
        })
        .await?;
        self.reporter.progress(
            format!("Restored {files} files from cache {}", hit.key),
            true,
        );
        Ok(())
    }

    async fn persist(&self, root: &str, paths: &[String]) -> Result<(), String> {
        let abs = self.resolve(root);
        let (dir, _) = self.bring_out(&abs, paths).await?;
        let layer = self
            .ctx
            .stores
            .workspaces
            .persist(
                &self.ctx.ids.workflow_id,
                &self.ctx.job_name,
                &dir.path,
                paths,
            )
            .map_err(|e| {
                e.to_string()
                    .replace(&dir.path.to_string_lossy().into_owned(), &abs)
            })?;
        self.reporter.notice(
            format!(
                "persisted {} files ({}) to the workspace",
                layer.stats.files,
                human_bytes(layer.stats.bytes)
            ),
            false,
        );
        Ok(())
    }

    async fn attach(&self, at: &str) -> Result<(), String> {
        let abs = self.resolve(at);
        let ctx = self.ctx;
        let mut summary = String::new();
        self.bring_in(&abs, |host| {
            let stats = ctx
                .stores
                .workspaces
                .attach(&ctx.ids.workflow_id, &ctx.upstream, host)
                .map_err(|e| e.to_string())?;
            summary = format!(
                "attached {} layers ({} files) at {abs}",
                stats.layers, stats.unpacked.files
            );
            Ok(())
        })
        .await?;
        self.reporter.notice(summary, false);
        Ok(())
    }

    async fn store_artifacts(
        &self,
        path: &str,
        destination: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let abs = self.resolve(path);
        let (parent, name) = split_parent(&abs);
        let (dir, missing) = self.bring_out(&parent, std::slice::from_ref(&name)).await?;
        if !missing.is_empty() {
            self.reporter
                .notice(format!("store_artifacts: no file or folder at {abs}"), true);
            return Ok(Vec::new());
        }
        let store =
            ArtifactStore::new(&self.ctx.stores.artifacts_dir).map_err(|e| e.to_string())?;
        let dest =
            destination.map_or_else(|| path.trim_start_matches('/').to_string(), str::to_string);
        let stored = store
            .store(&dir.path.join(&name), Some(&dest))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for a in stored {
            self.reporter.emit(EventKind::Artifact {
                path: a.path.clone(),
                location: a.file.to_string_lossy().into_owned(),
            });
            out.push(a.path);
        }
        Ok(out)
    }

    async fn store_test_results(&self, index: usize, path: &str) -> Result<(u64, u64), String> {
        let abs = self.resolve(path);
        let (parent, name) = split_parent(&abs);
        let (dir, missing) = self.bring_out(&parent, std::slice::from_ref(&name)).await?;
        if !missing.is_empty() {
            self.reporter.notice(
                format!("store_test_results: no file or folder at {abs}"),
                true,
            );
            return Ok((0, 0));
        }
        let base = dir.path.join(&name);
        let files = xml_files(&base);
        let keep = self
            .ctx
            .stores
            .test_results_dir
            .join(format!("node-{}", self.ctx.node));
        std::fs::create_dir_all(&keep).map_err(|e| format!("{}: {e}", keep.display()))?;
        let (mut tests, mut failures, mut skipped) = (0u64, 0u64, 0u64);
        let mut failed = Vec::new();
        for (i, file) in files.iter().enumerate() {
            let shown = file
                .strip_prefix(&dir.path)
                .map(|p| format!("{parent}/{}", p.display()))
                .unwrap_or_else(|_| file.display().to_string());
            let bytes = match std::fs::read(file) {
                Ok(b) => b,
                Err(e) => {
                    self.reporter.notice(format!("{shown}: {e}"), true);
                    continue;
                }
            };
            let report = match junit::parse(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    self.reporter
                        .notice(format!("{shown}: not a JUnit XML report: {e}"), true);
                    continue;
                }
            };
            let _ = std::fs::write(keep.join(format!("{i:04}.xml")), &bytes);
            let counts = report.counts();
            tests += counts.tests as u64;
            failures += (counts.failed + counts.errors) as u64;
            skipped += counts.skipped as u64;
            for case in report
                .cases()
                .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Error))
            {
                if failed.len() < MAX_LISTED_FAILURES {
                    failed.push(FailedTest {
                        classname: case.classname.clone(),
                        name: case.name.clone(),
                        message: case
                            .message
                            .clone()
                            .or_else(|| case.text.clone())
                            .unwrap_or_default()
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    });
                }
            }
        }
        self.reporter.emit(EventKind::TestResults {
            step: index,
            tests,
            failures,
            skipped,
            failed,
        });
        Ok((tests, failures))
    }

    fn setup_remote_docker(&self, job_env: &mut BTreeMap<String, String>) {
        if self.executor.host_path("/").is_some() {
            self.reporter.notice(
                "setup_remote_docker: steps on this machine use its own Docker Engine",
                true,
            );
            return;
        }
        job_env.insert(
            "DOCKER_HOST".to_string(),
            "unix:///var/run/docker.sock".to_string(),
        );
        self.reporter.notice(
            "setup_remote_docker: the job talks to this machine's own Docker Engine (not an isolated remote engine)",
            true,
        );
    }
}

/// Writes the timings the node was given into its task folder.
pub(super) fn write_timings(ctx: &JobContext) {
    if let Some(timings) = &ctx.timings
        && let Ok(json) = serde_json::to_vec(timings)
    {
        let _ = std::fs::write(ctx.task_dir.join(crate::agent::TIMINGS_FILE), json);
    }
}

/// The timings of the test results a job's previous run stored under `dir` (every node's), for
/// `circleci tests split --split-by=timings`. Read once per run, before its nodes start, so
/// every node splits with the same data.
pub fn load_timings(dir: &Path) -> Option<Timings> {
    let reports: Vec<TestReport> = xml_files(dir)
        .into_iter()
        .filter_map(|f| std::fs::read(f).ok())
        .filter_map(|b| junit::parse(&b).ok())
        .collect();
    (!reports.is_empty()).then(|| Timings::from_reports(&reports))
}

/// Every `.xml` file at `path` (a file) or under it (a folder), sorted.
fn xml_files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return out;
    };
    if meta.is_file() {
        out.push(path.to_path_buf());
        return out;
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "xml") => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// The files named by `{{ checksum "FILE" }}` in a key template.
fn checksum_files(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("checksum") {
        rest = &rest[i + "checksum".len()..];
        let trimmed = rest.trim_start();
        if let Some(q) = trimmed.strip_prefix('"')
            && let Some(end) = q.find('"')
        {
            out.push(q[..end].to_string());
        }
    }
    out
}

fn split_parent(abs: &str) -> (String, String) {
    match abs.rsplit_once('/') {
        Some(("", name)) => ("/".to_string(), name.to_string()),
        Some((parent, name)) => (parent.to_string(), name.to_string()),
        None => (".".to_string(), abs.to_string()),
    }
}

/// What `checkout` says when the repository's server refused its fetch.
fn refused(refusal: Refusal, vcs: &super::Vcs) -> String {
    let key = vcs.access.as_ref().and_then(|a| a.ssh_private_key.as_ref());
    match refusal {
        Refusal::HostKeyChanged => format!(
            "the SSH host key of {} changed since it was recorded; if the change is expected, \
             an admin replaces the project's known hosts (PUT /api/circa/projects/<slug>/known-hosts)",
            vcs.repository_url
        ),
        Refusal::HostKeyUnknown => format!(
            "the SSH host key of {} is not among the project's known hosts (give it with \
             PUT /api/circa/projects/<slug>/known-hosts)",
            vcs.repository_url
        ),
        Refusal::KeyRefused if key.is_some() => {
            "the forge refused the project's checkout key — add its public key as a deploy key"
                .to_string()
        }
        Refusal::KeyRefused => {
            "the forge refused this host's SSH keys and the project gave no checkout key"
                .to_string()
        }
        Refusal::CredentialsNeeded => "the repository asked for credentials; give the project \
             a token with PUT /api/circa/projects/<slug>/repo-token"
            .to_string(),
        Refusal::CredentialsRefused => {
            "the repository refused the project's token (PUT /api/circa/projects/<slug>/repo-token \
             replaces it)"
                .to_string()
        }
    }
}

fn run_git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    finish_git(cmd)
}

fn finish_git(mut cmd: std::process::Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("checkout: cannot run git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "checkout: git failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// `1.2 MiB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_checksum_files_in_key_templates() {
        assert_eq!(
            checksum_files(
                r#"v1-{{ checksum "package-lock.json" }}-{{checksum "a/b"}}-{{ .Branch }}"#
            ),
            vec!["package-lock.json", "a/b"]
        );
        assert_eq!(split_parent("/a/b"), ("/a".to_string(), "b".to_string()));
        assert_eq!(split_parent("/b"), ("/".to_string(), "b".to_string()));
        assert_eq!(human_bytes(2048), "2.0 KiB");
    }
}
