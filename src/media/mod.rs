//! Install media on this machine: a local install tree or an ISO, the
//! kernel and initrd found in it by the layouts virt-install knows
//! (virt-install.md §12.3), and copying them out.
//!
//! [`locate`] answers the planner's question (which files, from where) and
//! only reads; [`copy_file`] is what the runtime uses to fetch them into
//! the guest's state folder.

pub mod cpio;
pub mod iso9660;

use std::io::Write;
use std::path::{Path, PathBuf};

use iso9660::{Iso, IsoError};

use crate::spec::{Location, MediaSource};

/// Why the media could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The location does not exist.
    #[error("Error validating install location: Could not find media '{}'", .path.display())]
    Missing {
        /// The location.
        path: PathBuf,
    },
    /// The ISO could not be read.
    #[error("Error validating install location: {0}")]
    Iso(#[source] IsoError),
    /// A file of a tree could not be read.
    #[error("cannot read `{}`", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No layout matched and no `kernel=`/`initrd=` were given.
    #[error(
        "Error validating install location: Could not find an installable distribution at URL \
         '{}'\nno .treeinfo, Debian or Ubuntu installer, casper, isolinux or images/pxeboot \
         kernel and initrd were found in it; name them with \
         --location {},kernel=PATH,initrd=PATH",
        .path.display(), .path.display()
    )]
    NoLayout {
        /// The location.
        path: PathBuf,
    },
    /// An explicit `kernel=` or `initrd=` is not in the media.
    #[error("location {what} '{file}' was not found in '{}'", .path.display())]
    NotInMedia {
        /// `kernel` or `initrd`.
        what: &'static str,
        /// The relative path.
        file: String,
        /// The location.
        path: PathBuf,
    },
}

/// A kernel and initrd found in install media, by their paths there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The tree or ISO.
    pub source: MediaSource,
    /// The kernel, relative to the root of the media.
    pub kernel: String,
    /// The initrd, likewise.
    pub initrd: String,
}

/// Open media, to ask what it holds.
enum Media {
    Iso(Box<Iso>),
    Tree(PathBuf),
}

impl Media {
    fn open(source: &MediaSource) -> Result<Media, MediaError> {
        match source {
            MediaSource::Iso(path) => Ok(Media::Iso(Box::new(
                Iso::open(path).map_err(MediaError::Iso)?,
            ))),
            MediaSource::Tree(path) => Ok(Media::Tree(path.clone())),
        }
    }

    fn is_file(&mut self, relative: &str) -> Result<bool, MediaError> {
        match self {
            Media::Tree(root) => Ok(root.join(relative.trim_start_matches('/')).is_file()),
            Media::Iso(iso) => Ok(iso
                .find(relative)
                .map_err(MediaError::Iso)?
                .is_some_and(|e| !e.is_dir)),
        }
    }

    fn read(&mut self, relative: &str) -> Result<Option<Vec<u8>>, MediaError> {
        if !self.is_file(relative)? {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        self.copy(relative, &mut bytes)?;
        Ok(Some(bytes))
    }

    fn copy(&mut self, relative: &str, out: &mut dyn Write) -> Result<(), MediaError> {
        match self {
            Media::Tree(root) => {
                let path = root.join(relative.trim_start_matches('/'));
                let io = |source| MediaError::Io {
                    path: path.clone(),
                    source,
                };
                let mut file = std::fs::File::open(&path).map_err(io)?;
                std::io::copy(&mut file, out).map_err(io)?;
                Ok(())
            }
            Media::Iso(iso) => {
                let entry = iso
                    .find(relative)
                    .map_err(MediaError::Iso)?
                    .filter(|e| !e.is_dir)
                    .ok_or_else(|| MediaError::Io {
                        path: PathBuf::from(relative),
                        source: std::io::ErrorKind::NotFound.into(),
                    })?;
                iso.copy(&entry, out).map_err(MediaError::Iso)
            }
        }
    }
}

/// The kernel and initrd pairs virt-install looks for when there is no
/// `.treeinfo`, in its order, for x86_64 guests.
const LAYOUTS: &[(&str, &str)] = &[
    // Debian ISOs (amd64), then Debian and Ubuntu ISOs and mounted trees.
    ("install.amd/vmlinuz", "install.amd/initrd.gz"),
    ("install/vmlinuz", "install/initrd.gz"),
    // Debian and Ubuntu network install trees.
    (
        "current/images/netboot/debian-installer/amd64/linux",
        "current/images/netboot/debian-installer/amd64/initrd.gz",
    ),
    (
        "current/images/netboot/ubuntu-installer/amd64/linux",
        "current/images/netboot/ubuntu-installer/amd64/initrd.gz",
    ),
    (
        "current/legacy-images/netboot/ubuntu-installer/amd64/linux",
        "current/legacy-images/netboot/ubuntu-installer/amd64/initrd.gz",
    ),
    (
        "daily/netboot/debian-installer/amd64/linux",
        "daily/netboot/debian-installer/amd64/initrd.gz",
    ),
    // Ubuntu live (casper).
    ("casper/vmlinuz", "casper/initrd"),
    ("casper/vmlinuz", "casper/initrd.gz"),
    ("casper/vmlinuz", "casper/initrd.lz"),
    // Fedora and RHEL-like trees whose .treeinfo is missing.
    ("images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"),
    // isolinux layouts (CentOS-like, Mageia).
    ("isolinux/vmlinuz", "isolinux/initrd.img"),
    ("isolinux/x86_64/vmlinuz", "isolinux/x86_64/all.rdz"),
    // SUSE without .treeinfo.
    ("boot/x86_64/loader/linux", "boot/x86_64/loader/initrd"),
];

/// Finds the kernel and initrd of a `--location`: an explicit pair, the
/// `.treeinfo`, or the first known layout whose two files both exist.
pub fn locate(location: &Location) -> Result<Located, MediaError> {
    let path = &location.path;
    let metadata =
        std::fs::metadata(path).map_err(|_| MediaError::Missing { path: path.clone() })?;
    let source = if metadata.is_dir() {
        MediaSource::Tree(path.clone())
    } else {
        MediaSource::Iso(path.clone())
    };
    let mut media = Media::open(&source)?;
    let found = |kernel: &str, initrd: &str| Located {
        source: source.clone(),
        kernel: kernel.trim_start_matches('/').to_string(),
        initrd: initrd.trim_start_matches('/').to_string(),
    };

    if let Some((kernel, initrd)) = &location.files {
        for (what, file) in [("kernel", kernel), ("initrd", initrd)] {
            if !media.is_file(file)? {
                return Err(MediaError::NotInMedia {
                    what,
                    file: file.clone(),
                    path: path.clone(),
                });
            }
        }
        return Ok(found(kernel, initrd));
    }
    for name in [".treeinfo", "treeinfo"] {
        let Some(text) = media.read(name)? else {
            continue;
        };
        let Some((kernel, initrd)) = treeinfo_images(&String::from_utf8_lossy(&text)) else {
            continue;
        };
        if media.is_file(&kernel)? && media.is_file(&initrd)? {
            return Ok(found(&kernel, &initrd));
        }
    }
    for (kernel, initrd) in LAYOUTS {
        if media.is_file(kernel)? && media.is_file(initrd)? {
            return Ok(found(kernel, initrd));
        }
    }
    Err(MediaError::NoLayout { path: path.clone() })
}

/// `[images-ARCH] kernel= initrd=` of a `.treeinfo`, ARCH from `[general]`
/// (`x86_64` when it says none).
pub fn treeinfo_images(text: &str) -> Option<(String, String)> {
    let mut section = String::new();
    let mut values = std::collections::BTreeMap::<(String, String), String>::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            values.insert(
                (section.clone(), key.trim().to_string()),
                value.trim().to_string(),
            );
        }
    }
    let get = |section: &str, key: &str| values.get(&(section.to_string(), key.to_string()));
    let arch = get("general", "arch")
        .or_else(|| get("tree", "arch"))
        .map_or("x86_64", String::as_str);
    let images = format!("images-{arch}");
    let kernel = get(&images, "kernel")?;
    let initrd = get(&images, "initrd")?;
    Some((kernel.clone(), initrd.clone()))
}

/// Copies one file of the media (or of this machine, with no media) to
/// `to`, made 0600.
pub fn copy_file(
    source: Option<&MediaSource>,
    relative: &Path,
    to: &Path,
) -> Result<(), MediaError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| MediaError::Io {
        path: to.to_path_buf(),
        source,
    };
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(to)
        .map_err(io)?;
    match source {
        Some(source) => {
            let mut media = Media::open(source)?;
            media.copy(&relative.to_string_lossy(), &mut out)?;
        }
        None => {
            let read = |source| MediaError::Io {
                path: relative.to_path_buf(),
                source,
            };
            let mut file = std::fs::File::open(relative).map_err(read)?;
            std::io::copy(&mut file, &mut out).map_err(io)?;
        }
    }
    out.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn treeinfo() {
        let text = "[general]\nfamily = Fedora\narch = x86_64\n\n[images-x86_64]\n\
                    kernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n\
                    [images-xen]\nkernel = images/xen/vmlinuz\n";
        assert_eq!(
            treeinfo_images(text),
            Some((
                "images/pxeboot/vmlinuz".into(),
                "images/pxeboot/initrd.img".into()
            ))
        );
        assert_eq!(treeinfo_images("[general]\narch=x86_64\n"), None);
    }

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
            std::fs::write(&path, file.as_bytes()).expect("file");
        }
        dir
    }

    fn locate_in(dir: &Path, files: Option<(&str, &str)>) -> Result<Located, MediaError> {
        locate(&Location {
            path: dir.to_path_buf(),
            files: files.map(|(k, i)| (k.to_string(), i.to_string())),
        })
    }

    #[test]
    fn tree_layouts() {
        let cases: [(&[&str], &str); 4] = [
            (
                &["install.amd/vmlinuz", "install.amd/initrd.gz"],
                "install.amd/vmlinuz",
            ),
            (&["casper/vmlinuz", "casper/initrd"], "casper/vmlinuz"),
            (
                &["images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"],
                "images/pxeboot/vmlinuz",
            ),
            (
                &["isolinux/vmlinuz", "isolinux/initrd.img"],
                "isolinux/vmlinuz",
            ),
        ];
        for (files, kernel) in cases {
            let dir = tree(files);
            let located = locate_in(dir.path(), None).expect("found");
            assert_eq!(located.kernel, kernel, "{files:?}");
        }
    }

    #[test]
    fn explicit_and_missing() {
        let dir = tree(&["boot/k", "boot/i"]);
        let error = locate_in(dir.path(), None).expect_err("no layout");
        assert!(
            error
                .to_string()
                .contains("Could not find an installable distribution"),
            "{error}"
        );
        let located = locate_in(dir.path(), Some(("/boot/k", "boot/i"))).expect("named");
        assert_eq!(
            (located.kernel.as_str(), located.initrd.as_str()),
            ("boot/k", "boot/i")
        );
        let error = locate_in(dir.path(), Some(("boot/k", "boot/x"))).expect_err("absent");
        assert!(
            error.to_string().starts_with("location initrd 'boot/x'"),
            "{error}"
        );
    }

    #[test]
    fn iso_with_xorriso() {
        let Ok(xorriso) = which::which("xorriso") else {
            return;
        };
        let dir = tree(&["install.amd/vmlinuz", "install.amd/initrd.gz"]);
        let out = tempfile::tempdir().expect("tempdir");
        for (name, flags) in [
            ("rr.iso", &["-R"][..]),
            ("joliet.iso", &["-J"][..]),
            ("plain.iso", &[][..]),
        ] {
            let iso = out.path().join(name);
            let status = std::process::Command::new(&xorriso)
                .args(["-as", "mkisofs", "-quiet", "-o"])
                .arg(&iso)
                .args(flags)
                .arg(dir.path())
                .status()
                .expect("xorriso runs");
            assert!(status.success());
            let located = locate_in(&iso, None).expect(name);
            assert_eq!(located.initrd, "install.amd/initrd.gz", "{name}");
            let copy = out.path().join(format!("{name}.kernel"));
            copy_file(Some(&located.source), Path::new(&located.kernel), &copy).expect("copied");
            assert_eq!(
                std::fs::read(&copy).expect("read"),
                b"install.amd/vmlinuz",
                "{name}"
            );
        }
    }
}
