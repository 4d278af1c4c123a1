//! Server settings from the command line, `CIRCA_*` variables and a TOML file, in that order of
//! precedence.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

use circa_server::{BlobConfig, ServerConfig};

/// Options shared by `circa up` and `circa server`.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerArgs {
    /// A TOML file with any of these settings (keys as the long options, e.g. `listen`).
    #[arg(long, env = "CIRCA_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Where to listen [default: 127.0.0.1:8080].
    #[arg(long, env = "CIRCA_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where data lives: the SQLite file, blobs, git mirrors, the admin token [default: ./.circa].
    #[arg(long, env = "CIRCA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The database: `sqlite://PATH` or `postgres://USER@HOST/DB` [default: DATA_DIR/circa.db].
    #[arg(long, env = "CIRCA_DATABASE_URL")]
    pub database_url: Option<String>,
    /// An S3-compatible endpoint for blobs (with --s3-bucket; AWS itself needs no endpoint).
    #[arg(long, env = "CIRCA_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Keep blobs in this S3 bucket instead of DATA_DIR/blobs.
    #[arg(long, env = "CIRCA_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// The S3 region [default: us-east-1].
    #[arg(long, env = "CIRCA_S3_REGION")]
    pub s3_region: Option<String>,
    /// The S3 access key id.
    #[arg(long, env = "CIRCA_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// The S3 secret access key.
    #[arg(long, env = "CIRCA_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// The URL people and runners reach this server at [default: http://LISTEN].
    #[arg(long, env = "CIRCA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds a task's lease lasts without a heartbeat (1 to 60) [default: 30].
    #[arg(long, env = "CIRCA_LEASE_SECS")]
    pub lease_secs: Option<u64>,
    /// The largest log a step keeps, in bytes [default: 536870912].
    #[arg(long, env = "CIRCA_STEP_LOG_LIMIT")]
    pub step_log_limit: Option<u64>,
    /// The orb registry folder (see `circa orb import`).
    #[arg(long, env = "CIRCA_ORB_DIR")]
    pub orb_dir: Option<PathBuf>,
    /// The key file sealing project and context variables: base64 keys, one per line, the
    /// last one current; mode 0600 [default: DATA_DIR/secret.keys, made on first start].
    #[arg(long, env = "CIRCA_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Seconds any one git run (a clone, a fetch) may take before it is killed [default: 600].
    #[arg(long, env = "CIRCA_GIT_TIMEOUT_SECS")]
    pub git_timeout_secs: Option<u64>,
    /// The shortest interval between a schedule's runs, in seconds; shorter ones are refused
    /// [default: 60].
    #[arg(long, env = "CIRCA_MIN_SCHEDULE_INTERVAL_SECS")]
    pub min_schedule_interval_secs: Option<u64>,
    /// The longest a shutdown (SIGTERM, Ctrl-C) takes, in seconds: the server drains, then
    /// drops what is left; keep it below the service manager's stop timeout [default: 50].
    #[arg(long, env = "CIRCA_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// How long a server shutting down goes on accepting connections, with `/readyz` at 503,
    /// before it finishes the requests in flight, in seconds [default: 2].
    #[arg(long, env = "CIRCA_SHUTDOWN_DELAY_SECS")]
    pub shutdown_delay_secs: Option<u64>,
    /// A file holding the bearer token that `/metrics` on the main listener asks for; without
    /// one (and without --metrics-listen) metrics are not served.
    #[arg(long, env = "CIRCA_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// Serve `/metrics` open, without a token, on this address of its own (for a scrape from
    /// inside a cluster's network).
    #[arg(long, env = "CIRCA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

impl ServerArgs {
    /// These settings over the config file's (if any).
    pub fn merged(&self) -> anyhow::Result<ServerArgs> {
        let Some(path) = &self.config else {
            return Ok(self.clone());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: ServerArgs = toml::from_str(&text)
            .with_context(|| format!("{}: invalid settings", path.display()))?;
        Ok(ServerArgs {
            config: self.config.clone(),
            listen: self.listen.or(file.listen),
            data_dir: self.data_dir.clone().or(file.data_dir),
            database_url: self.database_url.clone().or(file.database_url),
            s3_endpoint: self.s3_endpoint.clone().or(file.s3_endpoint),
            s3_bucket: self.s3_bucket.clone().or(file.s3_bucket),
            s3_region: self.s3_region.clone().or(file.s3_region),
            s3_access_key_id: self.s3_access_key_id.clone().or(file.s3_access_key_id),
            s3_secret_access_key: self
                .s3_secret_access_key
                .clone()
                .or(file.s3_secret_access_key),
            public_url: self.public_url.clone().or(file.public_url),
            lease_secs: self.lease_secs.or(file.lease_secs),
            step_log_limit: self.step_log_limit.or(file.step_log_limit),
            orb_dir: self.orb_dir.clone().or(file.orb_dir),
            secret_key_file: self.secret_key_file.clone().or(file.secret_key_file),
            git_timeout_secs: self.git_timeout_secs.or(file.git_timeout_secs),
            min_schedule_interval_secs: self
                .min_schedule_interval_secs
                .or(file.min_schedule_interval_secs),
            shutdown_grace_secs: self.shutdown_grace_secs.or(file.shutdown_grace_secs),
            shutdown_delay_secs: self.shutdown_delay_secs.or(file.shutdown_delay_secs),
            metrics_token_file: self.metrics_token_file.clone().or(file.metrics_token_file),
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
        })
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".circa"))
    }

    /// The server's configuration.
    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let s = self.merged()?;
        let data_dir = absolute(&s.data_dir())?;
        let listen = s
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let orbs = s
            .orb_dir
            .clone()
            .unwrap_or_else(crate::orb_dir::default_orb_dir);
        let mut config = ServerConfig::new(
            listen,
            data_dir,
            Arc::new(crate::orb_dir::OrbDir::new(orbs)),
        );
        if let Some(url) = s.database_url {
            config.database_url = url;
        }
        if s.s3_endpoint.is_some() || s.s3_bucket.is_some() {
            let endpoint = s.s3_endpoint;
            config.blobs = BlobConfig::S3(circa_store::blobs::S3Config {
                allow_http: endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
                endpoint,
                bucket: s
                    .s3_bucket
                    .context("--s3-bucket is required with --s3-endpoint")?,
                region: s.s3_region.unwrap_or_else(|| "us-east-1".to_string()),
                access_key_id: s.s3_access_key_id.unwrap_or_default(),
                secret_access_key: s.s3_secret_access_key.unwrap_or_default(),
            });
        }
        config.public_url = s.public_url;
        if let Some(secs) = s.lease_secs {
            anyhow::ensure!(
                (1..=60).contains(&secs),
                "--lease-secs must be between 1 and 60, not {secs}"
            );
            config.lease = Duration::from_secs(secs);
        }
        if let Some(path) = &s.secret_key_file {
            config.secret_key_file = Some(absolute(path)?);
        }
        if let Some(limit) = s.step_log_limit {
            config.step_log_limit = limit;
        }
        if let Some(secs) = s.git_timeout_secs {
            anyhow::ensure!(secs >= 1, "--git-timeout-secs must be at least 1");
            config.git_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = s.min_schedule_interval_secs {
            anyhow::ensure!(secs >= 1, "--min-schedule-interval-secs must be at least 1");
            config.min_schedule_interval = Duration::from_secs(secs);
        }
        shutdown_settings(s.shutdown_grace_secs, s.shutdown_delay_secs, &mut config)?;
        if let Some(path) = &s.metrics_token_file {
            config.metrics_token = Some(metrics_token(path)?);
        }
        config.metrics_listen = s.metrics_listen;
        Ok(config)
    }
}

/// The grace period and the delay of a shutdown; the delay must fit in the grace period.
fn shutdown_settings(
    grace_secs: Option<u64>,
    delay_secs: Option<u64>,
    config: &mut ServerConfig,
) -> anyhow::Result<()> {
    if let Some(secs) = grace_secs {
        anyhow::ensure!(secs >= 1, "--shutdown-grace-secs must be at least 1");
        config.shutdown_grace = Duration::from_secs(secs);
    }
    if let Some(secs) = delay_secs {
        config.shutdown_delay = Duration::from_secs(secs);
    }
    anyhow::ensure!(
        config.shutdown_delay < config.shutdown_grace,
        "--shutdown-delay-secs ({} s) must be shorter than --shutdown-grace-secs ({} s)",
        config.shutdown_delay.as_secs(),
        config.shutdown_grace.as_secs()
    );
    Ok(())
}

/// The metrics token in `path`; an empty file is refused rather than served open.
fn metrics_token(path: &Path) -> anyhow::Result<circa_server::metrics::MetricsToken> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--metrics-token-file: reading {}", path.display()))?;
    circa_server::metrics::MetricsToken::from_file_text(&text)
        .with_context(|| format!("--metrics-token-file: {} is empty", path.display()))
}

/// `path` made absolute against the current folder.
pub fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("reading the current folder")?
        .join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metrics_token_file_is_read_and_an_empty_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metrics.token");
        std::fs::write(&file, " \n").unwrap();
        let args = ServerArgs {
            metrics_token_file: Some(file.clone()),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            ..ServerArgs::default()
        };
        let refused = args.server_config().unwrap_err().to_string();
        assert!(refused.contains("is empty"), "{refused}");
        std::fs::write(&file, "t0ken\n").unwrap();
        let config = args.server_config().unwrap();
        assert!(config.metrics_token.unwrap().accepts("t0ken"));
        assert_eq!(config.metrics_listen, args.metrics_listen);
    }
}
