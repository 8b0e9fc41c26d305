//! `qvirt console NAME`: the serial console, after the recent output.

use std::time::Duration;

use super::{CommandError, Context};
use crate::runtime::console::{self, AttachOptions, Detached};

/// Attaches to guest `name`'s serial console; `Ctrl+]` leaves it.
pub fn run(context: &Context, name: &str) -> Result<(), CommandError> {
    let (dirs, _, _) = context.running(name)?;
    let options = AttachOptions {
        banner: !context.quiet,
        replay: true,
        wait: Duration::from_secs(2),
        stop: None,
        deadline: None,
        pipe_input: true,
    };
    match console::attach(&dirs, name, options)? {
        Detached::Closed => context.say("\nThe guest's console closed: it stopped"),
        Detached::User | Detached::Interrupted | Detached::TimedOut => context.say(""),
    }
    Ok(())
}
