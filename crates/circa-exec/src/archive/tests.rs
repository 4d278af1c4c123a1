use super::*;
use std::os::unix::fs::symlink;

/// A header whose name (and link name) bytes are written raw, bypassing the builder's checks.
fn raw_header(kind: EntryType, name: &[u8], link: &[u8], size: u64) -> Header {
    let mut header = Header::new_old();
    {
        let bytes = header.as_mut_bytes();
        bytes[..name.len()].copy_from_slice(name);
        bytes[157..157 + link.len()].copy_from_slice(link);
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(size);
    header.set_mtime(0);
    header.set_cksum();
    header
}

/// Builds a plain tar from (kind, name, link, contents) tuples.
fn raw_tar(entries: &[(EntryType, &str, &str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (kind, name, link, data) in entries {
        let header = raw_header(*kind, name.as_bytes(), link.as_bytes(), data.len() as u64);
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn zstd_of(tar: &[u8]) -> Vec<u8> {
    zstd::encode_all(tar, ZSTD_LEVEL).unwrap()
}

/// A root inside a sandbox, plus a sibling "outside" directory that must stay untouched.
struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn sandbox() -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir(&root).unwrap();
    fs::create_dir(&outside).unwrap();
    Sandbox {
        _dir: dir,
        root,
        outside,
    }
}

fn assert_outside_empty(sb: &Sandbox) {
    let left: Vec<_> = fs::read_dir(&sb.outside).unwrap().collect();
    assert!(left.is_empty(), "something was written outside: {left:?}");
}

#[test]
fn round_trip_files_dirs_symlinks_and_exec_bit() {
    let src = tempfile::tempdir().unwrap();
    let s = src.path();
    fs::create_dir_all(s.join("a/b")).unwrap();
    fs::write(s.join("a/b/data.txt"), b"hello").unwrap();
    fs::write(s.join("a/run.sh"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(s.join("a/run.sh"), fs::Permissions::from_mode(0o4775)).unwrap();
    fs::create_dir(s.join("a/empty")).unwrap();
    symlink("b/data.txt", s.join("a/link")).unwrap();
    fs::write(s.join("top.txt"), b"top").unwrap();
    fs::write(s.join("not-selected"), b"x").unwrap();

    let mut out = Vec::new();
    let stats = pack(
        s,
        &[
            PathBuf::from("a"),
            s.join("top.txt"),
            PathBuf::from("./a/b"),
        ],
        &mut out,
        &ArchiveLimits::default(),
    )
    .unwrap();
    assert_eq!(stats.files, 3);
    assert_eq!(stats.bytes, 5 + 10 + 3);
    assert_eq!(stats.symlinks, 1);
    assert_eq!(stats.dirs, 3);

    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().join("fresh");
    let un = unpack(&out[..], &d, &ArchiveLimits::default()).unwrap();
    assert_eq!(un.files, 3);
    assert_eq!(un.bytes, 18);
    assert_eq!(un.symlinks, 1);
    assert_eq!(fs::read(d.join("a/b/data.txt")).unwrap(), b"hello");
    assert_eq!(fs::read(d.join("a/link")).unwrap(), b"hello");
    assert_eq!(
        fs::read_link(d.join("a/link")).unwrap(),
        PathBuf::from("b/data.txt")
    );
    assert!(d.join("a/empty").is_dir());
    assert!(!d.join("not-selected").exists());
    let mode = |p: &str| fs::metadata(d.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("a/run.sh"), 0o755, "only the executable bit survives");
    assert_eq!(mode("top.txt"), 0o644);
}

#[test]
fn pack_refuses_paths_outside_root() {
    let src = tempfile::tempdir().unwrap();
    for bad in ["../x", "/etc/passwd"] {
        let err = pack(
            src.path(),
            &[PathBuf::from(bad)],
            Vec::new(),
            &ArchiveLimits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ArchiveError::OutsideRoot { .. }), "{err}");
    }
}

#[test]
fn pack_whole_root_and_long_names() {
    let src = tempfile::tempdir().unwrap();
    let long = "d".repeat(120);
    fs::create_dir_all(src.path().join(&long)).unwrap();
    fs::write(src.path().join(&long).join("f".repeat(150)), b"x").unwrap();
    let mut out = Vec::new();
    pack(
        src.path(),
        &[PathBuf::from(".")],
        &mut out,
        &ArchiveLimits::default(),
    )
    .unwrap();
    let dst = tempfile::tempdir().unwrap();
    unpack(&out[..], dst.path(), &ArchiveLimits::default()).unwrap();
    assert_eq!(
        fs::read(dst.path().join(&long).join("f".repeat(150))).unwrap(),
        b"x"
    );
}

#[test]
fn pack_enforces_limits() {
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("big"), vec![0u8; 100]).unwrap();
    let limits = ArchiveLimits {
        max_total_bytes: 99,
        ..ArchiveLimits::default()
    };
    let err = pack(src.path(), &[PathBuf::from("big")], Vec::new(), &limits).unwrap_err();
    assert!(
        matches!(err, ArchiveError::TooLarge { ref entry, .. } if entry == "big"),
        "{err}"
    );
}

fn unpack_raw(sb: &Sandbox, entries: &[(EntryType, &str, &str, &[u8])]) -> ArchiveError {
    let tar = raw_tar(entries);
    let err = unpack(&zstd_of(&tar)[..], &sb.root, &ArchiveLimits::default()).unwrap_err();
    assert_outside_empty(sb);
    err
}

#[test]
fn refuses_absolute_path() {
    let sb = sandbox();
    let target = format!("{}/abs", sb.outside.display());
    let err = unpack_raw(&sb, &[(EntryType::Regular, &target, "", b"pwned")]);
    assert!(matches!(err, ArchiveError::AbsolutePath { .. }), "{err}");
    assert!(
        err.to_string().contains("abs"),
        "error names the entry: {err}"
    );
    assert!(!sb.outside.join("abs").exists());
}

#[test]
fn refuses_parent_components() {
    let sb = sandbox();
    for name in ["../outside/x", "a/../../outside/x", "./.."] {
        let err = unpack_raw(&sb, &[(EntryType::Regular, name, "", b"pwned")]);
        assert!(
            matches!(err, ArchiveError::ParentComponent { .. }),
            "{name}: {err}"
        );
    }
    assert!(!sb.outside.join("x").exists());
}

#[test]
fn refuses_symlink_escape_then_write_through() {
    let sb = sandbox();
    let outside = sb.outside.display().to_string();
    // An absolute target is refused at the symlink itself.
    let err = unpack_raw(
        &sb,
        &[
            (EntryType::Symlink, "a", &outside, b""),
            (EntryType::Regular, "a/passwd", "", b"pwned"),
        ],
    );
    assert!(matches!(err, ArchiveError::SymlinkEscape { .. }), "{err}");
    assert!(!sb.outside.join("passwd").exists());

    for target in ["../outside", "x/../../outside", "..", "/etc"] {
        let err = unpack_raw(&sb, &[(EntryType::Symlink, "l", target, b"")]);
        assert!(
            matches!(err, ArchiveError::SymlinkEscape { .. }),
            "{target}: {err}"
        );
    }
    // `here -> .` is fine, but `up -> here/..` would reach the root's parent on disk.
    let err = unpack_raw(
        &sb,
        &[
            (EntryType::Symlink, "here", ".", b""),
            (EntryType::Symlink, "up", "here/..", b""),
        ],
    );
    assert!(matches!(err, ArchiveError::SymlinkEscape { .. }), "{err}");
}

#[test]
fn never_writes_through_an_inside_symlink_either() {
    let sb = sandbox();
    // A symlink to a directory inside the root is allowed, but writing through it is not.
    let err = unpack_raw(
        &sb,
        &[
            (EntryType::Directory, "real", "", b""),
            (EntryType::Symlink, "alias", "real", b""),
            (EntryType::Regular, "alias/f", "", b"x"),
        ],
    );
    assert!(matches!(err, ArchiveError::UnsafeParent { .. }), "{err}");
    assert!(!sb.root.join("real/f").exists());
}

#[test]
fn refuses_symlink_already_on_disk() {
    let sb = sandbox();
    symlink(&sb.outside, sb.root.join("a")).unwrap();
    let err = unpack_raw(&sb, &[(EntryType::Regular, "a/passwd", "", b"pwned")]);
    assert!(
        matches!(err, ArchiveError::UnsafeParent { ref component, .. } if component == Path::new("a")),
        "{err}"
    );
    let err = unpack_raw(&sb, &[(EntryType::Directory, "a/sub", "", b"")]);
    assert!(matches!(err, ArchiveError::UnsafeParent { .. }), "{err}");
}

#[test]
fn replaces_a_symlink_at_the_destination_instead_of_following_it() {
    let sb = sandbox();
    let victim = sb.outside.join("victim");
    symlink(&victim, sb.root.join("f")).unwrap();
    let tar = raw_tar(&[(EntryType::Regular, "f", "", b"new")]);
    unpack_tar(&tar[..], &sb.root, &ArchiveLimits::default()).unwrap();
    assert_outside_empty(&sb);
    let meta = fs::symlink_metadata(sb.root.join("f")).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(fs::read(sb.root.join("f")).unwrap(), b"new");
}

#[test]
fn refuses_hard_links_devices_and_fifos() {
    let sb = sandbox();
    let passwd = "/etc/passwd";
    let err = unpack_raw(&sb, &[(EntryType::Link, "h", passwd, b"")]);
    assert!(matches!(err, ArchiveError::HardLink { .. }), "{err}");
    let err = unpack_raw(&sb, &[(EntryType::Link, "h", "inside", b"")]);
    assert!(matches!(err, ArchiveError::HardLink { .. }), "{err}");
    for kind in [EntryType::Char, EntryType::Block, EntryType::Fifo] {
        let err = unpack_raw(&sb, &[(kind, "dev", "", b"")]);
        assert!(matches!(err, ArchiveError::UnsupportedType { .. }), "{err}");
    }
    assert!(!sb.root.join("h").exists());
    assert!(!sb.root.join("dev").exists());
}

#[test]
fn refuses_oversized_archive_before_writing_the_entry() {
    let sb = sandbox();
    let tar = raw_tar(&[
        (EntryType::Regular, "small", "", &[1u8; 10]),
        (EntryType::Regular, "big", "", &[2u8; 100]),
    ]);
    let limits = ArchiveLimits {
        max_total_bytes: 50,
        ..ArchiveLimits::default()
    };
    let err = unpack_tar(&tar[..], &sb.root, &limits).unwrap_err();
    assert!(
        matches!(err, ArchiveError::TooLarge { ref entry, .. } if entry == "big"),
        "{err}"
    );
    assert!(sb.root.join("small").exists());
    assert!(!sb.root.join("big").exists());
}

#[test]
fn refuses_too_many_entries_and_long_paths() {
    let sb = sandbox();
    let names: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
    let entries: Vec<_> = names
        .iter()
        .map(|n| (EntryType::Regular, n.as_str(), "", &b""[..]))
        .collect();
    let tar = raw_tar(&entries);
    let limits = ArchiveLimits {
        max_entries: 3,
        ..ArchiveLimits::default()
    };
    let err = unpack_tar(&tar[..], &sb.root, &limits).unwrap_err();
    assert!(
        matches!(err, ArchiveError::TooManyEntries { ref entry, .. } if entry == "f3"),
        "{err}"
    );
    assert!(!sb.root.join("f3").exists());

    let limits = ArchiveLimits {
        max_path_len: 10,
        ..ArchiveLimits::default()
    };
    let tar = raw_tar(&[(EntryType::Regular, "a-rather-long-name", "", b"")]);
    let err = unpack_tar(&tar[..], &sb.root, &limits).unwrap_err();
    assert!(
        matches!(err, ArchiveError::PathTooLong { len: 18, .. }),
        "{err}"
    );
}

#[test]
fn refuses_replacing_a_directory() {
    let sb = sandbox();
    fs::create_dir(sb.root.join("d")).unwrap();
    let err = unpack_raw(&sb, &[(EntryType::Regular, "d", "", b"x")]);
    assert!(matches!(err, ArchiveError::Conflict { .. }), "{err}");
    let err = unpack_raw(&sb, &[(EntryType::Symlink, "d", "x", b"")]);
    assert!(matches!(err, ArchiveError::Conflict { .. }), "{err}");
}

#[test]
fn later_entries_overwrite_files() {
    let sb = sandbox();
    let tar = raw_tar(&[
        (EntryType::Regular, "./f", "", b"one"),
        (EntryType::Regular, "f", "", b"two"),
        (EntryType::Directory, "./", "", b""),
    ]);
    unpack_tar(&tar[..], &sb.root, &ArchiveLimits::default()).unwrap();
    assert_eq!(fs::read(sb.root.join("f")).unwrap(), b"two");
}

#[test]
fn garbage_is_a_stream_error() {
    let sb = sandbox();
    let err = unpack(
        &b"definitely not zstd"[..],
        &sb.root,
        &ArchiveLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::Stream { .. }), "{err}");
}

mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn component() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("".to_owned()),
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        (any::<bool>(), prop::collection::vec(component(), 1..5)).prop_map(|(abs, parts)| {
            let joined = parts.join("/");
            if abs { format!("/{joined}") } else { joined }
        })
    }

    fn kind() -> impl Strategy<Value = EntryType> {
        prop_oneof![
            Just(EntryType::Regular),
            Just(EntryType::Directory),
            Just(EntryType::Symlink),
            Just(EntryType::Link),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Whatever sequence of odd entries an archive holds, nothing lands outside the root
        /// and no path under the root resolves outside it through a written symlink.
        #[test]
        fn nothing_escapes(entries in prop::collection::vec((kind(), path(), path()), 1..8)) {
            let sb = sandbox();
            let owned: Vec<(EntryType, String, String, Vec<u8>)> = entries
                .into_iter()
                .map(|(k, p, l)| {
                    // Point absolute links at the outside directory to make escapes real.
                    let l = if l.starts_with('/') {
                        format!("{}{l}", sb.outside.display())
                    } else {
                        l
                    };
                    let data = if k == EntryType::Regular { b"x".to_vec() } else { Vec::new() };
                    (k, p, l, data)
                })
                .collect();
            let refs: Vec<_> = owned
                .iter()
                .map(|(k, p, l, d)| (*k, p.as_str(), l.as_str(), d.as_slice()))
                .collect();
            let tar = raw_tar(&refs);
            let _ = unpack_tar(&tar[..], &sb.root, &ArchiveLimits::default());
            assert_outside_empty(&sb);
            let parent = sb.root.parent().unwrap().canonicalize().unwrap();
            let root = sb.root.canonicalize().unwrap();
            for p in ["a", "b", "a/a", "a/b", "b/a", "b/b"] {
                if let Ok(real) = sb.root.join(p).canonicalize() {
                    prop_assert!(real.starts_with(&root), "{p} resolves to {real:?}");
                    prop_assert!(real != parent);
                }
            }
        }
    }
}
