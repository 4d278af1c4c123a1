use super::*;

fn tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
}

fn sel(root: &Path, pattern: &str) -> Vec<String> {
    select(root, pattern)
        .unwrap()
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn go_filepath_match_semantics() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    tree(
        r,
        &[
            ("bin/app", "1"),
            ("bin/app.sig", "2"),
            ("build/a/x.txt", "3"),
            ("build/b/y.txt", "4"),
            ("build/b/deep/z.txt", "5"),
            ("{a,b}", "6"),
            (".hidden", "7"),
        ],
    );
    assert_eq!(sel(r, "bin/*"), ["bin/app", "bin/app.sig"]);
    assert_eq!(sel(r, "bin/app.???"), ["bin/app.sig"]);
    assert_eq!(sel(r, "bin/app[^.]*"), Vec::<String>::new());
    assert_eq!(sel(r, "build/*/*.txt"), ["build/a/x.txt", "build/b/y.txt"]);
    // `*` and `**` never cross `/`.
    assert_eq!(sel(r, "build/**"), ["build/a", "build/b"]);
    assert_eq!(sel(r, "build/**/z.txt"), Vec::<String>::new());
    assert_eq!(sel(r, "{a,b}"), ["{a,b}"]);
    assert_eq!(sel(r, "[{]a,b}"), ["{a,b}"]);
    assert_eq!(sel(r, "*hidden"), [".hidden"]);
    assert_eq!(sel(r, "./build"), ["build"]);
    assert_eq!(sel(r, &format!("{}/bin/app", r.display())), ["bin/app"]);
    assert_eq!(sel(r, "."), [""]);
    assert!(matches!(
        select(r, "../etc"),
        Err(WorkspaceError::InvalidPattern { .. })
    ));
    assert!(matches!(
        select(r, "/etc/passwd"),
        Err(WorkspaceError::InvalidPattern { .. })
    ));
}

#[test]
fn persist_and_attach_layers_in_order() {
    let d = tempfile::tempdir().unwrap();
    let store = WorkspaceStore::new(d.path().join("ws")).unwrap();
    let a = d.path().join("job-a");
    let b = d.path().join("job-b");
    let c = d.path().join("job-c");
    tree(
        &a,
        &[
            ("out/shared.txt", "from a"),
            ("out/a.txt", "a"),
            ("junk", ""),
        ],
    );
    tree(&b, &[("out/shared.txt", "from b"), ("out/b.txt", "b")]);
    tree(&c, &[("out/c.txt", "c")]);

    let la = store
        .persist("wf-1", "build a", &a, &["out".into()])
        .unwrap();
    assert_eq!(la.stats.files, 2);
    store
        .persist("wf-1", "build/b", &b, &["out/*.txt".into()])
        .unwrap();
    store.persist("wf-1", "other", &c, &["out".into()]).unwrap();
    store
        .persist("wf-2", "build a", &c, &["out".into()])
        .unwrap();

    let at = d.path().join("attached");
    let stats = store
        .attach("wf-1", &["build a".into(), "build/b".into()], &at)
        .unwrap();
    assert_eq!(stats.layers, 2);
    assert_eq!(
        fs::read_to_string(at.join("out/shared.txt")).unwrap(),
        "from b"
    );
    assert!(at.join("out/a.txt").exists() && at.join("out/b.txt").exists());
    assert!(
        !at.join("out/c.txt").exists(),
        "other job and workflow stay out"
    );
    assert!(!at.join("junk").exists());

    let none = store.attach("wf-3", &["x".into()], &at).unwrap();
    assert_eq!(none.layers, 0);
    store.remove_workflow("wf-1").unwrap();
    assert!(
        store
            .layers("wf-1", &["build a".into()])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn persist_errors() {
    let d = tempfile::tempdir().unwrap();
    let store = WorkspaceStore::new(d.path().join("ws")).unwrap();
    let err = store
        .persist("wf", "j", d.path(), &["missing/*".into()])
        .unwrap_err();
    assert!(matches!(err, WorkspaceError::NoMatch { .. }), "{err}");
    for bad in ["../x", "", ".hidden", "a/b"] {
        let err = store
            .persist(bad, "j", d.path(), &[".".into()])
            .unwrap_err();
        assert!(
            matches!(err, WorkspaceError::InvalidWorkflowId(_)),
            "{bad}: {err}"
        );
    }
}
