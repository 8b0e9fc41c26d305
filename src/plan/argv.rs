//! A resolved [`Guest`] rendered as a `qemu-system-x86_64` command line.
//!
//! The shape follows libvirt's: `-S` so nothing runs before qvirt is
//! ready, `-no-user-config -nodefaults` so nothing appears that was not
//! asked for, `-blockdev` pairs behind every disk, one PCIe root port per
//! endpoint on q35, deterministic ids for QMP, the seccomp sandbox, and
//! timestamps in QEMU's log.

use super::decide::is_q35;
use super::{Accel, Command, Guest, GuestDisk, GuestNic, GuestNicBackend};
use crate::paths::qemu_escape;
use crate::spec::{
    BootDevice, Cache, CharBackend, CharTarget, DiskBus, DiskDevice, DiskIo, GraphicsKind,
    InputBus, InputKind, Listen, Rng, VideoModel,
};

/// Which configuration of the guest to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The install phase: install media attached and booted first.
    Install,
    /// The guest as it runs from now on.
    Final,
}

/// The first USB port for USB disks, after the tablet (1) and the two
/// SPICE USB redirectors (2 and 3).
const FIRST_USB_DISK_PORT: u32 = 4;

/// Root ports every q35 guest gets at least, as virt-install adds 14.
const MIN_ROOT_PORTS: usize = 14;

/// The whole command.
pub fn command(guest: &Guest, phase: Phase) -> Command {
    Command {
        program: guest.qemu.clone(),
        args: args(guest, phase),
        env: guest.qemu_env.clone(),
    }
}

/// Collects arguments and hands out PCIe root ports on q35.
struct Builder {
    args: Vec<String>,
    q35: bool,
    ports_used: usize,
}

impl Builder {
    fn push(&mut self, option: &str, value: impl Into<String>) {
        self.args.push(option.to_string());
        self.args.push(value.into());
    }

    fn flag(&mut self, option: &str) {
        self.args.push(option.to_string());
    }

    /// `-device DRIVER,…` for a PCIe endpoint: alone on the next free root
    /// port on q35, wherever QEMU likes on i440fx.
    fn pcie_device(&mut self, driver_and_props: String) {
        if !self.q35 {
            return self.push("-device", driver_and_props);
        }
        self.ports_used += 1;
        let bus = self.ports_used;
        self.push(
            "-device",
            format!("{driver_and_props},bus=pci.{bus},addr=0x0"),
        );
    }
}

/// The arguments, without the program.
pub fn args(guest: &Guest, phase: Phase) -> Vec<String> {
    let mut b = Builder {
        args: Vec::new(),
        q35: is_q35(&guest.machine),
        ports_used: 0,
    };
    let dirs = guest.dirs();

    b.push(
        "-name",
        format!("guest={},debug-threads=on", qemu_escape_str(&guest.name)),
    );
    b.flag("-S");
    b.flag("-no-user-config");
    b.flag("-nodefaults");
    firmware(&mut b, guest);
    machine(&mut b, guest);
    b.push(
        "-accel",
        match guest.accel {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        },
    );
    b.push("-cpu", guest.cpu.clone());
    memory(&mut b, guest);
    b.push("-overcommit", "mem-lock=off");
    smp(&mut b, guest);
    b.push("-uuid", guest.uuid.clone());
    if phase == Phase::Install && guest.seed.is_some() {
        // NoCloud finds its seed by this serial, as virt-install sets it.
        b.push("-smbios", "type=1,serial=ds=nocloud");
    }
    b.push("-display", "none");
    b.push(
        "-chardev",
        format!(
            "socket,id=charmonitor,path={},server=on,wait=off",
            qemu_escape(&dirs.qmp_socket())
        ),
    );
    b.push("-mon", "chardev=charmonitor,id=monitor,mode=control");
    b.push(
        "-chardev",
        format!(
            "socket,id=charsupervisor,path={},server=on,wait=off",
            qemu_escape(&dirs.supervisor_socket())
        ),
    );
    b.push("-mon", "chardev=charsupervisor,id=supervisor,mode=control");
    let windows = guest.os.family == crate::osinfo::Family::Windows;
    b.push(
        "-rtc",
        if windows {
            "base=localtime,driftfix=slew"
        } else {
            "base=utc,driftfix=slew"
        },
    );
    if guest.accel == Accel::Kvm {
        b.push("-global", "kvm-pit.lost_tick_policy=delay");
    }
    let pm = if b.q35 { "ICH9-LPC" } else { "PIIX4_PM" };
    b.push("-global", format!("{pm}.disable_s3=1"));
    b.push("-global", format!("{pm}.disable_s4=1"));
    boot_options(&mut b, guest, phase);

    let root_ports_at = b.args.len();
    usb_controller(&mut b, guest);
    disks(&mut b, guest, phase);
    nics(&mut b, guest, phase);
    chardevs(&mut b, guest);
    graphics(&mut b, guest);
    inputs(&mut b, guest);
    if guest.balloon {
        b.pcie_device("virtio-balloon-pci,id=balloon0".into());
    }
    rng(&mut b, guest);
    tpm(&mut b, guest);
    if b.q35 {
        insert_root_ports(&mut b, root_ports_at);
    }
    kernel(&mut b, guest, phase);

    b.push(
        "-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    );
    b.push("-msg", "timestamp=on");
    b.args.extend(guest.qemu_args.iter().cloned());
    b.args
}

/// A string for a QEMU option value, with commas doubled.
fn qemu_escape_str(value: &str) -> String {
    value.replace(',', ",,")
}

fn firmware(b: &mut Builder, guest: &Guest) {
    let Some(uefi) = &guest.uefi else { return };
    let nodes = [
        ("pflash0", &uefi.firmware.code, true),
        ("pflash1", &uefi.vars, false),
    ];
    for (node, path, readonly) in nodes {
        let storage = serde_json::json!({
            "driver": "file",
            "filename": path,
            "node-name": format!("{node}-storage"),
            "auto-read-only": true,
            "discard": "unmap",
        });
        let format = serde_json::json!({
            "node-name": format!("{node}-format"),
            "read-only": readonly,
            "driver": "raw",
            "file": format!("{node}-storage"),
        });
        b.push("-blockdev", storage.to_string());
        b.push("-blockdev", format.to_string());
    }
}

fn machine(b: &mut Builder, guest: &Guest) {
    let mut value = format!("{},usb=off,vmport=off,dump-guest-core=off", guest.machine);
    if guest.uefi.is_some() {
        value.push_str(",pflash0=pflash0-format,pflash1=pflash1-format");
    }
    if guest.graphics.kind == GraphicsKind::None {
        value.push_str(",graphics=off");
    }
    b.push("-machine", value);
}

fn memory(b: &mut Builder, guest: &Guest) {
    let size = guest.memory.size_mib();
    let value = match guest.memory.hotplug {
        Some((max, slots)) => format!("size={size}M,slots={slots},maxmem={max}M"),
        None => format!("size={size}M"),
    };
    b.push("-m", value);
}

fn smp(b: &mut Builder, guest: &Guest) {
    let vcpus = &guest.vcpus;
    let mut value = vcpus.current().to_string();
    let parts = [
        ("maxcpus", vcpus.max),
        ("sockets", vcpus.sockets),
        ("dies", vcpus.dies),
        ("cores", vcpus.cores),
        ("threads", vcpus.threads),
    ];
    for (key, part) in parts {
        if let Some(part) = part {
            value.push_str(&format!(",{key}={part}"));
        }
    }
    b.push("-smp", value);
}

fn boot_options(b: &mut Builder, guest: &Guest, _phase: Phase) {
    let mut value = String::new();
    if let Some(menu) = guest.boot.menu {
        value.push_str(if menu { "menu=on," } else { "menu=off," });
    }
    value.push_str("strict=on");
    b.push("-boot", value);
}

/// The boot order this phase uses, or `None` when a kernel is booted
/// directly or devices carry their own `boot.order`.
fn boot_order(guest: &Guest, phase: Phase) -> Option<Vec<BootDevice>> {
    let explicit = guest.disks.iter().any(|d| d.boot_order.is_some())
        || guest.nics.iter().any(|n| n.boot_order.is_some());
    if explicit {
        return None;
    }
    if let (Phase::Install, Some(order)) = (phase, &guest.install_boot) {
        return Some(order.clone());
    }
    if guest.boot.kernel.is_some() {
        return None;
    }
    if !guest.boot.order.is_empty() {
        return Some(guest.boot.order.clone());
    }
    // Otherwise the first disk device, by its kind.
    let present = |d: &&GuestDisk| phase == Phase::Install || !d.install_media;
    let first = guest.disks.iter().find(present)?;
    Some(vec![match first.device {
        DiskDevice::Disk => BootDevice::Hd,
        DiskDevice::Cdrom => BootDevice::Cdrom,
    }])
}

/// `bootindex` for the disk at `index`, given the phase's order.
fn disk_bootindex(guest: &Guest, phase: Phase, index: usize) -> Option<u32> {
    let disk = &guest.disks[index];
    if disk.boot_order.is_some() {
        return disk.boot_order;
    }
    let order = boot_order(guest, phase)?;
    let present = |d: &GuestDisk| phase == Phase::Install || !d.install_media || d.source.is_none();
    let first_of = |device: DiskDevice| {
        guest
            .disks
            .iter()
            .position(|d| d.device == device && present(d) && d.source.is_some())
    };
    order
        .iter()
        .position(|entry| match entry {
            BootDevice::Hd => first_of(DiskDevice::Disk) == Some(index),
            BootDevice::Cdrom => first_of(DiskDevice::Cdrom) == Some(index),
            BootDevice::Network => false,
        })
        .map(|position| position as u32 + 1)
}

fn nic_bootindex(guest: &Guest, phase: Phase, index: usize) -> Option<u32> {
    let nic = &guest.nics[index];
    if nic.boot_order.is_some() {
        return nic.boot_order;
    }
    if index != 0 {
        return None;
    }
    let order = boot_order(guest, phase)?;
    order
        .iter()
        .position(|entry| *entry == BootDevice::Network)
        .map(|position| position as u32 + 1)
}

fn usb_controller(b: &mut Builder, guest: &Guest) {
    if guest.usb3 {
        b.pcie_device("qemu-xhci,id=usb,p2=15,p3=15".into());
        return;
    }
    // EHCI with its three UHCI companions, as on a real ICH9.
    b.push("-device", "ich9-usb-ehci1,id=usb,addr=0x1d.0x7");
    for (n, function) in [(1, "0x0,multifunction=on"), (2, "0x1"), (3, "0x2")] {
        let first_port = (n - 1) * 2;
        b.push(
            "-device",
            format!("ich9-usb-uhci{n},masterbus=usb.0,firstport={first_port},addr=0x1d.{function}"),
        );
    }
}

fn disks(b: &mut Builder, guest: &Guest, phase: Phase) {
    if guest.disks.iter().any(|d| d.bus == DiskBus::Scsi) {
        b.pcie_device("virtio-scsi-pci,id=scsi0".into());
    }
    let ide_buses_on_pc = !b.q35;
    for (index, disk) in guest.disks.iter().enumerate() {
        // In the final configuration the install media's drive stays, empty.
        let source = match (phase, disk.install_media) {
            (Phase::Final, true) => None,
            _ => disk.source.as_ref(),
        };
        let node = format!("drive{index}");
        if let Some(path) = source {
            blockdev(b, disk, path, &node);
        }
        let drive = source
            .map(|_| format!(",drive={node}-format"))
            .unwrap_or_default();
        let bootindex = disk_bootindex(guest, phase, index)
            .filter(|_| source.is_some())
            .map(|n| format!(",bootindex={n}"))
            .unwrap_or_default();
        let mut extra = String::new();
        if let Some(serial) = &disk.serial {
            extra.push_str(&format!(",serial={}", qemu_escape_str(serial)));
        }
        if disk.shareable {
            extra.push_str(",share-rw=on");
        }
        if let Some(cache) = disk.cache {
            let write_cache = !matches!(cache, Cache::Writethrough | Cache::Directsync);
            extra.push_str(if write_cache {
                ",write-cache=on"
            } else {
                ",write-cache=off"
            });
        }
        let cd = disk.device == DiskDevice::Cdrom;
        let unit = disk.unit;
        match disk.bus {
            DiskBus::Virtio => b.pcie_device(format!(
                "virtio-blk-pci,id=virtio-disk{index}{drive}{bootindex}{extra}"
            )),
            DiskBus::Sata | DiskBus::Ide if !ide_buses_on_pc => {
                let driver = if cd { "ide-cd" } else { "ide-hd" };
                b.push(
                    "-device",
                    format!("{driver},bus=ide.{unit},id=sata0-0-{unit}{drive}{bootindex}{extra}"),
                );
            }
            DiskBus::Sata | DiskBus::Ide => {
                let driver = if cd { "ide-cd" } else { "ide-hd" };
                let (bus, slot) = (unit / 2, unit % 2);
                b.push("-device", format!("{driver},bus=ide.{bus},unit={slot},id=ide0-{bus}-{slot}{drive}{bootindex}{extra}"));
            }
            DiskBus::Scsi => {
                let driver = if cd { "scsi-cd" } else { "scsi-hd" };
                b.push("-device", format!("{driver},bus=scsi0.0,channel=0,scsi-id=0,lun={unit},id=scsi0-0-0-{unit}{drive}{bootindex}{extra}"));
            }
            DiskBus::Usb => {
                // Ports 1 to 3 are the tablet's and the SPICE redirectors';
                // left to QEMU, a disk would take port 1 first.
                let port = FIRST_USB_DISK_PORT + unit;
                let removable = if cd { "on" } else { "off" };
                b.push(
                    "-device",
                    format!(
                        "usb-storage,bus=usb.0,port={port},id=usb-disk{index}{drive}{bootindex}\
                         {extra},removable={removable}"
                    ),
                );
            }
            DiskBus::Nvme => {
                let serial = if disk.serial.is_some() {
                    String::new()
                } else {
                    format!(",serial=qvirt{index}")
                };
                b.pcie_device(format!(
                    "nvme,id=nvme{index}{drive}{bootindex}{extra}{serial}"
                ));
            }
        }
    }
}

/// The protocol node and the format node behind one disk.
fn blockdev(b: &mut Builder, disk: &GuestDisk, path: &std::path::Path, node: &str) {
    let mut storage = serde_json::json!({
        "driver": if path.starts_with("/dev") && disk.device == DiskDevice::Disk { "host_device" } else { "file" },
        "filename": path,
        "node-name": format!("{node}-storage"),
        "auto-read-only": true,
    });
    let mut format = serde_json::json!({
        "node-name": format!("{node}-format"),
        "read-only": disk.readonly,
        "driver": disk.format,
        "file": format!("{node}-storage"),
    });
    if let Some(discard) = disk.discard {
        let value = if discard { "unmap" } else { "ignore" };
        storage["discard"] = value.into();
        format["discard"] = value.into();
    }
    if let Some(cache) = disk.cache {
        let direct = matches!(cache, Cache::None | Cache::Directsync);
        let no_flush = cache == Cache::Unsafe;
        let value = serde_json::json!({ "direct": direct, "no-flush": no_flush });
        storage["cache"] = value.clone();
        format["cache"] = value;
    }
    if let Some(io) = disk.io {
        storage["aio"] = match io {
            DiskIo::Native => "native",
            DiskIo::Threads => "threads",
            DiskIo::IoUring => "io_uring",
        }
        .into();
    }
    b.push("-blockdev", storage.to_string());
    b.push("-blockdev", format.to_string());
}

fn nics(b: &mut Builder, guest: &Guest, phase: Phase) {
    for (index, nic) in guest.nics.iter().enumerate() {
        b.push("-netdev", netdev(guest, nic, index));
        let bootindex = nic_bootindex(guest, phase, index)
            .map(|n| format!(",bootindex={n}"))
            .unwrap_or_default();
        let device = format!(
            "{},netdev=hostnet{index},id=net{index},mac={}{bootindex}",
            nic.model, nic.mac
        );
        if matches!(nic.model.as_str(), "virtio-net-pci" | "e1000e") {
            b.pcie_device(device);
        } else {
            b.push("-device", device);
        }
    }
}

/// The fd number NIC `index`'s tap has in QEMU: the supervisor opens the
/// tap and puts it there, as QEMU may not make taps or spawn helpers.
pub fn tap_fd(index: usize) -> i32 {
    TAP_FD_BASE + i32::try_from(index).unwrap_or(0)
}

/// Where tap fds start in QEMU, clear of what it opens itself at start.
const TAP_FD_BASE: i32 = 200;

fn netdev(guest: &Guest, nic: &GuestNic, index: usize) -> String {
    match &nic.backend {
        GuestNicBackend::User => {
            let forwards: String = nic
                .forwards
                .iter()
                .flat_map(|forward| {
                    let address = if forward.address.contains(':') {
                        format!("[{}]", forward.address)
                    } else {
                        forward.address.clone()
                    };
                    let proto = forward.proto.as_str();
                    forward
                        .pairs()
                        .map(move |(host, guest)| {
                            format!(",hostfwd={proto}:{address}:{host}-:{guest}")
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            format!("user,id=hostnet{index}{forwards}")
        }
        GuestNicBackend::Passt => {
            let socket = crate::plan::passt::socket(&guest.dirs(), index);
            format!(
                "stream,id=hostnet{index},server=off,addr.type=unix,addr.path={}",
                crate::paths::qemu_escape(&socket)
            )
        }
        GuestNicBackend::Tap { .. } | GuestNicBackend::Macvtap { .. } => {
            format!("tap,id=hostnet{index},fd={}", tap_fd(index))
        }
    }
}

fn chardevs(b: &mut Builder, guest: &Guest) {
    let dirs = guest.dirs();
    let mut serial_index = 0;
    let mut consoles = 0;
    let mut virtio_serial = false;
    for (index, dev) in guest.chardevs.iter().enumerate() {
        let id = format!("charserial{index}");
        let backend = match &dev.backend {
            CharBackend::Console => {
                // The first console is the one `qvirt console` attaches to;
                // each further one gets its own socket and log.
                let (socket, log) = if consoles == 0 {
                    (dirs.console_socket(), dirs.console_log())
                } else {
                    (
                        dirs.runtime.join(format!("console{consoles}.sock")),
                        dirs.state.join(format!("console{consoles}.log")),
                    )
                };
                consoles += 1;
                format!(
                    "socket,id={id},path={},server=on,wait=off,logfile={},logappend=on",
                    qemu_escape(&socket),
                    qemu_escape(&log)
                )
            }
            CharBackend::File(path) => format!("file,id={id},path={},append=on", qemu_escape(path)),
            CharBackend::Unix { path, listen } => format!(
                "socket,id={id},path={}{}",
                qemu_escape(path),
                if *listen {
                    ",server=on,wait=off"
                } else {
                    ",server=off"
                }
            ),
            CharBackend::Tcp {
                host,
                port,
                listen,
                telnet,
            } => format!(
                "socket,id={id},host={host},port={port}{}{}",
                if *listen {
                    ",server=on,wait=off"
                } else {
                    ",server=off"
                },
                if *telnet { ",telnet=on" } else { "" }
            ),
            CharBackend::Null => format!("null,id={id}"),
        };
        b.push("-chardev", backend);
        match dev.target {
            CharTarget::Serial => {
                b.push(
                    "-device",
                    format!("isa-serial,chardev={id},id=serial{serial_index},index={serial_index}"),
                );
                serial_index += 1;
            }
            CharTarget::Virtio => {
                if !virtio_serial {
                    b.pcie_device("virtio-serial-pci,id=virtio-serial0".into());
                    virtio_serial = true;
                }
                b.push(
                    "-device",
                    format!("virtconsole,chardev={id},id=console{index}"),
                );
            }
        }
    }
}

fn graphics(b: &mut Builder, guest: &Guest) {
    let graphics = &guest.graphics;
    match graphics.kind {
        // No display, but a video device asked for is still there.
        GraphicsKind::None => return video(b, guest),
        GraphicsKind::Vnc => {
            let mut value = match &graphics.listen {
                Listen::None => "none".to_string(),
                Listen::Address(address) => {
                    let host = if address.contains(':') {
                        format!("[{address}]")
                    } else {
                        address.clone()
                    };
                    match graphics.port {
                        Some(port) => format!("{host}:{}", port - 5900),
                        None => format!("{host}:0,to=99"),
                    }
                }
            };
            if graphics.password.is_some() {
                value.push_str(",password=on");
            }
            b.push("-vnc", value);
        }
        GraphicsKind::Spice => {
            let mut value = match (&graphics.listen, guest.spice_port) {
                (Listen::Address(address), Some(port)) => format!("port={port},addr={address}"),
                _ => "unix=off".to_string(),
            };
            if graphics.password.is_none() {
                value.push_str(",disable-ticketing=on");
            }
            value.push_str(",image-compression=off,seamless-migration=on");
            b.push("-spice", value);
            spice_extras(b);
        }
    }
    if let Some(keymap) = &graphics.keymap {
        b.push("-k", keymap.clone());
    }
    video(b, guest);
    if guest.inputs.is_none() {
        b.push("-device", "usb-tablet,id=input0,bus=usb.0,port=1");
    }
}

/// `--input` devices. The first USB one takes port 1, as the default
/// tablet does; PS/2 ones are the PC's own and need no device.
fn inputs(b: &mut Builder, guest: &Guest) {
    let Some(inputs) = &guest.inputs else {
        return;
    };
    let mut usb_port = Some(1);
    for (index, input) in inputs.iter().enumerate() {
        let id = format!("id=input{index}");
        match input.bus {
            InputBus::Ps2 => {}
            InputBus::Usb => {
                let driver = match input.kind {
                    InputKind::Tablet => "usb-tablet",
                    InputKind::Keyboard => "usb-kbd",
                    InputKind::Mouse => "usb-mouse",
                };
                let port = usb_port
                    .take()
                    .map(|p| format!(",port={p}"))
                    .unwrap_or_default();
                b.push("-device", format!("{driver},{id},bus=usb.0{port}"));
            }
            InputBus::Virtio => {
                let driver = match input.kind {
                    InputKind::Tablet => "virtio-tablet-pci",
                    InputKind::Keyboard => "virtio-keyboard-pci",
                    InputKind::Mouse => "virtio-mouse-pci",
                };
                b.pcie_device(format!("{driver},{id}"));
            }
        }
    }
}

/// What virt-install adds along with SPICE: the agent channel, sound, and
/// two USB redirectors.
fn spice_extras(b: &mut Builder) {
    b.pcie_device("virtio-serial-pci,id=virtio-serial1".into());
    b.push("-chardev", "spicevmc,id=charchannel0,name=vdagent");
    b.push(
        "-device",
        "virtserialport,bus=virtio-serial1.0,nr=1,chardev=charchannel0,id=channel0,name=com.redhat.spice.0",
    );
    b.push("-audiodev", "spice,id=audio1");
    b.push("-device", "ich9-intel-hda,id=sound0");
    b.push(
        "-device",
        "hda-duplex,id=sound0-codec0,bus=sound0.0,cad=0,audiodev=audio1",
    );
    for n in 0..2 {
        b.push(
            "-chardev",
            format!("spicevmc,id=charredir{n},name=usbredir"),
        );
        b.push(
            "-device",
            format!(
                "usb-redir,chardev=charredir{n},id=redir{n},bus=usb.0,port={}",
                n + 2
            ),
        );
    }
}

fn video(b: &mut Builder, guest: &Guest) {
    let device = match guest.video {
        None | Some(VideoModel::None) => return,
        Some(VideoModel::Virtio) => "virtio-vga",
        Some(VideoModel::Qxl) => "qxl-vga",
        Some(VideoModel::Vga) => "VGA",
        Some(VideoModel::Cirrus) => "cirrus-vga",
        Some(VideoModel::Vmvga) => "vmware-svga",
        Some(VideoModel::Bochs) => "bochs-display",
        Some(VideoModel::Ramfb) => "ramfb",
    };
    b.push("-device", format!("{device},id=video0"));
}

fn rng(b: &mut Builder, guest: &Guest) {
    let object = match &guest.rng {
        None | Some(Rng::None) => return,
        Some(Rng::Random(device)) => {
            format!("rng-random,id=objrng0,filename={}", qemu_escape_str(device))
        }
        Some(Rng::Builtin) => "rng-builtin,id=objrng0".to_string(),
    };
    b.push("-object", object);
    b.pcie_device("virtio-rng-pci,rng=objrng0,id=rng0".into());
}

/// An emulated TPM: QEMU talks to the guest's swtpm over its socket.
fn tpm(b: &mut Builder, guest: &Guest) {
    if !guest.tpm {
        return;
    }
    let socket = qemu_escape(&guest.dirs().tpm_socket());
    b.push("-chardev", format!("socket,id=chrtpm,path={socket}"));
    b.push("-tpmdev", "emulator,id=tpm0,chardev=chrtpm");
    b.push("-device", "tpm-crb,tpmdev=tpm0,id=tpm0-crb");
}

/// The install phase of a kernel install boots its fetched kernel; every
/// other phase boots `--boot kernel=`, if given.
fn kernel(b: &mut Builder, guest: &Guest, phase: Phase) {
    let install = match phase {
        Phase::Install => guest.install_kernel.as_ref(),
        Phase::Final => None,
    };
    let Some(kernel) = install.or(guest.boot.kernel.as_ref()) else {
        return;
    };
    b.push("-kernel", kernel.kernel.to_string_lossy());
    if let Some(initrd) = &kernel.initrd {
        b.push("-initrd", initrd.to_string_lossy());
    }
    if let Some(cmdline) = &kernel.cmdline {
        b.push("-append", cmdline.clone());
    }
}

/// The root ports, placed before the first device that uses them: eight
/// functions per slot from `00:02.0`, the first function multifunction.
fn insert_root_ports(b: &mut Builder, at: usize) {
    let count = b.ports_used.max(MIN_ROOT_PORTS);
    let ports = (1..=count).flat_map(|n| {
        let slot = 2 + (n - 1) / 8;
        let function = (n - 1) % 8;
        let addr = if function == 0 {
            format!("0x{slot:x},multifunction=on")
        } else {
            format!("0x{slot:x}.0x{function:x}")
        };
        [
            "-device".to_string(),
            format!(
                "pcie-root-port,port=0x{:x},chassis={n},id=pci.{n},bus=pcie.0,addr={addr}",
                0x10 + n - 1
            ),
        ]
    });
    let tail = b.args.split_off(at);
    b.args.extend(ports);
    b.args.extend(tail);
}
