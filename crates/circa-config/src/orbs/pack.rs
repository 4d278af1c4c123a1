//! The pure part of `circleci orb pack`: an orb's source files in, one packed orb out.
//!
//! Layout of an orb source folder (usually `src/`):
//! - `@orb.yml` is the root: `version`, `description`, `display`, `orbs`, and possibly inline
//!   `commands`, `jobs`, ...;
//! - `commands/NAME.yml`, `jobs/NAME.yml`, `executors/NAME.yml` and `examples/NAME.yml` (or
//!   `.yaml`) become `commands: {NAME: ...}` and so on;
//! - any other file (`scripts/install.sh`) is material for `<<include(PATH)>>`.
//!
//! As in the CircleCI CLI, an include directive must be the whole string value, there may be
//! one per value, it is looked for only inside commands, jobs and executors, its path is
//! relative to the source folder, and `<<` in the included text is escaped to `\<<` so that
//! scripts are never read as parameter interpolation. Unlike the CLI, which turned any folder
//! into a key, a YAML file in another folder is refused unless an include uses it, and a path
//! that leaves the source folder is refused.

use crate::diag::{Diagnostic, Span};
use crate::yaml::{Limits, Map, Node, Value, load, to_yaml};
use std::collections::{BTreeMap, BTreeSet};

/// The folders whose YAML files become the orb's sections, in the order they are appended.
const SECTIONS: [&str; 4] = ["commands", "executors", "jobs", "examples"];

/// The sections whose strings may be include directives.
const INCLUDING_SECTIONS: [&str; 3] = ["commands", "executors", "jobs"];

/// Packs an orb's source files into one orb. `files` are `(path, text)` with paths relative to
/// the source folder, separated by `/`. Returns the packed YAML, or every problem found, each
/// with the file it concerns as `origin`.
pub fn pack(files: &[(String, String)]) -> Result<String, Vec<Diagnostic>> {
    let files: BTreeMap<String, &str> = files
        .iter()
        .map(|(path, text)| (normalize(path), text.as_str()))
        .collect();
    let mut packer = Packer {
        files: &files,
        included: BTreeSet::new(),
        diagnostics: Vec::new(),
    };
    let root = packer.run();
    if packer.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(packer.diagnostics);
    }
    match root {
        Some(root) => Ok(to_yaml(&root)),
        None => Err(packer.diagnostics),
    }
}

fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// What a source file is for.
enum Role<'a> {
    Root,
    Section { section: &'a str, name: &'a str },
    StrayYaml,
    Material,
}

fn role(path: &str) -> Role<'_> {
    let stem = path
        .strip_suffix(".yml")
        .or_else(|| path.strip_suffix(".yaml"));
    let Some(stem) = stem else {
        return Role::Material;
    };
    if stem == "@orb" {
        return Role::Root;
    }
    match stem.split_once('/') {
        Some((section, name))
            if SECTIONS.contains(&section) && !name.is_empty() && !name.contains('/') =>
        {
            Role::Section { section, name }
        }
        _ => Role::StrayYaml,
    }
}

struct Packer<'a> {
    files: &'a BTreeMap<String, &'a str>,
    /// Paths some include directive used.
    included: BTreeSet<String>,
    diagnostics: Vec<Diagnostic>,
}

impl Packer<'_> {
    fn run(&mut self) -> Option<Node> {
        let files = self.files;
        let root_path = ["@orb.yml", "@orb.yaml"]
            .into_iter()
            .find(|p| files.contains_key(*p));
        let Some(root_path) = root_path else {
            self.diagnostics.push(
                Diagnostic::error(
                    Span::NONE,
                    "@orb.yml not found: is this the orb's source folder (usually `src`)?",
                )
                .in_origin("@orb.yml"),
            );
            return None;
        };
        let mut root = self.load_root(root_path)?;
        let mut sections: BTreeMap<&str, Map> = BTreeMap::new();
        let mut stray = Vec::new();
        for (path, text) in files {
            match role(path) {
                Role::Section { section, name } => {
                    let Some(mut node) = self.load_file(path, text) else {
                        continue;
                    };
                    if INCLUDING_SECTIONS.contains(&section) {
                        self.expand(&mut node, path);
                    }
                    let map = sections.entry(section).or_default();
                    if map.contains_key(name) {
                        self.error(
                            path,
                            Span::NONE,
                            format!("{section} `{name}` is defined by two files"),
                        );
                    } else {
                        map.insert(name, node.span, node);
                    }
                }
                Role::StrayYaml => stray.push(path.as_str()),
                Role::Root | Role::Material => {}
            }
        }
        for section in SECTIONS {
            if let Some(entries) = sections.remove(section) {
                self.merge_section(&mut root, root_path, section, entries);
            }
        }
        for path in stray {
            if !self.included.contains(path) {
                self.error(
                    path,
                    Span::NONE,
                    format!(
                        "`{path}` is not part of an orb: YAML files go in commands/, jobs/, \
                         executors/ or examples/ (or are used by an <<include()>>)"
                    ),
                );
            }
        }
        Some(Node::map(root.span, root_map_or_empty(root)))
    }

    fn load_root(&mut self, path: &str) -> Option<Node> {
        let text = self.files.get(path).copied().unwrap_or_default();
        let mut node = self.load_file(path, text)?;
        if node.as_map().is_none() {
            let kind = node.kind_name();
            self.error(
                path,
                node.span,
                format!("@orb.yml must be a map, not {kind}"),
            );
            return None;
        }
        if let Some(map) = node.as_map_mut() {
            for section in INCLUDING_SECTIONS {
                if let Some(value) = map.get_mut(section) {
                    expand_into(
                        value,
                        path,
                        self.files,
                        &mut self.included,
                        &mut self.diagnostics,
                    );
                }
            }
        }
        Some(node)
    }

    fn load_file(&mut self, path: &str, text: &str) -> Option<Node> {
        let loaded = load(text, &Limits::default());
        let failed = loaded.diagnostics.iter().any(Diagnostic::is_error);
        self.diagnostics
            .extend(loaded.diagnostics.into_iter().map(|d| d.in_origin(path)));
        if failed { None } else { loaded.root }
    }

    fn expand(&mut self, node: &mut Node, path: &str) {
        expand_into(
            node,
            path,
            self.files,
            &mut self.included,
            &mut self.diagnostics,
        );
    }

    fn merge_section(&mut self, root: &mut Node, root_path: &str, section: &str, entries: Map) {
        let Some(root_map) = root.as_map_mut() else {
            return;
        };
        if !root_map.contains_key(section) {
            root_map.insert(section, Span::NONE, Node::map(Span::NONE, entries));
            return;
        }
        let Some(existing) = root_map.get_mut(section) else {
            return;
        };
        if existing.is_null() {
            *existing = Node::map(existing.span, Map::new());
        }
        let span = existing.span;
        let Some(target) = existing.as_map_mut() else {
            self.error(
                root_path,
                span,
                format!("`{section}` in @orb.yml must be a map"),
            );
            return;
        };
        for (name, entry) in entries {
            if target.contains_key(&name) {
                self.error(
                    &format!("{section}/{name}.yml"),
                    Span::NONE,
                    format!("{section} `{name}` is also defined in @orb.yml"),
                );
            } else {
                target.insert(name, entry.key_span, entry.value);
            }
        }
    }

    fn error(&mut self, path: &str, span: Span, message: String) {
        self.diagnostics
            .push(Diagnostic::error(span, message).in_origin(path));
    }
}

fn root_map_or_empty(root: Node) -> Map {
    match root.value {
        Value::Map(m) => m,
        _ => Map::new(),
    }
}

/// Replaces include directives below `node` by the files they name. Recursion depth is bounded
/// by the loader's nesting limit.
fn expand_into(
    node: &mut Node,
    origin: &str,
    files: &BTreeMap<String, &str>,
    included: &mut BTreeSet<String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let span = node.span;
    match &mut node.value {
        Value::Map(map) => {
            let keys: Vec<String> = map.keys().map(str::to_string).collect();
            for key in keys {
                if let Some(value) = map.get_mut(&key) {
                    expand_into(value, origin, files, included, diagnostics);
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                expand_into(item, origin, files, included, diagnostics);
            }
        }
        Value::Str(s) => {
            let problem = match directive(s) {
                Directive::None => None,
                Directive::Include(path) => match resolve_include(path, files) {
                    Ok((key, text)) => {
                        *s = text.replace("<<", "\\<<");
                        included.insert(key);
                        None
                    }
                    Err(message) => Some(message),
                },
                Directive::NotWhole => {
                    Some("an <<include(PATH)>> directive must be the whole value".to_string())
                }
                Directive::Several => {
                    Some("only one <<include(PATH)>> directive is allowed per value".to_string())
                }
            };
            if let Some(message) = problem {
                diagnostics.push(Diagnostic::error(span, message).in_origin(origin));
            }
        }
        _ => {}
    }
}

/// What a string value says about includes.
#[derive(Debug, PartialEq, Eq)]
enum Directive<'a> {
    /// No include directive.
    None,
    /// Exactly one directive, and nothing else: the path as written.
    Include(&'a str),
    /// A directive inside a longer string.
    NotWhole,
    /// More than one directive.
    Several,
}

/// Finds `<< include(PATH) >>` (spaces allowed around each part) in a string value.
fn directive(s: &str) -> Directive<'_> {
    let count = s
        .match_indices("<<")
        .filter(|(at, _)| s[at + 2..].trim_start().starts_with("include("))
        .count();
    match count {
        0 => return Directive::None,
        1 => {}
        _ => return Directive::Several,
    }
    let whole = s
        .trim()
        .strip_prefix("<<")
        .and_then(|rest| rest.trim_start().strip_prefix("include("))
        .and_then(|rest| rest.strip_suffix(">>"))
        .and_then(|rest| rest.trim_end().strip_suffix(')'))
        .map(str::trim)
        .filter(|path| !path.contains(['(', ')', '<', '>']));
    match whole {
        Some(path) => Directive::Include(path),
        None => Directive::NotWhole,
    }
}

/// The normalized path and text of an included file; refuses paths that leave the source folder.
fn resolve_include<'f>(
    path: &str,
    files: &BTreeMap<String, &'f str>,
) -> Result<(String, &'f str), String> {
    if path.is_empty() {
        return Err("<<include()>> needs a file path".to_string());
    }
    let absolute =
        path.starts_with('/') || path.starts_with('\\') || path.as_bytes().get(1) == Some(&b':');
    if absolute || path.split(['/', '\\']).any(|part| part == "..") {
        return Err(format!(
            "included file `{path}` is outside the orb's source folder; \
             include paths are relative to it and may not use `..`"
        ));
    }
    let key = normalize(path);
    match files.get(&key) {
        Some(text) => Ok((key, text)),
        None => Err(format!(
            "included file `{path}` not found in the orb's source folder"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    fn errors(list: &[(&str, &str)]) -> Vec<(String, String)> {
        pack(&files(list))
            .unwrap_err()
            .into_iter()
            .map(|d| (d.origin.unwrap_or_default(), d.message))
            .collect()
    }

    #[test]
    fn packs_sections_and_includes() {
        let packed = pack(&files(&[
            (
                "@orb.yml",
                "version: 2.1\ndescription: Greets.\ndisplay:\n  home_url: https://example.com\n",
            ),
            (
                "commands/greet.yml",
                "description: Say hello\nsteps:\n  - run:\n      command: << include(scripts/greet.sh) >>\n",
            ),
            ("jobs/hello.yaml", "executor: default\nsteps: [greet]\n"),
            ("executors/default.yml", "docker:\n  - image: cimg/base:current\n"),
            ("examples/use.yml", "description: Use it\nusage:\n  version: 2.1\n"),
            ("scripts/greet.sh", "#!/bin/sh\necho \"hello << parameters.who >>\"\n"),
            ("./README.md", "not used"),
        ]))
        .unwrap();
        assert_eq!(
            packed,
            r#"version: 2.1
description: Greets.
display:
  home_url: https://example.com
commands:
  greet:
    description: Say hello
    steps:
      - run:
          command: |
            #!/bin/sh
            echo "hello \<< parameters.who >>"
executors:
  default:
    docker:
      - image: cimg/base:current
jobs:
  hello:
    executor: default
    steps:
      - greet
examples:
  use:
    description: Use it
    usage:
      version: 2.1
"#
        );
    }

    #[test]
    fn inline_sections_in_orb_yml_are_kept_and_extended() {
        let packed = pack(&files(&[
            (
                "@orb.yml",
                "version: 2.1\ncommands:\n  a:\n    steps:\n      - run: <<include(a.sh)>>\n",
            ),
            ("commands/b.yml", "steps: [checkout]\n"),
            ("a.sh", "echo a"),
        ]))
        .unwrap();
        assert_eq!(
            packed,
            "version: 2.1\ncommands:\n  a:\n    steps:\n      - run: echo a\n  b:\n    steps:\n      - checkout\n"
        );
    }

    #[test]
    fn includes_are_only_expanded_in_commands_jobs_and_executors() {
        let packed = pack(&files(&[
            (
                "@orb.yml",
                "version: 2.1\ndescription: <<include(x.txt)>>\n",
            ),
            ("examples/e.yml", "description: <<include(x.txt)>>\n"),
            ("x.txt", "text"),
        ]))
        .unwrap();
        assert!(
            packed.contains("description: <<include(x.txt)>>"),
            "{packed}"
        );
    }

    #[test]
    fn include_paths_may_not_leave_the_source_folder() {
        let found = errors(&[
            ("@orb.yml", "version: 2.1\n"),
            (
                "commands/c.yml",
                "steps:\n  - run: <<include(../secret)>>\n  - run: <<include(/etc/passwd)>>\n  - run: <<include(scripts/../../x)>>\n",
            ),
            ("scripts/ok.sh", "echo"),
        ]);
        assert_eq!(found.len(), 3, "{found:?}");
        for (origin, message) in &found {
            assert_eq!(origin, "commands/c.yml");
            assert!(
                message.contains("outside the orb's source folder"),
                "{message}"
            );
        }
    }

    #[test]
    fn include_problems_are_reported_with_their_file_and_position() {
        let d = pack(&files(&[
            ("@orb.yml", "version: 2.1\n"),
            (
                "jobs/j.yml",
                "steps:\n  - run: <<include(missing.sh)>>\n  - run: echo <<include(a.sh)>>\n  - run: <<include(a.sh)>> <<include(a.sh)>>\n",
            ),
            ("a.sh", "echo"),
        ]))
        .unwrap_err();
        let shown: Vec<String> = d
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.origin.as_deref().unwrap_or("?"),
                    d.span.line,
                    d.message
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                "jobs/j.yml:2 included file `missing.sh` not found in the orb's source folder",
                "jobs/j.yml:3 an <<include(PATH)>> directive must be the whole value",
                "jobs/j.yml:4 only one <<include(PATH)>> directive is allowed per value",
            ]
        );
    }

    #[test]
    fn stray_yaml_files_are_refused_unless_included() {
        let found = errors(&[
            ("@orb.yml", "version: 2.1\n"),
            ("widgets/w.yml", "a: 1\n"),
            ("commands/deep/c.yml", "steps: []\n"),
            (
                "jobs/j.yml",
                "steps:\n  - run: <<include(data/used.yml)>>\n",
            ),
            ("data/used.yml", "a: 1\n"),
        ]);
        let origins: Vec<&str> = found.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(origins, ["commands/deep/c.yml", "widgets/w.yml"]);
        assert!(found[1].1.contains("is not part of an orb"));
    }

    #[test]
    fn yaml_errors_carry_the_file_as_origin() {
        let found = errors(&[
            ("@orb.yml", "version: 2.1\n"),
            ("commands/bad.yml", "steps: [\n"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "commands/bad.yml");
    }

    #[test]
    fn duplicates_and_a_missing_root_are_refused() {
        let found = errors(&[("commands/a.yml", "steps: []\n")]);
        assert_eq!(found[0].0, "@orb.yml");
        assert!(found[0].1.contains("@orb.yml not found"));

        let found = errors(&[
            ("@orb.yml", "version: 2.1\ncommands:\n  a:\n    steps: []\n"),
            ("commands/a.yml", "steps: []\n"),
            ("jobs/j.yml", "steps: []\n"),
            ("jobs/j.yaml", "steps: []\n"),
        ]);
        let found: Vec<String> = found
            .into_iter()
            .map(|(o, m)| format!("{o}: {m}"))
            .collect();
        assert_eq!(
            found,
            [
                "jobs/j.yml: jobs `j` is defined by two files",
                "commands/a.yml: commands `a` is also defined in @orb.yml",
            ]
        );

        let found = errors(&[("@orb.yml", "- a\n")]);
        assert_eq!(found[0].1, "@orb.yml must be a map, not a list");
    }

    #[test]
    fn directives_are_recognised_with_spaces() {
        assert_eq!(directive("<<include(a.sh)>>"), Directive::Include("a.sh"));
        assert_eq!(
            directive("  << include( a.sh ) >>\n"),
            Directive::Include("a.sh")
        );
        assert_eq!(directive("<< parameters.x >>"), Directive::None);
        assert_eq!(directive("echo <<include(a)>>"), Directive::NotWhole);
        assert_eq!(directive("<<include(a)>> x"), Directive::NotWhole);
        assert_eq!(directive("<<include(a)) >>"), Directive::NotWhole);
        assert_eq!(
            directive("<<include(a)>><<include(b)>>"),
            Directive::Several
        );
    }
}
