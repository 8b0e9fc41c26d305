//! The typed guest specification: what the user asked for, validated.
//!
//! [`GuestSpec::from_args`] is a pure function from the raw command line
//! (after the compat rewrites of [`crate::cli`]) to a [`GuestSpec`]. It
//! reads no files and starts nothing: checks that need the machine (does
//! the ISO exist, is the name free) belong to [`crate::runtime`].
//!
//! Every option virt-install accepts is either turned into a field here or
//! refused with `--X is not supported yet`; none is ignored.

mod boot;
mod chardev;
mod checks;
mod cloudinit;
mod disk;
mod graphics;
mod location;
mod machine;
mod network;
mod os;

pub use boot::{Boot, BootDevice, Install, KernelBoot};
pub use chardev::{CharBackend, CharDevice, CharTarget};
pub use checks::Checks;
pub use cloudinit::{CloudInit, UserData};
pub use disk::{Cache, Disk, DiskBus, DiskDevice, DiskIo, NewImage};
pub use graphics::{Graphics, GraphicsKind, Input, InputBus, InputKind, Listen, VideoModel};
pub use location::{KernelFiles, KernelOptions, Location, MediaSource};
pub use machine::{Cpu, CpuMode, Memory, Vcpus, VirtType};
pub use network::{Nic, NicBackend, PortForward, Proto};
pub use os::detect_tree;

use crate::cli::InstallArgs;
use crate::osinfo::{OsDb, OsInfo};
use crate::paths::Connection;
use crate::subopt::{self, SubOptError, SubOpts};

/// A whole guest, as the user described it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GuestSpec {
    /// `--name`; `None` lets the runtime pick one as virt-install does.
    pub name: Option<String>,
    /// The connection, which decides where files live.
    pub connection: Connection,
    /// The guest OS, from `--osinfo`.
    pub os: OsInfo,
    /// `--memory`.
    pub memory: Memory,
    /// `--vcpus`.
    pub vcpus: Vcpus,
    /// `--cpu`.
    pub cpu: Cpu,
    /// `--machine`; `None` is q35.
    pub machine: Option<String>,
    /// `--virt-type`; `None` is KVM when it works, else TCG.
    pub virt_type: Option<VirtType>,
    /// How the OS gets onto the guest.
    pub install: Install,
    /// The kernel command line and initrd injections of a kernel install.
    #[serde(default)]
    pub kernel_options: KernelOptions,
    /// `--cloud-init`: a NoCloud seed for the first boot.
    #[serde(default)]
    pub cloud_init: Option<CloudInit>,
    /// `--boot`: the guest's permanent boot settings.
    pub boot: Boot,
    /// `--disk`, in order.
    pub disks: Vec<Disk>,
    /// `--network`, in order; `None` means virt-install's default NIC.
    pub networks: Option<Vec<Nic>>,
    /// `--graphics`.
    pub graphics: Graphics,
    /// `--video`; `None` picks a model for the OS and graphics.
    pub video: Option<VideoModel>,
    /// `--input`; `None` gives the USB tablet virt-install adds.
    pub inputs: Option<Vec<Input>>,
    /// `--serial` and `--console`; `None` means one console on the
    /// guest's first serial port.
    pub chardevs: Option<Vec<CharDevice>>,
    /// `--memballoon`: whether the guest gets a virtio balloon; `None`
    /// leaves it to the OS.
    pub balloon: Option<bool>,
    /// `--rng`: the host source of a virtio RNG; `None` follows the OS.
    pub rng: Option<Rng>,
    /// `--tpm`: `None` follows the OS (Windows 11 gets one).
    pub tpm: Option<bool>,
    /// `--qemu-commandline` arguments, appended verbatim.
    pub qemu_args: Vec<String>,
    /// `--qemu-commandline env=NAME=VALUE`: QEMU's environment.
    pub qemu_env: Vec<(String, String)>,
    /// `--check`: which optional checks are on.
    #[serde(default)]
    pub checks: Checks,
    /// What qvirt-install does once the guest is defined.
    pub run: RunOptions,
}

/// `--rng`: where a virtio RNG takes its entropy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rng {
    /// No RNG device (`--rng none`).
    None,
    /// A host device such as `/dev/urandom`.
    Random(String),
    /// QEMU's own source (`--rng builtin`).
    Builtin,
}

/// `--autoconsole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AutoConsole {
    /// Decide from the graphics, as virt-install does.
    Default,
    /// Attach this terminal to the serial console.
    Text,
    /// Start a VNC or SPICE viewer.
    Graphical,
    /// Attach nothing (`--noautoconsole`).
    None,
}

/// What qvirt-install does after the guest is defined.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunOptions {
    /// `--autoconsole` / `--noautoconsole`.
    pub autoconsole: AutoConsole,
    /// `--wait`: minutes; negative waits until the install ends.
    pub wait: Option<i64>,
    /// `--noreboot`.
    pub noreboot: bool,
    /// `--transient`.
    pub transient: bool,
    /// `--destroy-on-exit`.
    pub destroy_on_exit: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--print-qemu`, or `--print-xml` with the step it asked for.
    pub print: Option<PrintStep>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--debug`.
    pub debug: bool,
}

/// Which commands `--print-qemu` / `--print-xml STEP` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PrintStep {
    /// Every command: `qemu-img`, then the install and final QEMU.
    All,
    /// The install phase's QEMU (or the only one).
    Install,
    /// The final QEMU.
    Final,
}

/// Why a command line does not make a guest.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A sub-option string was malformed.
    #[error(transparent)]
    SubOpt(#[from] SubOptError),
    /// Options that virt-install has and qvirt does not have yet.
    #[error("{} {} not supported yet", .options.join(", "), if .options.len() == 1 { "is" } else { "are" })]
    Unsupported {
        /// The options as the user spells them, e.g. `--hostdev`.
        options: Vec<String>,
    },
    /// A value virt-install refuses, in its words: `Error: --OPT RAW: why`.
    #[error("Error: --{option} {raw}: {reason}")]
    Value {
        /// The option without dashes.
        option: &'static str,
        /// The value as the user wrote it.
        raw: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Anything else, in virt-install's words where it has them.
    #[error("{0}")]
    Invalid(String),
}

/// Things a spec conversion reads from the environment, passed in so the
/// conversion stays pure.
#[derive(Debug, Clone, Default)]
pub struct SpecEnv {
    /// `LIBVIRT_DEFAULT_URI`.
    pub default_uri: Option<String>,
    /// Whether the user is root.
    pub is_root: bool,
    /// `VIRTINSTALL_OSINFO_DISABLE_REQUIRE` is set.
    pub osinfo_require_disabled: bool,
}

impl SpecEnv {
    /// Reads this process's environment.
    pub fn from_process() -> SpecEnv {
        SpecEnv {
            default_uri: std::env::var("LIBVIRT_DEFAULT_URI").ok(),
            is_root: rustix::process::geteuid().is_root(),
            osinfo_require_disabled: std::env::var_os("VIRTINSTALL_OSINFO_DISABLE_REQUIRE")
                .is_some_and(|v| !v.is_empty()),
        }
    }
}

/// A spec together with the warnings its conversion gave.
#[derive(Debug)]
pub struct Resolved {
    /// The guest.
    pub spec: GuestSpec,
    /// Warnings to show the user, in virt-install's words.
    pub warnings: Vec<String>,
}

impl GuestSpec {
    /// Validates and types the command line. `args` has been through the
    /// compat rewrites already.
    pub fn from_args(args: &InstallArgs, env: &SpecEnv, db: &OsDb) -> Result<Resolved, SpecError> {
        refuse_unsupported(args)?;
        let mut warnings = Vec::new();

        let connection = connection(args.general.connect.as_deref(), env)?;
        let name = args
            .general
            .name
            .as_deref()
            .map(validate_name)
            .transpose()?;
        // The platform comes before the OS, as virt-install looks up the
        // host's capabilities before it looks for an OS name.
        let virt_type = args
            .virt
            .virt_type
            .as_deref()
            .map(VirtType::parse)
            .transpose()?;
        machine::check_arch(args.virt.arch.as_deref())?;
        let machine = args.virt.machine.clone().filter(|m| !m.is_empty());
        machine::check_machine(machine.as_deref())?;
        let others = boot::install_from_args(args)?;
        let (install, kernel_options) = location::kernel_install(args, others, &mut warnings)?;
        let cloud_init = cloudinit::from_args(args.install.cloud_init.as_deref(), &mut warnings)?;
        let boot = boot::Boot::from_args(&args.install.boot)?;
        // `--print-xml` alone is an install method too: virt-install
        // treats it as an import, since nothing is to be installed.
        let xml_only = args.misc.print_xml.is_some().then_some(Install::Import);
        // `--cloud-init` alone is an install method: the import of a cloud
        // image, with a first boot that reads the seed.
        let cloud_only = cloud_init.as_ref().map(|_| Install::Import);
        let install = install
            .or(cloud_only)
            .or(xml_only)
            .or_else(|| boot.implied_install())
            .unwrap_or(Install::None);
        let os = os::select(args.os.osinfo.as_deref(), &install, env, db, &mut warnings)?;

        let mut memory = Memory::from_args(&args.general.memory)?;
        let cpu = Cpu::from_args(&args.general.cpu, &mut warnings)?;
        let mut vcpus = Vcpus::from_args(&args.general.vcpus)?;

        let mut disks = disk::disks_from_args(&args.devices.disk)?;
        let defaults = os::defaults(
            &os,
            memory.memory_mib.is_some(),
            !args.general.vcpus.is_empty(),
            disks.is_some(),
            &mut warnings,
        );
        if let Some(mib) = defaults.memory_mib {
            memory = Memory::from_args(&[mib.to_string()])?;
        }
        if let Some(count) = defaults.vcpus {
            vcpus = Vcpus::from_args(&[count.to_string()])?;
        }
        if let Some(gib) = defaults.disk_gib {
            disks = disk::disks_from_args(&[format!("size={gib}")])?;
        }
        let networks = network::nics_from_args(&args.devices.network)?;
        let graphics = Graphics::from_args(&args.devices.graphics)?;
        let video = graphics::video_from_args(&args.devices.video)?;
        let inputs = graphics::inputs_from_args(&args.devices.input)?;
        let chardevs = chardev::chardevs_from_args(&args.devices.serial, &args.devices.console)?;
        let balloon = balloon_from_args(&args.devices.memballoon)?;
        let rng = rng_from_args(&args.devices.rng)?;
        let tpm = tpm_from_args(&args.devices.tpm)?;
        let (qemu_args, qemu_env) = qemu_commandline(&args.guest.qemu_commandline)?;
        let checks = Checks::from_args(&args.misc.check)?;
        let run = RunOptions::from_args(args)?;

        check_requirements(&memory, disks.is_some(), &install, &boot)?;
        let disks = disks.unwrap_or_default();
        let spec = GuestSpec {
            name,
            connection,
            os,
            memory,
            vcpus,
            cpu,
            machine,
            virt_type,
            install,
            kernel_options,
            cloud_init,
            boot,
            disks,
            networks,
            graphics,
            video,
            inputs,
            chardevs,
            balloon,
            rng,
            tpm,
            qemu_args,
            qemu_env,
            checks,
            run,
        };
        Ok(Resolved { spec, warnings })
    }

    /// True when the install needs a second, final configuration: the
    /// install media boot first, and the guest restarts from its disk.
    pub fn is_two_phase(&self) -> bool {
        self.install.is_two_phase() || self.cloud_init.is_some()
    }
}

/// Parses every occurrence of an option, in order.
pub(crate) fn parse_all(
    option: &'static str,
    values: &[String],
) -> Result<Vec<SubOpts>, SpecError> {
    values
        .iter()
        .map(|raw| subopt::parse(option, raw).map_err(SpecError::from))
        .collect()
}

/// Options that take sub-options and that qvirt handles; every other one
/// is refused when given (its `none` is a no-op in virt-install, so that
/// is accepted).
const SUPPORTED_SUBOPTIONS: &[&str] = &[
    "memory",
    "vcpus",
    "cpu",
    "boot",
    "osinfo",
    "disk",
    "network",
    "graphics",
    "serial",
    "console",
    "video",
    "input",
    "memballoon",
    "rng",
    "tpm",
    "qemu-commandline",
    "check",
    "location",
    "install",
    "cloud-init",
];

/// Refuses, all at once, the options qvirt does not have yet.
fn refuse_unsupported(args: &InstallArgs) -> Result<(), SpecError> {
    let mut options: Vec<String> = args
        .suboption_values()
        .into_iter()
        .filter(|(name, _)| !SUPPORTED_SUBOPTIONS.contains(name))
        .filter(|(_, values)| values.iter().any(|v| *v != "none"))
        .map(|(name, _)| format!("--{name}"))
        .collect();
    let (install, misc, virt) = (&args.install, &args.misc, &args.virt);
    let others = [
        ("--reinstall", install.reinstall.is_some()),
        ("--livecd", install.livecd),
        (
            "--test-media-detection",
            install.test_media_detection.is_some(),
        ),
        ("--test-stub-command", install.test_stub_command),
        ("--paravirt", virt.paravirt),
        ("--container", virt.container),
        ("--autostart", misc.autostart),
    ];
    options.extend(
        others
            .iter()
            .filter(|(_, given)| *given)
            .map(|(name, _)| name.to_string()),
    );

    if options.is_empty() {
        return Ok(());
    }
    Err(SpecError::Unsupported { options })
}

fn connection(uri: Option<&str>, env: &SpecEnv) -> Result<Connection, SpecError> {
    let unsupported = |uri: &str| SpecError::Unsupported {
        options: vec![format!("--connect {uri}")],
    };
    match uri {
        Some(uri) => Connection::from_uri(uri).ok_or_else(|| unsupported(uri)),
        None => Connection::default_for(env.default_uri.as_deref(), env.is_root).ok_or_else(|| {
            SpecError::Unsupported {
                options: vec![format!(
                    "LIBVIRT_DEFAULT_URI={}",
                    env.default_uri.as_deref().unwrap_or_default()
                )],
            }
        }),
    }
}

fn validate_name(name: &str) -> Result<String, SpecError> {
    if name.is_empty() {
        return Err(SpecError::Invalid("--name must not be empty".into()));
    }
    if !crate::paths::is_valid_name(name) {
        return Err(SpecError::Invalid(format!(
            "Guest name '{name}' is not valid"
        )));
    }
    Ok(name.to_string())
}

fn balloon_from_args(values: &[String]) -> Result<Option<bool>, SpecError> {
    let mut balloon = None;
    for mut opts in parse_all("memballoon", values)? {
        if opts.is_none() {
            balloon = Some(false);
            continue;
        }
        match opts.take("model").as_deref() {
            None | Some("default") => balloon = None,
            Some("virtio") => balloon = Some(true),
            Some("none") => balloon = Some(false),
            Some(model) => {
                return Err(SpecError::Unsupported {
                    options: vec![format!("--memballoon model={model}")],
                });
            }
        }
        opts.finish()?;
    }
    Ok(balloon)
}

fn rng_from_args(values: &[String]) -> Result<Option<Rng>, SpecError> {
    let mut rng = None;
    for mut opts in parse_all("rng", values)? {
        if opts.is_none() {
            rng = Some(Rng::None);
            continue;
        }
        let model = opts.take("backend.model");
        let device = opts.take("backend");
        if let Some(model) = opts.take("model").filter(|m| m != "virtio") {
            return Err(SpecError::Unsupported {
                options: vec![format!("--rng model={model}")],
            });
        }
        rng = Some(match (model.as_deref(), device) {
            (Some(dev), None) if dev.starts_with('/') => Rng::Random(dev.to_string()),
            (Some("random") | Some("default") | None, Some(dev)) => Rng::Random(dev),
            (Some("random") | Some("default"), None) => Rng::Random("/dev/urandom".into()),
            (Some("builtin"), None) => Rng::Builtin,
            (Some(other), _) => {
                return Err(SpecError::Unsupported {
                    options: vec![format!("--rng {other}")],
                });
            }
            (None, None) => Rng::Random("/dev/urandom".into()),
        });
        opts.finish()?;
    }
    Ok(rng)
}

/// `--tpm`: an emulated TPM 2.0 (`emulator`, `default`) or none; a host
/// TPM passed through is not supported yet.
fn tpm_from_args(values: &[String]) -> Result<Option<bool>, SpecError> {
    let mut tpm = None;
    for mut opts in parse_all("tpm", values)? {
        if opts.is_none() {
            tpm = Some(false);
            continue;
        }
        let backend = opts.take("backend.type");
        match backend.as_deref() {
            None | Some("emulator") | Some("default") => tpm = Some(true),
            Some(other) => {
                return Err(SpecError::Unsupported {
                    options: vec![format!("--tpm {other}")],
                });
            }
        }
        if let Some(model) = opts.take("model").filter(|m| m != "tpm-crb") {
            return Err(SpecError::Unsupported {
                options: vec![format!("--tpm model={model}")],
            });
        }
        if let Some(version) = opts.take("backend.version").filter(|v| v != "2.0") {
            return Err(SpecError::Unsupported {
                options: vec![format!("--tpm backend.version={version}")],
            });
        }
        opts.finish()?;
    }
    Ok(tpm)
}

/// `--qemu-commandline`: the arguments, and the environment variables.
type QemuCommandline = (Vec<String>, Vec<(String, String)>);

fn qemu_commandline(values: &[String]) -> Result<QemuCommandline, SpecError> {
    let mut args = Vec::new();
    let mut env = Vec::new();
    for mut opts in parse_all("qemu-commandline", values)? {
        if opts.is_none() {
            continue;
        }
        if let Some(text) = opts.take("args") {
            let words = shell_words::split(&text).map_err(|e| SpecError::Value {
                option: "qemu-commandline",
                raw: opts.raw().to_string(),
                reason: e.to_string(),
            })?;
            args.extend(words);
        }
        if let Some(pair) = opts.take("env") {
            let (key, value) = pair.split_once('=').ok_or_else(|| SpecError::Value {
                option: "qemu-commandline",
                raw: opts.raw().to_string(),
                reason: "env must be in the form NAME=VALUE".into(),
            })?;
            env.push((key.to_string(), value.to_string()));
        }
        let _ = opts.take_bool("clearxml")?;
        opts.finish()?;
    }
    Ok((args, env))
}

/// virt-install's aggregated check: memory, storage and an install method
/// are required, and every missing one is reported at once.
fn check_requirements(
    memory: &Memory,
    storage_given: bool,
    install: &Install,
    boot: &Boot,
) -> Result<(), SpecError> {
    let mut missing = Vec::new();
    if memory.memory_mib.is_none() {
        missing.push("--memory amount in MiB is required");
    }
    if !storage_given {
        missing.push("--disk storage must be specified (override with --disk none)");
    }
    if matches!(install, Install::None) && boot.kernel.is_none() {
        missing.push(
            "An install method must be specified\n\
             (--location URL, --cdrom CD/ISO, --pxe, --import, --boot hd|cdrom|...)",
        );
    }
    if missing.is_empty() {
        return Ok(());
    }
    let text = format!("\n{}", missing.join("\n"));
    Err(SpecError::Invalid(text))
}

impl RunOptions {
    fn from_args(args: &InstallArgs) -> Result<RunOptions, SpecError> {
        let autoconsole = if args.misc.noautoconsole {
            AutoConsole::None
        } else {
            match args.misc.autoconsole.as_deref() {
                None | Some("default") => AutoConsole::Default,
                Some("text") => AutoConsole::Text,
                Some("graphical") => AutoConsole::Graphical,
                Some("none") => AutoConsole::None,
                Some(other) => {
                    return Err(SpecError::Invalid(format!(
                        "Unknown autoconsole type '{other}'"
                    )));
                }
            }
        };
        let print = match (args.misc.print_qemu, args.misc.print_xml.as_deref()) {
            (true, _) => Some(PrintStep::All),
            (false, None) => None,
            (false, Some("all") | Some("")) => Some(PrintStep::All),
            (false, Some("1")) => Some(PrintStep::Install),
            (false, Some("2")) => Some(PrintStep::Final),
            (false, Some(other)) => {
                return Err(SpecError::Invalid(format!(
                    "Unknown XML step request '{other}', must be 1, 2, or all"
                )));
            }
        };
        Ok(RunOptions {
            autoconsole,
            wait: args.misc.wait,
            noreboot: args.misc.noreboot,
            transient: args.misc.transient,
            destroy_on_exit: args.misc.destroy_on_exit,
            dry_run: args.misc.dry_run,
            quiet: args.misc.quiet || args.misc.print_xml.is_some(),
            print,
            debug: args.misc.debug,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(line: &[&str]) -> Result<Resolved, SpecError> {
        let argv = std::iter::once("qvirt-install").chain(line.iter().copied());
        let mut args = InstallArgs::try_parse_from(argv).expect("clap parses");
        crate::cli::compat::apply(&mut args).expect("no old spellings mixed");
        let builtin = OsDb::load_from(&[], None);
        GuestSpec::from_args(&args, &SpecEnv::default(), &builtin)
    }

    #[test]
    fn print_xml_is_an_import() {
        let line = ["--memory", "64", "--disk", "none", "--osinfo", "generic"];
        assert!(resolve(&line).is_err(), "no install method");
        let mut with_xml = line.to_vec();
        with_xml.push("--print-xml");
        let spec = resolve(&with_xml).expect("an import").spec;
        assert_eq!(spec.install, Install::Import);
    }

    #[test]
    fn missing_requirements_and_os_defaults() {
        let error = resolve(&["--osinfo", "generic", "--pxe"])
            .expect_err("refused")
            .to_string();
        assert!(
            error.ends_with(
                "\n--memory amount in MiB is required\n--disk storage must be specified \
                 (override with --disk none)"
            ),
            "{error}"
        );

        // An OS with defaults fills in memory, vCPUs and a disk, and says so.
        let resolved = resolve(&["--osinfo", "linux2022", "--pxe"]).expect("defaults");
        assert_eq!(resolved.spec.memory.memory_mib, Some(2048));
        assert_eq!(resolved.spec.disks.len(), 1);
        for want in [
            "Using linux2022 default --memory 2048",
            "Using linux2022 default --disk size=20",
        ] {
            assert!(
                resolved.warnings.iter().any(|w| w == want),
                "{:?}",
                resolved.warnings
            );
        }

        let error = resolve(&["--cdrom", "x.iso", "--memory", "64", "--disk", "none"])
            .expect_err("no OS")
            .to_string();
        assert!(error.contains("--osinfo detect=on,name=OSNAME"), "{error}");
    }

    #[test]
    fn checks_are_read() {
        let line = [
            "--osinfo", "generic", "--pxe", "--memory", "64", "--disk", "none",
        ];
        let mut with_check = line.to_vec();
        with_check.extend(["--check", "disk_size=off"]);
        let spec = resolve(&with_check).expect("parses").spec;
        assert!(!spec.checks.disk_size && spec.checks.path_in_use);
        let mut forced = line.to_vec();
        forced.push("--force");
        let spec = resolve(&forced).expect("parses").spec;
        assert!(!spec.checks.disk_size && !spec.checks.path_in_use);
    }
}
