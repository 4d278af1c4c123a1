//! `tests glob` against a real directory tree.

use circa_exec::split::glob;
use std::fs;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "a.rb",
        "b.py",
        "spec/x_spec.rb",
        "spec/models/y_spec.rb",
        "spec/models/deep/z_spec.rb",
        "spec/helper.rb",
        "test/t1.java",
        "test/t2.java",
        "test/tx.java",
        ".hidden/h_spec.rb",
    ] {
        let p = dir.path().join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, f).unwrap();
    }
    dir
}

fn g(patterns: &[&str], dir: &tempfile::TempDir) -> Vec<String> {
    let patterns: Vec<String> = patterns.iter().map(|s| (*s).to_owned()).collect();
    glob(&patterns, dir.path()).unwrap()
}

#[test]
fn star_does_not_cross_directories() {
    let d = tree();
    assert_eq!(g(&["*.rb"], &d), ["a.rb"]);
    assert_eq!(g(&["spec/*_spec.rb"], &d), ["spec/x_spec.rb"]);
}

#[test]
fn double_star_crosses_any_depth_including_none() {
    let d = tree();
    assert_eq!(
        g(&["spec/**/*_spec.rb"], &d),
        [
            "spec/models/deep/z_spec.rb",
            "spec/models/y_spec.rb",
            "spec/x_spec.rb"
        ]
    );
    assert_eq!(
        g(&["**/*_spec.rb"], &d),
        [
            ".hidden/h_spec.rb",
            "spec/models/deep/z_spec.rb",
            "spec/models/y_spec.rb",
            "spec/x_spec.rb"
        ]
    );
}

#[test]
fn question_mark_classes_and_alternatives() {
    let d = tree();
    assert_eq!(
        g(&["test/t?.java"], &d),
        ["test/t1.java", "test/t2.java", "test/tx.java"]
    );
    assert_eq!(
        g(&["test/t[12].java"], &d),
        ["test/t1.java", "test/t2.java"]
    );
    assert_eq!(g(&["{a.rb,b.py}"], &d), ["a.rb", "b.py"]);
    assert_eq!(g(&["{spec,test}/*.{rb,java}"], &d).len(), 5);
}

#[test]
fn several_patterns_are_sorted_and_deduplicated() {
    let d = tree();
    assert_eq!(
        g(
            &[
                "test/t1.java",
                "./a.rb",
                "test/t[1].java",
                "*.rb",
                "missing/**/*"
            ],
            &d
        ),
        ["a.rb", "test/t1.java"]
    );
}

#[test]
fn absolute_patterns_print_absolute_paths() {
    let d = tree();
    let root = d.path().to_str().unwrap();
    assert_eq!(
        g(&[&format!("{root}/test/*1.java")], &d),
        [format!("{root}/test/t1.java")]
    );
}

#[test]
fn invalid_pattern_is_an_error() {
    let d = tree();
    assert!(glob(&["[a".to_owned()], d.path()).is_err());
}
