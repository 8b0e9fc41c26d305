//! `qvirt list [--all] [--json]`.

use serde::Serialize;

use super::{CommandError, Context};
use crate::runtime::live::{self, GuestState};
use crate::runtime::state::Definition;

/// One row of `qvirt list`; its JSON form is stable for scripts.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    state: GuestState,
    pid: Option<i32>,
    memory_mib: u64,
    vcpus: u32,
    display: Option<String>,
    console: Option<String>,
}

/// Lists the defined guests, running ones only unless `all`.
pub fn run(context: &Context, all: bool, json: bool) -> Result<(), CommandError> {
    let mut rows = Vec::new();
    for name in crate::runtime::state::defined_names(&context.roots) {
        let dirs = context.roots.guest(&name);
        let definition = match Definition::load(&dirs, &name) {
            Ok(definition) => definition,
            Err(error) => {
                // Not hidden: `qvirt undefine NAME` can still clear it.
                match std::error::Error::source(&error) {
                    Some(cause) => eprintln!("warning: {error}: {cause}"),
                    None => eprintln!("warning: {error}"),
                }
                continue;
            }
        };
        let live = live::inspect(&dirs, &definition);
        let state = live::state_of(&dirs, live.as_ref());
        if !all && live.is_none() {
            continue;
        }
        rows.push(Row {
            name,
            state,
            pid: live.as_ref().map(|l| l.qemu),
            memory_mib: definition.guest.memory.size_mib(),
            vcpus: definition.guest.vcpus.current(),
            display: live.as_ref().and_then(|l| l.status.display.clone()),
            console: live
                .as_ref()
                .map(|_| dirs.console_socket().display().to_string()),
        });
    }
    if json {
        return super::emit(&serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into()));
    }
    super::emit(&table(&rows, context.quiet))
}

/// virsh's table; `--quiet` leaves out the header, as `virsh list -q`.
fn table(rows: &[Row], quiet: bool) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let mut out = Vec::new();
    if !quiet {
        out.push(format!(
            " {:<width$}  {:<9} {:>8}  {:>7}  {:>5}  Display",
            "Name", "State", "PID", "MiB", "vCPUs"
        ));
        out.push("-".repeat(width + 48));
    }
    for row in rows {
        let pid = row.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
        let display = row.display.as_deref().unwrap_or("-");
        out.push(format!(
            " {:<width$}  {:<9} {:>8}  {:>7}  {:>5}  {display}",
            row.name,
            row.state.to_string(),
            pid,
            row.memory_mib,
            row.vcpus
        ));
    }
    out.join("\n")
}
