//! `qvirt undefine NAME [--remove-all-storage]`.

use super::{CommandError, Context};
use crate::runtime::{live, state};

/// Forgets a guest that is off; removes its disks only when asked, and
/// only those its definition lists.
pub fn run(context: &Context, name: &str, remove_storage: bool) -> Result<(), CommandError> {
    let (dirs, definition) = match context.guest(name) {
        Err(CommandError::State(state::StateError::Corrupt { .. })) if !remove_storage => {
            // A definition that cannot be read can still be forgotten;
            // which disks it lists is unknown, so storage stays.
            let dirs = context.roots.guest(name);
            if state::is_locked(&dirs) {
                return Err(CommandError::Running(name.to_string()));
            }
            state::remove_dir(&dirs.state)?;
            state::remove_dir(&dirs.runtime)?;
            context.say(&format!("Domain '{name}' has been undefined"));
            return Ok(());
        }
        other => other?,
    };
    if live::inspect(&dirs, &definition).is_some() || state::is_locked(&dirs) {
        return Err(CommandError::Running(name.to_string()));
    }
    if remove_storage {
        for image in &definition.storage {
            match std::fs::remove_file(image) {
                Ok(()) => context.say(&format!("Volume '{}' removed.", image.display())),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(state::StateError::Io {
                        action: "remove",
                        path: image.clone(),
                        source,
                    }
                    .into());
                }
            }
        }
    }
    state::remove_dir(&dirs.state)?;
    state::remove_dir(&dirs.runtime)?;
    context.say(&format!("Domain '{name}' has been undefined"));
    Ok(())
}
