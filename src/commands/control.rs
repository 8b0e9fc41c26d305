//! The small commands: `reboot`, `reset`, `suspend`, `resume`, `qmp`,
//! `dumpargs` and `domdisplay`.

use super::{CommandError, Context};
use crate::runtime::live;

/// A QMP command without arguments: `system_reset`, `stop`, `cont`.
pub fn simple(context: &Context, name: &str, command: &str) -> Result<(), CommandError> {
    let (dirs, _, _) = context.running(name)?;
    live::connect(&dirs)?.execute_raw(command, None)?;
    let done = match command {
        "system_reset" => "was reset",
        "stop" => "suspended",
        _ => "resumed",
    };
    context.say(&format!("Domain '{name}' {done}"));
    Ok(())
}

/// Asks the guest to reboot itself: Ctrl+Alt+Del on its keyboard, which
/// the guest handles as a reboot request. (QEMU has no ACPI reboot.)
pub fn reboot(context: &Context, name: &str) -> Result<(), CommandError> {
    let (dirs, _, _) = context.running(name)?;
    let keys = serde_json::json!({ "keys": [
        { "type": "qcode", "data": "ctrl" },
        { "type": "qcode", "data": "alt" },
        { "type": "qcode", "data": "delete" },
    ]});
    live::connect(&dirs)?.execute_raw("send-key", Some(keys))?;
    context.say(&format!("Domain '{name}' is being rebooted"));
    Ok(())
}

/// One raw QMP command; the reply as JSON on stdout.
pub fn qmp(
    context: &Context,
    name: &str,
    command: &str,
    arguments: Option<&str>,
) -> Result<(), CommandError> {
    let arguments = match arguments {
        None => None,
        Some(text) => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|error| CommandError::Arguments(error.to_string()))?;
            if !value.is_object() {
                return Err(CommandError::Arguments(format!(
                    "`{text}` is not an object"
                )));
            }
            Some(value)
        }
    };
    let (dirs, _, _) = context.running(name)?;
    let reply = live::connect(&dirs)?.execute_raw(command, arguments)?;
    super::emit(&serde_json::to_string_pretty(&reply).unwrap_or_default())
}

/// The guest's QEMU command line, shell-quoted.
pub fn dumpargs(context: &Context, name: &str) -> Result<(), CommandError> {
    let (_, definition) = context.guest(name)?;
    super::emit(&definition.run.to_shell())
}

/// The display address as `virsh domdisplay` prints it: `vnc://HOST:N`
/// with the display number, `spice://HOST:PORT`.
pub fn domdisplay(context: &Context, name: &str) -> Result<(), CommandError> {
    let (_, _, live) = context.running(name)?;
    let display = live
        .status
        .display
        .ok_or_else(|| CommandError::NoDisplay(name.to_string()))?;
    super::emit(&virsh_display(&display))
}

fn virsh_display(display: &str) -> String {
    let Some(rest) = display.strip_prefix("vnc://") else {
        return display.to_string();
    };
    match rest.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u32>() {
            Ok(port) if port >= 5900 => format!("vnc://{host}:{}", port - 5900),
            _ => display.to_string(),
        },
        None => display.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnc_addresses_use_display_numbers() {
        assert_eq!(virsh_display("vnc://127.0.0.1:5901"), "vnc://127.0.0.1:1");
        assert_eq!(
            virsh_display("spice://127.0.0.1:5900"),
            "spice://127.0.0.1:5900"
        );
    }
}
