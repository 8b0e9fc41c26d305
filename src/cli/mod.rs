//! What the user typed: qvirt-install's and qvirt's clap definitions.
//!
//! qvirt-install takes virt-install's whole option set, one struct per
//! heading of virt-install's `--help`. Every option is here, the hidden
//! old spellings too; [`compat`] rewrites those into the current ones, and
//! [`abbrev`] expands unique prefixes of long options as Python's argparse
//! does. These types hold strings as typed: [`crate::spec`] gives them
//! meaning.

pub mod abbrev;
pub mod compat;
pub mod qvirt;

use clap::{ArgAction, Args, CommandFactory as _, Parser, ValueHint};

/// The options whose value names a file of this machine. Every other value
/// is a word or a sub-option list, which a shell should not complete as a
/// file name.
const FILE_OPTIONS: &[&str] = &["cdrom", "cdrom_short", "location", "disk", "initrd_inject"];

/// qvirt-install's command with what each value is, for the shell
/// completions and the man page.
pub fn install_command() -> clap::Command {
    InstallArgs::command().mut_args(|arg| {
        if !arg.get_action().takes_values() {
            return arg;
        }
        let hint = match FILE_OPTIONS.contains(&arg.get_id().as_str()) {
            true => ValueHint::FilePath,
            false => ValueHint::Other,
        };
        arg.value_hint(hint)
    })
}

/// `qvirt-install`: create a virtual machine as virt-install does, with no
/// libvirt behind it.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "qvirt-install",
    version,
    about = "Create a virtual machine with QEMU, as virt-install does, without libvirt",
    long_about = "Create a virtual machine with QEMU, as virt-install does, without libvirt.\n\n\
        qvirt-install accepts virt-install's options and sub-options, works out the \
        qemu-img and qemu-system-x86_64 commands itself, runs QEMU as a supervised \
        process and drives it over QMP. The guests it makes are managed with `qvirt`.",
    after_help = "Use '--option=?' or '--option help' to see the sub-options of an option.\n\
        See the qvirt-install(1) man page for examples.",
    disable_version_flag = true,
    args_override_self = true,
    max_term_width = 100
)]
pub struct InstallArgs {
    /// General options.
    #[command(flatten)]
    pub general: GeneralArgs,
    /// Installation method options.
    #[command(flatten)]
    pub install: InstallMethodArgs,
    /// OS options.
    #[command(flatten)]
    pub os: OsArgs,
    /// Device options.
    #[command(flatten)]
    pub devices: DeviceArgs,
    /// Guest configuration options.
    #[command(flatten)]
    pub guest: GuestConfigArgs,
    /// Virtualization platform options.
    #[command(flatten)]
    pub virt: VirtArgs,
    /// Miscellaneous options.
    #[command(flatten)]
    pub misc: MiscArgs,
    /// Positional arguments, which virt-install refuses; kept so the
    /// error can name them as it does.
    #[arg(hide = true, num_args = 0..)]
    pub positional: Vec<String>,
}

/// virt-install's "General Options".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "General Options")]
pub struct GeneralArgs {
    /// Hypervisor connection: qemu:///system or qemu:///session
    #[arg(long, value_name = "URI")]
    pub connect: Option<String>,
    /// Name of the guest instance
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    /// Guest memory in MiB: --memory 1024 (or memory=,currentMemory=,maxmemory=)
    #[arg(long, value_name = "MEMORY")]
    pub memory: Vec<String>,
    /// Old spelling of --memory, in MiB
    #[arg(short = 'r', long, hide = true, value_name = "MiB")]
    pub ram: Option<i64>,
    /// Number of vCPUs and topology: --vcpus 4,maxvcpus=8,sockets=1,cores=4,threads=1
    #[arg(long, value_name = "VCPUS")]
    pub vcpus: Vec<String>,
    /// CPU model and features: --cpu host-passthrough, --cpu Skylake-Server,+vmx
    #[arg(long, value_name = "CPU")]
    pub cpu: Vec<String>,
    /// Guest metadata: --metadata title=...,description=...
    #[arg(long, value_name = "METADATA")]
    pub metadata: Vec<String>,
    /// Old spelling of --metadata uuid=
    #[arg(short = 'u', long, hide = true, value_name = "UUID")]
    pub uuid: Option<String>,
    /// Old spelling of --metadata description=
    #[arg(long, hide = true, value_name = "DESCRIPTION")]
    pub description: Option<String>,
    /// Raw XPath edits of libvirt's domain XML
    #[arg(long, value_name = "XML")]
    pub xml: Vec<String>,
}

/// virt-install's "Installation Method Options".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Installation Method Options")]
pub struct InstallMethodArgs {
    /// CD-ROM installation media
    #[arg(long, value_name = "CDROM")]
    pub cdrom: Option<String>,
    /// Old short spelling of --cdrom
    #[arg(short = 'c', hide = true, value_name = "CDROM")]
    pub cdrom_short: Option<String>,
    /// Distro install tree or ISO: --location ISO,kernel=...,initrd=...
    #[arg(short = 'l', long, value_name = "LOCATION")]
    pub location: Option<String>,
    /// Boot from the network using the PXE protocol
    #[arg(long)]
    pub pxe: bool,
    /// Build the guest around an existing disk image
    #[arg(long)]
    pub import: bool,
    /// Boot from the CD-ROM without an install phase
    #[arg(long, hide = true)]
    pub livecd: bool,
    /// Extra arguments for the kernel booted by --location
    #[arg(
        short = 'x',
        long,
        value_name = "EXTRA_ARGS",
        allow_hyphen_values = true
    )]
    pub extra_args: Vec<String>,
    /// Add the given file to the root of the initrd from --location
    #[arg(long, value_name = "PATH")]
    pub initrd_inject: Vec<String>,
    /// Unattended installation with an OS install script
    #[arg(long, value_name = "OPTIONS", num_args = 0..=1, default_missing_value = "")]
    pub unattended: Option<String>,
    /// Fine-grained install options: --install kernel=,initrd=,kernel_args=
    #[arg(long, value_name = "INSTALL")]
    pub install: Option<String>,
    /// Reinstall an existing guest
    #[arg(long, value_name = "DOMAIN")]
    pub reinstall: Option<String>,
    /// A NoCloud seed for cloud images: --cloud-init user-data=FILE
    #[arg(long, value_name = "OPTIONS", num_args = 0..=1, default_missing_value = "")]
    pub cloud_init: Option<String>,
    /// Boot settings after the install: --boot hd,cdrom,menu=on or --boot uefi
    #[arg(long, value_name = "BOOTOPTS")]
    pub boot: Vec<String>,
    /// User namespace mapping for containers
    #[arg(long, value_name = "IDMAP")]
    pub idmap: Vec<String>,
    /// Old spelling of --boot init= for containers
    #[arg(long, hide = true, value_name = "INIT")]
    pub init: Option<String>,
    /// Print the OS detected from install media and exit
    #[arg(long, hide = true, value_name = "MEDIA")]
    pub test_media_detection: Option<String>,
    /// virt-install's developer shortcut
    #[arg(long, hide = true)]
    pub test_stub_command: bool,
}

/// virt-install's "OS options".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "OS options")]
pub struct OsArgs {
    /// The OS installed in the guest (also --os-variant): --osinfo debian12, --osinfo list
    #[arg(long, visible_alias = "os-variant", value_name = "OSNAME")]
    pub osinfo: Option<String>,
    /// Deprecated; does nothing
    #[arg(long, hide = true, value_name = "OS_TYPE")]
    pub os_type: Option<String>,
}

/// virt-install's "Device Options".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Device Options")]
pub struct DeviceArgs {
    /// Storage: --disk size=20, --disk path=a.qcow2,bus=virtio,cache=none
    #[arg(long, value_name = "DISK")]
    pub disk: Vec<String>,
    /// A NIC: --network bridge=br0, --network user, --network none
    #[arg(short = 'w', long, value_name = "NETWORK")]
    pub network: Vec<String>,
    /// The display: --graphics vnc,listen=0.0.0.0 or --graphics none
    #[arg(long, value_name = "GRAPHICS")]
    pub graphics: Vec<String>,
    /// A controller: --controller type=usb,model=qemu-xhci
    #[arg(long, value_name = "CONTROLLER")]
    pub controller: Vec<String>,
    /// An input device: --input tablet
    #[arg(long, value_name = "INPUT")]
    pub input: Vec<String>,
    /// A serial port: --serial pty, --serial file,path=/tmp/serial.log
    #[arg(long, value_name = "SERIAL")]
    pub serial: Vec<String>,
    /// A parallel port
    #[arg(long, value_name = "PARALLEL")]
    pub parallel: Vec<String>,
    /// A communication channel
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Vec<String>,
    /// A text console: --console pty,target.type=virtio
    #[arg(long, value_name = "CONSOLE")]
    pub console: Vec<String>,
    /// A host device to pass through
    #[arg(long, alias = "host-device", value_name = "HOSTDEV")]
    pub hostdev: Vec<String>,
    /// A host folder shared with the guest
    #[arg(long, value_name = "FILESYSTEM")]
    pub filesystem: Vec<String>,
    /// A sound device
    #[arg(
        long,
        alias = "soundhw",
        value_name = "SOUND",
        num_args = 0..=1,
        default_missing_value = "default"
    )]
    pub sound: Vec<String>,
    /// The host audio backend
    #[arg(long, value_name = "AUDIO")]
    pub audio: Vec<String>,
    /// A watchdog device
    #[arg(long, value_name = "WATCHDOG")]
    pub watchdog: Vec<String>,
    /// The video device: --video virtio, --video vga
    #[arg(long, value_name = "VIDEO")]
    pub video: Vec<String>,
    /// A smartcard device
    #[arg(long, value_name = "SMARTCARD")]
    pub smartcard: Vec<String>,
    /// USB redirection
    #[arg(long, value_name = "REDIRDEV")]
    pub redirdev: Vec<String>,
    /// The memory balloon: --memballoon virtio or none
    #[arg(long, value_name = "MEMBALLOON")]
    pub memballoon: Vec<String>,
    /// A TPM device
    #[arg(long, value_name = "TPM")]
    pub tpm: Vec<String>,
    /// The random number generator: --rng /dev/urandom or none
    #[arg(long, value_name = "RNG")]
    pub rng: Vec<String>,
    /// A panic notifier
    #[arg(long, value_name = "PANIC")]
    pub panic: Vec<String>,
    /// Shared memory
    #[arg(long, value_name = "SHMEM")]
    pub shmem: Vec<String>,
    /// Memory devices
    #[arg(long, value_name = "MEMDEV")]
    pub memdev: Vec<String>,
    /// A vsock device
    #[arg(long, value_name = "VSOCK")]
    pub vsock: Vec<String>,
    /// A virtual IOMMU
    #[arg(long, value_name = "IOMMU")]
    pub iommu: Vec<String>,
    /// An ACPI ERST pstore device
    #[arg(long, value_name = "PSTORE")]
    pub pstore: Vec<String>,
    /// Old spelling of --disk path=
    #[arg(short = 'f', long, hide = true, value_name = "PATH")]
    pub file: Vec<String>,
    /// Old spelling of --disk size=, in GiB
    #[arg(short = 's', long, hide = true, value_name = "GiB")]
    pub file_size: Vec<f64>,
    /// Old spelling of --disk sparse=no
    #[arg(long, hide = true)]
    pub nonsparse: bool,
    /// Old spelling of --disk none
    #[arg(long, hide = true)]
    pub nodisks: bool,
    /// Old spelling of --network bridge=
    #[arg(short = 'b', long, hide = true, value_name = "BRIDGE")]
    pub bridge: Vec<String>,
    /// Old spelling of --network mac=
    #[arg(short = 'm', long, hide = true, value_name = "MAC")]
    pub mac: Vec<String>,
    /// Old spelling of --network none
    #[arg(long, hide = true)]
    pub nonetworks: bool,
    /// Old spelling of --graphics vnc
    #[arg(long, hide = true)]
    pub vnc: bool,
    /// Old spelling of --graphics vnc,port=
    #[arg(long, hide = true, value_name = "PORT", allow_negative_numbers = true)]
    pub vncport: Option<i64>,
    /// Old spelling of --graphics vnc,listen=
    #[arg(long, hide = true, value_name = "ADDRESS")]
    pub vnclisten: Option<String>,
    /// Old spelling of --graphics keymap=
    #[arg(short = 'k', long, hide = true, value_name = "KEYMAP")]
    pub keymap: Option<String>,
    /// Old spelling of --graphics sdl
    #[arg(long, hide = true)]
    pub sdl: bool,
    /// Old spelling of --graphics none
    #[arg(long, hide = true)]
    pub nographics: bool,
}

/// virt-install's "Guest Configuration Options".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Guest Configuration Options")]
pub struct GuestConfigArgs {
    /// I/O threads
    #[arg(long, value_name = "IOTHREADS")]
    pub iothreads: Vec<String>,
    /// Security labels
    #[arg(long, alias = "security", value_name = "SECLABEL")]
    pub seclabel: Vec<String>,
    /// s390 key wrapping
    #[arg(long, value_name = "KEYWRAP")]
    pub keywrap: Vec<String>,
    /// vCPU pinning and scheduling
    #[arg(long, value_name = "CPUTUNE")]
    pub cputune: Vec<String>,
    /// Host NUMA memory policy
    #[arg(long, value_name = "NUMATUNE")]
    pub numatune: Vec<String>,
    /// Memory limits
    #[arg(long, value_name = "MEMTUNE")]
    pub memtune: Vec<String>,
    /// Block I/O weights
    #[arg(long, value_name = "BLKIOTUNE")]
    pub blkiotune: Vec<String>,
    /// Memory backing: hugepages, shared memory
    #[arg(long, value_name = "MEMORYBACKING")]
    pub memorybacking: Vec<String>,
    /// Machine features: --features acpi=off
    #[arg(long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// The guest clock: --clock offset=localtime
    #[arg(long, value_name = "CLOCK")]
    pub clock: Vec<String>,
    /// Power management
    #[arg(long, value_name = "PM")]
    pub pm: Vec<String>,
    /// What happens on poweroff, reboot and crash
    #[arg(long, value_name = "EVENTS")]
    pub events: Vec<String>,
    /// Resource partitioning
    #[arg(long, value_name = "RESOURCE")]
    pub resource: Vec<String>,
    /// SMBIOS strings
    #[arg(long, value_name = "SYSINFO")]
    pub sysinfo: Vec<String>,
    /// Extra QEMU arguments, passed through: --qemu-commandline='-device foo'
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub qemu_commandline: Vec<String>,
    /// Confidential guests: SEV, SEV-SNP, TDX
    #[arg(
        long = "launchSecurity",
        alias = "launchsecurity",
        value_name = "LAUNCHSECURITY"
    )]
    pub launch_security: Vec<String>,
    /// Old spelling of --features acpi=off
    #[arg(long, hide = true)]
    pub noacpi: bool,
    /// Old spelling of --features apic=off
    #[arg(long, hide = true)]
    pub noapic: bool,
}

/// virt-install's "Virtualization Platform Options".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Virtualization Platform Options")]
pub struct VirtArgs {
    /// Fully virtualized guest (the default)
    #[arg(short = 'v', long, conflicts_with_all = ["paravirt", "container"])]
    pub hvm: bool,
    /// Xen paravirtualized guest
    #[arg(short = 'p', long, conflicts_with = "container")]
    pub paravirt: bool,
    /// Container guest
    #[arg(long)]
    pub container: bool,
    /// Hypervisor: kvm (the default where /dev/kvm works) or qemu (TCG)
    #[arg(long, value_name = "HV_TYPE")]
    pub virt_type: Option<String>,
    /// Guest CPU architecture
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Machine type: q35 (the default) or pc
    #[arg(long, value_name = "MACHINE")]
    pub machine: Option<String>,
    /// Deprecated; KVM is the default
    #[arg(long, hide = true)]
    pub accelerate: bool,
}

/// virt-install's "Miscellaneous Options".
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Miscellaneous Options")]
pub struct MiscArgs {
    /// Start the guest when the host boots
    #[arg(long)]
    pub autostart: bool,
    /// Do not keep the guest's definition once it is off
    #[arg(long)]
    pub transient: bool,
    /// Stop the guest when its console is left
    #[arg(long)]
    pub destroy_on_exit: bool,
    /// Minutes to wait for the install to finish (bare or negative: until it ends)
    #[arg(
        long,
        value_name = "WAIT",
        num_args = 0..=1,
        default_missing_value = "-1",
        allow_negative_numbers = true
    )]
    pub wait: Option<i64>,
    /// Do not attach to the guest's console
    #[arg(long)]
    pub noautoconsole: bool,
    /// Which console to attach: text, graphical, none or default
    #[arg(long, value_name = "TYPE")]
    pub autoconsole: Option<String>,
    /// Do not boot the guest after the install
    #[arg(long)]
    pub noreboot: bool,
    /// Print the QEMU command of the install step (1), the final step (2) or all
    #[arg(long, value_name = "STEP", num_args = 0..=1, default_missing_value = "all")]
    pub print_xml: Option<String>,
    /// Old spelling of --print-xml STEP
    #[arg(long, hide = true, value_name = "STEP")]
    pub print_step: Option<String>,
    /// Print the qemu-img and QEMU commands that would run, and exit
    #[arg(long)]
    pub print_qemu: bool,
    /// Check everything, create nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Turn checks off: --check path_in_use=off
    #[arg(long, value_name = "CHECK")]
    pub check: Vec<String>,
    /// Old spelling of --check all=off
    #[arg(long, hide = true)]
    pub force: bool,
    /// No longer supported; warns
    #[arg(long, hide = true)]
    pub prompt: bool,
    /// Deprecated; does nothing
    #[arg(long, hide = true)]
    pub check_cpu: bool,
    /// Old spelling of --vcpus cpuset=
    #[arg(long, hide = true, value_name = "CPUSET")]
    pub cpuset: Option<String>,
    /// Print only errors
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print debugging information, and every command run
    #[arg(short = 'd', long)]
    pub debug: bool,
    /// Print the version and exit
    #[arg(long, action = ArgAction::Version)]
    pub version: Option<bool>,
}

impl InstallArgs {
    /// Every option that takes sub-options, by long name, with its values,
    /// for `--OPTION=?` and for refusing what is not supported.
    pub fn suboption_values(&self) -> Vec<(&'static str, Vec<&str>)> {
        fn many(values: &[String]) -> Vec<&str> {
            values.iter().map(String::as_str).collect()
        }
        fn one(value: &Option<String>) -> Vec<&str> {
            value.as_deref().into_iter().collect()
        }
        let (g, i, d, c, m) = (
            &self.general,
            &self.install,
            &self.devices,
            &self.guest,
            &self.misc,
        );
        vec![
            ("memory", many(&g.memory)),
            ("vcpus", many(&g.vcpus)),
            ("cpu", many(&g.cpu)),
            ("metadata", many(&g.metadata)),
            ("xml", many(&g.xml)),
            ("location", one(&i.location)),
            ("unattended", one(&i.unattended)),
            ("install", one(&i.install)),
            ("cloud-init", one(&i.cloud_init)),
            ("boot", many(&i.boot)),
            ("idmap", many(&i.idmap)),
            ("osinfo", one(&self.os.osinfo)),
            ("disk", many(&d.disk)),
            ("network", many(&d.network)),
            ("graphics", many(&d.graphics)),
            ("controller", many(&d.controller)),
            ("input", many(&d.input)),
            ("serial", many(&d.serial)),
            ("parallel", many(&d.parallel)),
            ("channel", many(&d.channel)),
            ("console", many(&d.console)),
            ("hostdev", many(&d.hostdev)),
            ("filesystem", many(&d.filesystem)),
            ("sound", many(&d.sound)),
            ("audio", many(&d.audio)),
            ("watchdog", many(&d.watchdog)),
            ("video", many(&d.video)),
            ("smartcard", many(&d.smartcard)),
            ("redirdev", many(&d.redirdev)),
            ("memballoon", many(&d.memballoon)),
            ("tpm", many(&d.tpm)),
            ("rng", many(&d.rng)),
            ("panic", many(&d.panic)),
            ("shmem", many(&d.shmem)),
            ("memdev", many(&d.memdev)),
            ("vsock", many(&d.vsock)),
            ("iommu", many(&d.iommu)),
            ("pstore", many(&d.pstore)),
            ("iothreads", many(&c.iothreads)),
            ("seclabel", many(&c.seclabel)),
            ("keywrap", many(&c.keywrap)),
            ("cputune", many(&c.cputune)),
            ("numatune", many(&c.numatune)),
            ("memtune", many(&c.memtune)),
            ("blkiotune", many(&c.blkiotune)),
            ("memorybacking", many(&c.memorybacking)),
            ("features", many(&c.features)),
            ("clock", many(&c.clock)),
            ("pm", many(&c.pm)),
            ("events", many(&c.events)),
            ("resource", many(&c.resource)),
            ("sysinfo", many(&c.sysinfo)),
            ("qemu-commandline", many(&c.qemu_commandline)),
            ("launchSecurity", many(&c.launch_security)),
            ("check", many(&m.check)),
        ]
    }
}
