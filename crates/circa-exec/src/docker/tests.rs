use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::copy::{Pattern, case_pattern, glob_script, parse_glob_output, parse_pattern};
use super::images::{expand_password, full_reference, registry_of, variable_name};
use super::start::{DEFAULT_PATH, Facts, Setup, parse_setup, setup_script, working_dir_arg};
use crate::events::{EventKind, Recorder, Reporter};

#[test]
fn references_get_a_tag_unless_they_have_one() {
    assert_eq!(full_reference("busybox"), "busybox:latest");
    assert_eq!(full_reference("cimg/base:2024.01"), "cimg/base:2024.01");
    assert_eq!(
        full_reference("localhost:5000/team/app"),
        "localhost:5000/team/app:latest"
    );
    assert_eq!(
        full_reference("localhost:5000/team/app:1"),
        "localhost:5000/team/app:1"
    );
    assert_eq!(full_reference("a/b@sha256:abc"), "a/b@sha256:abc");
}

#[test]
fn registries_are_named_by_the_first_component() {
    assert_eq!(registry_of("cimg/base:1"), "https://index.docker.io/v1/");
    assert_eq!(registry_of("busybox:latest"), "https://index.docker.io/v1/");
    assert_eq!(registry_of("ghcr.io/o/i:1"), "ghcr.io");
    assert_eq!(registry_of("localhost:5000/i:1"), "localhost:5000");
    assert_eq!(registry_of("localhost/i:1"), "localhost");
}

#[test]
fn passwords_naming_a_variable_are_looked_up() {
    let recorder = Arc::new(Recorder::new());
    let reporter = Reporter::new(recorder.clone(), "j", 0);
    let env = BTreeMap::from([("TOKEN".to_owned(), "s3cret".to_owned())]);
    assert_eq!(expand_password("$TOKEN", &env, &reporter), "s3cret");
    assert_eq!(expand_password("${TOKEN}", &env, &reporter), "s3cret");
    assert_eq!(expand_password("plain$", &env, &reporter), "plain$");
    assert!(recorder.events().is_empty());
    assert_eq!(expand_password("$MISSING", &env, &reporter), "");
    assert!(matches!(
        &recorder.events()[0].kind,
        EventKind::Notice { warning: true, message } if message.contains("$MISSING")
    ));
    assert_eq!(variable_name("${A_1}"), Some("A_1"));
    assert_eq!(variable_name("$1A"), None);
    assert_eq!(variable_name("${A"), None);
    assert_eq!(variable_name("$A-B"), None);
}

#[test]
fn patterns_are_checked_and_classified() {
    assert_eq!(parse_pattern("/w", "."), Ok(Pattern::Root));
    assert_eq!(parse_pattern("/w", "/w"), Ok(Pattern::Root));
    assert_eq!(
        parse_pattern("/w/", "./a//b/"),
        Ok(Pattern::Plain("a/b".into()))
    );
    assert_eq!(parse_pattern("/w", "/w/a"), Ok(Pattern::Plain("a".into())));
    assert_eq!(
        parse_pattern("/w", "a/*.xml"),
        Ok(Pattern::Glob(vec!["a".into(), "*.xml".into()]))
    );
    assert!(parse_pattern("/w", "../x").is_err());
    assert!(parse_pattern("/w", "/wx/a").is_err());
    assert!(parse_pattern("/w", "/etc").is_err());
    assert!(parse_pattern("/w", "a[b").is_err());
    assert!(parse_pattern("/w", "a\\").is_err());
}

#[test]
fn go_patterns_become_case_patterns() {
    assert_eq!(case_pattern("*.xml").unwrap(), "*'.''x''m''l'");
    assert_eq!(case_pattern("a?").unwrap(), "'a'?");
    assert_eq!(case_pattern("[^a-c]x").unwrap(), "[!a-c]'x'");
    assert_eq!(case_pattern("[]a]").unwrap(), "[\\]a]");
    assert_eq!(case_pattern("\\*").unwrap(), "'*'");
    assert_eq!(case_pattern("it's").unwrap(), "'i''t'\\''s'");
    assert_eq!(case_pattern("[a-]").unwrap(), "[a\\-]");
}

#[test]
fn glob_output_is_split_per_pattern_and_sorted() {
    let out = b"./b/y\0./a/x\0\0\0./c\0\0";
    assert_eq!(
        parse_glob_output(out, 3),
        vec![
            vec!["a/x".to_owned(), "b/y".to_owned()],
            Vec::new(),
            vec!["c".to_owned()],
        ]
    );
}

#[test]
fn the_glob_script_is_valid_shell() {
    let script = glob_script(
        "/w o",
        &[
            vec!["a b".into(), "*".into(), "c".into()],
            vec!["[^.]*".into()],
        ],
    )
    .unwrap();
    let checked = std::process::Command::new("sh")
        .args(["-n", "-c", &script])
        .status()
        .unwrap();
    assert!(checked.success(), "{script}");
}

#[test]
fn the_glob_script_matches_like_go() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in [
        "a/x.xml",
        "a/.h.xml",
        "a/y.txt",
        "b c/q",
        "d/e/f.xml",
        "it's",
    ] {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "").unwrap();
    }
    std::os::unix::fs::symlink("d", root.join("link")).unwrap();
    let globs = vec![
        vec!["a".into(), "*.xml".into()],
        vec!["*".into(), "e".into(), "*".into()],
        vec!["b c".into(), "?".into()],
        vec!["nothing*".into()],
        vec!["it[']s".into()],
        vec!["[^abd]*".into()],
    ];
    let script = glob_script(root.to_str().unwrap(), &globs).unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        parse_glob_output(&out.stdout, globs.len()),
        vec![
            vec!["a/.h.xml".to_owned(), "a/x.xml".to_owned()],
            // `link` -> d is a symlink: not searched.
            vec!["d/e/f.xml".to_owned()],
            vec!["b c/q".to_owned()],
            Vec::new(),
            vec!["it's".to_owned()],
            vec!["it's".to_owned(), "link".to_owned()],
        ]
    );
}

#[test]
fn working_directories_are_folded_for_the_setup_script() {
    assert_eq!(working_dir_arg("~/project").as_deref(), Some("~/project"));
    assert_eq!(working_dir_arg("~").as_deref(), Some("~"));
    assert_eq!(working_dir_arg("~/a/./b/").as_deref(), Some("~/a/b"));
    assert_eq!(working_dir_arg("project").as_deref(), Some("~/project"));
    assert_eq!(working_dir_arg("/app/../srv").as_deref(), Some("/srv"));
    assert_eq!(working_dir_arg("~/../x"), None);
}

#[test]
fn setup_output_is_read_with_defaults() {
    assert_eq!(
        parse_setup(b"/home/u\n/bin:/usr/bin\nyes\n3434\n3435\n__circa_setup_end__ 0\n"),
        Setup {
            facts: Facts {
                home: "/home/u".into(),
                path: "/bin:/usr/bin".into(),
                has_bash: true,
                owner: Some((3434, 3435)),
            },
            status: Some(0),
            message: String::new(),
        }
    );
    assert_eq!(
        parse_setup(b"\n\nno\n\n\nmkdir: denied\n__circa_setup_end__ 1\n"),
        Setup {
            facts: Facts {
                home: "/".into(),
                path: DEFAULT_PATH.into(),
                has_bash: false,
                owner: None,
            },
            status: Some(1),
            message: "mkdir: denied".into(),
        }
    );
    assert_eq!(parse_setup(b"/root\n").status, None);
}

#[test]
fn the_setup_script_runs_in_a_shell_that_keeps_reading() {
    let home = tempfile::tempdir().unwrap();
    let script = format!("{}echo still-reading\n", setup_script("~/a b/c"));
    let out = std::process::Command::new("sh")
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let setup = parse_setup(text.as_bytes());
    assert_eq!(setup.status, Some(0), "{text}");
    assert_eq!(setup.facts.home, home.path().to_str().unwrap());
    assert_eq!(setup.facts.path, "/usr/bin:/bin");
    assert!(setup.facts.owner.is_some());
    assert!(home.path().join("a b/c").is_dir());
    assert!(text.ends_with("still-reading\n"), "{text}");
}

#[test]
fn medians() {
    let ms = Duration::from_millis;
    let o = super::Overhead {
        executor: vec![ms(3), ms(1), ms(2)],
        docker_run: vec![ms(4), ms(1), ms(2), ms(3)],
    };
    assert_eq!(o.executor_median(), ms(2));
    assert_eq!(o.docker_run_median(), Duration::from_micros(2500));
}
