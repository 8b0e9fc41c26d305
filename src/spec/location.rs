//! Kernel installs: `--location`, `--install kernel=,initrd=,…`,
//! `--extra-args` and `--initrd-inject`, typed with virt-install's
//! precedence and its errors. Nothing here reads the media: finding the
//! kernel inside a tree or an ISO is [`crate::media`]'s.

use std::path::PathBuf;

use super::boot::BootDevice;
use super::{Install, SpecError};
use crate::cli::InstallArgs;
use crate::subopt;

/// Where an install kernel and initrd come from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MediaSource {
    /// An ISO image or a block device holding one.
    Iso(PathBuf),
    /// A folder holding an install tree.
    Tree(PathBuf),
}

/// `--location LOCATION[,kernel=REL,initrd=REL]`, local only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// The ISO or tree, as given; the planner tells which it is.
    pub path: PathBuf,
    /// `kernel=` and `initrd=`, relative to the location, given together.
    pub files: Option<(String, String)>,
}

/// `--install kernel=K,initrd=I`: files on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelFiles {
    /// The kernel.
    pub kernel: PathBuf,
    /// The initrd.
    pub initrd: PathBuf,
}

/// What a kernel install boots with, besides the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelOptions {
    /// The kernel command line the user asked for, if any.
    pub cmdline: Option<String>,
    /// `kernel_args_overwrite=yes`: the line is exactly `cmdline`, with
    /// nothing added.
    pub overwrite: bool,
    /// `--initrd-inject`: files put at the root of the initrd.
    pub inject: Vec<PathBuf>,
}

/// `--install`, typed: the method it names, if any, and the kernel
/// arguments it carries.
struct InstallOptions {
    kernel: Option<KernelFiles>,
    kernel_args: Option<String>,
    overwrite: bool,
    no_install: bool,
    bootdev: Option<BootDevice>,
}

fn install_options(raw: Option<&str>) -> Result<Option<InstallOptions>, SpecError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut opts = subopt::parse("install", raw)?;
    if let Some(os) = opts.take("os") {
        // It needs the OS database's install-tree URLs, and URLs.
        return Err(SpecError::Unsupported {
            options: vec![format!("--install os={os}")],
        });
    }
    let kernel = opts.take("kernel");
    let initrd = opts.take("initrd");
    let kernel_args = opts.take("kernel_args");
    let overwrite = opts.take_bool("kernel_args_overwrite")?.unwrap_or(false);
    let no_install = opts.take_bool("no_install")?.unwrap_or(false);
    let bootdev = match opts.take("bootdev").as_deref() {
        None => None,
        Some("hd") => Some(BootDevice::Hd),
        Some("cdrom") => Some(BootDevice::Cdrom),
        Some("network") => Some(BootDevice::Network),
        Some(other) => {
            return Err(SpecError::Unsupported {
                options: vec![format!("--install bootdev={other}")],
            });
        }
    };
    opts.finish()?;
    let kernel = match (kernel, initrd) {
        (None, None) => None,
        (Some(kernel), Some(initrd)) => {
            for path in [&kernel, &initrd] {
                if path.contains("://") {
                    return Err(SpecError::Unsupported {
                        options: vec![format!("--install {path} (a URL)")],
                    });
                }
            }
            Some(KernelFiles {
                kernel: kernel.into(),
                initrd: initrd.into(),
            })
        }
        _ => {
            return Err(SpecError::Invalid(
                "install kernel/initrd must be specified as a pair".into(),
            ));
        }
    };
    Ok(Some(InstallOptions {
        kernel,
        kernel_args,
        overwrite,
        no_install,
        bootdev,
    }))
}

/// `--location`, typed: virt-install's pair rules, and URLs refused.
fn location(raw: Option<&str>) -> Result<Option<Location>, SpecError> {
    let Some(raw) = raw else { return Ok(None) };
    let mut opts = subopt::parse("location", raw)?;
    let path = opts.take("location");
    let kernel = opts.take("kernel");
    let initrd = opts.take("initrd");
    opts.finish()?;
    let files = match (kernel, initrd) {
        (None, None) => None,
        (Some(kernel), Some(initrd)) => Some((kernel, initrd)),
        _ => {
            return Err(SpecError::Invalid(
                "location kernel/initrd must be specified as a pair".into(),
            ));
        }
    };
    let Some(path) = path else {
        if files.is_some() {
            return Err(SpecError::Invalid(
                "location kernel/initrd may only be specified with a location URL/path".into(),
            ));
        }
        return Err(SpecError::Invalid("--location needs a path".into()));
    };
    if path.contains("://") || path.starts_with("nfs:") {
        return Err(SpecError::Unsupported {
            options: vec![format!("--location {path} (a URL)")],
        });
    }
    Ok(Some(Location {
        path: PathBuf::from(path),
        files,
    }))
}

/// The install method from `--install` and `--location`, when they give
/// one, by virt-install's precedence: `--location` comes before `--cdrom`
/// and `--pxe`, which come before `--install`'s own kernel, boot device
/// and `no_install`.
pub(super) fn kernel_install(
    args: &InstallArgs,
    others: Option<Install>,
    warnings: &mut Vec<String>,
) -> Result<(Option<Install>, KernelOptions), SpecError> {
    let install = install_options(args.install.install.as_deref())?;
    let location = location(args.install.location.as_deref())?;
    let install_method = install
        .as_ref()
        .is_some_and(|i| i.kernel.is_some() || i.bootdev.is_some());
    let winner = match (&location, &others) {
        (Some(_), _) => Some("--location"),
        (None, Some(Install::Cdrom(_))) => Some("--cdrom"),
        (None, Some(Install::Pxe)) => Some("--pxe"),
        _ => None,
    };
    if let Some(winner) = winner {
        // virt-install takes one method and drops the others unsaid.
        let losers = [
            ("--cdrom", matches!(others, Some(Install::Cdrom(_)))),
            ("--pxe", matches!(others, Some(Install::Pxe))),
            ("--install", install_method),
        ];
        for (name, given) in losers {
            if given && name != winner {
                warnings.push(format!(
                    "{name} is not used: {winner} is the install method"
                ));
            }
        }
    }

    let method = match (location, others, &install) {
        (Some(location), _, _) => Some(Install::Location(location)),
        (None, Some(other), _) => Some(other),
        (
            None,
            None,
            Some(InstallOptions {
                kernel: Some(files),
                ..
            }),
        ) => Some(Install::Kernel(files.clone())),
        (
            None,
            None,
            Some(InstallOptions {
                bootdev: Some(device),
                ..
            }),
        ) => Some(Install::Bootdev(*device)),
        (
            None,
            None,
            Some(InstallOptions {
                no_install: true, ..
            }),
        ) => Some(Install::Import),
        (None, None, _) => None,
    };

    let media = match &method {
        Some(Install::Cdrom(_)) => Some("--cdrom"),
        Some(Install::Pxe) => Some("--pxe"),
        Some(Install::Location(_)) => Some("--location"),
        _ => None,
    };
    if let (Some(media), true) = (media, install.as_ref().is_some_and(|i| i.no_install)) {
        // virt-install then boots the media as the guest's system, as
        // --livecd does.
        return Err(SpecError::Unsupported {
            options: vec![format!("--install no_install=yes with {media}")],
        });
    }

    let kernel_boot = matches!(method, Some(Install::Location(_) | Install::Kernel(_)));
    let extra_args = &args.install.extra_args;
    let kernel_args = install.as_ref().is_some_and(|i| i.kernel_args.is_some());
    if (!extra_args.is_empty() || kernel_args) && !kernel_boot {
        return Err(SpecError::Invalid(
            "Kernel arguments are only supported with location or kernel installs.".into(),
        ));
    }
    let inject: Vec<PathBuf> = args
        .install
        .initrd_inject
        .iter()
        .map(PathBuf::from)
        .collect();
    if !inject.is_empty() && !kernel_boot {
        return Err(SpecError::Invalid(
            "Install method does not support initrd injections.".into(),
        ));
    }

    // virt-install's quirk: `kernel_args=` takes the place of every
    // `--extra-args`, with or without `kernel_args_overwrite`.
    let (kernel_args, overwrite) = install
        .map(|i| (i.kernel_args, i.overwrite))
        .unwrap_or_default();
    let joined = (!extra_args.is_empty()).then(|| extra_args.join(" "));
    if joined.is_some() && kernel_args.is_some() {
        warnings.push(
            "--extra-args is not used: --install kernel_args= replaces it, as in virt-install"
                .into(),
        );
    }
    let options = KernelOptions {
        cmdline: kernel_args.or(joined),
        overwrite,
        inject,
    };
    Ok((method, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run(line: &[&str]) -> Result<(Option<Install>, KernelOptions), SpecError> {
        let argv = std::iter::once("qvirt-install").chain(line.iter().copied());
        let args = InstallArgs::try_parse_from(argv).expect("clap parses");
        let others = super::super::boot::install_from_args(&args)?;
        kernel_install(&args, others, &mut Vec::new())
    }

    fn error(line: &[&str]) -> String {
        run(line).expect_err("refused").to_string()
    }

    #[test]
    fn virt_install_words() {
        let cases: [(&[&str], &str); 8] = [
            (
                &["--cdrom", "x.iso", "--install", "kernel_args=inst.ks=x"],
                "Kernel arguments are only supported with location or kernel installs.",
            ),
            (
                &["--cdrom", "x.iso", "--install", "no_install=yes"],
                "--install no_install=yes with --cdrom is not supported yet",
            ),
            (
                &["--location", "kernel=foo,initrd=bar"],
                "location kernel/initrd may only be specified with a location URL/path",
            ),
            (
                &["--location", "/a.iso,kernel=foo"],
                "location kernel/initrd must be specified as a pair",
            ),
            (
                &["--cdrom", "x.iso", "--extra-args", "console=ttyS0"],
                "Kernel arguments are only supported with location or kernel installs.",
            ),
            (
                &["--import", "--initrd-inject", "ks.cfg"],
                "Install method does not support initrd injections.",
            ),
            (
                &["--location", "http://example.com/tree"],
                "--location http://example.com/tree (a URL) is not supported yet",
            ),
            (
                &["--install", "fedora26"],
                "--install os=fedora26 is not supported yet",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(error(line), want, "{line:?}");
        }
    }

    #[test]
    fn a_method_not_used_is_named() {
        let argv = [
            "qvirt-install",
            "--location",
            "/t",
            "--cdrom",
            "x.iso",
            "--pxe",
        ];
        let args = InstallArgs::try_parse_from(argv).expect("clap parses");
        let others = super::super::boot::install_from_args(&args).expect("parses");
        let mut warnings = Vec::new();
        kernel_install(&args, others, &mut warnings).expect("parses");
        assert_eq!(
            warnings,
            ["--cdrom is not used: --location is the install method"]
        );
    }

    #[test]
    fn precedence_and_cmdline() {
        let (method, options) = run(&[
            "--location",
            "/t,kernel=k,initrd=i",
            "--cdrom",
            "x.iso",
            "-x",
            "a",
            "-x",
            "b=1",
        ])
        .expect("parses");
        assert_eq!(
            method,
            Some(Install::Location(Location {
                path: "/t".into(),
                files: Some(("k".into(), "i".into())),
            }))
        );
        assert_eq!(options.cmdline.as_deref(), Some("a b=1"));

        let (method, options) = run(&[
            "--install",
            "kernel=/k,initrd=/i,kernel_args=quiet,kernel_args_overwrite=yes",
            "-x",
            "ignored",
        ])
        .expect("parses");
        assert!(matches!(method, Some(Install::Kernel(_))));
        assert_eq!(options.cmdline.as_deref(), Some("quiet"));
        assert!(options.overwrite);

        let (method, _) = run(&["--install", "no_install=yes"]).expect("parses");
        assert_eq!(method, Some(Install::Import));
        let (method, _) = run(&["--install", "bootdev=network"]).expect("parses");
        assert_eq!(method, Some(Install::Bootdev(BootDevice::Network)));
    }
}
