use super::*;

fn no_files(name: &str) -> Result<Vec<u8>, String> {
    Err(format!("{name}: no such file"))
}

fn ctx(checksum: &dyn Fn(&str) -> Result<Vec<u8>, String>) -> KeyContext<'_> {
    KeyContext {
        branch: "main".into(),
        build_num: 42,
        revision: "abc123".into(),
        checkout_key: "aa:bb".into(),
        environment: BTreeMap::from([("NODE".to_owned(), "20".to_owned())]),
        epoch: 1_700_000_000,
        arch: "linux-amd64".into(),
        checksum,
    }
}

#[test]
fn renders_every_action() {
    let files = |name: &str| match name {
        "package-lock.json" => Ok(b"lock".to_vec()),
        other => no_files(other),
    };
    let c = ctx(&files);
    let key = render_key(
        "v1-{{ .Branch }}-{{.BuildNum}}-{{ .Revision }}-{{ .CheckoutKey }}-{{ .Environment.NODE }}-{{ .Environment.UNSET }}-{{ epoch }}-{{ arch }}-{{ checksum \"package-lock.json\" }}",
        &c,
    )
    .unwrap();
    // base64(sha256("lock")), standard alphabet with padding.
    let sum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"lock"));
    assert_eq!(
        key,
        format!("v1-main-42-abc123-aa:bb-20-<no value>-1700000000-linux-amd64-{sum}")
    );
    assert_eq!(
        render_key("{{ checksum `package-lock.json` }}", &c).unwrap(),
        sum
    );
    assert_eq!(render_key("plain", &c).unwrap(), "plain");
}

#[test]
fn template_errors_name_the_problem() {
    let c = ctx(&no_files);
    let err = render_key("v1-{{ .Nope }}", &c).unwrap_err();
    assert!(err.to_string().contains("{{ .Nope }}"), "{err}");
    for bad in [
        "{{ checksum }}",
        "{{ checksum \"a }}",
        "{{ checksumx \"a\" }}",
        "{{ .Environment.A-B }}",
        "{{ os }}",
    ] {
        let err = render_key(bad, &c).unwrap_err();
        assert!(
            matches!(err, CacheError::UnknownAction { .. }),
            "{bad}: {err}"
        );
    }
    let err = render_key("v1-{{ .Branch", &c).unwrap_err();
    assert!(matches!(err, CacheError::Unterminated { .. }), "{err}");
    let err = render_key("{{ checksum \"missing.lock\" }}", &c).unwrap_err();
    assert!(
        matches!(err, CacheError::Checksum { ref file, .. } if file == "missing.lock"),
        "{err}"
    );
}

#[test]
fn host_arch_has_os_and_go_arch() {
    let arch = host_arch();
    assert!(arch.starts_with(std::env::consts::OS), "{arch}");
    assert!(!arch.contains("x86_64"), "{arch}");
}

fn store() -> (tempfile::TempDir, CacheStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = CacheStore::new(dir.path().join("caches")).unwrap();
    (dir, store)
}

fn keys(ks: &[&str]) -> Vec<String> {
    ks.iter().map(|k| (*k).to_owned()).collect()
}

#[test]
fn keys_are_immutable() {
    let (_d, s) = store();
    assert_eq!(
        s.save("k", &b"first"[..]).unwrap(),
        SaveOutcome::Saved { size: 5 }
    );
    assert_eq!(
        s.save("k", &b"second"[..]).unwrap(),
        SaveOutcome::AlreadyExists
    );
    let hit = s.restore(&keys(&["k"])).unwrap().unwrap();
    assert_eq!(fs::read(&hit.path).unwrap(), b"first");
    assert!(s.contains("k"));
}

#[test]
fn prefix_match_most_recent_wins_even_over_exact() {
    let (_d, s) = store();
    s.save("deps-main-aaa", &b"1"[..]).unwrap();
    s.save("deps-main", &b"2"[..]).unwrap();
    s.save("deps-main-bbb", &b"3"[..]).unwrap();
    s.save("deps-other-ccc", &b"4"[..]).unwrap();

    let hit = s.restore(&keys(&["deps-main"])).unwrap().unwrap();
    assert_eq!(hit.key, "deps-main-bbb");
    assert_eq!(fs::read(&hit.path).unwrap(), b"3");

    // The first key with any match wins, even if a later key has a newer match.
    let hit = s
        .restore(&keys(&["deps-main-aaa", "deps-"]))
        .unwrap()
        .unwrap();
    assert_eq!(hit.key, "deps-main-aaa");
    let hit = s
        .restore(&keys(&["nothing-", "", "deps-"]))
        .unwrap()
        .unwrap();
    assert_eq!(hit.key, "deps-other-ccc");
    assert_eq!(s.restore(&keys(&["nope", ""])).unwrap(), None);
}

#[test]
fn hostile_keys_stay_inside_the_store() {
    let (d, s) = store();
    let key = "../../../../etc/passwd/{{x}}\nfoo";
    s.save(key, &b"x"[..]).unwrap();
    assert!(!d.path().join("etc").exists());
    let hit = s.restore(&keys(&["../../"])).unwrap().unwrap();
    assert_eq!(hit.key, key);
    assert!(hit.path.starts_with(d.path().join("caches/objects")));
    assert!(matches!(s.save("", &b"x"[..]), Err(CacheError::EmptyKey)));
}

#[test]
fn size_limits() {
    let dir = tempfile::tempdir().unwrap();
    let limits = CacheLimits {
        max_archive_bytes: 4,
        max_key_bytes: 8,
        ..CacheLimits::default()
    };
    let s = CacheStore::with_limits(dir.path(), limits).unwrap();
    let err = s.save("k", &b"12345"[..]).unwrap_err();
    assert!(matches!(err, CacheError::TooLarge { .. }), "{err}");
    assert!(!s.contains("k"));
    assert_eq!(fs::read_dir(dir.path().join("objects")).unwrap().count(), 0);
    assert_eq!(
        s.save("k", &b"1234"[..]).unwrap(),
        SaveOutcome::Saved { size: 4 }
    );
    let err = s.save("a-long-key", &b"1"[..]).unwrap_err();
    assert!(
        matches!(err, CacheError::KeyTooLong { len: 10, .. }),
        "{err}"
    );
}

#[test]
fn prune_by_age_and_total_size() {
    let dir = tempfile::tempdir().unwrap();
    let limits = CacheLimits {
        max_total_bytes: 5,
        ..CacheLimits::default()
    };
    let s = CacheStore::with_limits(dir.path(), limits).unwrap();
    s.save("old", &b"111"[..]).unwrap();
    let between = SystemTime::now();
    s.save("mid", &b"222"[..]).unwrap();
    s.save("new", &b"333"[..]).unwrap();
    // A leftover object from an interrupted save.
    let orphan = dir.path().join("objects/orphan.tar.zst");
    fs::write(&orphan, b"zz").unwrap();
    // File times come from a coarse clock; pin this one clearly after `between`.
    fs::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(between + Duration::from_secs(1))
        .unwrap();

    let stats = s.prune_before(between).unwrap();
    // "old" is too old; then "mid" goes because 6 bytes > 5.
    assert_eq!(stats.removed, 2);
    assert!(!s.contains("old") && !s.contains("mid") && s.contains("new"));
    assert!(
        dir.path().join("objects/orphan.tar.zst").exists(),
        "too young"
    );
    let hit = s.restore(&keys(&["new"])).unwrap().unwrap();
    assert!(hit.path.exists());

    let stats = s.prune_before(between + Duration::from_secs(2)).unwrap();
    assert_eq!(stats.removed, 1);
    assert_eq!(fs::read_dir(dir.path().join("objects")).unwrap().count(), 0);
    assert_eq!(s.restore(&keys(&["new"])).unwrap(), None);
}
