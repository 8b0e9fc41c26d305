//! The files the install phase needs, made in the guest's state folder
//! before QEMU first starts: the kernel and initrd fetched out of the
//! install media (with `--initrd-inject`'s files appended to the initrd),
//! and the cloud-init seed ISO.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::state::{self, StateError};
use crate::cloudinit::{self, CloudInitError};
use crate::media::{self, MediaError, cpio};
use crate::plan::Guest;

/// Why the install files could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The state folder.
    #[error(transparent)]
    State(#[from] StateError),
    /// The kernel or initrd could not be fetched.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// An `--initrd-inject` file could not be added.
    #[error("cannot add `{}` to the initrd", .path.display())]
    Inject {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The seed could not be made.
    #[error(transparent)]
    CloudInit(#[from] CloudInitError),
}

/// Makes every file the install phase needs. Returns a generated root
/// password, to be shown to the user once.
pub fn prepare(guest: &Guest, debug: bool) -> Result<Option<String>, PrepareError> {
    if guest.fetch.is_none() && guest.seed.is_none() {
        return Ok(None);
    }
    state::create_private_dir(&guest.state_dir)?;

    if let (Some(fetch), Some(boot)) = (&guest.fetch, &guest.install_kernel) {
        if let Some(folder) = boot.kernel.parent() {
            state::create_private_dir(folder)?;
        }
        let media = fetch.media.as_ref();
        media::copy_file(media, &fetch.kernel, &boot.kernel)?;
        if let Some(initrd) = &boot.initrd {
            media::copy_file(media, &fetch.initrd, initrd)?;
            if !fetch.inject.is_empty() {
                inject(initrd, &fetch.inject)?;
            }
        }
    }

    match &guest.seed {
        Some(seed) => Ok(cloudinit::build(seed, debug)?),
        None => Ok(None),
    }
}

/// Removes the fetched kernel and initrd once the install phase is over:
/// nothing boots them again, and an installer's initrd is large. The seed
/// stays for the guest's life, as other launchers keep theirs.
pub fn forget_install_kernel(guest: &Guest) {
    let Some(boot) = &guest.install_kernel else {
        return;
    };
    state::remove_file(&boot.kernel);
    if let Some(initrd) = &boot.initrd {
        state::remove_file(initrd);
    }
    if let Some(folder) = boot.kernel.parent() {
        let _ = std::fs::remove_dir(folder);
    }
}

/// Appends `files`, by their names, as one more cpio archive.
fn inject(initrd: &Path, files: &[PathBuf]) -> Result<(), PrepareError> {
    let mut contents = Vec::new();
    for path in files {
        let data = std::fs::read(path).map_err(|source| PrepareError::Inject {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        contents.push((name, data));
    }
    let members: Vec<cpio::Member> = contents
        .iter()
        .map(|(name, data)| cpio::Member { name, data })
        .collect();

    let error = |source| PrepareError::Inject {
        path: initrd.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(initrd)
        .map_err(error)?;
    let length = file.metadata().map_err(error)?.len();
    file.write_all(&[0u8; 4][..cpio::padding(length)])
        .map_err(error)?;
    cpio::write_archive(&mut file, &members).map_err(error)?;
    file.flush().map_err(error)
}
