//! `circa orb import`: copy packed orbs into the registry folder, checking each one first.

use super::{check_yaml_map, read_limited};
use anyhow::{Context as _, bail, ensure};
use circa_config::orbs::{OrbRef, VersionSpec, resolve_version};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// Copies packed orbs from `source` into the registry folder `registry`
/// (`REGISTRY/NAMESPACE/NAME/VERSION.yml`) and returns the `ns/name@version` of each.
///
/// - A FILE needs `as_ref` (`--as ns/name@x.y.z`); the version must be exact (`x.y.z`) or a
///   `dev:LABEL`, since a partial or `volatile` version names no single release.
/// - A FOLDER laid out like the registry (`NAMESPACE/NAME/VERSION.yml`) is merged in; `as_ref`
///   must then be `None`. Other files in it are ignored. If the folder has a `SOURCES.tsv`
///   (columns `orb`, `version_as_written`, `resolved_tag`), a file stored under a partial
///   version (`5.yml`) whose tag is a full version (`v5.3.0`) is imported as that version
///   (`5.3.0.yml`), so version resolution sees the real number.
///
/// Every file is checked (a YAML map that loads without errors) and every target compared
/// before anything is written, so a refused import writes nothing. Published orb versions are
/// immutable: an existing identical file is fine, a different one is refused unless `force`.
/// Each file is written to a temporary name and renamed into place.
pub fn import(
    source: &Path,
    registry: &Path,
    as_ref: Option<&str>,
    force: bool,
) -> anyhow::Result<Vec<String>> {
    let meta = fs::metadata(source).with_context(|| format!("cannot read {}", source.display()))?;
    let plan = if meta.is_dir() {
        ensure!(
            as_ref.is_none(),
            "--as is for importing one file; {} is a folder laid out as NAMESPACE/NAME/VERSION.yml",
            source.display()
        );
        plan_folder(source)?
    } else {
        let Some(as_ref) = as_ref else {
            bail!(
                "importing the file {} needs --as NAMESPACE/NAME@X.Y.Z",
                source.display()
            );
        };
        vec![plan_file(source, as_ref)?]
    };
    ensure!(
        !plan.is_empty(),
        "no orbs found in {} (expected NAMESPACE/NAME/VERSION.yml files)",
        source.display()
    );
    let contents = read_and_check(&plan)?;
    let writes = compare_with_registry(&plan, &contents, registry, force)?;
    for (item, bytes) in &writes {
        write_atomically(&item.target(registry), bytes)?;
    }
    let mut imported: Vec<String> = Vec::new();
    for item in &plan {
        let reference = item.reference();
        if !imported.contains(&reference) {
            imported.push(reference);
        }
    }
    Ok(imported)
}

/// One file to import and where it goes.
#[derive(Clone, Debug)]
struct Planned {
    from: PathBuf,
    namespace: String,
    name: String,
    version: String,
}

impl Planned {
    fn reference(&self) -> String {
        format!("{}/{}@{}", self.namespace, self.name, self.version)
    }

    fn target(&self, registry: &Path) -> PathBuf {
        registry
            .join(&self.namespace)
            .join(&self.name)
            .join(format!("{}.yml", self.version))
    }
}

fn plan_file(source: &Path, as_ref: &str) -> anyhow::Result<Planned> {
    let orb = OrbRef::parse(as_ref)?;
    ensure!(
        matches!(
            orb.version(),
            VersionSpec::Exact { .. } | VersionSpec::Dev(_)
        ),
        "--as {orb}: give an exact version (x.y.z) or dev:LABEL; `{}` names no single release",
        orb.version()
    );
    Ok(Planned {
        from: source.to_path_buf(),
        namespace: orb.namespace().to_string(),
        name: orb.name().to_string(),
        version: orb.version().to_string(),
    })
}

fn plan_folder(source: &Path) -> anyhow::Result<Vec<Planned>> {
    let tags = read_sources_tsv(source)?;
    let mut plan = Vec::new();
    for namespace_dir in sorted_subfolders(source)? {
        for name_dir in sorted_subfolders(&namespace_dir)? {
            let mut files: Vec<PathBuf> = read_dir(&name_dir)?
                .into_iter()
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yml"))
                .collect();
            files.sort();
            for file in files {
                plan.push(plan_folder_file(source, &file, &tags)?);
            }
        }
    }
    Ok(plan)
}

fn plan_folder_file(
    source: &Path,
    file: &Path,
    tags: &HashMap<(String, String), String>,
) -> anyhow::Result<Planned> {
    let part = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string()
    };
    let name_dir = file.parent();
    let namespace = part(name_dir.and_then(Path::parent));
    let name = part(name_dir);
    let version = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let shown = file
        .strip_prefix(source)
        .unwrap_or(file)
        .display()
        .to_string();
    let orb = OrbRef::parse(&format!("{namespace}/{name}@{version}"))
        .with_context(|| format!("{shown} is not at NAMESPACE/NAME/VERSION.yml"))?;
    ensure!(
        *orb.version() != VersionSpec::Volatile,
        "{shown}: `volatile` is not a version an orb can be stored under"
    );
    let full_name = orb.full_name();
    let version = match orb.version() {
        VersionSpec::Minor { .. } | VersionSpec::Major { .. } => tags
            .get(&(full_name, version.clone()))
            .filter(|tag| resolve_version(std::slice::from_ref(*tag), orb.version()).is_some())
            .cloned()
            .unwrap_or(version),
        _ => version,
    };
    Ok(Planned {
        from: file.to_path_buf(),
        namespace,
        name,
        version,
    })
}

/// `(orb, version as written) -> full version` from a `SOURCES.tsv` beside the orbs, if any.
fn read_sources_tsv(source: &Path) -> anyhow::Result<HashMap<(String, String), String>> {
    let path = source.join("SOURCES.tsv");
    let mut tags = HashMap::new();
    if !path.is_file() {
        return Ok(tags);
    }
    let text = String::from_utf8(read_limited(&path)?)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(orb_col), Some(written_col), Some(tag_col)) = (
        column("orb"),
        column("version_as_written"),
        column("resolved_tag"),
    ) else {
        return Ok(tags);
    };
    for line in lines {
        let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (Some(orb), Some(written), Some(tag)) = (
            cells.get(orb_col),
            cells.get(written_col),
            cells.get(tag_col),
        ) else {
            continue;
        };
        let version = tag.strip_prefix('v').unwrap_or(tag);
        if VersionSpec::parse(version).is_some_and(|v| v.is_exact()) {
            tags.insert((orb.to_string(), written.to_string()), version.to_string());
        }
    }
    Ok(tags)
}

fn read_dir(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden {
            paths.push(entry.path());
        }
    }
    Ok(paths)
}

fn sorted_subfolders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = read_dir(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    dirs.sort();
    Ok(dirs)
}

/// Reads every planned file and checks it; reports all bad files at once.
fn read_and_check(plan: &[Planned]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut contents = Vec::new();
    let mut problems = String::new();
    for item in plan {
        let bytes = match read_limited(&item.from) {
            Ok(bytes) => bytes,
            Err(e) => {
                problems.push_str(&format!("{e:#}\n"));
                Vec::new()
            }
        };
        if !bytes.is_empty()
            && let Err(rendered) = check_yaml_map(&item.from.display().to_string(), &bytes)
        {
            problems.push_str(&rendered);
        }
        contents.push(bytes);
    }
    ensure!(
        problems.is_empty(),
        "nothing imported; these files are not packed orbs:\n{}",
        problems.trim_end()
    );
    Ok(contents)
}

/// The files that must be written; refuses changes to existing versions unless `force`.
fn compare_with_registry<'p>(
    plan: &'p [Planned],
    contents: &[Vec<u8>],
    registry: &Path,
    force: bool,
) -> anyhow::Result<Vec<(&'p Planned, Vec<u8>)>> {
    let mut writes: BTreeMap<PathBuf, (&Planned, Vec<u8>)> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for (item, bytes) in plan.iter().zip(contents) {
        let target = item.target(registry);
        if let Some((earlier, earlier_bytes)) = writes.get(&target) {
            if earlier_bytes != bytes {
                conflicts.push(format!(
                    "{} and {} are both {} but differ",
                    earlier.from.display(),
                    item.from.display(),
                    item.reference()
                ));
            }
            continue;
        }
        match fs::read(&target) {
            Ok(existing) if existing == *bytes => continue,
            Ok(_) if !force => conflicts.push(format!(
                "{} is already in the registry with different content ({}); orb versions are \
                 immutable (use --force to replace it)",
                item.reference(),
                target.display()
            )),
            _ => {}
        }
        writes.insert(target, (item, bytes.clone()));
    }
    ensure!(
        conflicts.is_empty(),
        "nothing imported:\n{}",
        conflicts.join("\n")
    );
    Ok(writes.into_values().collect())
}

/// Writes `bytes` to a temporary file beside `target`, then renames it into place, so readers
/// never see half an orb.
fn write_atomically(target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = target
        .parent()
        .with_context(|| format!("{} has no parent folder", target.display()))?;
    fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = folder.join(format!(".{file_name}.{}.tmp", std::process::id()));
    fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    fs::rename(&temporary, target).with_context(|| {
        let _ = fs::remove_file(&temporary);
        format!("cannot move {} into place", target.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orb_dir::OrbDir;
    use circa_config::orbs::OrbSource;

    /// `shared/corpus/orbs` beside the checkout: three levels above the crate for `/work/main`,
    /// four for a worktree in `/work/wt/NAME`, so the nearest ancestor that has it is used.
    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("shared/corpus/orbs"))
            .find(|dir| dir.is_dir())
            .expect("shared/corpus/orbs above the crate")
    }

    fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn imports_the_corpus_and_serves_it() {
        let registry = tempfile::tempdir().unwrap();
        let imported = import(&corpus(), registry.path(), None, false).unwrap();
        assert!(imported.contains(&"circleci/node@5.0.2".to_string()));
        // `5.yml` was what `@5` meant when the corpus was made: v5.3.0 says SOURCES.tsv.
        assert!(imported.contains(&"circleci/node@5.3.0".to_string()));
        assert!(!imported.contains(&"circleci/node@5".to_string()));
        // `4.7.yml` and `4.7.0.yml` are the same release and the same file.
        assert_eq!(
            imported
                .iter()
                .filter(|r| *r == "circleci/node@4.7.0")
                .count(),
            1
        );

        let dir = OrbDir::new(registry.path());
        let load = |s: &str| dir.load(&OrbRef::parse(s).unwrap()).unwrap();
        let node5 = load("circleci/node@5");
        assert_eq!(node5.version, "5.3.0");
        assert_eq!(
            node5.text,
            fs::read_to_string(corpus().join("circleci/node/5.yml")).unwrap()
        );
        assert_eq!(load("circleci/node@4.7").version, "4.7.0");
        assert_eq!(load("circleci/node@volatile").version, "7.2.1");
        assert_eq!(load("circleci/node@2").version, "2.1.1");
        assert_eq!(load("circleci/jq@3.0").version, "3.0.2");
        assert_eq!(load("cypress-io/cypress@3.3.1").version, "3.3.1");

        // Importing again changes nothing and is fine.
        let again = import(&corpus(), registry.path(), None, false).unwrap();
        assert_eq!(again, imported);
    }

    #[test]
    fn a_folder_without_sources_keeps_partial_names() {
        let src = tempfile::tempdir().unwrap();
        write(src.path(), "acme/tool/2.yml", "version: 2.1\n");
        write(src.path(), "acme/tool/notes.txt", "ignored");
        write(src.path(), "README.md", "ignored");
        let registry = tempfile::tempdir().unwrap();
        let imported = import(src.path(), registry.path(), None, false).unwrap();
        assert_eq!(imported, ["acme/tool@2"]);
        let dir = OrbDir::new(registry.path());
        let found = dir.load(&OrbRef::parse("acme/tool@2").unwrap()).unwrap();
        assert_eq!(found.version, "2");
    }

    #[test]
    fn a_file_needs_an_exact_reference() {
        let src = tempfile::tempdir().unwrap();
        let file = write(src.path(), "orb.yml", "version: 2.1\ncommands: {}\n");
        let registry = tempfile::tempdir().unwrap();
        let e = import(&file, registry.path(), None, false).unwrap_err();
        assert!(e.to_string().contains("needs --as"), "{e}");
        let e = import(&file, registry.path(), Some("acme/tool@1.2"), false).unwrap_err();
        assert!(e.to_string().contains("names no single release"), "{e}");
        let e = import(&file, registry.path(), Some("acme/tool"), false).unwrap_err();
        assert!(e.to_string().contains("invalid orb reference"), "{e}");

        let imported = import(&file, registry.path(), Some("acme/tool@1.2.0"), false).unwrap();
        assert_eq!(imported, ["acme/tool@1.2.0"]);
        let imported = import(&file, registry.path(), Some("acme/tool@dev:next"), false).unwrap();
        assert_eq!(imported, ["acme/tool@dev:next"]);
        assert!(registry.path().join("acme/tool/1.2.0.yml").is_file());
        assert!(registry.path().join("acme/tool/dev:next.yml").is_file());
    }

    #[test]
    fn versions_are_immutable_unless_forced() {
        let src = tempfile::tempdir().unwrap();
        let first = write(src.path(), "a.yml", "version: 2.1\ndescription: first\n");
        let second = write(src.path(), "b.yml", "version: 2.1\ndescription: second\n");
        let registry = tempfile::tempdir().unwrap();
        let target = registry.path().join("acme/tool/1.0.0.yml");
        import(&first, registry.path(), Some("acme/tool@1.0.0"), false).unwrap();
        // The same content again is fine.
        import(&first, registry.path(), Some("acme/tool@1.0.0"), false).unwrap();
        let e = import(&second, registry.path(), Some("acme/tool@1.0.0"), false).unwrap_err();
        assert!(e.to_string().contains("immutable"), "{e}");
        assert!(fs::read_to_string(&target).unwrap().contains("first"));
        import(&second, registry.path(), Some("acme/tool@1.0.0"), true).unwrap();
        assert!(fs::read_to_string(&target).unwrap().contains("second"));
    }

    #[test]
    fn invalid_files_are_refused_and_nothing_is_written() {
        let src = tempfile::tempdir().unwrap();
        write(src.path(), "acme/good/1.0.0.yml", "version: 2.1\n");
        write(src.path(), "acme/bad/1.0.0.yml", "jobs: [\n");
        write(src.path(), "acme/list/1.0.0.yml", "- a\n");
        let registry = tempfile::tempdir().unwrap();
        let e = import(src.path(), registry.path(), None, false).unwrap_err();
        let message = e.to_string();
        assert!(message.contains("acme/bad/1.0.0.yml"), "{message}");
        assert!(message.contains("must be a map, not a list"), "{message}");
        assert!(!registry.path().join("acme").exists());

        let src = tempfile::tempdir().unwrap();
        write(src.path(), "acme/tool/latest.yml", "version: 2.1\n");
        let e = import(src.path(), registry.path(), None, false).unwrap_err();
        assert!(format!("{e:#}").contains("version `latest`"), "{e:#}");
    }
}
