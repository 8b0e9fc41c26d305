//! A guest's two folders: its saved definition and logs (kept until
//! `undefine`), and its runtime files (lock, pid, sockets, status).
//!
//! Folders are made mode 0700. The lock is an exclusive `flock` on a file
//! in the runtime folder: qvirt-install holds it while it defines a guest,
//! and the supervisor holds it for as long as the guest's QEMU runs, so
//! two runs never use one name and two supervisors never run one guest.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

use crate::paths::GuestDirs;
use crate::plan::{Command, Guest};

/// Why a guest's state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file or folder could not be made, read or written.
    #[error("cannot {action} `{}`", .path.display())]
    Io {
        /// What was being done: "create", "read", "write", "remove".
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The saved definition is not what qvirt writes.
    #[error("the saved definition `{}` cannot be read", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Another run or supervisor holds the guest.
    #[error("guest `{name}` is in use by another qvirt process")]
    Busy {
        /// The guest.
        name: String,
    },
    /// No guest of that name is defined.
    #[error("Domain not found: no domain with matching name '{name}'")]
    NotFound {
        /// The name asked for.
        name: String,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What `qvirt start` needs to run a guest again, saved as `guest.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Definition {
    /// The guest, every decision made.
    pub guest: Guest,
    /// The install phase's QEMU command, while the install has not run.
    pub install: Option<Command>,
    /// The QEMU command the guest runs with from then on.
    pub run: Command,
    /// `--transient`: forget the guest once it is off.
    pub transient: bool,
    /// `--noreboot`: do not start the final form after the install.
    pub noreboot: bool,
    /// `--destroy-on-exit`: stop the guest when its console is left.
    pub destroy_on_exit: bool,
    /// The disk images the guest uses, for `undefine --remove-all-storage`.
    pub storage: Vec<PathBuf>,
    /// The images the install created, removed again if it never ends.
    #[serde(default)]
    pub created: Vec<PathBuf>,
}

/// An exclusive lock on a guest, released when dropped.
#[derive(Debug)]
pub struct GuestLock {
    _file: File,
}

/// Creates `path` and its parents with mode 0700.
pub fn create_private_dir(path: &Path) -> Result<(), StateError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io("create", path))
}

/// Takes the guest's lock without waiting.
pub fn lock(dirs: &GuestDirs, name: &str) -> Result<GuestLock, StateError> {
    create_private_dir(&dirs.runtime)?;
    let path = dirs.lock_file();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(io("create", &path))?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(GuestLock { _file: file }),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(StateError::Busy {
            name: name.to_string(),
        }),
        Err(errno) => Err(StateError::Io {
            action: "lock",
            path,
            source: errno.into(),
        }),
    }
}

/// Whether some process holds the guest's lock right now.
pub fn is_locked(dirs: &GuestDirs) -> bool {
    let Ok(file) = File::open(dirs.lock_file()) else {
        return false;
    };
    let free = flock(&file, FlockOperation::NonBlockingLockShared).is_ok();
    if free {
        let _ = flock(&file, FlockOperation::Unlock);
    }
    !free
}

/// Writes `bytes` to `path` through a temporary file, so a reader never
/// sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let temporary = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(io("write", &temporary))?;
    file.write_all(bytes).map_err(io("write", &temporary))?;
    std::fs::rename(&temporary, path).map_err(io("write", path))
}

impl Definition {
    /// Saves the definition in the guest's state folder.
    pub fn save(&self, dirs: &GuestDirs) -> Result<(), StateError> {
        create_private_dir(&dirs.state)?;
        let path = dirs.definition();
        let json = serde_json::to_vec_pretty(self).map_err(|source| StateError::Corrupt {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &json)
    }

    /// Reads a guest's saved definition.
    pub fn load(dirs: &GuestDirs, name: &str) -> Result<Definition, StateError> {
        // `../other` or `g/.` names no guest, however its folders resolve.
        if !crate::paths::is_valid_name(name) {
            return Err(StateError::NotFound {
                name: name.to_string(),
            });
        }
        let path = dirs.definition();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotFound {
                    name: name.to_string(),
                });
            }
            Err(source) => return Err(io("read", &path)(source)),
        };
        serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
    }
}

/// The names of every guest defined below `roots`, sorted.
pub fn defined_names(roots: &crate::paths::Roots) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&roots.state)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join("guest.json").exists())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Removes a folder and everything in it; a missing folder is fine.
pub fn remove_dir(path: &Path) -> Result<(), StateError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io("remove", path)(source)),
    }
}

/// Removes a file; a missing file is fine.
pub fn remove_file(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn dirs(root: &Path) -> GuestDirs {
        GuestDirs {
            runtime: root.join("run/g"),
            state: root.join("lib/g"),
        }
    }

    #[test]
    fn one_lock_holder_at_a_time() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(root.path());
        let held = lock(&dirs, "g").expect("first");
        assert!(is_locked(&dirs));
        assert!(matches!(lock(&dirs, "g"), Err(StateError::Busy { .. })));
        drop(held);
        assert!(!is_locked(&dirs));
        lock(&dirs, "g").expect("free again");
    }

    #[test]
    fn folders_are_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(root.path());
        create_private_dir(&dirs.state).expect("create");
        let mode = std::fs::metadata(&dirs.state)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn missing_definition_is_not_found() {
        let root = tempfile::tempdir().expect("tempdir");
        let error = Definition::load(&dirs(root.path()), "g").expect_err("none");
        assert_eq!(
            error.to_string(),
            "Domain not found: no domain with matching name 'g'"
        );
    }
}
