//! `qvirt start NAME [--console]`: run a defined guest again, under the
//! same supervision as qvirt-install.

use std::time::{Duration, Instant};

use super::{CommandError, Context};
use crate::runtime::console::{self, AttachOptions};
use crate::runtime::live;
use crate::runtime::supervise::{Report, Supervisor};

/// Starts guest `name` from its saved definition.
pub fn run(context: &Context, name: &str, attach: bool) -> Result<(), CommandError> {
    let (dirs, definition) = context.guest(name)?;
    if live::inspect(&dirs, &definition).is_some() {
        return Err(CommandError::Running(name.to_string()));
    }
    crate::runtime::state::create_private_dir(&dirs.runtime)?;
    let supervisor = Supervisor::spawn(context.connection.uri(), name, &dirs)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if Instant::now() >= deadline {
            return Err(CommandError::Start {
                error: format!("domain '{name}' did not start within 120 s"),
                hint: None,
            });
        }
        match supervisor.next(Duration::from_millis(200)) {
            Ok(Some(Report::Started { .. })) => break,
            Ok(Some(Report::Failed { error, hint, .. })) => {
                return Err(CommandError::Start { error, hint });
            }
            Ok(Some(Report::Note { message })) => context.say(&format!("warning: {message}")),
            Ok(_) => {}
            Err(_) => {
                return Err(CommandError::Start {
                    error: format!("the supervisor of domain '{name}' ended before it started"),
                    hint: Some(
                        "see supervisor.log and qemu.log in the guest's state folder".into(),
                    ),
                });
            }
        }
    }
    supervisor.detach();
    context.say(&format!("Domain '{name}' started"));
    if attach {
        let options = AttachOptions {
            banner: !context.quiet,
            replay: false,
            wait: Duration::from_secs(10),
            stop: None,
            deadline: None,
            pipe_input: false,
        };
        console::attach(&dirs, name, options)?;
    }
    Ok(())
}
