//! `qvirt undefine NAME [--remove-all-storage]`.

use super::{CommandError, Context};
use crate::runtime::{live, state};

/// Forgets a guest that is off; removes its disks only when asked, and
/// only those its definition lists.
pub fn run(context: &Context, name: &str, remove_storage: bool) -> Result<(), CommandError> {
    let (dirs, definition) = context.guest(name)?;
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
