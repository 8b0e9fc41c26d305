//! Starting one QEMU process and bringing it to a running guest.
//!
//! QEMU runs as a child in a session of its own (so the terminal's Ctrl+C
//! never reaches it), never with `-daemonize`, with its output appended to
//! the guest's `qemu.log`. It starts frozen (`-S`); the supervisor waits
//! for its QMP greeting while watching for it to exit, sets the actions
//! the phase needs, and only then lets the CPUs run with `cont`. A QEMU
//! that dies on the way is explained from the end of its log.

use std::fs::OpenOptions;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::paths::GuestDirs;
use crate::plan::Command;
use crate::qmp::{Qmp, QmpError, QmpOptions};

/// How much of `qemu.log` an error shows.
const LOG_TAIL_LINES: usize = 12;

/// Why QEMU did not get to a running guest.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The program could not be started at all.
    #[error("cannot run `{}`", .program.display())]
    Spawn {
        /// The QEMU binary.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `qemu.log` could not be opened.
    #[error("cannot open `{}`", .path.display())]
    Log {
        /// The log.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// QEMU exited before the guest ran.
    #[error("QEMU exited before the guest started ({status}):\n{tail}")]
    Exited {
        /// How it exited.
        status: String,
        /// The end of its log.
        tail: String,
    },
    /// The TPM emulator did not start.
    #[error("the TPM emulator did not start: {reason}")]
    Tpm {
        /// Why.
        reason: String,
    },
    /// passt did not start.
    #[error("passt did not start: {reason}")]
    Passt {
        /// Why.
        reason: String,
    },
    /// QEMU ran but did not answer over QMP.
    #[error("QEMU did not start the guest")]
    Qmp {
        /// The QMP failure.
        #[source]
        source: QmpError,
    },
}

impl LaunchError {
    /// What the user can do about it, for the known causes.
    pub fn hint(&self) -> Option<&'static str> {
        let LaunchError::Exited { tail, .. } = self else {
            return None;
        };
        hint_for_log(tail)
    }

    /// True when QEMU hit the `IA32_ARCH_CAPABILITIES` abort that nested
    /// and software hypervisors give `-cpu host`.
    pub fn is_msr_abort(&self) -> bool {
        matches!(self, LaunchError::Exited { tail, .. } if tail.contains("failed to set MSR 0x10a"))
    }
}

/// Hints for the failures QEMU's log names.
pub fn hint_for_log(log: &str) -> Option<&'static str> {
    const HINTS: &[(&str, &str)] = &[
        (
            "Could not access KVM kernel module: Permission denied",
            "no permission on /dev/kvm: add the user to the `kvm` group, or use --virt-type qemu",
        ),
        (
            "failed to initialize kvm",
            "KVM cannot be used here: use --virt-type qemu for software emulation",
        ),
        (
            "failed to set MSR 0x10a",
            "this hypervisor refuses the host CPU's ARCH_CAPABILITIES MSR: use \
             --cpu host,-arch-capabilities or --virt-type qemu",
        ),
        (
            "Backing file specified without backing format",
            "name the backing image's format with --disk ...,backing_format=qcow2",
        ),
        (
            "cannot set up guest memory",
            "the host cannot give the guest that much memory: ask for less with --memory",
        ),
        (
            "System Management Mode not supported",
            "this hypervisor has no SMM, which Secure Boot firmware needs: use --virt-type qemu",
        ),
        (
            "Failed to get \"write\" lock",
            "another process uses the disk image: stop it, or use a copy",
        ),
    ];
    HINTS
        .iter()
        .find(|(needle, _)| log.contains(needle))
        .map(|(_, hint)| *hint)
}

/// A QEMU process with its QMP connection.
pub struct Running {
    /// The process.
    pub child: Child,
    /// The supervisor's QMP connection.
    pub qmp: Qmp,
    /// The processes serving this QEMU (the TPM emulator, passt); kept
    /// until QEMU ends.
    pub helpers: Vec<Helper>,
}

/// A helper process serving one QEMU, such as swtpm or passt; it ends
/// with QEMU (`--terminate`, `--one-off`) and is reaped, or stopped, when
/// dropped, and its socket goes with it.
pub struct Helper {
    child: Child,
    socket: PathBuf,
}

impl Drop for Helper {
    fn drop(&mut self) {
        if wait_exit(&mut self.child, Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        crate::runtime::state::remove_file(&self.socket);
    }
}

/// Starts swtpm for the guest's TPM and waits for its socket.
pub fn start_swtpm(dirs: &GuestDirs) -> Result<Helper, LaunchError> {
    let program = which::which("swtpm").unwrap_or_else(|_| PathBuf::from("swtpm"));
    let state = dirs.tpm_state();
    let socket = dirs.tpm_socket();
    crate::runtime::state::create_private_dir(&state).map_err(|error| LaunchError::Tpm {
        reason: error.to_string(),
    })?;
    crate::runtime::state::remove_file(&socket);
    let log = format!("file={}", dirs.state.join("swtpm.log").display());
    let mut process = std::process::Command::new(&program);
    process
        .args(["socket", "--tpm2", "--terminate", "--log"])
        .arg(log)
        .arg("--tpmstate")
        .arg(format!("dir={}", state.display()))
        .arg("--ctrl")
        .arg(format!("type=unixio,path={}", socket.display()));
    start_helper(process, &program, &socket).map_err(|reason| match reason {
        HelperFailure::Spawn(error) => error,
        HelperFailure::NoSocket(reason) => LaunchError::Tpm { reason },
    })
}

/// Starts passt for NIC `index` and waits for its socket, which QEMU
/// connects to when it starts.
pub fn start_passt(
    dirs: &GuestDirs,
    index: usize,
    forwards: &[crate::spec::PortForward],
) -> Result<Helper, LaunchError> {
    let program = crate::host::find_passt().ok_or_else(|| LaunchError::Passt {
        reason: "passt is not installed: install the Debian package `passt`".into(),
    })?;
    let socket = crate::plan::passt::socket(dirs, index);
    let log = crate::plan::passt::log(dirs, index);
    crate::runtime::state::remove_file(&socket);
    // As root, passt would switch to `nobody`, who can reach neither the
    // guest's folders nor QEMU; it stays the user QEMU runs as instead.
    let runas = rustix::process::geteuid().is_root().then(|| {
        format!(
            "{}:{}",
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw()
        )
    });
    let mut process = std::process::Command::new(&program);
    process.args(crate::plan::passt::args(
        forwards,
        &socket,
        &log,
        runas.as_deref(),
    ));
    let log_start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    start_helper(process, &program, &socket).map_err(|reason| match reason {
        HelperFailure::Spawn(error) => error,
        // passt says why in its log, such as a host with no default route.
        HelperFailure::NoSocket(reason) => LaunchError::Passt {
            reason: format!("{reason}:\n{}", log_tail(&log, log_start)),
        },
    })
}

/// Why a helper did not start.
enum HelperFailure {
    Spawn(LaunchError),
    NoSocket(String),
}

/// Spawns a helper in a session of its own and waits for it to open
/// `socket`; a helper that exits or takes too long is stopped.
fn start_helper(
    mut process: std::process::Command,
    program: &Path,
    socket: &Path,
) -> Result<Helper, HelperFailure> {
    process
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    new_session(&mut process);
    let mut child = process.spawn().map_err(|source| {
        HelperFailure::Spawn(LaunchError::Spawn {
            program: program.to_path_buf(),
            source,
        })
    })?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !socket.exists() {
        if !matches!(child.try_wait(), Ok(None)) || std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let name = program.file_name().unwrap_or(program.as_os_str());
            return Err(HelperFailure::NoSocket(format!(
                "{} did not open `{}`",
                name.to_string_lossy(),
                socket.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Helper {
        child,
        socket: socket.to_path_buf(),
    })
}

/// Spawns QEMU for `command`, with each of `fds` open in it at the
/// number paired with it, and connects to its supervisor monitor.
pub fn spawn(
    command: &Command,
    dirs: &GuestDirs,
    fds: &[(OwnedFd, i32)],
) -> Result<Running, LaunchError> {
    for socket in dirs.sockets() {
        crate::runtime::state::remove_file(&socket);
    }
    let log_path = dirs.qemu_log();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|source| LaunchError::Log {
            path: log_path.clone(),
            source,
        })?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let stderr = log.try_clone().map_err(|source| LaunchError::Log {
        path: log_path.clone(),
        source,
    })?;

    let mut process = std::process::Command::new(&command.program);
    process
        .args(&command.args)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        // QEMU-linked libraries must not read the user's locale or config.
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr);
    new_session(&mut process);
    let inherited = inherit_fds(&mut process, fds).map_err(|source| LaunchError::Spawn {
        program: command.program.clone(),
        source,
    })?;
    let spawned = process.spawn();
    drop(inherited);
    let mut child = spawned.map_err(|source| LaunchError::Spawn {
        program: command.program.clone(),
        source,
    })?;

    let options = QmpOptions {
        log: Some(dirs.qmp_log()),
        ..QmpOptions::default()
    };
    let mut alive = || matches!(child.try_wait(), Ok(None));
    let qmp = match Qmp::connect(&dirs.supervisor_socket(), options, &mut alive) {
        Ok(qmp) => qmp,
        Err(source) => return Err(exited_or(child, &log_path, log_start, source)),
    };
    restrict_sockets(dirs);
    Ok(Running {
        child,
        qmp,
        helpers: Vec::new(),
    })
}

/// Puts the child in a session of its own.
#[expect(
    unsafe_code,
    reason = "pre_exec is the only way to call setsid in the child"
)]
pub(crate) fn new_session(process: &mut std::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only
    // calls setsid(2), which is async-signal-safe and touches no memory
    // shared with the parent.
    unsafe {
        process.pre_exec(|| {
            rustix::process::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
}

/// Where the first fd handed to a child goes; above what the supervisor
/// itself has open, so moving one there closes nothing it needs.
const HANDOVER_FROM: i32 = 300;

/// Makes each fd appear in the child at its paired number. The copies it
/// returns must live until the child is spawned.
#[expect(
    unsafe_code,
    reason = "pre_exec is the only way to place an fd at a given number in the child"
)]
fn inherit_fds(
    process: &mut std::process::Command,
    fds: &[(OwnedFd, i32)],
) -> std::io::Result<Vec<OwnedFd>> {
    if fds.is_empty() {
        return Ok(Vec::new());
    }
    // Copies above every target, so no dup2 below overwrites a source.
    let copies = fds
        .iter()
        .map(|(fd, _)| rustix::io::fcntl_dupfd_cloexec(fd, HANDOVER_FROM))
        .collect::<Result<Vec<_>, _>>()?;
    let pairs: Vec<(i32, i32)> = copies
        .iter()
        .zip(fds)
        .map(|(copy, (_, target))| (copy.as_raw_fd(), *target))
        .collect();
    // SAFETY: the closure runs in the forked child before exec and only
    // calls dup2(2), which is async-signal-safe. The sources are the copies
    // above, open until spawn returns; each target is taken as an OwnedFd
    // only for dup2 to replace it, and forgotten, so nothing closes it.
    unsafe {
        process.pre_exec(move || {
            for (source, target) in &pairs {
                let source = std::os::fd::BorrowedFd::borrow_raw(*source);
                let mut target: OwnedFd = std::os::fd::FromRawFd::from_raw_fd(*target);
                let result = rustix::io::dup2(source, &mut target);
                std::mem::forget(target);
                result?;
            }
            Ok(())
        });
    }
    Ok(copies)
}

/// Sockets are for the guest's owner only.
fn restrict_sockets(dirs: &GuestDirs) {
    use std::os::unix::fs::PermissionsExt as _;
    for socket in dirs.sockets() {
        let _ = std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600));
    }
}

/// How long a QEMU whose monitor failed gets to finish exiting.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// When the connection failed because QEMU exited, that is the error; the
/// QMP failure only while QEMU still runs (then it is stopped).
fn exited_or(mut child: Child, log: &Path, log_start: u64, source: QmpError) -> LaunchError {
    // A QEMU that is exiting closes its monitor a moment before it can be
    // reaped; give it that moment, so its own error is the one reported.
    let status = match wait_exit(&mut child, EXIT_GRACE) {
        Some(status) => Some(status),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    match status {
        Some(status) => LaunchError::Exited {
            status: status.to_string(),
            tail: log_tail(log, log_start),
        },
        None => LaunchError::Qmp { source },
    }
}

/// The last lines QEMU wrote to its log since `start`.
pub fn log_tail(path: &Path, start: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.seek(SeekFrom::Start(start));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let skip = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[skip..].join("\n")
}

/// Waits for a child to exit, up to `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The same command with `-cpu host` made safe for hypervisors that
/// refuse the ARCH_CAPABILITIES MSR.
pub fn without_arch_capabilities(command: &Command) -> Option<Command> {
    let at = command.args.iter().position(|a| a == "-cpu")? + 1;
    let cpu = command.args.get(at)?;
    if !(cpu == "host" || cpu.starts_with("host,")) || cpu.contains("arch-capabilities") {
        return None;
    }
    let mut fixed = command.clone();
    fixed.args[at] = format!("{cpu},arch-capabilities=off");
    Some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_for_known_failures() {
        let cases = [
            (
                "qemu: Could not access KVM kernel module: Permission denied",
                "kvm",
            ),
            ("error: failed to set MSR 0x10a to 0x69", "MSR"),
            (
                "Backing file specified without backing format",
                "backing_format",
            ),
            (
                "cannot set up guest memory 'pc.ram': Cannot allocate memory",
                "--memory",
            ),
        ];
        for (log, want) in cases {
            let hint = hint_for_log(log).expect(log);
            assert!(hint.contains(want), "{log}: {hint}");
        }
        assert_eq!(hint_for_log("all fine"), None);
    }

    #[test]
    fn msr_retry_changes_only_the_cpu() {
        let command = Command {
            program: "qemu".into(),
            args: vec!["-cpu".into(), "host".into(), "-m".into(), "1".into()],
            env: Vec::new(),
        };
        let fixed = without_arch_capabilities(&command).expect("host cpu");
        assert_eq!(
            fixed.args,
            ["-cpu", "host,arch-capabilities=off", "-m", "1"]
        );
        assert!(without_arch_capabilities(&fixed).is_none());
    }
}
