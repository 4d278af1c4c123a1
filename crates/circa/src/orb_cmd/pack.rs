//! `circa orb pack`: read an orb's source tree and pack it into one orb, like
//! `circleci orb pack`.

use super::read_limited;
use anyhow::{Context as _, bail};
use circa_config::diag::{Diagnostic, render};
use std::fs;
use std::path::{Path, PathBuf};

/// Most files read from one orb source tree.
const MAX_FILES: usize = 10_000;

/// Packs the orb whose source is in `src_dir` (a folder holding `@orb.yml`, or a repository
/// holding `src/@orb.yml`) and returns the packed YAML.
///
/// Every file under the source folder is read (hidden files and folders are skipped, symlinked
/// folders are not followed, files that are not UTF-8 text are left out), so the `scripts/` and
/// other files that `<<include(PATH)>>` names are available. Problems are returned as one error
/// with each file's diagnostics rendered like a compiler's.
pub fn pack(src_dir: &Path) -> anyhow::Result<String> {
    let root = find_root(src_dir)?;
    let files = read_tree(&root)?;
    match circa_config::orbs::pack(&files) {
        Ok(packed) => Ok(packed),
        Err(diagnostics) => bail!(
            "cannot pack the orb in {}:\n{}",
            root.display(),
            render_by_file(&root, &files, diagnostics).trim_end()
        ),
    }
}

fn find_root(src_dir: &Path) -> anyhow::Result<PathBuf> {
    let has_root = |dir: &Path| dir.join("@orb.yml").is_file() || dir.join("@orb.yaml").is_file();
    if has_root(src_dir) {
        return Ok(src_dir.to_path_buf());
    }
    let nested = src_dir.join("src");
    if has_root(&nested) {
        return Ok(nested);
    }
    bail!(
        "@orb.yml not found in {} or {}: is this an orb's source folder?",
        src_dir.display(),
        nested.display()
    )
}

/// Every text file under `root` as `(relative path with '/', text)`, sorted by path.
fn read_tree(root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let mut folders = vec![(root.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = folders.pop() {
        let entries =
            fs::read_dir(&folder).with_context(|| format!("cannot list {}", folder.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", folder.display()))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let relative = format!("{prefix}{name}");
            let file_type = entry
                .file_type()
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            if file_type.is_dir() {
                folders.push((entry.path(), format!("{relative}/")));
            } else if entry.path().is_file() {
                anyhow::ensure!(
                    files.len() < MAX_FILES,
                    "{} has more than {MAX_FILES} files; is it an orb's source folder?",
                    root.display()
                );
                if let Ok(text) = String::from_utf8(read_limited(&entry.path())?) {
                    files.push((relative, text));
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Renders diagnostics grouped by the file they concern, with that file's snippet.
fn render_by_file(root: &Path, files: &[(String, String)], diagnostics: Vec<Diagnostic>) -> String {
    let mut origins: Vec<String> = Vec::new();
    for d in &diagnostics {
        let origin = d.origin.clone().unwrap_or_default();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let mut out = String::new();
    for origin in origins {
        let text = files
            .iter()
            .find(|(path, _)| *path == origin)
            .map_or("", |(_, text)| text.as_str());
        let own: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| d.origin.clone().unwrap_or_default() == origin)
            .map(|d| Diagnostic {
                origin: None,
                ..d.clone()
            })
            .collect();
        out.push_str(&render(
            &root.join(&origin).display().to_string(),
            text,
            &own,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn packs_a_source_tree_with_includes() {
        let repo = tempfile::tempdir().unwrap();
        write(
            repo.path(),
            "src/@orb.yml",
            "version: 2.1\ndescription: Test orb\n",
        );
        write(
            repo.path(),
            "src/commands/install.yml",
            "steps:\n  - run:\n      name: Install\n      command: <<include(scripts/install.sh)>>\n",
        );
        write(
            repo.path(),
            "src/jobs/test.yml",
            "executor: default\nsteps: [install]\n",
        );
        write(
            repo.path(),
            "src/executors/default.yml",
            "docker:\n  - image: cimg/base:2024.01\n",
        );
        write(
            repo.path(),
            "src/scripts/install.sh",
            "#!/bin/bash\necho \"<< parameters.x >>\"\n",
        );
        write(repo.path(), "src/.DS_Store", "\u{0}binary");
        write(repo.path(), "README.md", "outside src");

        let from_repo = pack(repo.path()).unwrap();
        let from_src = pack(&repo.path().join("src")).unwrap();
        assert_eq!(from_repo, from_src);
        assert_eq!(
            from_repo,
            "version: 2.1\ndescription: Test orb\ncommands:\n  install:\n    steps:\n      - run:\n          name: Install\n          command: |\n            #!/bin/bash\n            echo \"\\<< parameters.x >>\"\nexecutors:\n  default:\n    docker:\n      - image: cimg/base:2024.01\njobs:\n  test:\n    executor: default\n    steps:\n      - install\n"
        );
        // The packed orb loads as YAML again.
        let loaded = circa_config::yaml::load(&from_repo, &Default::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    }

    #[test]
    fn include_traversal_is_refused_with_a_rendered_diagnostic() {
        let repo = tempfile::tempdir().unwrap();
        write(repo.path(), "secret.txt", "token");
        write(repo.path(), "src/@orb.yml", "version: 2.1\n");
        write(
            repo.path(),
            "src/commands/leak.yml",
            "steps:\n  - run: <<include(../secret.txt)>>\n",
        );
        let e = pack(repo.path()).unwrap_err().to_string();
        let file = repo.path().join("src/commands/leak.yml");
        assert!(
            e.contains(&format!(
                "{}:2:10: error: included file `../secret.txt` is outside the orb's source folder",
                file.display()
            )),
            "{e}"
        );
        assert!(e.contains("2 |   - run: <<include(../secret.txt)>>"), "{e}");
        assert!(!e.contains("token"));
    }

    #[test]
    fn missing_root_and_missing_includes_are_explained() {
        let empty = tempfile::tempdir().unwrap();
        let e = pack(empty.path()).unwrap_err().to_string();
        assert!(e.contains("@orb.yml not found"), "{e}");

        let repo = tempfile::tempdir().unwrap();
        write(repo.path(), "@orb.yml", "version: 2.1\n");
        write(
            repo.path(),
            "jobs/j.yml",
            "steps:\n  - run: <<include(scripts/nope.sh)>>\n",
        );
        write(repo.path(), "other/x.yml", "a: 1\n");
        let e = pack(repo.path()).unwrap_err().to_string();
        assert!(
            e.contains("included file `scripts/nope.sh` not found"),
            "{e}"
        );
        assert!(
            e.contains("other/x.yml: error: `other/x.yml` is not part of an orb"),
            "{e}"
        );
    }
}
