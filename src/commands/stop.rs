//! `qvirt shutdown` and `qvirt destroy`: ending a guest, gently first.

use std::time::Duration;

use rustix::process::Signal;

use super::{CommandError, Context};
use crate::runtime::live::{self, Live};

/// How long `quit` and each signal get before the next step.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// ACPI power button; after `timeout` seconds `quit`, then SIGTERM, then
/// SIGKILL. Says which step ended the guest.
pub fn shutdown(context: &Context, name: &str, timeout: u64) -> Result<(), CommandError> {
    let (dirs, definition, live) = context.running(name)?;
    let uuid = definition.guest.uuid.as_str();
    let qmp = live::connect(&dirs)?;
    qmp.execute_raw("system_powerdown", None)?;
    drop(qmp);
    context.say(&format!("Domain '{name}' is being shutdown"));
    if live::wait_gone(live.qemu, uuid, Duration::from_secs(timeout)) {
        wait_supervisor(&dirs);
        context.say(&format!("Domain '{name}' shut down (ACPI power button)"));
        return Ok(());
    }
    let step = force(&dirs, &live, uuid)?;
    wait_supervisor(&dirs);
    context.say(&format!(
        "Domain '{name}' did not shut down within {timeout} s: forced off with {step}"
    ));
    Ok(())
}

/// Stops the guest at once.
pub fn destroy(context: &Context, name: &str) -> Result<(), CommandError> {
    let (dirs, definition, live) = context.running(name)?;
    let step = force(&dirs, &live, &definition.guest.uuid)?;
    wait_supervisor(&dirs);
    context.say(&format!("Domain '{name}' destroyed ({step})"));
    Ok(())
}

/// Waits for the supervisor to finish with the guest, so that the next
/// command finds it off and unlocked.
fn wait_supervisor(dirs: &crate::paths::GuestDirs) {
    let deadline = std::time::Instant::now() + STEP_TIMEOUT;
    while crate::runtime::state::is_locked(dirs) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// QMP `quit`, then SIGTERM, then SIGKILL, each only if the one before did
/// not end QEMU; returns the step that did.
fn force(
    dirs: &crate::paths::GuestDirs,
    live: &Live,
    uuid: &str,
) -> Result<&'static str, CommandError> {
    if let Ok(qmp) = live::connect(dirs) {
        let _ = qmp.quit();
        if live::wait_gone(live.qemu, uuid, STEP_TIMEOUT) {
            return Ok("QMP quit");
        }
    }
    for (signal, step) in [(Signal::TERM, "SIGTERM"), (Signal::KILL, "SIGKILL")] {
        if !live::signal(live.qemu, uuid, signal) || live::wait_gone(live.qemu, uuid, STEP_TIMEOUT)
        {
            return Ok(step);
        }
    }
    Err(CommandError::Unstoppable(dirs.state.display().to_string()))
}
