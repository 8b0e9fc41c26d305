//! The decisions of kernel installs and cloud-init seeds: which kernel and
//! initrd the install phase boots (copied into the state folder, since
//! QEMU reads them whenever it starts), its command line, the install ISO
//! to attach, and the seed CD of the first boot.

use std::path::{Path, PathBuf};

use super::decide::absolute;
use super::{Fetch, GuestDisk, PlanContext, PlanError, Seed};
use crate::spec::{GraphicsKind, GuestSpec, Install, KernelBoot, MediaSource};

/// What a kernel install adds to the guest.
#[derive(Debug, Default)]
pub(super) struct KernelPlan {
    /// `-kernel`, `-initrd`, `-append` of the install phase.
    pub boot: Option<KernelBoot>,
    /// What to copy before the install phase.
    pub fetch: Option<Fetch>,
    /// The `--location` ISO, attached as a CD-ROM for the install.
    pub cdrom: Option<PathBuf>,
}

/// The folder in the state folder that holds the fetched kernel and initrd.
const BOOT_FOLDER: &str = "boot";

pub(super) fn install_kernel(
    spec: &GuestSpec,
    state: &Path,
    ctx: &PlanContext,
    warnings: &mut Vec<String>,
) -> Result<KernelPlan, PlanError> {
    let (media, kernel, initrd) = match &spec.install {
        Install::Location(location) => {
            let location = crate::spec::Location {
                path: absolute(&location.path),
                files: location.files.clone(),
            };
            let located = ctx
                .probe
                .locate_kernel(&location)
                .map_err(PlanError::from)?;
            if matches!(located.source, MediaSource::Tree(_)) {
                warnings.push(
                    "Directory tree installs typically do not work unless extra kernel args are \
                     passed to point the installer at a network accessible install tree."
                        .into(),
                );
            }
            (
                Some(located.source),
                PathBuf::from(located.kernel),
                PathBuf::from(located.initrd),
            )
        }
        Install::Kernel(files) => {
            let (kernel, initrd) = (absolute(&files.kernel), absolute(&files.initrd));
            for path in [&kernel, &initrd] {
                if !ctx.probe.exists(path) {
                    return Err(PlanError::Invalid(format!(
                        "Couldn't acquire file {}: No such file or directory",
                        path.display()
                    )));
                }
            }
            (None, kernel, initrd)
        }
        _ => return Ok(KernelPlan::default()),
    };

    let mut inject = Vec::new();
    for file in &spec.kernel_options.inject {
        let file = absolute(file);
        if !ctx.probe.exists(&file) {
            return Err(PlanError::Invalid(format!(
                "--initrd-inject {}: No such file or directory",
                file.display()
            )));
        }
        inject.push(file);
    }

    let boot_folder = state.join(BOOT_FOLDER);
    let file_name = |path: &Path, fallback: &str| {
        path.file_name()
            .map_or_else(|| fallback.into(), |n| n.to_string_lossy().into_owned())
    };
    let boot = KernelBoot {
        kernel: boot_folder.join(file_name(&kernel, "vmlinuz")),
        initrd: Some(boot_folder.join(file_name(&initrd, "initrd"))),
        cmdline: cmdline(spec),
    };
    let cdrom = match &media {
        Some(MediaSource::Iso(iso)) => Some(iso.clone()),
        _ => None,
    };
    Ok(KernelPlan {
        boot: Some(boot),
        fetch: Some(Fetch {
            media,
            kernel,
            initrd,
            inject,
        }),
        cdrom,
    })
}

/// The install kernel's command line: what the user asked for, and
/// `console=ttyS0` when there is no display to install on, so the
/// installer talks to the serial console qvirt attaches.
fn cmdline(spec: &GuestSpec) -> Option<String> {
    let options = &spec.kernel_options;
    if options.overwrite {
        return options.cmdline.clone();
    }
    let mut words: Vec<String> = options.cmdline.iter().cloned().collect();
    let has_console = words
        .iter()
        .any(|line| line.split_whitespace().any(|w| w.starts_with("console=")));
    if spec.graphics.kind == GraphicsKind::None && !has_console {
        words.push("console=ttyS0".into());
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// The seed the first boot gets, with its files checked.
pub(super) fn seed(
    spec: &GuestSpec,
    state: &Path,
    ctx: &PlanContext,
) -> Result<Option<Seed>, PlanError> {
    let Some(config) = &spec.cloud_init else {
        return Ok(None);
    };
    let mut config = config.clone();
    for path in config.files() {
        let path = absolute(path);
        if !ctx.probe.exists(&path) {
            return Err(PlanError::Invalid(format!(
                "Couldn't acquire file {}: No such file or directory",
                path.display()
            )));
        }
    }
    absolute_files(&mut config);
    Ok(Some(Seed {
        iso: state.join("cidata.iso"),
        config,
    }))
}

fn absolute_files(config: &mut crate::spec::CloudInit) {
    if let crate::spec::UserData::File(path) = &mut config.user_data {
        *path = absolute(path);
    }
    for path in [
        &mut config.meta_data,
        &mut config.network_config,
        &mut config.root_password_file,
        &mut config.root_ssh_key,
        &mut config.clouduser_ssh_key,
    ]
    .into_iter()
    .flatten()
    {
        *path = absolute(path);
    }
}

/// The seed's CD-ROM: read-only, there for the first boot only.
pub(super) fn seed_disk(seed: &Seed, q35: bool) -> GuestDisk {
    GuestDisk::install_cdrom(seed.iso.clone(), q35)
}
