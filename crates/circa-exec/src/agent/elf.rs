//! What a dynamically linked binary needs to start: its ELF interpreter (the dynamic loader)
//! and the transitive closure of its `DT_NEEDED` shared libraries, resolved on the host the
//! way the loader would.
//!
//! Resolution follows glibc's `ld.so(8)` order, with the cache replaced by the folders it is
//! built from: a name with a `/` is a path; otherwise `DT_RPATH` of the object that needs it
//! (when it has no `DT_RUNPATH`), `LD_LIBRARY_PATH`, `DT_RUNPATH`, the folders listed in
//! `/etc/ld.so.conf` (with its `include`s) and `/etc/ld-musl-*.path`, the loader's own folder,
//! then the default folders. `$ORIGIN` is expanded. A candidate counts only when it is an ELF
//! file of the binary's class and machine, so 32-bit or foreign libraries in shared folders
//! are skipped. Only program headers and the dynamic segment are read (never section
//! headers), so stripped binaries work.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};

use object::elf;
use object::read::ReadCache;
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::{Endianness, FileKind};

/// What a binary needs from the host to start elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Needs {
    /// The `PT_INTERP` path as written in the binary, `None` for a static binary.
    pub interpreter: Option<PathBuf>,
    /// Every shared library needed, directly or not: name as the binaries ask for it
    /// (`libc.so.6`) → the host file. Excludes the interpreter.
    pub libraries: BTreeMap<String, PathBuf>,
}

/// The parts of one ELF file that matter for loading.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ElfInfo {
    is_64: bool,
    machine: u16,
    interpreter: Option<String>,
    needed: Vec<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
}

/// Finds the interpreter and libraries of the binary at `exe`.
///
/// # Errors
///
/// A message naming the file when `exe` or a library is not a readable ELF file, or when a
/// library cannot be found.
pub(crate) fn needs(exe: &Path) -> Result<Needs, String> {
    let info = read_elf(exe)?;
    let Some(interp) = info.interpreter.clone() else {
        return Ok(Needs {
            interpreter: None,
            libraries: BTreeMap::new(),
        });
    };
    let interp = PathBuf::from(interp);
    if !interp.is_file() {
        return Err(format!(
            "the dynamic loader {} of {} does not exist",
            interp.display(),
            exe.display()
        ));
    }
    let interp_name = file_name(&interp);
    let interp_real = std::fs::canonicalize(&interp).unwrap_or_else(|_| interp.clone());
    let mut system = Vec::new();
    if let Some(dir) = interp_real.parent() {
        system.push(dir.to_path_buf());
    }
    system.extend(system_dirs(info.is_64));
    let ld_library_path: Vec<String> = std::env::var("LD_LIBRARY_PATH")
        .map(|v| split_path_list(&v))
        .unwrap_or_default();

    let mut libraries = BTreeMap::new();
    let mut queue: VecDeque<(String, PathBuf, ElfInfo)> = VecDeque::new();
    for name in &info.needed {
        queue.push_back((name.clone(), exe.to_path_buf(), info.clone()));
    }
    let mut seen = BTreeSet::new();
    while let Some((name, requester, requester_info)) = queue.pop_front() {
        if name == interp_name || !seen.insert(name.clone()) {
            continue;
        }
        let found = resolve(
            &name,
            &requester,
            &requester_info,
            &ld_library_path,
            &system,
            (info.is_64, info.machine),
        )
        .ok_or_else(|| {
            format!(
                "library {name} (needed by {}) not found on this host",
                requester.display()
            )
        })?;
        let lib_info = read_elf(&found)?;
        for next in &lib_info.needed {
            queue.push_back((next.clone(), found.clone(), lib_info.clone()));
        }
        libraries.insert(name, found);
    }
    Ok(Needs {
        interpreter: Some(interp),
        libraries,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The host file the loader would use for `name`, needed by `requester`.
fn resolve(
    name: &str,
    requester: &Path,
    requester_info: &ElfInfo,
    ld_library_path: &[String],
    system: &[PathBuf],
    want: (bool, u16),
) -> Option<PathBuf> {
    let fits = |p: &Path| {
        p.is_file()
            && read_elf(p)
                .map(|i| (i.is_64, i.machine) == want)
                .unwrap_or(false)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return fits(&p).then_some(p);
    }
    let origin = std::fs::canonicalize(requester)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let expand = |dirs: &[String]| -> Vec<PathBuf> {
        dirs.iter()
            .map(|d| {
                let origin = origin.to_string_lossy();
                PathBuf::from(d.replace("${ORIGIN}", &origin).replace("$ORIGIN", &origin))
            })
            .collect()
    };
    let mut dirs = Vec::new();
    if requester_info.runpath.is_empty() {
        dirs.extend(expand(&requester_info.rpath));
    }
    dirs.extend(expand(ld_library_path));
    dirs.extend(expand(&requester_info.runpath));
    dirs.extend(system.iter().cloned());
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| fits(p))
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// The library folders of this host, in search order, without duplicates.
fn system_dirs(is_64: bool) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    read_ld_so_conf(Path::new("/etc/ld.so.conf"), &mut dirs, 0);
    if let Ok(entries) = std::fs::read_dir("/etc") {
        let mut musl: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = file_name(p);
                n.starts_with("ld-musl-") && n.ends_with(".path")
            })
            .collect();
        musl.sort();
        for file in musl {
            if let Ok(text) = std::fs::read_to_string(&file) {
                dirs.extend(
                    text.split(['\n', ':'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(PathBuf::from),
                );
            }
        }
    }
    let defaults: &[&str] = if is_64 {
        &["/lib64", "/usr/lib64", "/lib", "/usr/local/lib", "/usr/lib"]
    } else {
        &["/lib32", "/usr/lib32", "/lib", "/usr/local/lib", "/usr/lib"]
    };
    dirs.extend(defaults.iter().map(PathBuf::from));
    let mut seen = BTreeSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// Appends the folders of an `ld.so.conf`-style file, following `include` lines.
fn read_ld_so_conf(file: &Path, dirs: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    let base = file.parent().unwrap_or(Path::new("/"));
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with("hwcap ") {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include ") {
            for pattern in pattern.split_whitespace() {
                for included in conf_glob(&base.join(pattern)) {
                    read_ld_so_conf(&included, dirs, depth + 1);
                }
            }
            continue;
        }
        dirs.extend(split_path_list(line).into_iter().map(PathBuf::from));
    }
}

/// Expands a `dir/*.conf`-style include (a `*` in the last component only), sorted.
fn conf_glob(pattern: &Path) -> Vec<PathBuf> {
    let name = file_name(pattern);
    let Some(dir) = pattern.parent() else {
        return Vec::new();
    };
    if !name.contains('*') {
        return vec![pattern.to_path_buf()];
    }
    let (prefix, suffix) = name.split_once('*').unwrap_or((&name, ""));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = file_name(p);
                    n.len() >= prefix.len() + suffix.len()
                        && n.starts_with(prefix)
                        && n.ends_with(suffix)
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn split_path_list(list: &str) -> Vec<String> {
    list.split([':', ';', ',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_elf(path: &Path) -> Result<ElfInfo, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let data = ReadCache::new(file);
    let parsed = match FileKind::parse(&data) {
        Ok(FileKind::Elf64) => parse::<elf::FileHeader64<Endianness>>(&data),
        Ok(FileKind::Elf32) => parse::<elf::FileHeader32<Endianness>>(&data),
        Ok(_) => Err("not an ELF file".to_owned()),
        Err(e) => Err(e.to_string()),
    };
    parsed.map_err(|e| format!("{}: not a usable ELF file: {e}", path.display()))
}

fn parse<Elf: FileHeader<Endian = Endianness>>(data: &ReadCache<File>) -> Result<ElfInfo, String> {
    let err = |e: object::read::Error| e.to_string();
    let header = Elf::parse(data).map_err(err)?;
    let endian = header.endian().map_err(err)?;
    let phdrs = header.program_headers(endian, data).map_err(err)?;
    let mut info = ElfInfo {
        is_64: header.is_class_64(),
        machine: header.e_machine(endian).0,
        ..ElfInfo::default()
    };
    let mut dynamic = None;
    for ph in phdrs {
        if let Some(interp) = ph.interpreter(endian, data).map_err(err)? {
            info.interpreter = Some(String::from_utf8_lossy(interp).into_owned());
        }
        if let Some(d) = ph.dynamic(endian, data).map_err(err)? {
            dynamic = Some(d);
        }
    }
    let Some(dynamic) = dynamic else {
        return Ok(info);
    };
    let entries = || dynamic.iter().take_while(|d| d.tag(endian) != elf::DT_NULL);
    // DT_STRTAB is an address: map it to a file offset through the PT_LOAD segments, as the
    // loader sees the file.
    let value = |tag| {
        entries()
            .find(|d| d.tag(endian) == tag)
            .map(|d| d.val(endian))
    };
    let (Some(addr), Some(size)) = (value(elf::DT_STRTAB), value(elf::DT_STRSZ)) else {
        return Err("dynamic segment without a string table".to_owned());
    };
    let offset = phdrs
        .iter()
        .filter(|ph| ph.p_type(endian) == elf::PT_LOAD)
        .find_map(|ph| {
            let vaddr: u64 = ph.p_vaddr(endian).into();
            let filesz: u64 = ph.p_filesz(endian).into();
            let off: u64 = ph.p_offset(endian).into();
            (addr >= vaddr && addr < vaddr.saturating_add(filesz)).then(|| addr - vaddr + off)
        })
        .ok_or("dynamic string table outside the loaded segments")?;
    let strings = object::read::StringTable::new(data, offset, offset.saturating_add(size));
    for d in entries() {
        let tag = d.tag(endian);
        if tag != elf::DT_NEEDED && tag != elf::DT_RPATH && tag != elf::DT_RUNPATH {
            continue;
        }
        let text = d.string(endian, strings).map_err(err)?;
        let text = String::from_utf8_lossy(text).into_owned();
        if tag == elf::DT_NEEDED {
            info.needed.push(text);
        } else if tag == elf::DT_RPATH {
            info.rpath.extend(split_path_list(&text));
        } else {
            info.runpath.extend(split_path_list(&text));
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_binary_needs_a_loader_and_libc() {
        let exe = std::env::current_exe().unwrap();
        let needs = needs(&exe).unwrap();
        if cfg!(target_feature = "crt-static") {
            assert_eq!(needs.interpreter, None);
            assert!(needs.libraries.is_empty());
            return;
        }
        let interp = needs.interpreter.unwrap();
        assert!(interp.is_absolute(), "{interp:?}");
        assert!(interp.is_file());
        // Every Rust binary on Linux links the C library.
        assert!(
            needs.libraries.keys().any(|n| n.starts_with("libc.")),
            "{:?}",
            needs.libraries
        );
        for path in needs.libraries.values() {
            assert!(path.is_file(), "{path:?}");
        }
        // The loader itself is not listed as a library.
        let interp_name = file_name(&interp);
        assert!(!needs.libraries.contains_key(&interp_name));
    }

    #[test]
    fn not_an_elf_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("script");
        std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
        let err = needs(&path).unwrap_err();
        assert!(err.contains("script"), "{err}");
        let err = needs(&dir.path().join("missing")).unwrap_err();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn ld_so_conf_includes_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(
            dir.path().join("ld.so.conf"),
            "# comment\n/opt/a:/opt/b\ninclude conf.d/*.conf\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("conf.d/2.conf"), "/opt/d\n").unwrap();
        std::fs::write(dir.path().join("conf.d/1.conf"), "/opt/c # trailing\n").unwrap();
        std::fs::write(dir.path().join("conf.d/skip.txt"), "/opt/x\n").unwrap();
        let mut dirs = Vec::new();
        read_ld_so_conf(&dir.path().join("ld.so.conf"), &mut dirs, 0);
        let want: Vec<PathBuf> = ["/opt/a", "/opt/b", "/opt/c", "/opt/d"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(dirs, want);
    }
}
