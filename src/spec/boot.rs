//! The install method (`--cdrom`, `--pxe`, `--import`; the kernel
//! installs are in [`super::location`]) and `--boot`.

use std::path::PathBuf;

use super::{SpecError, parse_all};
use crate::cli::InstallArgs;

/// How the OS gets onto the guest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Install {
    /// No method given (an error unless `--boot` implies one).
    None,
    /// Boot this ISO or device first; restart from the disk afterwards.
    Cdrom(PathBuf),
    /// Boot from the network first; restart from the disk afterwards.
    Pxe,
    /// No install phase: boot what the disks (or `--boot`) hold.
    Import,
    /// Boot the kernel and initrd of an install tree or ISO first, the ISO
    /// attached; restart from the disk afterwards.
    Location(super::location::Location),
    /// Boot this kernel and initrd first (`--install kernel=,initrd=`).
    Kernel(super::location::KernelFiles),
    /// Boot this device first (`--install bootdev=`).
    Bootdev(BootDevice),
}

impl Install {
    /// True when the guest boots install media first and is restarted in
    /// its final form once the install reboots it.
    pub fn is_two_phase(&self) -> bool {
        !matches!(self, Install::None | Install::Import)
    }
}

/// Reads the install method, by virt-install's precedence: `--cdrom`,
/// then `--pxe`, then `--import`.
pub fn install_from_args(args: &InstallArgs) -> Result<Option<Install>, SpecError> {
    if let Some(cdrom) = args.install.cdrom.as_deref() {
        if cdrom.is_empty() {
            return Err(SpecError::Invalid("--cdrom needs a path".into()));
        }
        if cdrom.contains("://") {
            return Err(SpecError::Unsupported {
                options: vec![format!("--cdrom {cdrom} (a URL)")],
            });
        }
        return Ok(Some(Install::Cdrom(PathBuf::from(cdrom))));
    }
    if args.install.pxe {
        return Ok(Some(Install::Pxe));
    }
    if args.install.import {
        return Ok(Some(Install::Import));
    }
    Ok(None)
}

/// A device class in `--boot`'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BootDevice {
    /// The first disk.
    Hd,
    /// The first CD-ROM.
    Cdrom,
    /// The first NIC.
    Network,
}

/// Direct kernel boot: `--boot kernel=,initrd=,cmdline=`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelBoot {
    /// The kernel image.
    pub kernel: PathBuf,
    /// The initrd, if any.
    pub initrd: Option<PathBuf>,
    /// The kernel command line.
    pub cmdline: Option<String>,
}

/// `--boot`: the guest's permanent boot settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Boot {
    /// True when any `--boot` (other than `none`) was given.
    pub given: bool,
    /// The device order, first to last.
    pub order: Vec<BootDevice>,
    /// `menu=`.
    pub menu: Option<bool>,
    /// `kernel=` and its companions.
    pub kernel: Option<KernelBoot>,
    /// `uefi`, `firmware=efi` (true) or `uefi=off`, `firmware=bios`
    /// (false); `None` leaves the firmware to the OS.
    pub uefi: Option<bool>,
    /// `loader=`: a firmware image to use instead of the default.
    pub loader: Option<PathBuf>,
    /// `nvram=`: the UEFI variable store to use.
    pub nvram: Option<PathBuf>,
}

impl Boot {
    /// Applies every `--boot` occurrence in order.
    pub fn from_args(values: &[String]) -> Result<Boot, SpecError> {
        let mut boot = Boot::default();
        for mut opts in parse_all("boot", values)? {
            if opts.is_none() {
                continue;
            }
            boot.given = true;
            let raw = opts.raw().to_string();
            let invalid = |reason: String| SpecError::Value {
                option: "boot",
                raw: raw.clone(),
                reason,
            };

            for flag in opts.take_flags() {
                let device = match flag.as_str() {
                    "hd" => BootDevice::Hd,
                    "cdrom" => BootDevice::Cdrom,
                    "network" => BootDevice::Network,
                    "uefi" => {
                        boot.uefi = Some(true);
                        continue;
                    }
                    other => {
                        return Err(SpecError::Unsupported {
                            options: vec![format!("--boot {other}")],
                        });
                    }
                };
                if !boot.order.contains(&device) {
                    boot.order.push(device);
                }
            }
            if let Some(menu) = opts.take_bool("bootmenu.enable")? {
                boot.menu = Some(menu);
            }
            if let Some(uefi) = opts.take_bool("uefi")? {
                boot.uefi = Some(uefi);
            }
            match opts.take("firmware").as_deref() {
                None => {}
                Some("efi") => boot.uefi = Some(true),
                Some("bios") => boot.uefi = Some(false),
                Some(other) => return Err(invalid(format!("Unknown firmware '{other}'"))),
            }
            if let Some(loader) = opts.take("loader") {
                boot.loader = Some(PathBuf::from(loader));
                boot.uefi = Some(true);
            }
            if let Some(nvram) = opts.take("nvram") {
                boot.nvram = Some(PathBuf::from(nvram));
            }

            let kernel = opts.take("kernel").map(PathBuf::from);
            let initrd = opts.take("initrd").map(PathBuf::from);
            let cmdline = opts.take("cmdline");
            match (kernel, &mut boot.kernel) {
                (Some(kernel), _) => {
                    boot.kernel = Some(KernelBoot {
                        kernel,
                        initrd,
                        cmdline,
                    });
                }
                (None, Some(existing)) => {
                    existing.initrd = initrd.or(existing.initrd.take());
                    existing.cmdline = cmdline.or(existing.cmdline.take());
                }
                (None, None) if initrd.is_some() => {
                    return Err(invalid("initrd and cmdline need kernel=".into()));
                }
                (None, None) if cmdline.is_some() => {
                    // virt-install keeps it for a kernel that a later
                    // `--boot kernel=` or the guest's own loader brings.
                    return Err(SpecError::Unsupported {
                        options: vec!["--boot cmdline= without kernel=".into()],
                    });
                }
                (None, None) => {}
            }
            opts.finish()?;
        }
        Ok(boot)
    }

    /// A bare `--boot` with no install method is an import.
    pub fn implied_install(&self) -> Option<Install> {
        self.given.then_some(Install::Import)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(raw: &str) -> Result<Boot, SpecError> {
        Boot::from_args(&[raw.to_string()])
    }

    #[test]
    fn order_and_menu() {
        let b = boot("cdrom,hd,network,menu=on").expect("parses");
        assert_eq!(
            b.order,
            [BootDevice::Cdrom, BootDevice::Hd, BootDevice::Network]
        );
        assert_eq!(b.menu, Some(true));
        assert_eq!(
            boot("menu=maybe").expect_err("bad").to_string(),
            "--boot menu=maybe: menu must be 'yes' or 'no'"
        );
    }

    #[test]
    fn kernel_boot() {
        let b = boot("kernel=/k,initrd=/i,kernel_args=console=ttyS0,115200 quiet").expect("parses");
        let k = b.kernel.expect("kernel");
        assert_eq!(k.kernel, PathBuf::from("/k"));
        assert_eq!(k.cmdline.as_deref(), Some("console=ttyS0,115200 quiet"));
        assert!(boot("initrd=/i").is_err());
    }

    #[test]
    fn uefi_spellings() {
        for raw in ["uefi", "uefi=on", "firmware=efi", "loader=/x.fd"] {
            assert_eq!(boot(raw).expect(raw).uefi, Some(true), "{raw}");
        }
        for raw in ["uefi=off", "firmware=bios"] {
            assert_eq!(boot(raw).expect(raw).uefi, Some(false), "{raw}");
        }
        assert_eq!(boot("hd").expect("parses").uefi, None);
    }
}
