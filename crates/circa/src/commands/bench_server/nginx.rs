//! Debian's nginx in front of `circa server` replicas, as the README's production walk-through
//! sets it up: one upstream, round-robin, no sticky sessions, connections to the replicas kept
//! open and reused; responses unbuffered and reads long (SSE, long-poll claims); a request that
//! could not reach a replica goes to the next one, never one that did (non-idempotent retries
//! stay off).
//!
//! Used by `circa bench server` (W2-ha) and, by path, by the replica tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs nginx.
pub const NGINX: &str = "/usr/sbin/nginx";

/// Whether nginx is installed.
pub fn installed() -> bool {
    Path::new(NGINX).is_file()
}

/// nginx's configuration: listen on 127.0.0.1:`port`, proxy to `replicas` (`host:port`), its
/// pid, logs and temp files under `prefix`.
pub fn config(prefix: &Path, port: u16, replicas: &[String]) -> String {
    config_with_down(prefix, port, replicas, None)
}

/// [`config`] with replica `down` (an index into `replicas`) marked `down`: nginx sends it no
/// new request.
pub fn config_with_down(
    prefix: &Path,
    port: u16,
    replicas: &[String],
    down: Option<usize>,
) -> String {
    let p = prefix.display();
    let servers: String = replicas
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let state = if down == Some(i) { " down" } else { "" };
            format!("    server {r} max_fails=1 fail_timeout=2s{state};\n")
        })
        .collect();
    format!(
        "worker_processes 2;\n\
         pid {p}/nginx.pid;\n\
         error_log {p}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 client_body_temp_path {p}/client_body;\n\
         \x20 proxy_temp_path {p}/proxy;\n\
         \x20 fastcgi_temp_path {p}/fastcgi;\n\
         \x20 uwsgi_temp_path {p}/uwsgi;\n\
         \x20 scgi_temp_path {p}/scgi;\n\
         \x20 client_max_body_size 0;\n\
         \x20 client_body_buffer_size 1m;\n\
         \x20 upstream circa {{\n{servers}    keepalive 32;\n  }}\n\
         \x20 server {{\n\
         \x20   listen 127.0.0.1:{port};\n\
         \x20   location / {{\n\
         \x20     proxy_pass http://circa;\n\
         \x20     proxy_http_version 1.1;\n\
         \x20     proxy_set_header Host $http_host;\n\
         \x20     proxy_set_header Connection \"\";\n\
         \x20     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20     proxy_set_header X-Forwarded-Proto $scheme;\n\
         \x20     proxy_buffering off;\n\
         \x20     proxy_read_timeout 3600s;\n\
         \x20     proxy_send_timeout 3600s;\n\
         \x20     proxy_connect_timeout 2s;\n\
         \x20     proxy_next_upstream error timeout;\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n"
    )
}

/// A running nginx, stopped when dropped.
pub struct Nginx {
    child: Child,
    /// Its folder: configuration, pid, error log, temp files.
    prefix: PathBuf,
    /// Its URL.
    pub url: String,
}

impl Nginx {
    /// Its error log.
    pub fn error_log(&self) -> PathBuf {
        self.prefix.join("error.log")
    }

    /// Starts nginx on 127.0.0.1:`port` in front of `replicas` (`host:port`), its files in
    /// `prefix`; returns once it accepts connections.
    pub fn start(prefix: &Path, port: u16, replicas: &[String]) -> std::io::Result<Nginx> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(prefix)?;
        // Workers may run as another user (nobody, when started as root).
        std::fs::set_permissions(prefix, std::fs::Permissions::from_mode(0o755))?;
        for temp in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            let dir = prefix.join(temp);
            std::fs::create_dir_all(&dir)?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))?;
        }
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, config(prefix, port, replicas))?;
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let nginx = Nginx {
            child,
            prefix: prefix.to_path_buf(),
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(std::io::Error::other(format!(
                    "nginx did not listen on port {port} within 10 s"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A fast shutdown (SIGTERM; SIGQUIT would wait for open streams): the master stops its
        // workers, which a SIGKILL to it would leave behind.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
