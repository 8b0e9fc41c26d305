//! From a [`GuestSpec`] to the exact commands qvirt-install will run.
//!
//! [`plan`] makes every decision virt-install would make (machine, buses,
//! NIC models, boot order, defaults for the OS) and writes them down in a
//! resolved [`Guest`]; [`argv`] renders a guest as a QEMU command line for
//! one phase. Both are pure: whatever they need from the machine comes in
//! through [`HostFacts`] and the [`Probe`] trait.

pub mod argv;
mod decide;
mod kernel;
pub mod passt;

use std::path::{Path, PathBuf};

pub use decide::plan;

use crate::host::{Firmware, HostFacts};
use crate::osinfo::OsInfo;
use crate::paths::{Connection, GuestDirs, Roots};
use crate::spec::{
    Boot, BootDevice, Cache, CharDevice, CloudInit, DiskBus, DiskDevice, DiskIo, Graphics, Input,
    KernelBoot, Location, MediaSource, Memory, PortForward, Proto, Rng, Vcpus, VideoModel,
};

/// Questions about files and names that the planner asks the machine.
pub trait Probe {
    /// Whether a file or device exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// The image format of an existing file, as `qemu-img info` reports it.
    fn image_format(&self, path: &Path) -> Option<String>;
    /// Whether a guest of that name is defined already.
    fn guest_exists(&self, name: &str) -> bool;
    /// Six random bytes for a MAC address or sixteen for a UUID.
    fn random_bytes(&self, count: usize) -> Vec<u8>;
    /// A free TCP port on `address`, at or above `from`.
    fn free_port(&self, address: &str, from: u16) -> Option<u16>;

    /// Bytes free for a new file in `folder`, or in its nearest parent that
    /// exists; `None` when unknown, which skips the space check.
    fn free_space(&self, folder: &Path) -> Option<u64> {
        crate::host::free_space(folder)
    }

    /// Whether something on the host holds `port` on `address` already.
    /// The default knows of nothing; the host probe tries to bind it.
    fn port_in_use(&self, proto: Proto, address: &str, port: u16) -> bool {
        let _ = (proto, address, port);
        false
    }

    /// The other guests whose disks include `path`. The default knows of
    /// none; a probe that reads the saved definitions answers for real.
    fn disk_users(&self, path: &Path) -> Vec<String> {
        let _ = path;
        Vec::new()
    }

    /// The other guests with a NIC of MAC address `mac`. The default
    /// knows of none.
    fn mac_users(&self, mac: &str) -> Vec<String> {
        let _ = mac;
        Vec::new()
    }

    /// The kernel and initrd of a `--location`, found in the media.
    fn locate_kernel(
        &self,
        location: &Location,
    ) -> Result<crate::media::Located, crate::media::MediaError> {
        crate::media::locate(location)
    }
}

/// Which accelerator QEMU runs the guest with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Accel {
    /// KVM.
    Kvm,
    /// TCG (virt-install's `--virt-type qemu`).
    Tcg,
}

/// One disk device, fully decided.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GuestDisk {
    /// The image or device; `None` for an empty CD-ROM drive.
    pub source: Option<PathBuf>,
    /// The image format (`qcow2`, `raw`, ...).
    pub format: String,
    /// Disk or CD-ROM.
    pub device: DiskDevice,
    /// The bus.
    pub bus: DiskBus,
    /// The port or unit on that bus (AHCI and IDE ports, SCSI units).
    pub unit: u32,
    /// `cache=`.
    pub cache: Option<Cache>,
    /// `io=`.
    pub io: Option<DiskIo>,
    /// `discard=`: unmap when true.
    pub discard: Option<bool>,
    /// Read-only.
    pub readonly: bool,
    /// Shared with other guests.
    pub shareable: bool,
    /// `serial=`.
    pub serial: Option<String>,
    /// `boot.order=`.
    pub boot_order: Option<u32>,
    /// The install media: attached for the install phase only.
    pub install_media: bool,
}

impl GuestDisk {
    /// A read-only CD-ROM with install media, attached for the install
    /// phase only: on q35's AHCI or, on i440fx, IDE.
    pub fn install_cdrom(path: PathBuf, q35: bool) -> GuestDisk {
        GuestDisk {
            source: Some(path),
            format: "raw".into(),
            device: DiskDevice::Cdrom,
            bus: if q35 { DiskBus::Sata } else { DiskBus::Ide },
            unit: 0,
            cache: None,
            io: None,
            discard: None,
            readonly: true,
            shareable: false,
            serial: None,
            boot_order: None,
            install_media: true,
        }
    }
}

/// The host side of a NIC, decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GuestNicBackend {
    /// QEMU's user-mode networking.
    User,
    /// A passt process, which QEMU reaches over a UNIX socket.
    Passt,
    /// A tap device, attached to a host bridge.
    Tap {
        /// The tap interface's name.
        ifname: String,
        /// The bridge it joins.
        bridge: String,
    },
    /// A macvtap device on a host interface.
    Macvtap {
        /// The macvtap interface's name.
        ifname: String,
        /// The host interface it sits on.
        source: String,
        /// The macvtap mode.
        mode: String,
    },
}

/// One NIC, fully decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GuestNic {
    /// The host side.
    pub backend: GuestNicBackend,
    /// The MAC address.
    pub mac: String,
    /// The QEMU device model (`virtio-net-pci`, `e1000e`, ...).
    pub model: String,
    /// `boot.order=`.
    pub boot_order: Option<u32>,
    /// Host ports forwarded to the guest (user-mode networking and passt).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<PortForward>,
}

/// A qcow2 or raw image to create before the guest starts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewImagePlan {
    /// Where.
    pub path: PathBuf,
    /// The format.
    pub format: String,
    /// The virtual size in bytes.
    pub size_bytes: u64,
    /// Allocate the space now (`sparse=no`).
    pub preallocate: bool,
    /// A backing file and its format.
    pub backing: Option<(PathBuf, String)>,
}

impl NewImagePlan {
    /// The `qemu-img` arguments that create the image (program excluded).
    pub fn qemu_img_args(&self) -> Vec<String> {
        let mut args = vec!["create".to_string(), "-f".into(), self.format.clone()];
        let mut options = Vec::new();
        if self.format == "qcow2" {
            options.push("compat=1.1".to_string());
            options.push("lazy_refcounts=on".into());
        }
        if self.preallocate {
            options.push("preallocation=falloc".into());
        }
        if !options.is_empty() {
            args.push("-o".into());
            args.push(options.join(","));
        }
        if let Some((backing, format)) = &self.backing {
            args.push("-b".into());
            args.push(backing.to_string_lossy().into_owned());
            args.push("-F".into());
            args.push(format.clone());
        }
        args.push(self.path.to_string_lossy().into_owned());
        args.push(self.size_bytes.to_string());
        args
    }
}

/// A guest with every decision made: what is saved as its definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Guest {
    /// The name.
    pub name: String,
    /// The UUID.
    pub uuid: String,
    /// The connection it was made under.
    pub connection: Connection,
    /// The OS.
    pub os: OsInfo,
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// The accelerator.
    pub accel: Accel,
    /// The machine type (`q35`, `pc`, ...).
    pub machine: String,
    /// `-cpu`'s value.
    pub cpu: String,
    /// Memory.
    pub memory: Memory,
    /// vCPUs.
    pub vcpus: Vcpus,
    /// Disks, install media first.
    pub disks: Vec<GuestDisk>,
    /// NICs.
    pub nics: Vec<GuestNic>,
    /// The display.
    pub graphics: Graphics,
    /// The SPICE port, chosen when the guest was planned.
    pub spice_port: Option<u16>,
    /// The video device, if any.
    pub video: Option<VideoModel>,
    /// `--input`; `None` is the USB tablet that comes with a display.
    #[serde(default)]
    pub inputs: Option<Vec<Input>>,
    /// Serial ports and consoles.
    pub chardevs: Vec<CharDevice>,
    /// A USB controller: xHCI when true, EHCI+UHCI when false.
    pub usb3: bool,
    /// A virtio balloon.
    pub balloon: bool,
    /// A virtio RNG.
    pub rng: Option<Rng>,
    /// `--boot`.
    pub boot: Boot,
    /// The boot order for the install phase, if there is one.
    pub install_boot: Option<Vec<BootDevice>>,
    /// UEFI firmware and this guest's variable store.
    pub uefi: Option<Uefi>,
    /// An emulated TPM 2.0 (swtpm), as Windows 11 needs.
    #[serde(default)]
    pub tpm: bool,
    /// `--qemu-commandline` arguments.
    pub qemu_args: Vec<String>,
    /// `--qemu-commandline env=`.
    pub qemu_env: Vec<(String, String)>,
    /// The install phase's direct kernel boot, if it has one; the files
    /// are in the state folder, fetched there by [`Guest::fetch`].
    #[serde(default)]
    pub install_kernel: Option<KernelBoot>,
    /// The kernel and initrd to copy into the state folder before the
    /// install phase starts.
    #[serde(default)]
    pub fetch: Option<Fetch>,
    /// The cloud-init seed the first boot gets.
    #[serde(default)]
    pub seed: Option<Seed>,
    /// The guest's folders.
    pub runtime_dir: PathBuf,
    /// The guest's saved state folder.
    pub state_dir: PathBuf,
}

/// The install kernel and initrd, where they come from and what is added.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fetch {
    /// The tree or ISO they are in; `None` for files of this machine.
    pub media: Option<MediaSource>,
    /// The kernel, relative to the media (or a path here).
    pub kernel: PathBuf,
    /// The initrd, likewise.
    pub initrd: PathBuf,
    /// `--initrd-inject`: files added at the root of the copied initrd.
    pub inject: Vec<PathBuf>,
}

/// A NoCloud seed ISO, built in the state folder before the first boot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seed {
    /// The ISO to build; attached for the first boot only.
    pub iso: PathBuf,
    /// What goes in it.
    pub config: CloudInit,
}

/// A guest's UEFI firmware.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Uefi {
    /// The firmware pair it was made from.
    pub firmware: Firmware,
    /// This guest's own copy of the variable store.
    pub vars: PathBuf,
}

impl Guest {
    /// The guest's folders.
    pub fn dirs(&self) -> GuestDirs {
        GuestDirs {
            runtime: self.runtime_dir.clone(),
            state: self.state_dir.clone(),
        }
    }

    /// Whether the guest has an install phase before its final form.
    pub fn is_two_phase(&self) -> bool {
        self.install_boot.is_some()
    }
}

/// A program and its arguments, as run and as printed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Command {
    /// The program.
    pub program: PathBuf,
    /// The arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Command {
    /// The command as one shell-quoted line a user can paste.
    pub fn to_shell(&self) -> String {
        let env = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_words::quote(v)));
        let program = std::iter::once(self.program.to_string_lossy().into_owned());
        let words: Vec<String> = program
            .chain(self.args.iter().cloned())
            .map(|w| shell_words::quote(&w).into_owned())
            .collect();
        env.chain(std::iter::once(words.join(" ")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Everything qvirt-install will do for one command line.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The resolved guest.
    pub guest: Guest,
    /// Images to create first.
    pub images: Vec<NewImagePlan>,
    /// Warnings for the user.
    pub warnings: Vec<String>,
}

impl Plan {
    /// The `qemu-img` commands, in order.
    pub fn image_commands(&self, qemu_img: &Path) -> Vec<Command> {
        self.images
            .iter()
            .map(|image| Command {
                program: qemu_img.to_path_buf(),
                args: image.qemu_img_args(),
                env: Vec::new(),
            })
            .collect()
    }

    /// The install phase's QEMU command, if the install has one.
    pub fn install_command(&self) -> Option<Command> {
        self.guest
            .is_two_phase()
            .then(|| argv::command(&self.guest, argv::Phase::Install))
    }

    /// The final QEMU command: how the guest runs from now on.
    pub fn final_command(&self) -> Command {
        argv::command(&self.guest, argv::Phase::Final)
    }
}

/// Why a spec cannot be planned on this machine.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// virt-install's words, or ours where it has none.
    #[error("{0}")]
    Invalid(String),
    /// Something virt-install has that qvirt does not yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),
    /// The install media cannot be used.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
}

/// What the planner needs besides the spec.
pub struct PlanContext<'a> {
    /// The machine.
    pub host: &'a HostFacts,
    /// Where guest folders and new images go.
    pub roots: &'a Roots,
    /// Files and names.
    pub probe: &'a dyn Probe,
}
