//! `add_ssh_keys`: the project's additional SSH keys into the job's `~/.ssh`, laid out as
//! CircleCI lays them out: each private key as `~/.ssh/id_rsa_<MD5 fingerprint without
//! colons>` (mode 0600, whatever the key's type), and per key a block appended to
//! `~/.ssh/config`:
//!
//! ```text
//! Host HOSTNAME
//!   IdentitiesOnly no
//!   IdentityFile /HOME/.ssh/id_rsa_<hex>
//! ```
//!
//! (`Host *` for a key given without a hostname). On an environment that is this machine the
//! files are written in place; elsewhere (a container) they are copied in and a shell inside
//! sets their modes and appends the config.
//!
//! OpenSSH reads `~/.ssh` from the account's home in the password database, not `$HOME`; the
//! shell executor gives each job a home of its own, so there the step also sets
//! `GIT_SSH_COMMAND` (unless the job sets it) to read the job's config and `known_hosts`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use circa_model::protocol::SshKeyGrant;

use crate::events::Reporter;
use crate::executor::{ExecRequest, Executor, Started};

/// The file a staged config block is copied in as, appended, then removed.
const STAGED_CONFIG: &str = ".circa-config-append";

/// The keys `fingerprints` name (every key when empty), or the first fingerprint no key has.
pub fn select<'a>(
    keys: &'a [SshKeyGrant],
    fingerprints: &[String],
) -> Result<Vec<&'a SshKeyGrant>, String> {
    if fingerprints.is_empty() {
        return Ok(keys.iter().collect());
    }
    let mut chosen: Vec<&SshKeyGrant> = Vec::new();
    for given in fingerprints {
        let found: Vec<&SshKeyGrant> = keys.iter().filter(|k| k.matches(given)).collect();
        if found.is_empty() {
            return Err(format!(
                "add_ssh_keys: the project has no SSH key with fingerprint {given} for this job \
                 (keys are added in the project's settings; a pull request from a fork gets \
                 none unless the project gives forks secrets)"
            ));
        }
        for key in found {
            if !chosen.contains(&key) {
                chosen.push(key);
            }
        }
    }
    Ok(chosen)
}

/// The private key's file name in `~/.ssh`.
pub fn key_file_name(key: &SshKeyGrant) -> String {
    format!("id_rsa_{}", key.fingerprint.replace(':', ""))
}

/// The blocks appended to `~/.ssh/config` for `keys`, whose folder is `ssh_dir` (absolute).
pub fn config_blocks(ssh_dir: &str, keys: &[&SshKeyGrant]) -> String {
    let mut text = String::new();
    for key in keys {
        let host = if key.hostname.is_empty() {
            "*"
        } else {
            key.hostname.as_str()
        };
        text.push_str(&format!(
            "Host {host}\n  IdentitiesOnly no\n  IdentityFile {ssh_dir}/{}\n",
            key_file_name(key)
        ));
    }
    text
}

/// Writes the keys and appends the config in `dir`, a folder of this machine (made 0700).
pub fn write_into(dir: &Path, ssh_dir: &str, keys: &[&SshKeyGrant]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    for key in keys {
        let path = dir.join(key_file_name(key));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(key.private_key.as_bytes())?;
        if !key.private_key.ends_with('\n') {
            file.write_all(b"\n")?;
        }
    }
    let config = dir.join("config");
    let needs_newline = std::fs::read(&config)
        .map(|c| !c.is_empty() && !c.ends_with(b"\n"))
        .unwrap_or(false);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&config)?;
    if needs_newline {
        file.write_all(b"\n")?;
    }
    file.write_all(config_blocks(ssh_dir, keys).as_bytes())
}

/// Installs the chosen keys into the environment's `~/.ssh`.
pub async fn install<E: Executor>(
    executor: &E,
    started: &Started,
    reporter: &Reporter,
    job_env: &mut BTreeMap<String, String>,
    keys: &[&SshKeyGrant],
) -> Result<(), String> {
    let ssh_dir = format!("{}/.ssh", started.home.trim_end_matches('/'));
    if let Some(host) = executor.host_path(&ssh_dir) {
        write_into(&host, &ssh_dir, keys).map_err(|e| format!("add_ssh_keys: {ssh_dir}: {e}"))?;
        job_env
            .entry("GIT_SSH_COMMAND".to_string())
            .or_insert(format!(
                "ssh -F {ssh_dir}/config -o UserKnownHostsFile={ssh_dir}/known_hosts"
            ));
    } else {
        copy_into_container(executor, started, job_env, &ssh_dir, keys).await?;
    }
    for key in keys {
        let host = if key.hostname.is_empty() {
            "every host"
        } else {
            &key.hostname
        };
        reporter.progress(
            format!(
                "Added SSH key {} for {host} as {ssh_dir}/{}",
                key.fingerprint,
                key_file_name(key)
            ),
            false,
        );
    }
    Ok(())
}

/// Copies the keys and the config block in, then sets modes and appends inside.
async fn copy_into_container<E: Executor>(
    executor: &E,
    started: &Started,
    job_env: &BTreeMap<String, String>,
    ssh_dir: &str,
    keys: &[&SshKeyGrant],
) -> Result<(), String> {
    let staged = tempfile::Builder::new()
        .prefix("circa-ssh-")
        .tempdir()
        .map_err(|e| format!("add_ssh_keys: a temporary folder: {e}"))?;
    let keep = |e: std::io::Error| format!("add_ssh_keys: {e}");
    for key in keys {
        std::fs::write(staged.path().join(key_file_name(key)), &key.private_key).map_err(keep)?;
    }
    std::fs::write(
        staged.path().join(STAGED_CONFIG),
        config_blocks(ssh_dir, keys),
    )
    .map_err(keep)?;
    executor
        .copy_in(staged.path(), ssh_dir)
        .await
        .map_err(|e| format!("add_ssh_keys: copying into {ssh_dir}: {e}"))?;
    let files: Vec<String> = keys.iter().map(|k| key_file_name(k)).collect();
    let script = format!(
        "set -e; cd '{ssh_dir}'; chmod 700 .; chmod 600 {files}; \
         if [ -s config ] && [ -n \"$(tail -c 1 config)\" ]; then echo >> config; fi; \
         cat {STAGED_CONFIG} >> config; rm -f {STAGED_CONFIG}; chmod 600 config",
        files = files.join(" ")
    );
    let request = ExecRequest {
        argv: vec!["/bin/sh".into(), "-c".into(), script],
        env: job_env.clone(),
        workdir: started.home.clone(),
    };
    let mut running = executor
        .exec(request)
        .await
        .map_err(|e| format!("add_ssh_keys: {e}"))?;
    let mut said = Vec::new();
    while let Some(chunk) = running.output.recv().await {
        said.extend(chunk);
    }
    match running.exit.await {
        Ok(0) => Ok(()),
        Ok(code) => Err(format!(
            "add_ssh_keys: setting up {ssh_dir} exited with {code}: {}",
            String::from_utf8_lossy(&said).trim()
        )),
        Err(e) => Err(format!("add_ssh_keys: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn key(hostname: &str, md5: &str) -> SshKeyGrant {
        SshKeyGrant {
            hostname: hostname.into(),
            fingerprint: md5.into(),
            sha256: format!("SHA256:{}", md5.replace(':', "")),
            private_key: format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{md5}\n-----END OPENSSH PRIVATE KEY-----"
            ),
        }
    }

    #[test]
    fn keys_are_chosen_by_fingerprint_and_an_unknown_one_fails_naming_it() {
        let keys = [key("github.com", "aa:bb"), key("", "cc:dd")];
        assert_eq!(select(&keys, &[]).unwrap().len(), 2);
        let chosen = select(&keys, &["CC:DD".into(), "cc:dd".into()]).unwrap();
        assert_eq!(chosen, vec![&keys[1]]);
        let chosen = select(&keys, &["SHA256:aabb".into()]).unwrap();
        assert_eq!(chosen, vec![&keys[0]]);
        let e = select(&keys, &["aa:bb".into(), "ee:ff".into()]).unwrap_err();
        assert!(e.contains("fingerprint ee:ff"), "{e}");
        let e = select(&[], &["aa:bb".into()]).unwrap_err();
        assert!(e.contains("aa:bb"), "{e}");
    }

    #[test]
    fn files_are_named_by_fingerprint_private_and_the_config_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join(".ssh");
        std::fs::create_dir(&ssh).unwrap();
        std::fs::write(ssh.join("config"), "Host old\n  User me").unwrap();
        let keys = [key("git.example.com", "0a:1b"), key("", "2c:3d")];
        let chosen: Vec<&SshKeyGrant> = keys.iter().collect();
        write_into(&ssh, "/home/u/.ssh", &chosen).unwrap();

        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ssh), 0o700);
        let first = ssh.join("id_rsa_0a1b");
        assert_eq!(mode(&first), 0o600);
        assert_eq!(mode(&ssh.join("id_rsa_2c3d")), 0o600);
        let text = std::fs::read_to_string(&first).unwrap();
        assert!(text.starts_with("-----BEGIN OPENSSH") && text.ends_with("KEY-----\n"));
        assert_eq!(
            std::fs::read_to_string(ssh.join("config")).unwrap(),
            "Host old\n  User me\n\
             Host git.example.com\n  IdentitiesOnly no\n  IdentityFile /home/u/.ssh/id_rsa_0a1b\n\
             Host *\n  IdentitiesOnly no\n  IdentityFile /home/u/.ssh/id_rsa_2c3d\n"
        );
        // Again: the key is rewritten, the config grows.
        write_into(&ssh, "/home/u/.ssh", &chosen[..1]).unwrap();
        let config = std::fs::read_to_string(ssh.join("config")).unwrap();
        assert_eq!(config.matches("Host git.example.com").count(), 2);
    }

    #[test]
    fn a_missing_ssh_folder_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join(".ssh");
        let keys = [key("", "ff:00")];
        write_into(&ssh, "/root/.ssh", &keys.iter().collect::<Vec<_>>()).unwrap();
        let mode = std::fs::metadata(&ssh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(
            std::fs::read_to_string(ssh.join("config")).unwrap(),
            "Host *\n  IdentitiesOnly no\n  IdentityFile /root/.ssh/id_rsa_ff00\n"
        );
    }
}
