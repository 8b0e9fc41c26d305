//! What a guest is doing right now, from its processes and its QMP
//! monitor, never from files alone.
//!
//! A pid file may be stale and its pid reused by another process, so a pid
//! counts only when `/proc/PID/cmdline` shows our QEMU with this guest's
//! UUID; only then may anyone signal it. Files left by a QEMU that died
//! are cleaned up here.

use std::path::Path;
use std::time::{Duration, Instant};

use super::state::{self, Definition};
use super::supervise::Status;
use crate::paths::GuestDirs;
use crate::qmp::{Qmp, QmpError, QmpOptions};

/// A guest's state, as virsh names them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuestState {
    /// The vCPUs run.
    Running,
    /// The vCPUs are stopped (`suspend`).
    Paused,
    /// No QEMU.
    ShutOff,
    /// QEMU died without the guest powering off, or the guest panicked.
    Crashed,
    /// Another state, as virsh names it (`pmsuspended`, `in shutdown`).
    #[serde(untagged)]
    Other(String),
}

impl std::fmt::Display for GuestState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            GuestState::Running => "running",
            GuestState::Paused => "paused",
            GuestState::ShutOff => "shut off",
            GuestState::Crashed => "crashed",
            GuestState::Other(state) => state,
        };
        f.write_str(text)
    }
}

/// A running guest's processes.
#[derive(Debug, Clone)]
pub struct Live {
    /// QEMU's pid, checked to be this guest's QEMU.
    pub qemu: i32,
    /// The supervisor's pid, if it still runs.
    pub supervisor: Option<i32>,
    /// What the supervisor reported.
    pub status: Status,
}

/// True when `pid` is a QEMU started for the guest with `uuid`.
pub fn is_our_qemu(pid: i32, uuid: &str) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_qemu = words
        .first()
        .is_some_and(|program| String::from_utf8_lossy(program).contains("qemu-system"));
    let has_uuid = words
        .windows(2)
        .any(|pair| pair[0] == b"-uuid" && pair[1] == uuid.as_bytes());
    is_qemu && has_uuid && !is_zombie(pid)
}

fn is_zombie(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    stat.rsplit(')')
        .next()
        .unwrap_or("")
        .trim_start()
        .starts_with('Z')
}

/// The guest's live processes, or `None` when it is off. Stale runtime
/// files of a QEMU that is gone are removed.
pub fn inspect(dirs: &GuestDirs, definition: &Definition) -> Option<Live> {
    let status: Option<Status> = std::fs::read(dirs.status_file())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let Some(status) = status else {
        clean_stale(dirs);
        return None;
    };
    let qemu = i32::try_from(status.qemu).ok()?;
    if !is_our_qemu(qemu, &definition.guest.uuid) {
        if !state::is_locked(dirs) {
            clean_stale(dirs);
        }
        return None;
    }
    let supervisor = i32::try_from(status.supervisor)
        .ok()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(*pid));
    Some(Live {
        qemu,
        supervisor,
        status,
    })
}

/// Removes the runtime files a dead QEMU left; the lock stays.
fn clean_stale(dirs: &GuestDirs) {
    if state::is_locked(dirs) {
        return;
    }
    for file in dirs.run_files() {
        state::remove_file(&file);
    }
}

/// How the last run of the guest ended, as the supervisor wrote it.
pub fn last_ending(dirs: &GuestDirs) -> Option<String> {
    std::fs::read_to_string(dirs.last_ending())
        .ok()
        .map(|text| text.trim().to_string())
}

/// The state of a guest: from QMP when it runs, else from how it ended.
pub fn state_of(dirs: &GuestDirs, live: Option<&Live>) -> GuestState {
    let Some(_) = live else {
        return match last_ending(dirs).as_deref() {
            Some("crashed") => GuestState::Crashed,
            _ => GuestState::ShutOff,
        };
    };
    match connect(dirs).and_then(|qmp| qmp.query_status()) {
        Ok(status) => match status.status.as_str() {
            "running" => GuestState::Running,
            "internal-error" | "guest-panicked" => GuestState::Crashed,
            "suspended" => GuestState::Other("pmsuspended".into()),
            "shutdown" => GuestState::Other("in shutdown".into()),
            // prelaunch (after a reset while paused), io-error, watchdog,
            // debug and the migration states: the vCPUs stand still.
            _ => GuestState::Paused,
        },
        // The monitor is busy with another client; the process runs.
        Err(_) => GuestState::Running,
    }
}

/// The client QMP monitor of a running guest.
pub fn connect(dirs: &GuestDirs) -> Result<Qmp, QmpError> {
    let options = QmpOptions {
        log: Some(dirs.qmp_log()),
        connect_timeout: Duration::from_secs(5),
        ..QmpOptions::default()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let socket = dirs.qmp_socket();
    Qmp::connect(&socket, options, &mut || Instant::now() < deadline)
}

/// Waits until `pid` is gone, up to `timeout`.
pub fn wait_gone(pid: i32, uuid: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_our_qemu(pid, uuid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Sends `signal` to the guest's QEMU, after checking it is ours.
pub fn signal(pid: i32, uuid: &str, signal: rustix::process::Signal) -> bool {
    if !is_our_qemu(pid, uuid) {
        return false;
    }
    match rustix::process::Pid::from_raw(pid) {
        Some(pid) => rustix::process::kill_process(pid, signal).is_ok(),
        None => false,
    }
}
