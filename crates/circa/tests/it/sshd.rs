//! A real OpenSSH server for the tests, run as a test process the way a forge runs it: its own
//! host key, its own config, an `authorized_keys` whose keys may run only `git-upload-pack` and
//! `git-receive-pack` (through `git-shell`), serving bare repositories under its folder.
//!
//! Debian's `openssh-server` provides `sshd`; `.ci/run` installs it. Tests that need it call
//! [`Sshd::available`] first when the server is optional (`CI_REQUIRE_SSHD=1` makes its absence
//! a failure instead).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the server.
const SSHD: &str = "/usr/sbin/sshd";

/// A running `sshd` on 127.0.0.1.
pub struct Sshd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The port it listens on.
    pub port: u16,
}

impl Sshd {
    /// Whether `sshd` can run here; panics when `CI_REQUIRE_SSHD=1` and it cannot.
    pub fn available() -> bool {
        let found = Path::new(SSHD).exists() && which("ssh-keygen") && which("git-shell");
        if !found && std::env::var("CI_REQUIRE_SSHD").is_ok_and(|v| v == "1") {
            panic!("CI_REQUIRE_SSHD=1 but sshd, ssh-keygen or git-shell is missing");
        }
        found
    }

    /// Starts a server whose `authorized_keys` holds `public_keys` (OpenSSH lines), each
    /// restricted to git's transfer commands.
    pub fn start(public_keys: &[&str]) -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("circa-sshd-")
            .tempdir()
            .unwrap();
        let mut sshd = Sshd {
            child: None,
            dir,
            port: 0,
        };
        sshd.new_host_key();
        sshd.set_authorized_keys(public_keys);
        sshd.launch();
        sshd
    }

    /// The folder bare repositories are served from: a repository made at `repos()/NAME.git`
    /// is `ssh://USER@127.0.0.1:PORT/…/NAME.git` (see [`Sshd::url`]).
    pub fn repos(&self) -> PathBuf {
        let repos = self.dir.path().join("repos");
        std::fs::create_dir_all(&repos).unwrap();
        repos
    }

    /// The SSH URL of a bare repository under [`Sshd::repos`].
    pub fn url(&self, name: &str) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}/{name}",
            user(),
            self.port,
            self.repos().display()
        )
    }

    /// Makes a bare copy of the repository at `source` under [`Sshd::repos`] as `name`, and
    /// returns its SSH URL.
    pub fn serve(&self, source: &Path, name: &str) -> String {
        bare_copy(source, &self.repos().join(name));
        self.url(name)
    }

    /// The server's public host key, one OpenSSH line (`ssh-ed25519 AAAA…`).
    pub fn host_public_key(&self) -> String {
        let line = std::fs::read_to_string(self.host_key().with_extension("pub")).unwrap();
        let mut parts = line.split_whitespace();
        format!("{} {}", parts.next().unwrap(), parts.next().unwrap())
    }

    /// The `known_hosts` line for this server (`[127.0.0.1]:PORT ssh-ed25519 AAAA…`).
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_public_key())
    }

    /// Replaces `authorized_keys` (read by `sshd` at each connection: no restart needed).
    pub fn set_authorized_keys(&self, public_keys: &[&str]) {
        let lines: String = public_keys
            .iter()
            .map(|key| {
                format!(
                    "command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",restrict {}\n",
                    key.trim()
                )
            })
            .collect();
        let file = self.dir.path().join("authorized_keys");
        std::fs::write(&file, lines).unwrap();
        set_mode(&file, 0o600);
    }

    /// Restarts the server on the same port with a new host key, as a man in the middle
    /// would present (or a forge whose key was replaced).
    pub fn change_host_key(&mut self) {
        self.stop();
        self.new_host_key();
        self.launch();
    }

    fn host_key(&self) -> PathBuf {
        self.dir.path().join("host_ed25519")
    }

    fn new_host_key(&self) {
        let key = self.host_key();
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(key.with_extension("pub"));
        let status = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "circa-test-host",
                "-f",
            ])
            .arg(&key)
            .status()
            .unwrap();
        assert!(status.success(), "ssh-keygen");
    }

    fn launch(&mut self) {
        if self.port == 0 {
            self.port = free_port();
        }
        let dir = self.dir.path();
        set_mode(dir, 0o700);
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n\
                 PidFile {pid}\nAuthorizedKeysFile {keys}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
                 AllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\nLogLevel VERBOSE\n",
                port = self.port,
                host_key = self.host_key().display(),
                pid = dir.join("sshd.pid").display(),
                keys = dir.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        // Run as root, `sshd` wants its privilege separation folder (the package's service
        // makes it at boot; a test process may be the first to need it).
        let _ = std::fs::create_dir_all("/run/sshd");
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not listen: {}",
                std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server logged (connections, refused keys).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The user the tests run as, who logs in to the test server.
pub fn user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            let out = Command::new("id").arg("-un").output().unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
}

/// Makes `dest` a bare copy of the repository at `source`.
pub fn bare_copy(source: &Path, dest: &Path) {
    let status = Command::new("git")
        .args(["clone", "--quiet", "--bare"])
        .arg(source)
        .arg(dest)
        .status()
        .unwrap();
    assert!(status.success(), "git clone --bare {}", source.display());
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_key_in_authorized_keys_fetches_and_a_changed_host_key_is_noticed() {
    if !Sshd::available() {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("id");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let repo = crate::server_harness::Repo::new("version: 2.1\n");
    let mut sshd = Sshd::start(&[&public]);
    let url = sshd.serve(repo.path(), "private.git");
    let known = keys.path().join("known_hosts");
    std::fs::write(&known, format!("{}\n", sshd.known_hosts_line())).unwrap();
    let ls_remote = || {
        Command::new("git")
            .args(["ls-remote", &url])
            .env(
                "GIT_SSH_COMMAND",
                format!(
                    "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={}",
                    key.display(),
                    known.display()
                ),
            )
            .output()
            .unwrap()
    };
    let out = ls_remote();
    assert!(
        out.status.success(),
        "{} {}",
        String::from_utf8_lossy(&out.stderr),
        sshd.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("refs/heads/main"));
    sshd.change_host_key();
    let out = ls_remote();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HOST IDENTIFICATION HAS CHANGED"),
        "{stderr}"
    );
}
