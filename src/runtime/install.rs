//! virt-install's install flow, without libvirt: define the guest, start
//! it, follow it through its install phase and its restart.
//!
//! qvirt-install makes the disks and the saved definition, then hands the
//! guest to a detached supervisor ([`super::supervise`]) and follows its
//! reports: on the serial console (`--autoconsole text`), waiting
//! (`--wait`, beside the console if there is one), or not at all
//! (`--noautoconsole`). Whatever it does, the supervisor restarts the
//! guest after its install phase, so the guest is never left
//! half-installed because qvirt-install went away; only
//! `--destroy-on-exit` takes the guest down when qvirt-install exits.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::console::{self, AttachOptions, Detached};
use super::state::{self, Definition, StateError};
use super::supervise::{Ending, Phase, Report, SpawnError, Supervisor, SupervisorGone};
use crate::disk::{self, DiskError, Feedback};
use crate::paths::GuestDirs;
use crate::plan::Plan;
use crate::spec::{AutoConsole, DiskDevice, GraphicsKind, GuestSpec};

/// How long QEMU may take from spawn to running guest.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the guest could not be made or followed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The name is taken.
    #[error("Guest name '{name}' is already in use.")]
    NameInUse {
        /// The name.
        name: String,
    },
    /// A disk image could not be made.
    #[error(transparent)]
    Disk(#[from] DiskError),
    /// The install kernel, initrd or seed could not be made.
    #[error(transparent)]
    Prepare(#[from] super::prepare::PrepareError),
    /// The guest's state could not be saved.
    #[error(transparent)]
    State(#[from] StateError),
    /// The supervisor could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// QEMU did not start the guest.
    #[error("{error}")]
    Start {
        /// What went wrong, with QEMU's log.
        error: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// The install phase ended badly.
    #[error("{error}\nDomain installation does not appear to have been successful.")]
    Install {
        /// What went wrong.
        error: String,
    },
    /// `--wait N` ran out.
    #[error("Installation has exceeded specified time limit. Exiting application.")]
    Timeout,
    /// The console failed.
    #[error(transparent)]
    Console(#[from] console::ConsoleError),
    /// A signal stopped qvirt-install while it followed the guest.
    #[error("Domain install interrupted.")]
    Interrupted {
        /// SIGINT (Ctrl+C), which virt-install treats as success.
        by_user: bool,
    },
}

impl RunError {
    /// The hint to print after the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            RunError::Start { hint, .. } => hint.clone(),
            _ => None,
        }
    }
}

/// Progress messages on stderr, unless `--quiet`.
#[derive(Debug, Clone, Copy)]
struct Say {
    quiet: bool,
}

impl Say {
    fn line(self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }
}

/// Takes away what a failed run made, unless it succeeded.
struct Undo {
    dirs: GuestDirs,
    armed: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if self.armed {
            let _ = state::remove_dir(&self.dirs.state);
            let _ = state::remove_dir(&self.dirs.runtime);
        }
    }
}

/// Makes the guest and follows it as the options ask.
pub fn create_and_run(
    plan: &Plan,
    spec: &GuestSpec,
    qemu_img: &std::path::Path,
) -> Result<(), RunError> {
    let say = Say {
        quiet: spec.run.quiet,
    };
    let guest = &plan.guest;
    let name = guest.name.as_str();
    let dirs = guest.dirs();
    let uri = guest.connection.uri();
    let interrupted = Arc::new(AtomicBool::new(false));
    let by_user = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&by_user));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&interrupted));

    say.line("Starting install...");
    let fresh = !dirs.runtime.exists() && !dirs.state.exists();
    let lock = state::lock(&dirs, name).map_err(|error| match error {
        StateError::Busy { .. } => RunError::NameInUse { name: name.into() },
        other => other.into(),
    })?;
    if dirs.definition().exists() {
        return Err(RunError::NameInUse { name: name.into() });
    }
    let mut undo = Undo {
        dirs: dirs.clone(),
        armed: fresh,
    };
    if let Some(password) = super::prepare::prepare(guest, spec.run.debug)? {
        // Shown once, as virt-install does; it is in the seed and nowhere else.
        println!("Password for first root login is: {password}");
    }
    let feedback = Feedback {
        quiet: spec.run.quiet,
        debug: spec.run.debug,
    };
    let images = disk::create_all(qemu_img, &plan.images, feedback)?;
    if interrupted.load(Ordering::Relaxed) {
        return Err(RunError::Interrupted {
            by_user: by_user.load(Ordering::Relaxed),
        });
    }
    let definition = definition(plan, spec, images.paths().to_vec());
    definition.save(&dirs)?;
    copy_uefi_vars(plan)?;

    let two_phase = definition.install.is_some();
    if !two_phase && spec.run.noreboot {
        // virt-install defines an import without starting it.
        images.keep();
        undo.armed = false;
        say.line("Domain creation completed.");
        say.line(&format!(
            "You can restart your domain by running:\n  qvirt --connect {uri} start {name}"
        ));
        return Ok(());
    }

    say.line("Creating domain...");
    drop(lock);
    let supervisor = Supervisor::spawn(uri, name, &dirs)?;
    let started = wait_started(&supervisor, say)?;
    images.keep();
    undo.armed = false;
    if let Some(display) = &started {
        say.line(&format!("Display: {display}"));
    }

    let follow = Follow {
        spec,
        display: started.as_deref(),
        dirs: &dirs,
        name,
        uri,
        say,
        two_phase,
        interrupted: &interrupted,
        by_user: &by_user,
        completed: std::cell::Cell::new(false),
    };
    follow.run(supervisor)
}

/// Gives a UEFI guest its own variable store, copied from the firmware's
/// template once; a store that exists (`--boot nvram=`) is the user's.
fn copy_uefi_vars(plan: &Plan) -> Result<(), RunError> {
    let Some(uefi) = &plan.guest.uefi else {
        return Ok(());
    };
    if uefi.vars.exists() {
        return Ok(());
    }
    let template = &uefi.firmware.vars_template;
    std::fs::copy(template, &uefi.vars).map_err(|source| StateError::Io {
        action: "copy the UEFI variables to",
        path: uefi.vars.clone(),
        source,
    })?;
    Ok(())
}

fn definition(plan: &Plan, spec: &GuestSpec, created: Vec<PathBuf>) -> Definition {
    let storage = plan
        .guest
        .disks
        .iter()
        .filter(|d| d.device == DiskDevice::Disk && !d.install_media)
        .filter_map(|d| d.source.clone())
        .collect();
    Definition {
        guest: plan.guest.clone(),
        install: plan.install_command(),
        run: plan.final_command(),
        transient: spec.run.transient,
        noreboot: spec.run.noreboot,
        destroy_on_exit: spec.run.destroy_on_exit,
        storage,
        created,
    }
}

/// Waits for the first phase to run; returns its display address.
fn wait_started(supervisor: &Supervisor, say: Say) -> Result<Option<String>, RunError> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        match supervisor.next(Duration::from_millis(200)) {
            Ok(Some(Report::Started { display, .. })) => return Ok(display),
            Ok(Some(Report::Note { message })) => say.line(&format!("warning: {message}")),
            Ok(Some(Report::Failed { error, hint, .. })) => {
                return Err(RunError::Start { error, hint });
            }
            Ok(Some(_)) | Ok(None) => {}
            Err(SupervisorGone) => break,
        }
    }
    Err(RunError::Start {
        error: "the guest's supervisor ended before QEMU started".into(),
        hint: Some("see the supervisor.log and qemu.log in the guest's state folder".into()),
    })
}

/// The part after the guest started: console, waiting, restart.
struct Follow<'a> {
    spec: &'a GuestSpec,
    display: Option<&'a str>,
    dirs: &'a GuestDirs,
    name: &'a str,
    uri: &'a str,
    say: Say,
    two_phase: bool,
    interrupted: &'a AtomicBool,
    by_user: &'a AtomicBool,
    /// "Domain creation completed." was said; once is enough.
    completed: std::cell::Cell<bool>,
}

/// What qvirt-install does while the guest runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The serial console, across the restart; until `--wait`'s deadline
    /// during the install.
    Text(Option<Instant>),
    /// Wait for the install to end, up to a deadline.
    Wait(Option<Instant>),
    /// Return at once.
    Detach,
}

impl Follow<'_> {
    fn run(&self, supervisor: Supervisor) -> Result<(), RunError> {
        let result = match self.mode() {
            Mode::Detach => {
                self.leave();
                Ok(())
            }
            Mode::Wait(deadline) => self.wait(&supervisor, deadline),
            Mode::Text(deadline) => self.console(&supervisor, deadline),
        };
        if self.spec.run.destroy_on_exit {
            // virt-install's at-exit destroy: however qvirt-install ends,
            // by the console, the wait, its time limit or Ctrl+C, the
            // guest ends with it.
            supervisor.stop();
        } else {
            supervisor.detach();
        }
        result
    }

    /// virt-install's choice of console, and `--wait`: it still starts
    /// the console, but follows the install rather than the console.
    fn mode(&self) -> Mode {
        let run = &self.spec.run;
        // Bare or negative `--wait`: no deadline (`--wait 0` is
        // `--noautoconsole` by now).
        let deadline = run
            .wait
            .and_then(|minutes| u64::try_from(minutes).ok())
            .map(|minutes| Instant::now() + Duration::from_secs(minutes * 60));
        let graphics = self.spec.graphics.kind;
        match run.autoconsole {
            AutoConsole::None if run.wait.is_some() => Mode::Wait(deadline),
            AutoConsole::None => Mode::Detach,
            AutoConsole::Text => Mode::Text(deadline),
            AutoConsole::Default if graphics == GraphicsKind::None => Mode::Text(deadline),
            // virt-install's default for a cloud image: its first boot
            // speaks on the serial console.
            AutoConsole::Default if self.spec.cloud_init.is_some() => Mode::Text(deadline),
            AutoConsole::Default | AutoConsole::Graphical => {
                self.graphical_console();
                Mode::Wait(deadline)
            }
        }
    }

    /// Starts `remote-viewer` on the display when there is a desktop to
    /// show it on, else says where to connect one. `virt-viewer` finds
    /// guests through libvirt, which qvirt does not have, so it cannot.
    fn graphical_console(&self) {
        let Some(display) = self.display else {
            if self.spec.run.wait.is_none() {
                self.say
                    .line("warning: No console to launch for the guest, defaulting to --wait -1");
            }
            return;
        };
        let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
        let viewer = which::which("remote-viewer").ok().filter(|_| desktop);
        let started = viewer.map(|viewer| {
            let mut command = std::process::Command::new(&viewer);
            command
                .arg(display)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            if self.spec.run.debug {
                let words = [viewer.to_string_lossy().into_owned(), display.to_string()];
                let line: Vec<String> = words
                    .iter()
                    .map(|w| shell_words::quote(w).into_owned())
                    .collect();
                eprintln!("debug: {}", line.join(" "));
            }
            command.spawn()
        });
        match started {
            Some(Ok(child)) => {
                // The viewer is the user's: it may outlive qvirt-install.
                std::thread::spawn(move || {
                    let mut child = child;
                    let _ = child.wait();
                });
            }
            Some(Err(error)) => self.say.line(&format!(
                "warning: cannot start `remote-viewer`: {error}; connect a viewer to {display}"
            )),
            None if !desktop => self.say.line(&format!(
                "warning: no graphical desktop (DISPLAY is not set): connect a viewer to {display}"
            )),
            None => self.say.line(&format!(
                "warning: Unable to connect to graphical console: remote-viewer not installed. \
                 Please install the 'virt-viewer' package, or connect a viewer to {display}"
            )),
        }
    }

    /// virt-install's closing line, said once however the run ends.
    fn say_completed(&self) {
        if !self.completed.replace(true) {
            self.say.line("Domain creation completed.");
        }
    }

    /// Says what becomes of the guest qvirt-install leaves running.
    fn leave(&self) {
        if self.spec.run.destroy_on_exit {
            self.say_completed();
        } else if self.two_phase {
            self.say
                .line("Domain is still running. Installation may be in progress.");
            self.say.line(&format!(
                "You can reconnect to the console to complete the installation process:\n  \
                 qvirt --connect {} console {}",
                self.uri, self.name
            ));
        } else {
            self.say_completed();
        }
    }

    fn interrupted(&self) -> Option<RunError> {
        if !self.interrupted.load(Ordering::Relaxed) {
            return None;
        }
        if !self.spec.run.destroy_on_exit {
            self.say.line(&format!(
                "The guest keeps running. Reach it with:\n  qvirt --connect {} console {}",
                self.uri, self.name
            ));
        }
        Some(RunError::Interrupted {
            by_user: self.by_user.load(Ordering::Relaxed),
        })
    }

    /// Follows the reports until the install ended and the guest was
    /// started again (or is off for good).
    fn wait(&self, supervisor: &Supervisor, deadline: Option<Instant>) -> Result<(), RunError> {
        self.say_waiting(deadline);
        self.until_restarted(supervisor, deadline)?;
        Ok(())
    }

    fn say_waiting(&self, deadline: Option<Instant>) {
        if self.two_phase {
            self.say
                .line("Domain is still running. Installation may be in progress.");
        }
        match deadline {
            Some(_) => {
                let minutes = self.spec.run.wait.unwrap_or_default();
                let unit = if minutes == 1 { "minute" } else { "minutes" };
                self.say.line(&format!(
                    "Waiting {minutes} {unit} for the installation to complete."
                ));
            }
            None => self.say.line("Waiting for the installation to complete."),
        }
    }

    /// Follows the reports until the guest runs again after its install
    /// (`true`), or until the install is over without that (`false`).
    fn until_restarted(
        &self,
        supervisor: &Supervisor,
        deadline: Option<Instant>,
    ) -> Result<bool, RunError> {
        loop {
            if let Some(error) = self.interrupted() {
                return Err(error);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RunError::Timeout);
            }
            let report = match supervisor.next(Duration::from_millis(250)) {
                Ok(Some(Report::Started { .. })) => return Ok(true),
                Ok(Some(report)) => report,
                Ok(None) => continue,
                Err(SupervisorGone) => {
                    self.say_completed();
                    return Ok(false);
                }
            };
            if self.on_report(&report)? == Next::Done {
                return Ok(false);
            }
        }
    }

    /// The console, attached again after the install phase's restart.
    /// With `--wait`, as in virt-install, qvirt-install follows the
    /// install rather than the console: the deadline ends the console too,
    /// and leaving the console goes on waiting.
    fn console(
        &self,
        supervisor: &Supervisor,
        mut deadline: Option<Instant>,
    ) -> Result<(), RunError> {
        let mut waiting = self.spec.run.wait.is_some();
        if waiting {
            self.say_waiting(deadline);
        }
        loop {
            let options = AttachOptions {
                banner: !self.spec.run.quiet,
                replay: false,
                wait: Duration::from_secs(10),
                stop: Some(self.interrupted),
                deadline,
                pipe_input: false,
            };
            let detached = console::attach(self.dirs, self.name, options);
            match detached {
                Ok(Detached::User) if waiting => {}
                Ok(Detached::User) => {
                    self.leave();
                    return Ok(());
                }
                Ok(Detached::Interrupted) => {
                    return Err(self
                        .interrupted()
                        .unwrap_or(RunError::Interrupted { by_user: true }));
                }
                Ok(Detached::TimedOut) => return Err(RunError::Timeout),
                Ok(Detached::Closed) | Err(console::ConsoleError::Connect { .. }) => {}
                Err(other) => return Err(other.into()),
            }
            // QEMU stopped, or the user left while waiting: find out what
            // comes next.
            if !self.until_restarted(supervisor, deadline)? {
                return Ok(());
            }
            // `--wait` was for the install. As virt-install, stay on the
            // restarted guest's console until the user leaves it.
            waiting = false;
            deadline = None;
        }
    }

    /// What a report means for qvirt-install, in virt-install's words.
    fn on_report(&self, report: &Report) -> Result<Next, RunError> {
        match report {
            Report::Ended {
                phase: Phase::Install,
                ending,
            } => match ending {
                Ending::Rebooted | Ending::PoweredOff => {
                    self.say.line("Domain has shutdown. Continuing.");
                    self.say_completed();
                    if self.spec.run.transient {
                        return Ok(Next::Done);
                    }
                    if self.spec.run.noreboot {
                        self.say.line(&format!(
                            "You can restart your domain by running:\n  qvirt --connect {} \
                             start {}",
                            self.uri, self.name
                        ));
                        return Ok(Next::Done);
                    }
                    self.say.line("Restarting guest.");
                }
                Ending::Destroyed => self.say.line("User stopped the VM. Not rebooting."),
                Ending::Crashed => {}
            },
            Report::Failed { error, .. } => {
                return Err(RunError::Install {
                    error: error.clone(),
                });
            }
            Report::Note { message } => self.say.line(&format!("warning: {message}")),
            Report::Started { .. } | Report::Ended { .. } | Report::Finished => {}
        }
        Ok(Next::Continue)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Continue,
    Done,
}
