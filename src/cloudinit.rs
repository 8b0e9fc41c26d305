//! The NoCloud seed of `--cloud-init`: `meta-data`, `user-data` (the
//! user's, or a `#cloud-config` written as virt-install writes it) and
//! `network-config`, on an ISO labelled `cidata` made by `xorriso` or
//! `genisoimage`, whichever is on `PATH`.
//!
//! The ISO stays in the guest's state folder, so the first boot can read
//! it whenever it happens; the final configuration has the drive empty,
//! so the guest starts again even once the file is gone.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::plan::Seed;
use crate::spec::{CloudInit, UserData};

/// Why the seed could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CloudInitError {
    /// A file the seed is made from could not be read.
    #[error("Couldn't acquire file {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the seed could not be written.
    #[error("cannot write `{}`", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No ISO maker is installed.
    #[error(
        "cannot build the cloud-init seed: none of `xorriso`, `genisoimage`, `mkisofs` is on PATH"
    )]
    NoIsoTool,
    /// The ISO maker failed.
    #[error("`{}` failed to build the cloud-init seed: {message}", .program.display())]
    IsoTool {
        /// The program.
        program: PathBuf,
        /// What it printed.
        message: String,
    },
    /// No randomness for the password.
    #[error("cannot generate a password")]
    Random(#[source] std::io::Error),
}

/// Builds the seed ISO; returns the root password it generated, if any,
/// for the caller to print once.
pub fn build(seed: &Seed, debug: bool) -> Result<Option<String>, CloudInitError> {
    let folder = seed.iso.with_extension("d");
    let _ = std::fs::remove_dir_all(&folder);
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CloudInitError::Write { path, source }
    };
    std::fs::create_dir_all(&folder).map_err(write_error(&folder))?;
    let result = fill_and_pack(seed, &folder, debug);
    let _ = std::fs::remove_dir_all(&folder);
    result
}

fn fill_and_pack(
    seed: &Seed,
    folder: &Path,
    debug: bool,
) -> Result<Option<String>, CloudInitError> {
    let config = &seed.config;
    let meta = match &config.meta_data {
        Some(path) => read(path)?,
        None => Vec::new(),
    };
    let (user, password) = match &config.user_data {
        UserData::File(path) => (read(path)?, None),
        UserData::Generated => {
            let password = match (&config.root_password_file, config.root_password_generate) {
                (Some(path), _) => Some((first_line(path)?, false)),
                (None, true) => Some((generate_password()?, true)),
                (None, false) => None,
            };
            let text = generated_user_data(config, password.as_ref())?;
            let shown = password.filter(|(_, generated)| *generated).map(|(p, _)| p);
            (text.into_bytes(), shown)
        }
    };
    write(&folder.join("meta-data"), &meta)?;
    write(&folder.join("user-data"), &user)?;
    if let Some(path) = &config.network_config {
        write(&folder.join("network-config"), &read(path)?)?;
    }
    pack(folder, &seed.iso, debug)?;
    Ok(password)
}

fn read(path: &Path) -> Result<Vec<u8>, CloudInitError> {
    std::fs::read(path).map_err(|source| CloudInitError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CloudInitError> {
    std::fs::write(path, bytes).map_err(|source| CloudInitError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The first line of a file, its newline dropped.
fn first_line(path: &Path) -> Result<String, CloudInitError> {
    let text = String::from_utf8_lossy(&read(path)?).into_owned();
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// virt-install's generated `#cloud-config`, in its order. `password` is
/// root's, and whether it was generated (then it must be changed).
pub fn generated_user_data(
    config: &CloudInit,
    password: Option<&(String, bool)>,
) -> Result<String, CloudInitError> {
    let mut text = String::from("#cloud-config\n");
    if let Some((password, generated)) = password {
        let expire = if *generated { "True" } else { "False" };
        text.push_str(&format!(
            "chpasswd:\n  list: |\n    root:{password}\n  expire: {expire}\n"
        ));
    }
    if let Some(path) = &config.root_ssh_key {
        let key = first_line(path)?;
        text.push_str(&format!(
            "users:\n  - default\n  - name: root\n    ssh_authorized_keys:\n      - {key}\n"
        ));
    }
    if let Some(path) = &config.clouduser_ssh_key {
        let key = first_line(path)?;
        text.push_str(&format!("ssh_authorized_keys:\n  - {key}\n"));
    }
    if config.disable {
        text.push_str(
            "runcmd:\n- echo \"Disabled by virt-install\" > /etc/cloud/cloud-init.disabled\n",
        );
    }
    Ok(text)
}

/// Sixteen letters and digits, as virt-install generates.
fn generate_password() -> Result<String, CloudInitError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut password = String::new();
    while password.len() < 16 {
        let mut bytes = [0u8; 32];
        rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty())
            .map_err(|errno| CloudInitError::Random(errno.into()))?;
        // 248 is the largest multiple of 62 below 256: no bias.
        for byte in bytes.iter().filter(|b| **b < 248) {
            if password.len() < 16 {
                password.push(char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(password)
}

/// `xorriso -as mkisofs` (or `genisoimage`, `mkisofs`) with virt-install's
/// flags: Joliet, Rock Ridge, volume id `cidata`.
fn pack(folder: &Path, iso: &Path, debug: bool) -> Result<(), CloudInitError> {
    let (program, lead): (PathBuf, &[&str]) = if let Ok(xorriso) = which::which("xorriso") {
        (xorriso, &["-as", "mkisofs"])
    } else if let Ok(genisoimage) = which::which("genisoimage") {
        (genisoimage, &[])
    } else if let Ok(mkisofs) = which::which("mkisofs") {
        (mkisofs, &[])
    } else {
        return Err(CloudInitError::NoIsoTool);
    };
    let mut command = Command::new(&program);
    command
        .args(lead)
        .args(["-quiet", "-o"])
        .arg(iso)
        .args([
            "-J",
            "-input-charset",
            "utf8",
            "-rational-rock",
            "-V",
            "cidata",
        ])
        .arg(folder);
    if debug {
        let words: Vec<String> = std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|w| shell_words::quote(&w.to_string_lossy()).into_owned())
            .collect();
        eprintln!("debug: {}", words.join(" "));
    }
    let output = command.output().map_err(|error| CloudInitError::IsoTool {
        program: program.clone(),
        message: error.to_string(),
    })?;
    if !output.status.success() {
        return Err(CloudInitError::IsoTool {
            program,
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CloudInit {
        CloudInit {
            user_data: UserData::Generated,
            meta_data: None,
            network_config: None,
            root_password_generate: false,
            root_password_file: None,
            root_ssh_key: None,
            clouduser_ssh_key: None,
            disable: false,
        }
    }

    #[test]
    fn generated_in_virt_install_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("k.pub");
        std::fs::write(&key, "ssh-ed25519 AAAA me@host\nsecond\n").expect("key");
        let seed = CloudInit {
            root_ssh_key: Some(key.clone()),
            clouduser_ssh_key: Some(key),
            disable: true,
            ..config()
        };
        let text = generated_user_data(&seed, Some(&("pw".to_string(), true))).expect("generated");
        assert_eq!(
            text,
            "#cloud-config\nchpasswd:\n  list: |\n    root:pw\n  expire: True\n\
             users:\n  - default\n  - name: root\n    ssh_authorized_keys:\n      - \
             ssh-ed25519 AAAA me@host\nssh_authorized_keys:\n  - ssh-ed25519 AAAA me@host\n\
             runcmd:\n- echo \"Disabled by virt-install\" > /etc/cloud/cloud-init.disabled\n"
        );
    }

    #[test]
    fn passwords() {
        let password = generate_password().expect("random");
        assert_eq!(password.len(), 16);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(password, generate_password().expect("random"));
    }

    #[test]
    fn seed_iso_is_labelled_cidata() {
        if which::which("xorriso").is_err() && which::which("genisoimage").is_err() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("user-data.yaml");
        std::fs::write(&user, "#cloud-config\nhostname: x\n").expect("user-data");
        let seed = Seed {
            iso: dir.path().join("cidata.iso"),
            config: CloudInit {
                user_data: UserData::File(user),
                ..config()
            },
        };
        assert_eq!(build(&seed, false).expect("built"), None);
        let bytes = std::fs::read(&seed.iso).expect("iso");
        // The primary volume descriptor's volume id, at sector 16.
        assert_eq!(&bytes[16 * 2048 + 40..16 * 2048 + 46], b"cidata");
        let mut iso = crate::media::iso9660::Iso::open(&seed.iso).expect("readable");
        assert!(iso.find("user-data").expect("read").is_some());
        assert!(iso.find("meta-data").expect("read").is_some());
        assert!(!dir.path().join("cidata.d").exists());
    }
}
