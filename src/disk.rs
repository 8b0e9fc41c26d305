//! `qemu-img`: creating the images a guest asks for, and nothing else.
//!
//! An image is only ever created where no file exists; an existing path is
//! the user's and is used as it is. [`CreatedImages`] remembers what one
//! run made, so a run that fails before the guest starts takes exactly
//! those files away again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::plan::NewImagePlan;

/// Why an image could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// Something is at the path already; qvirt never overwrites it.
    #[error("storage `{}` exists already; qvirt never overwrites an image", .path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// The folder for the image could not be made.
    #[error("cannot create the folder `{}`", .path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `qemu-img` could not be run.
    #[error("cannot run `{}`", .program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `qemu-img create` failed.
    #[error("`qemu-img create` failed for `{}` ({status}): {stderr}", .path.display())]
    Create {
        /// The image.
        path: PathBuf,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        stderr: String,
    },
}

/// How image creation talks to the user.
#[derive(Debug, Clone, Copy)]
pub struct Feedback {
    /// No output at all (`--quiet`).
    pub quiet: bool,
    /// Print each command before running it (`--debug`).
    pub debug: bool,
}

/// The images one run created, removed again unless [`CreatedImages::keep`]
/// is called.
#[derive(Debug, Default)]
pub struct CreatedImages {
    paths: Vec<PathBuf>,
    kept: bool,
}

impl CreatedImages {
    /// The images made so far.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The guest started: the images are its own now.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for CreatedImages {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Creates every planned image, in order. On failure the images made
/// before it are removed as the returned guard drops.
pub fn create_all(
    qemu_img: &Path,
    images: &[NewImagePlan],
    feedback: Feedback,
) -> Result<CreatedImages, DiskError> {
    let mut created = CreatedImages::default();
    for image in images {
        create(qemu_img, image, feedback)?;
        created.paths.push(image.path.clone());
    }
    Ok(created)
}

fn create(qemu_img: &Path, image: &NewImagePlan, feedback: Feedback) -> Result<(), DiskError> {
    // A path that appeared since planning is still the user's.
    if image.path.symlink_metadata().is_ok() {
        return Err(DiskError::Exists {
            path: image.path.clone(),
        });
    }
    if let Some(folder) = image.path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|source| DiskError::Folder {
            path: folder.to_path_buf(),
            source,
        })?;
    }

    let args = image.qemu_img_args();
    if feedback.debug {
        let words = std::iter::once(qemu_img.to_string_lossy().into_owned()).chain(args.clone());
        let line: Vec<String> = words.map(|w| shell_words::quote(&w).into_owned()).collect();
        eprintln!("debug: {}", line.join(" "));
    }
    let size_gib = image.size_bytes as f64 / (1u64 << 30) as f64;
    if !feedback.quiet {
        eprintln!(
            "Allocating '{}' ({size_gib:.1} GiB)",
            file_name(&image.path)
        );
    }
    let spinner = progress(image, feedback);

    let child = Command::new(qemu_img)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| DiskError::Spawn {
            program: qemu_img.to_path_buf(),
            source,
        })?;
    let output = child.wait_with_output().map_err(|source| DiskError::Spawn {
        program: qemu_img.to_path_buf(),
        source,
    });
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let output = output?;
    if output.status.success() {
        return Ok(());
    }
    // qemu-img may leave a partial file behind; it is ours to remove.
    let _ = std::fs::remove_file(&image.path);
    Err(DiskError::Create {
        path: image.path.clone(),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}

/// A spinner while space is allocated (`sparse=no`), on a terminal only.
fn progress(image: &NewImagePlan, feedback: Feedback) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal as _;
    if feedback.quiet || !image.preallocate || !std::io::stderr().is_terminal() {
        return None;
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!("allocating {}", file_name(&image.path)));
    spinner.enable_steady_tick(Duration::from_millis(120));
    Some(spinner)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(path: PathBuf) -> NewImagePlan {
        NewImagePlan {
            path,
            format: "qcow2".into(),
            size_bytes: 1 << 20,
            preallocate: false,
            backing: None,
        }
    }

    const QUIET: Feedback = Feedback {
        quiet: true,
        debug: false,
    };

    #[test]
    fn existing_files_are_never_touched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mine.qcow2");
        std::fs::write(&path, b"user data").expect("write");
        let error =
            create_all(Path::new("qemu-img"), &[image(path.clone())], QUIET).expect_err("exists");
        assert!(matches!(error, DiskError::Exists { .. }), "{error}");
        assert_eq!(std::fs::read(&path).expect("read"), b"user data");
    }

    #[test]
    fn images_of_a_failed_run_are_removed() {
        let Ok(qemu_img) = which::which("qemu-img") else {
            eprintln!("skipped: qemu-img is not installed");
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let good = image(dir.path().join("a/new.qcow2"));
        let mut bad = image(dir.path().join("bad.qcow2"));
        bad.backing = Some((dir.path().join("missing-base"), "qcow2".into()));
        let error = create_all(&qemu_img, &[good.clone(), bad], QUIET).expect_err("fails");
        assert!(matches!(error, DiskError::Create { .. }), "{error}");
        assert!(!good.path.exists(), "the first image must be removed again");

        let created = create_all(&qemu_img, std::slice::from_ref(&good), QUIET).expect("creates");
        created.keep();
        assert!(good.path.exists());
    }
}
