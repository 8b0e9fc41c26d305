//! Where a guest's files live, per connection.
//!
//! | what | `qemu:///system` | `qemu:///session` |
//! | --- | --- | --- |
//! | runtime (sockets, pid, lock) | `/run/qvirt/NAME` | `$XDG_RUNTIME_DIR/qvirt/NAME` |
//! | state (definition, logs) | `/var/lib/qvirt/NAME` | `$XDG_DATA_HOME/qvirt/NAME` |
//! | new disks without a path | `/var/lib/libvirt/images` | `~/.local/share/libvirt/images` |
//!
//! New disks go where virt-install puts them, so scripts that look for them
//! there keep working. `QVIRT_ROOT` moves all three roots below one folder
//! (`run/`, `lib/`, `images/`), which is how the tests stay off the
//! machine's real directories.

use std::path::{Path, PathBuf};

/// The environment variable that moves every root below one folder.
pub const ROOT_ENV: &str = "QVIRT_ROOT";

/// Which libvirt connection the user asked for; it decides the paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Connection {
    /// `qemu:///system`: the machine-wide guests, as root.
    System,
    /// `qemu:///session`: one user's guests.
    Session,
}

impl Connection {
    /// The URI as virt-install and virsh spell it.
    pub fn uri(self) -> &'static str {
        match self {
            Connection::System => "qemu:///system",
            Connection::Session => "qemu:///session",
        }
    }

    /// Reads a `--connect` URI; `None` when qvirt cannot serve it.
    pub fn from_uri(uri: &str) -> Option<Connection> {
        match uri.trim_end_matches('/') {
            "qemu:///system" | "qemu://system" => Some(Connection::System),
            "qemu:///session" | "qemu://session" => Some(Connection::Session),
            _ => None,
        }
    }

    /// The connection virt-install would use with no `--connect`:
    /// `LIBVIRT_DEFAULT_URI` when it is set, else system for root and
    /// session for everyone else.
    pub fn default_for(default_uri: Option<&str>, is_root: bool) -> Option<Connection> {
        match default_uri {
            Some(uri) if !uri.is_empty() => Connection::from_uri(uri),
            _ if is_root => Some(Connection::System),
            _ => Some(Connection::Session),
        }
    }
}

/// The three roots for one connection, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// Per-guest runtime folders live below this.
    pub runtime: PathBuf,
    /// Per-guest saved definitions and logs live below this.
    pub state: PathBuf,
    /// New disks without a path are made here.
    pub images: PathBuf,
}

/// What [`Roots::resolve`] reads from the environment, so that the
/// resolution itself stays pure and testable.
#[derive(Debug, Clone, Default)]
pub struct RootsEnv {
    /// `QVIRT_ROOT`.
    pub qvirt_root: Option<PathBuf>,
    /// `XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `XDG_DATA_HOME`.
    pub xdg_data_home: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// The numeric user id, for a runtime folder when XDG has none.
    pub uid: u32,
}

impl RootsEnv {
    /// Reads the variables of this process.
    pub fn from_process() -> RootsEnv {
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        RootsEnv {
            qvirt_root: path(ROOT_ENV),
            xdg_runtime_dir: path("XDG_RUNTIME_DIR"),
            xdg_data_home: path("XDG_DATA_HOME"),
            home: path("HOME"),
            uid: rustix::process::getuid().as_raw(),
        }
    }
}

impl Roots {
    /// The roots for `connection` in `env`.
    pub fn resolve(connection: Connection, env: &RootsEnv) -> Roots {
        if let Some(root) = &env.qvirt_root {
            return Roots {
                runtime: root.join("run"),
                state: root.join("lib"),
                images: root.join("images"),
            };
        }
        match connection {
            Connection::System => Roots {
                runtime: PathBuf::from("/run/qvirt"),
                state: PathBuf::from("/var/lib/qvirt"),
                images: PathBuf::from("/var/lib/libvirt/images"),
            },
            Connection::Session => {
                let home = env.home.clone().unwrap_or_else(|| PathBuf::from("/"));
                let data = env
                    .xdg_data_home
                    .clone()
                    .unwrap_or_else(|| home.join(".local/share"));
                let runtime = env
                    .xdg_runtime_dir
                    .clone()
                    .unwrap_or_else(|| std::env::temp_dir().join(format!("qvirt-{}", env.uid)));
                Roots {
                    runtime: runtime.join("qvirt"),
                    state: data.join("qvirt"),
                    images: home.join(".local/share/libvirt/images"),
                }
            }
        }
    }

    /// The folders of one guest.
    pub fn guest(&self, name: &str) -> GuestDirs {
        GuestDirs {
            runtime: self.runtime.join(name),
            state: self.state.join(name),
        }
    }
}

/// Whether `name` can name a guest: it must be usable as a folder name,
/// as libvirt requires.
pub fn is_valid_name(name: &str) -> bool {
    !(name.is_empty() || name.contains('/') || name == "." || name == ".." || name.starts_with('-'))
}

/// The two folders that belong to one guest, and the files in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestDirs {
    /// Sockets, pid and lock: gone when the machine reboots.
    pub runtime: PathBuf,
    /// The saved definition and the logs: kept until `undefine`.
    pub state: PathBuf,
}

impl GuestDirs {
    /// The QMP socket.
    pub fn qmp_socket(&self) -> PathBuf {
        self.runtime.join("qmp.sock")
    }

    /// The supervisor's own QMP socket, so the client one stays free for
    /// `qvirt` commands.
    pub fn supervisor_socket(&self) -> PathBuf {
        self.runtime.join("supervisor.sock")
    }

    /// The sockets QEMU serves for the guest: both monitors and the
    /// serial console.
    pub fn sockets(&self) -> [PathBuf; 3] {
        [
            self.qmp_socket(),
            self.supervisor_socket(),
            self.console_socket(),
        ]
    }

    /// Everything in the runtime folder that belongs to one run of QEMU,
    /// and goes when it ends: the sockets, the pid and the status.
    pub fn run_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.pid_file(), self.status_file()];
        files.extend(self.sockets());
        files
    }

    /// What the supervisor last reported about the guest.
    pub fn status_file(&self) -> PathBuf {
        self.runtime.join("status.json")
    }

    /// Held by the one client attached to the serial console.
    pub fn console_lock(&self) -> PathBuf {
        self.runtime.join("console.lock")
    }

    /// How the guest's last run ended: `rebooted`, `powered-off`,
    /// `destroyed` or `crashed`.
    pub fn last_ending(&self) -> PathBuf {
        self.state.join("last-ending")
    }

    /// The supervisor's own messages.
    pub fn supervisor_log(&self) -> PathBuf {
        self.state.join("supervisor.log")
    }

    /// The TPM emulator's control socket.
    pub fn tpm_socket(&self) -> PathBuf {
        self.runtime.join("swtpm.sock")
    }

    /// The emulated TPM's persistent state.
    pub fn tpm_state(&self) -> PathBuf {
        self.state.join("tpm")
    }

    /// The serial console socket.
    pub fn console_socket(&self) -> PathBuf {
        self.runtime.join("console.sock")
    }

    /// QEMU's pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.runtime.join("qemu.pid")
    }

    /// The lock that keeps two supervisors off one guest.
    pub fn lock_file(&self) -> PathBuf {
        self.runtime.join("lock")
    }

    /// Everything the guest printed on its serial console.
    pub fn console_log(&self) -> PathBuf {
        self.state.join("console.log")
    }

    /// QEMU's own stdout and stderr.
    pub fn qemu_log(&self) -> PathBuf {
        self.state.join("qemu.log")
    }

    /// Every QMP message exchanged with the guest's QEMU.
    pub fn qmp_log(&self) -> PathBuf {
        self.state.join("qmp.log")
    }

    /// The saved definition.
    pub fn definition(&self) -> PathBuf {
        self.state.join("guest.json")
    }
}

/// `path` with every `,` doubled, as QEMU's option syntax needs.
pub fn qemu_escape(path: &Path) -> String {
    path.to_string_lossy().replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> RootsEnv {
        RootsEnv {
            home: Some("/home/ann".into()),
            uid: 1000,
            ..RootsEnv::default()
        }
    }

    #[test]
    fn connection_defaults() {
        let cases = [
            (None, true, Some(Connection::System)),
            (None, false, Some(Connection::Session)),
            (Some("qemu:///session"), true, Some(Connection::Session)),
            (Some(""), false, Some(Connection::Session)),
            (Some("xen:///"), true, None),
        ];
        for (uri, root, want) in cases {
            assert_eq!(Connection::default_for(uri, root), want, "{uri:?} {root}");
        }
    }

    #[test]
    fn system_roots() {
        let roots = Roots::resolve(Connection::System, &env());
        assert_eq!(roots.images, PathBuf::from("/var/lib/libvirt/images"));
        assert_eq!(roots.guest("a").runtime, PathBuf::from("/run/qvirt/a"));
    }

    #[test]
    fn session_roots_follow_xdg() {
        let mut env = env();
        env.xdg_runtime_dir = Some("/run/user/1000".into());
        let roots = Roots::resolve(Connection::Session, &env);
        assert_eq!(roots.runtime, PathBuf::from("/run/user/1000/qvirt"));
        assert_eq!(roots.state, PathBuf::from("/home/ann/.local/share/qvirt"));
        assert_eq!(
            roots.images,
            PathBuf::from("/home/ann/.local/share/libvirt/images")
        );
    }

    #[test]
    fn one_variable_moves_everything() {
        let mut env = env();
        env.qvirt_root = Some("/tmp/t".into());
        for connection in [Connection::System, Connection::Session] {
            let roots = Roots::resolve(connection, &env);
            assert!(roots.runtime.starts_with("/tmp/t"));
            assert!(roots.state.starts_with("/tmp/t"));
            assert!(roots.images.starts_with("/tmp/t"));
        }
    }

    #[test]
    fn commas_are_doubled() {
        assert_eq!(qemu_escape(Path::new("/a,b/c")), "/a,,b/c");
    }
}
