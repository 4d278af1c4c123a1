//! The orb registry folder: `ROOT/NAMESPACE/NAME/VERSION.yml`, one packed orb per file.

use circa_config::orbs::{OrbError, OrbRef, OrbSource, OrbText, resolve_version, sort_versions};
use circa_config::yaml::{Limits, decode};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// Largest packed orb we read (the config loader's limit).
pub const MAX_ORB_BYTES: u64 = Limits::DEFAULT_MAX_BYTES as u64;

/// An orb registry folder laid out as `ROOT/NAMESPACE/NAME/VERSION.yml`, where VERSION is
/// `x.y.z`, `dev:LABEL`, or a partial `x`/`x.y` that holds what a config writing it got.
#[derive(Clone, Debug)]
pub struct OrbDir {
    root: PathBuf,
}

impl OrbDir {
    /// A registry rooted at `root` (it need not exist: then every orb is not found).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OrbDir { root: root.into() }
    }

    /// The registry's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The versions stored for `namespace/name` (file stems of its `*.yml` files), unsorted;
    /// `None` when the orb has no folder.
    pub fn versions(&self, namespace: &str, name: &str) -> Option<Vec<String>> {
        let entries = fs::read_dir(self.root.join(namespace).join(name)).ok()?;
        let versions = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
            .filter_map(|e| {
                let file_name = e.file_name().into_string().ok()?;
                file_name.strip_suffix(".yml").map(str::to_string)
            })
            .collect();
        Some(versions)
    }
}

impl OrbSource for OrbDir {
    fn load(&self, orb: &OrbRef) -> Result<OrbText, OrbError> {
        // OrbRef guarantees namespace and name are plain folder names (no `/`, no `..`).
        let folder = self.root.join(orb.namespace()).join(orb.name());
        let Some(mut available) = self.versions(orb.namespace(), orb.name()) else {
            return Err(OrbError::NotFound {
                orb: orb.to_string(),
                searched: format!("no folder {} in {}", orb.full_name(), self.root.display()),
            });
        };
        let Some(version) = resolve_version(&available, orb.version()) else {
            sort_versions(&mut available);
            return Err(OrbError::VersionNotFound {
                orb: orb.to_string(),
                available,
                searched: folder.display().to_string(),
            });
        };
        let path = folder.join(format!("{version}.yml"));
        let unreadable = |reason: String| OrbError::Unreadable {
            orb: orb.to_string(),
            origin: path.display().to_string(),
            reason,
        };
        let size = fs::metadata(&path)
            .map_err(|e| unreadable(e.to_string()))?
            .len();
        if size > MAX_ORB_BYTES {
            return Err(unreadable(format!(
                "the file is {size} bytes; the limit is {MAX_ORB_BYTES} bytes"
            )));
        }
        let bytes = fs::read(&path).map_err(|e| unreadable(e.to_string()))?;
        let text = decode(&bytes, &Limits::default())
            .map_err(|d| unreadable(d.message))?
            .to_string();
        Ok(OrbText {
            text,
            origin: path.display().to_string(),
            version,
        })
    }
}

/// The registry folder to use: `$CIRCA_ORB_DIR` if set, else `$XDG_DATA_HOME/circa/orbs`, else
/// `$HOME/.local/share/circa/orbs` (else `.circa/orbs` in the working folder).
pub fn default_orb_dir() -> PathBuf {
    orb_dir_from_env(|key| std::env::var_os(key))
}

/// [`default_orb_dir`] over any environment lookup. Empty values count as unset, and a relative
/// `XDG_DATA_HOME` is ignored, as the XDG base directory spec says.
fn orb_dir_from_env(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |key: &str| var(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("CIRCA_ORB_DIR") {
        return dir;
    }
    if let Some(data) = set("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return data.join("circa").join("orbs");
    }
    match set("HOME") {
        Some(home) => home.join(".local/share/circa/orbs"),
        None => PathBuf::from(".circa/orbs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn r(s: &str) -> OrbRef {
        OrbRef::parse(s).unwrap()
    }

    #[test]
    fn loads_the_resolved_version() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "circleci/node/5.0.0.yml",
            "version: 2.1\n# 5.0.0\n",
        );
        write(
            tmp.path(),
            "circleci/node/5.10.0.yml",
            "version: 2.1\n# 5.10.0\n",
        );
        write(
            tmp.path(),
            "circleci/node/5.9.0.yml",
            "version: 2.1\n# 5.9.0\n",
        );
        write(
            tmp.path(),
            "circleci/node/dev:x.yml",
            "version: 2.1\n# dev\n",
        );
        write(tmp.path(), "circleci/node/notes.txt", "ignored");
        let dir = OrbDir::new(tmp.path());
        let found = dir.load(&r("circleci/node@5")).unwrap();
        assert_eq!(found.version, "5.10.0");
        assert!(found.text.contains("# 5.10.0"));
        assert!(found.origin.ends_with("circleci/node/5.10.0.yml"));
        assert_eq!(
            dir.load(&r("circleci/node@dev:x")).unwrap().version,
            "dev:x"
        );
        assert_eq!(
            dir.load(&r("circleci/node@5.9.0")).unwrap().version,
            "5.9.0"
        );
    }

    #[test]
    fn missing_orbs_and_versions_are_explained() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "circleci/node/5.1.0.yml", "version: 2.1\n");
        write(tmp.path(), "circleci/node/5.0.0.yml", "version: 2.1\n");
        let dir = OrbDir::new(tmp.path());
        let root = tmp.path().display();
        let e = dir.load(&r("circleci/node@9")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "orb `circleci/node@9` not found in {root}/circleci/node: available versions are 5.0.0, 5.1.0"
            )
        );
        let e = dir.load(&r("circleci/go@1.2")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("orb `circleci/go@1.2` not found (no folder circleci/go in {root})")
        );
    }

    #[test]
    fn oversized_and_binary_files_are_unreadable() {
        let tmp = tempfile::tempdir().unwrap();
        let big = "#".repeat(MAX_ORB_BYTES as usize + 1);
        write(tmp.path(), "a/big/1.0.0.yml", &big);
        let path = tmp.path().join("a/bin/1.0.0.yml");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        let dir = OrbDir::new(tmp.path());
        let e = dir.load(&r("a/big@1")).unwrap_err();
        assert!(matches!(e, OrbError::Unreadable { .. }), "{e}");
        assert!(e.to_string().contains("the limit is 4194304 bytes"), "{e}");
        let e = dir.load(&r("a/bin@1")).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }

    #[test]
    fn default_dir_follows_the_environment() {
        let dir = |pairs: &[(&str, &str)]| {
            let env: HashMap<String, OsString> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect();
            orb_dir_from_env(|k| env.get(k).cloned())
        };
        let all = [
            ("CIRCA_ORB_DIR", "/srv/orbs"),
            ("XDG_DATA_HOME", "/data"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(dir(&all), PathBuf::from("/srv/orbs"));
        assert_eq!(dir(&all[1..]), PathBuf::from("/data/circa/orbs"));
        assert_eq!(
            dir(&all[2..]),
            PathBuf::from("/home/u/.local/share/circa/orbs")
        );
        assert_eq!(
            dir(&[
                ("CIRCA_ORB_DIR", ""),
                ("XDG_DATA_HOME", "rel"),
                ("HOME", "/h")
            ]),
            PathBuf::from("/h/.local/share/circa/orbs")
        );
        assert_eq!(dir(&[]), PathBuf::from(".circa/orbs"));
        // The real environment gives some path.
        assert!(!default_orb_dir().as_os_str().is_empty());
    }
}
