//! `qvirt __supervise NAME`: the hidden command qvirt-install and
//! `qvirt start` run detached, which starts and watches the guest.

use super::{CommandError, Context};

/// Supervises guest `name` until it is off; reports go to stdout.
pub fn run(context: &Context, name: &str) -> Result<(), CommandError> {
    let dirs = context.roots.guest(name);
    let mut stdout = std::io::stdout();
    crate::runtime::supervise::supervise(&dirs, name, &mut stdout)?;
    Ok(())
}
