//! Task folders and spools: made ahead while claims wait, and used again by later tasks.
//!
//! A task's folder (`tasks/t<n>/`, with `task/` and its `BASH_ENV` file and `home/`) and its
//! spool (`spool/t<n>.jsonl`) go back to the runner's [`Folders`] when the task ends, emptied
//! ([`Prepared::reset`]) rather than removed: on many file systems removing and making files
//! and folders costs far more than emptying them (see [`circa_exec::folders`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use circa_exec::shell::ShellExecutor;

use crate::spool::Spool;

/// A task's folder and its spool, ready for a task.
#[derive(Debug)]
pub struct Prepared {
    pub(super) root: PathBuf,
    pub(super) spool: Arc<Spool>,
}

impl Prepared {
    /// Removes what was made, for a slot that stops without using it.
    pub fn discard(self) {
        self.spool.remove();
        let _ = std::fs::remove_dir_all(&self.root);
    }

    /// Readies a used folder and spool for the next task (blocking IO): the spool starts
    /// again, the task folder and the home are emptied (the folders themselves stay), and
    /// anything else the task left in the folder goes.
    pub fn reset(&self) -> Result<(), String> {
        let at = |e: std::io::Error| format!("{}: {e}", self.root.display());
        self.spool.restart().map_err(|e| e.to_string())?;
        for entry in std::fs::read_dir(&self.root).map_err(at)? {
            let entry = entry.map_err(at)?;
            let name = entry.file_name();
            if name == "task" {
                circa_exec::job::reset_task_dir(&entry.path()).map_err(at)?;
            } else if name == "home" {
                ShellExecutor::reset_home(&entry.path()).map_err(at)?;
            } else {
                circa_exec::folders::remove_entry(&entry).map_err(at)?;
            }
        }
        Ok(())
    }
}

/// Numbers task folders: unique within the runner (the folders are cleared at its start).
static FOLDERS: AtomicU64 = AtomicU64::new(1);

/// Makes a folder and a spool for a task under the data folder `data` (blocking IO).
pub fn prepare(data: &Path) -> Result<Prepared, String> {
    let folder = format!("t{}", FOLDERS.fetch_add(1, Ordering::Relaxed));
    let root = data.join("tasks").join(&folder);
    fresh_dir(&root)?;
    let made = circa_exec::job::make_task_dir(&root.join("task"))
        .and_then(|()| std::fs::create_dir(root.join("home")));
    let spool = made
        .map_err(|e| format!("{}: {e}", root.display()))
        .and_then(|()| {
            Spool::create(&data.join("spool").join(format!("{folder}.jsonl")))
                .map_err(|e| e.to_string())
        });
    match spool {
        Ok(spool) => Ok(Prepared {
            root,
            spool: Arc::new(spool),
        }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&root);
            Err(e)
        }
    }
}

fn fresh_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{}: {e}", dir.display()));
        }
        _ => {}
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// The runner's task folders that no task holds: made ahead by claims, taken by tasks, given
/// back by tasks.
#[derive(Debug, Default)]
pub struct Folders {
    ready: Mutex<Vec<Prepared>>,
    /// Folders being made now.
    making: AtomicUsize,
}

impl Folders {
    fn lock(&self) -> MutexGuard<'_, Vec<Prepared>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Up to `n` ready folders.
    pub fn take(&self, n: usize) -> Vec<Prepared> {
        let mut ready = self.lock();
        let keep = ready.len().saturating_sub(n);
        ready.split_off(keep)
    }

    /// Gives folders back.
    pub fn put(&self, folders: impl IntoIterator<Item = Prepared>) {
        self.lock().extend(folders);
    }

    /// Every ready folder, for removal.
    pub fn take_all(&self) -> Vec<Prepared> {
        std::mem::take(&mut *self.lock())
    }

    /// How many folders to make so that `n` are ready or being made; counted as being made
    /// from now on (each is then given with [`Folders::made`]).
    pub fn to_make(&self, n: usize) -> usize {
        let ready = self.lock().len();
        let making = self.making.load(Ordering::Acquire);
        let more = n.saturating_sub(ready + making);
        self.making.fetch_add(more, Ordering::AcqRel);
        more
    }

    /// A folder counted by [`Folders::to_make`] is made (or failed): ready for a task.
    pub fn made(&self, folder: Option<Prepared>) {
        if let Some(folder) = folder {
            self.put([folder]);
        }
        let _ = self
            .making
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| m.checked_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circa_model::protocol::TaskEventKind;

    #[test]
    fn folders_are_made_only_for_slots_none_is_ready_or_being_made_for() {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir(data.path().join("spool")).unwrap();
        let folders = Folders::default();
        folders.put([prepare(data.path()).unwrap()]);
        // One ready: three more for four slots, counted as being made at once.
        assert_eq!(folders.to_make(4), 3);
        assert_eq!(folders.to_make(4), 0);
        folders.made(Some(prepare(data.path()).unwrap()));
        folders.made(None);
        // Two ready, one still being made: a claim for five makes two.
        assert_eq!(folders.to_make(5), 2);
        assert_eq!(folders.take(5).len(), 2);
    }

    #[test]
    fn a_used_folder_comes_back_empty_with_its_folders_and_a_fresh_spool() {
        let data = tempfile::tempdir().unwrap();
        // The runner makes these at its start.
        std::fs::create_dir(data.path().join("spool")).unwrap();
        let p = prepare(data.path()).unwrap();
        let task = p.root.join("task");
        let home = p.root.join("home");
        // What a job leaves behind.
        std::fs::write(
            task.join(circa_exec::job::BASH_ENV_FILE),
            "export SECRET=1\n",
        )
        .unwrap();
        std::fs::write(task.join("step-0.sh"), "echo hi\n").unwrap();
        std::fs::create_dir_all(home.join("project/src")).unwrap();
        std::fs::write(home.join("project/src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(home.join(".bashrc"), "x").unwrap();
        std::fs::create_dir(p.root.join("artifacts")).unwrap();
        p.spool
            .append(&TaskEventKind::Notice {
                message: "old".into(),
                warning: false,
            })
            .unwrap();

        p.reset().unwrap();
        let names = |d: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&p.root), vec!["home", "task"]);
        // A step script stays for the next task's to be written over, its text gone.
        assert_eq!(
            names(&task),
            vec![circa_exec::job::BASH_ENV_FILE, "step-0.sh"]
        );
        assert!(
            std::fs::read(task.join("step-0.sh"))
                .unwrap()
                .iter()
                .all(|b| *b == 0)
        );
        assert_eq!(
            std::fs::metadata(task.join(circa_exec::job::BASH_ENV_FILE))
                .unwrap()
                .len(),
            0
        );
        assert_eq!(names(&home), vec!["project"]);
        assert!(names(&home.join("project")).is_empty());
        assert!(p.spool.read(1 << 20).unwrap().is_empty());
        assert_eq!(p.spool.last_seq(), 0);

        let folders = Folders::default();
        folders.put([p]);
        assert_eq!(folders.take(3).len(), 1);
        assert!(folders.take(1).is_empty());
    }
}
