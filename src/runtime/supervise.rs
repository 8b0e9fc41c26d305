//! The supervisor: one small process per running guest, and QEMU's parent.
//!
//! It holds the guest's lock for as long as QEMU runs, starts QEMU for each
//! phase, watches it over its own QMP monitor (the other one stays free for
//! `qvirt` commands), and does what virt-install does when the guest
//! reboots at the end of its install: start it again in its final form,
//! install media gone, disk first. It tells the process that started it
//! what happens as JSON lines on its stdout ([`Report`]), and keeps
//! `status.json` and the pid file for everyone else. Because it does not
//! depend on qvirt-install staying around, `--noautoconsole` installs are
//! still restarted after their install phase.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use super::launch::{self, LaunchError, Running};
use super::state::{self, Definition, StateError};
use super::tap::{TapError, Taps};
use crate::paths::GuestDirs;
use crate::plan::{Command, GuestNicBackend, argv};
use crate::qmp::QmpError;
use crate::spec::GraphicsKind;

/// Which configuration of the guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The install media boot first; a guest reboot ends the phase.
    Install,
    /// The guest as defined.
    Final,
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// The guest rebooted (during the install: the install is done).
    Rebooted,
    /// The guest powered itself off.
    PoweredOff,
    /// Someone stopped it: `qvirt destroy`, `quit`, a signal.
    Destroyed,
    /// The guest panicked, or QEMU died without a word.
    Crashed,
}

/// One line of the supervisor's report to the process that started it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Report {
    /// QEMU runs the guest.
    Started {
        /// The phase.
        phase: Phase,
        /// QEMU's pid.
        pid: u32,
        /// The VNC or SPICE address, if there is a display.
        display: Option<String>,
    },
    /// Something worth telling, such as a retry.
    Note {
        /// The note.
        message: String,
    },
    /// QEMU could not start the guest.
    Failed {
        /// The phase.
        phase: Phase,
        /// The error, with its causes.
        error: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// A phase ended.
    Ended {
        /// The phase.
        phase: Phase,
        /// How.
        ending: Ending,
    },
    /// The supervisor is done; the guest is off.
    Finished,
}

/// What `status.json` says about a running guest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// The supervisor's pid.
    pub supervisor: u32,
    /// QEMU's pid.
    pub qemu: u32,
    /// The phase.
    pub phase: Phase,
    /// The display address.
    pub display: Option<String>,
}

/// Why the supervisor stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The guest's state.
    #[error(transparent)]
    State(#[from] StateError),
    /// QEMU did not start.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// QEMU stopped answering.
    #[error("lost control of the guest's QEMU")]
    Qmp(#[from] QmpError),
    /// A tap device for a bridge could not be made.
    #[error(transparent)]
    Tap(#[from] TapError),
    /// The install phase did not end with the guest rebooting or off.
    #[error("the install phase ended with QEMU gone: the guest crashed or was killed")]
    InstallCrashed,
}

/// Runs guest `name` from its saved definition until it is off.
pub fn supervise(dirs: &GuestDirs, name: &str, out: &mut dyn Write) -> Result<(), SuperviseError> {
    let lock = match state::lock(dirs, name) {
        Err(StateError::Busy { .. }) => {
            let error =
                format!("Requested operation is not valid: domain '{name}' is already active");
            report(
                out,
                &Report::Failed {
                    phase: Phase::Final,
                    error,
                    hint: None,
                },
            );
            return Ok(());
        }
        other => other?,
    };
    // Everything QEMU creates (console log, sockets) is the owner's only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&stop));
    }
    let mut definition = Definition::load(dirs, name)?;
    let result = run_phases(dirs, &mut definition, &stop, out);
    if let Err(error) = &result {
        let phase = if definition.install.is_some() {
            Phase::Install
        } else {
            Phase::Final
        };
        report(
            out,
            &Report::Failed {
                phase,
                error: chain(error),
                hint: hint(error),
            },
        );
    }
    finish(dirs, &definition);
    drop(lock);
    report(out, &Report::Finished);
    result
}

fn run_phases(
    dirs: &GuestDirs,
    definition: &mut Definition,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> Result<(), SuperviseError> {
    if let Some(install) = definition.install.clone() {
        let ending = run_phase(dirs, definition, Phase::Install, &install, stop, out)?;
        report(
            out,
            &Report::Ended {
                phase: Phase::Install,
                ending,
            },
        );
        match ending {
            Ending::Rebooted | Ending::PoweredOff => {
                definition.install = None;
                definition.created.clear();
                super::prepare::forget_install_kernel(&definition.guest);
                if !definition.transient {
                    definition.save(dirs)?;
                }
            }
            Ending::Destroyed => return Ok(()),
            Ending::Crashed => {
                forget_failed_install(dirs, definition);
                return Err(SuperviseError::InstallCrashed);
            }
        }
        if definition.noreboot || definition.transient || stop.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
    let run = definition.run.clone();
    let ending = run_phase(dirs, definition, Phase::Final, &run, stop, out)?;
    report(
        out,
        &Report::Ended {
            phase: Phase::Final,
            ending,
        },
    );
    Ok(())
}

/// An install that never finished leaves nothing: the images it created
/// and the definition go.
fn forget_failed_install(dirs: &GuestDirs, definition: &Definition) {
    for image in &definition.created {
        state::remove_file(image);
    }
    let _ = state::remove_dir(&dirs.state);
}

fn run_phase(
    dirs: &GuestDirs,
    definition: &mut Definition,
    phase: Phase,
    command: &Command,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> Result<Ending, SuperviseError> {
    let tpm = match definition.guest.tpm {
        true => Some(launch::start_swtpm(dirs)?),
        false => None,
    };
    // The taps live as long as this phase's QEMU.
    let (mut running, _taps) = launch_with_retry(dirs, definition, phase, command, out)?;
    running.helpers.extend(tpm);
    let pid = running.child.id();
    let started = start_guest(&running, definition, phase);
    let display = match started {
        Ok(display) => display,
        Err(error) => {
            let _ = running.child.kill();
            let _ = running.child.wait();
            return Err(error);
        }
    };
    let status = Status {
        supervisor: std::process::id(),
        qemu: pid,
        phase,
        display: display.clone(),
    };
    let _ = std::fs::write(dirs.pid_file(), format!("{pid}\n"));
    if let Ok(json) = serde_json::to_vec(&status) {
        let _ = state::write_atomic(&dirs.status_file(), &json);
    }
    report(
        out,
        &Report::Started {
            phase,
            pid,
            display,
        },
    );
    let ending = watch(&mut running, stop);
    if let Some(text) = serde_json::to_value(ending)
        .ok()
        .as_ref()
        .and_then(|v| v.as_str())
    {
        let _ = std::fs::write(dirs.last_ending(), format!("{text}\n"));
    }
    Ok(ending)
}

/// Starts QEMU; when `-cpu host` hits the ARCH_CAPABILITIES abort, says so
/// and tries once more without that MSR, and keeps the change.
fn launch_with_retry(
    dirs: &GuestDirs,
    definition: &mut Definition,
    phase: Phase,
    command: &Command,
    out: &mut dyn Write,
) -> Result<(Running, Taps), SuperviseError> {
    // Fresh taps and passts for each start: each goes when its QEMU exits.
    let taps = open_taps(definition)?;
    let passts = start_passts(dirs, definition)?;
    match launch::spawn(command, dirs, &taps.fds) {
        Err(error) if error.is_msr_abort() => {
            let Some(fixed) = launch::without_arch_capabilities(command) else {
                return Err(error.into());
            };
            let message = "QEMU refused -cpu host (failed to set MSR 0x10a): \
                           retrying with -cpu host,arch-capabilities=off"
                .to_string();
            report(out, &Report::Note { message });
            drop(taps);
            drop(passts);
            let taps = open_taps(definition)?;
            let passts = start_passts(dirs, definition)?;
            let mut running = launch::spawn(&fixed, dirs, &taps.fds)?;
            running.helpers.extend(passts);
            if let Some(run) = launch::without_arch_capabilities(&definition.run) {
                definition.run = run;
            }
            if phase == Phase::Install {
                definition.install = Some(fixed);
            }
            if !definition.transient {
                definition.save(dirs)?;
            }
            Ok((running, taps))
        }
        other => {
            let mut running = other?;
            running.helpers.extend(passts);
            Ok((running, taps))
        }
    }
}

/// One passt for each NIC that has one, each ready for QEMU to connect.
fn start_passts(
    dirs: &GuestDirs,
    definition: &Definition,
) -> Result<Vec<launch::Helper>, SuperviseError> {
    let mut passts = Vec::new();
    for (index, nic) in definition.guest.nics.iter().enumerate() {
        if nic.backend == GuestNicBackend::Passt {
            passts.push(launch::start_passt(dirs, index, &nic.forwards)?);
        }
    }
    Ok(passts)
}

/// Sets what the phase needs over QMP, then lets the CPUs run. Returns the
/// display address.
fn start_guest(
    running: &Running,
    definition: &Definition,
    phase: Phase,
) -> Result<Option<String>, SuperviseError> {
    let qmp = &running.qmp;
    if phase == Phase::Install {
        // As virt-install's on_reboot=destroy: the installer's reboot stops
        // QEMU, and the guest starts again in its final form.
        qmp.execute_raw("set-action", Some(json!({ "reboot": "shutdown" })))?;
    }
    let graphics = &definition.guest.graphics;
    if let Some(password) = &graphics.password {
        let protocol = match graphics.kind {
            GraphicsKind::Spice => "spice",
            _ => "vnc",
        };
        let arguments = json!({ "protocol": protocol, "password": password });
        qmp.execute_raw("set_password", Some(arguments))?;
    }
    // libvirt's <currentMemory>: the balloon takes the rest back before
    // the guest first runs.
    let guest = &definition.guest;
    if let Some(target) = guest.memory.balloon_target_mib().filter(|_| guest.balloon) {
        qmp.execute_raw("balloon", Some(json!({ "value": target << 20 })))?;
    }
    let display = display_address(qmp, graphics.kind);
    qmp.execute_raw("cont", None)?;
    Ok(display)
}

/// A tap for each bridged or direct NIC, with the number QEMU's argv
/// expects it at. They join their bridge before the guest runs, so its
/// first DHCP request already reaches the bridge.
fn open_taps(definition: &Definition) -> Result<Taps, TapError> {
    let mut taps = Taps::default();
    for (index, nic) in definition.guest.nics.iter().enumerate() {
        let fd = argv::tap_fd(index);
        match &nic.backend {
            GuestNicBackend::User | GuestNicBackend::Passt => {}
            GuestNicBackend::Tap { ifname, bridge } => taps.add_bridged(ifname, bridge, fd)?,
            GuestNicBackend::Macvtap {
                ifname,
                source,
                mode,
            } => taps.add_macvtap(ifname, source, mode, &nic.mac, fd)?,
        }
    }
    Ok(taps)
}

/// The address the display really listens on, read back from QEMU.
fn display_address(qmp: &crate::qmp::Qmp, kind: GraphicsKind) -> Option<String> {
    let (command, port_key) = match kind {
        GraphicsKind::None => return None,
        GraphicsKind::Vnc => ("query-vnc", "service"),
        GraphicsKind::Spice => ("query-spice", "port"),
    };
    let info = qmp.execute_raw(command, None).ok()?;
    let host = info.get("host")?.as_str()?.to_string();
    let port = match info.get(port_key)? {
        serde_json::Value::String(port) => port.clone(),
        other => other.to_string(),
    };
    let scheme = if kind == GraphicsKind::Spice {
        "spice"
    } else {
        "vnc"
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    Some(format!("{scheme}://{host}:{port}"))
}

/// Waits for QEMU to end and says how it ended.
fn watch(running: &mut Running, stop: &AtomicBool) -> Ending {
    let mut reason: Option<String> = None;
    let mut panicked = false;
    let mut quitting = false;
    loop {
        if stop.load(Ordering::Relaxed) && !quitting {
            quitting = true;
            let _ = running.qmp.quit();
        }
        match running.qmp.next_event(Duration::from_millis(500)) {
            Ok(Some(event)) if event.name == "SHUTDOWN" => {
                reason = event
                    .data
                    .get("reason")
                    .and_then(|r| r.as_str())
                    .map(str::to_string);
            }
            Ok(Some(event)) if event.name == "GUEST_PANICKED" => panicked = true,
            Ok(Some(_)) => {}
            Ok(None) => {
                if !matches!(running.child.try_wait(), Ok(None)) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    if launch::wait_exit(&mut running.child, Duration::from_secs(30)).is_none() {
        let _ = running.child.kill();
        let _ = running.child.wait();
    }
    if panicked {
        return Ending::Crashed;
    }
    match reason.as_deref() {
        Some("guest-reset") => Ending::Rebooted,
        Some("guest-shutdown") => Ending::PoweredOff,
        Some("guest-panic") => Ending::Crashed,
        Some(_) => Ending::Destroyed,
        None => Ending::Crashed,
    }
}

/// Runtime files go with the guest; a transient guest goes entirely.
fn finish(dirs: &GuestDirs, definition: &Definition) {
    for file in dirs.run_files() {
        state::remove_file(&file);
    }
    if definition.transient {
        // The lock file goes too, while it is still held: nothing of a
        // transient guest outlives it.
        let _ = state::remove_dir(&dirs.state);
        let _ = state::remove_dir(&dirs.runtime);
    }
}

fn report(out: &mut dyn Write, report: &Report) {
    if let Ok(line) = serde_json::to_string(report) {
        // The reader may be gone (--noautoconsole); that is fine.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// The error and its causes on one line each.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!("\ncaused by: {cause}"));
        source = cause.source();
    }
    text
}

fn hint(error: &SuperviseError) -> Option<String> {
    match error {
        SuperviseError::Launch(launch) => launch.hint().map(str::to_string),
        SuperviseError::Tap(tap) => tap.hint(),
        _ => None,
    }
}

/// Where the `qvirt` binary is: beside this one, else on `PATH`.
pub fn qvirt_binary() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("qvirt"))
        .filter(|path| path.exists());
    beside
        .or_else(|| which::which("qvirt").ok())
        .unwrap_or_else(|| PathBuf::from("qvirt"))
}

/// The supervisor closed its reports: it has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the guest's supervisor has finished")]
pub struct SupervisorGone;

/// A supervisor started for a guest, and its reports.
pub struct Supervisor {
    child: std::process::Child,
    reports: std::sync::mpsc::Receiver<Report>,
}

/// Why a supervisor could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the supervisor `{}`", .program.display())]
pub struct SpawnError {
    /// The program.
    pub program: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl Supervisor {
    /// Starts `qvirt __supervise NAME` in a session of its own, so it
    /// outlives this process and the terminal.
    pub fn spawn(uri: &str, name: &str, dirs: &GuestDirs) -> Result<Supervisor, SpawnError> {
        let program = qvirt_binary();
        let error = |source| SpawnError {
            program: program.clone(),
            source,
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(dirs.supervisor_log())
            .map_err(error)?;
        let mut command = std::process::Command::new(&program);
        command
            .args(["--connect", uri, "__supervise", name])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log);
        launch::new_session(&mut command);
        let mut child = command.spawn().map_err(error)?;
        let stdout = child.stdout.take();
        let (sender, reports) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                let Ok(line) = line else { break };
                if let Ok(report) = serde_json::from_str::<Report>(&line) {
                    if sender.send(report).is_err() {
                        break;
                    }
                }
            }
        });
        Ok(Supervisor { child, reports })
    }

    /// The next report, waiting up to `timeout`. `Err` once the supervisor
    /// closed its end and every report was read.
    pub fn next(&self, timeout: Duration) -> Result<Option<Report>, SupervisorGone> {
        match self.reports.recv_timeout(timeout) {
            Ok(report) => Ok(Some(report)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(SupervisorGone),
        }
    }

    /// Lets the supervisor go on alone.
    pub fn detach(mut self) {
        // Reap it in the background if it ends while we still run.
        std::thread::spawn(move || {
            let _ = self.child.wait();
        });
    }

    /// Waits for the supervisor to exit.
    pub fn wait(mut self) {
        let _ = self.child.wait();
    }

    /// Forces the guest off and waits for the supervisor to finish. On
    /// SIGTERM it quits QEMU and starts no further phase, so no QEMU is
    /// left without it, even one between the install and its restart.
    pub fn stop(mut self) {
        // Not reaped yet, so the pid is still this child's.
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}
