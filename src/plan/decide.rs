//! The decisions: virt-install's defaults, applied to one spec.

use std::path::{Path, PathBuf};

use super::{
    Accel, Guest, GuestDisk, GuestNic, GuestNicBackend, NewImagePlan, Plan, PlanContext, PlanError,
    Uefi,
};
use crate::host::Kvm;
use crate::spec::{
    BootDevice, CharBackend, CharDevice, CharTarget, Checks, CpuMode, Disk, DiskBus, DiskDevice,
    GraphicsKind, GuestSpec, Install, Nic, NicBackend, PortForward, Rng, VideoModel, VirtType,
};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Decides everything about a guest, on this machine.
pub fn plan(spec: &GuestSpec, ctx: &PlanContext) -> Result<Plan, PlanError> {
    let mut warnings = Vec::new();
    let name = match &spec.name {
        Some(name) => name.clone(),
        None => {
            let name = default_name(spec, ctx);
            warnings.push(format!("Using default --name {name}"));
            name
        }
    };
    if ctx.probe.guest_exists(&name) {
        return Err(PlanError::Invalid(format!(
            "Guest name '{name}' is already in use."
        )));
    }
    let dirs = ctx.roots.guest(&name);

    let accel = accel(spec.virt_type, &ctx.host.kvm, &mut warnings)?;
    let machine = machine(spec.machine.as_deref(), &spec.os)?;
    let q35 = is_q35(&machine);
    let mut cpu = cpu(&spec.cpu, accel, &mut warnings)?;
    if spec.os.family == crate::osinfo::Family::Windows && accel == Accel::Kvm {
        cpu.push_str(HYPERV);
    }

    let kernel = super::kernel::install_kernel(spec, &dirs.state, ctx, &mut warnings)?;
    let (mut disks, images) = disks(
        spec,
        &name,
        q35,
        kernel.cdrom.as_deref(),
        ctx,
        &mut warnings,
    )?;
    let seed = super::kernel::seed(spec, &dirs.state, ctx)?;
    if let Some(seed) = &seed {
        disks.push(super::kernel::seed_disk(seed, q35));
        assign_units(&mut disks, q35)?;
    }
    let nics = nics(spec, &name, q35, ctx, &mut warnings)?;
    let graphics = spec.graphics.clone();
    let spice_port = spice_port(&graphics, ctx)?;
    let video = video(spec, &graphics);
    let chardevs = match &spec.chardevs {
        Some(devices) => devices.iter().map(absolute_chardev).collect(),
        None => vec![CharDevice {
            backend: CharBackend::Console,
            target: CharTarget::Serial,
        }],
    };
    let rng = match &spec.rng {
        Some(Rng::None) => None,
        Some(rng) => Some(rng.clone()),
        None if spec.os.virtio_rng => Some(Rng::Random("/dev/urandom".into())),
        None => None,
    };
    let install_boot = install_boot(&spec.install, &disks, seed.is_some());
    let uefi = uefi(spec, &dirs.state, ctx, &mut warnings)?;
    let tpm = spec.tpm.unwrap_or(spec.os.tpm2 && uefi.is_some());
    if tpm && ctx.host.swtpm.is_none() {
        return Err(PlanError::Invalid(
            "an emulated TPM needs swtpm: install the Debian package `swtpm`".into(),
        ));
    }

    // By default a balloon where the OS has its driver (virt-install's
    // rule); one asked for by model is always there.
    let balloon = spec.balloon.unwrap_or(spec.os.virtio_balloon);
    if let (Some(current), false) = (spec.memory.balloon_target_mib(), balloon) {
        warnings.push(format!(
            "the guest has no memory balloon, so it starts with all {} MiB, not {current}",
            spec.memory.size_mib()
        ));
    }

    let guest = Guest {
        uuid: uuid(ctx),
        name,
        connection: spec.connection,
        os: spec.os.clone(),
        qemu: ctx.host.qemu.clone(),
        accel,
        machine,
        cpu,
        memory: spec.memory.clone(),
        vcpus: spec.vcpus.clone(),
        disks,
        nics,
        graphics,
        spice_port,
        video,
        inputs: spec.inputs.clone(),
        chardevs,
        usb3: spec.os.usb3,
        balloon,
        rng,
        boot: absolute_boot(&spec.boot),
        install_boot,
        uefi,
        tpm,
        qemu_args: spec.qemu_args.clone(),
        qemu_env: spec.qemu_env.clone(),
        install_kernel: kernel.boot,
        fetch: kernel.fetch,
        seed,
        runtime_dir: dirs.runtime,
        state_dir: dirs.state,
    };
    Ok(Plan {
        guest,
        images,
        warnings,
    })
}

/// virt-install's default name: the OS id (`vm` for generic), with a
/// number when it is taken.
fn default_name(spec: &GuestSpec, ctx: &PlanContext) -> String {
    let base = if spec.os.is_generic() {
        "vm".to_string()
    } else {
        spec.os.id.trim_end_matches("-unknown").to_string()
    };
    let numbered = spec.os.is_generic();
    let first = if numbered {
        format!("{base}1")
    } else {
        base.clone()
    };
    std::iter::once(first)
        .chain((2..).map(|n| {
            if numbered {
                format!("{base}{n}")
            } else {
                format!("{base}-{n}")
            }
        }))
        .find(|name| !ctx.probe.guest_exists(name))
        .unwrap_or(base)
}

fn accel(
    virt_type: Option<VirtType>,
    kvm: &Kvm,
    warnings: &mut Vec<String>,
) -> Result<Accel, PlanError> {
    match (virt_type, kvm) {
        (Some(VirtType::Qemu), _) => Ok(Accel::Tcg),
        (Some(VirtType::Kvm) | None, Kvm::Usable) => Ok(Accel::Kvm),
        (Some(VirtType::Kvm) | None, Kvm::Pvm) => {
            warnings.push(
                "/dev/kvm is provided by kvm_pvm, which runs only PVM-built guest kernels: \
                 a stock kernel may hang; use --virt-type qemu if it does"
                    .into(),
            );
            Ok(Accel::Kvm)
        }
        (Some(VirtType::Kvm), Kvm::Unusable(reason)) => Err(PlanError::Invalid(format!(
            "Host does not support domain type kvm: {reason}"
        ))),
        (None, Kvm::Unusable(_)) => {
            warnings.push("KVM acceleration not available, using 'qemu'".into());
            Ok(Accel::Tcg)
        }
    }
}

/// The machine type: q35 when the OS supports it, as virt-install picks,
/// else i440fx (`pc`), which is also what it gives the generic OS.
fn machine(requested: Option<&str>, os: &crate::osinfo::OsInfo) -> Result<String, PlanError> {
    match requested {
        None if os.q35 => Ok("q35".into()),
        None => Ok("pc".into()),
        Some(m) if m == "q35" || m.starts_with("pc-q35-") => Ok(m.to_string()),
        Some(m) if m == "pc" || m.starts_with("pc-i440fx-") => Ok(m.to_string()),
        Some("microvm") | Some("isapc") => Err(PlanError::Unsupported(format!(
            "--machine {}",
            requested.unwrap_or_default()
        ))),
        Some(other) => Err(PlanError::Invalid(format!(
            "Host does not support domain type None with machine '{other}' for virtualization \
             type 'hvm' with architecture 'x86_64'"
        ))),
    }
}

/// True for the q35 family (PCIe, AHCI), false for i440fx.
pub(super) fn is_q35(machine: &str) -> bool {
    machine == "q35" || machine.starts_with("pc-q35-")
}

/// The Hyper-V enlightenments virt-install gives Windows guests under KVM
/// (QEMU offers them only with KVM).
const HYPERV: &str = ",hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on,\
                      hv-runtime=on,hv-synic=on,hv-stimer=on,hv-frequencies=on,\
                      hv-tlbflush=on,hv-ipi=on";

fn cpu(
    cpu: &crate::spec::Cpu,
    accel: Accel,
    warnings: &mut Vec<String>,
) -> Result<String, PlanError> {
    let model = match (&cpu.mode, accel) {
        (CpuMode::Default | CpuMode::HostPassthrough, Accel::Kvm) => "host".to_string(),
        (CpuMode::HostModel, Accel::Kvm) => "host".to_string(),
        (CpuMode::Default | CpuMode::Maximum, _) => "max".to_string(),
        (CpuMode::HostPassthrough, Accel::Tcg) => {
            return Err(PlanError::Invalid(
                "CPU mode 'host-passthrough' needs KVM; with --virt-type qemu use --cpu maximum \
                 or a named model"
                    .into(),
            ));
        }
        (CpuMode::HostModel, Accel::Tcg) => {
            warnings.push("--cpu host-model under TCG: using the 'max' model".into());
            "max".to_string()
        }
        (CpuMode::Named(name), _) => name.clone(),
    };
    let features = cpu
        .features
        .iter()
        .map(|(name, on)| format!("{name}={}", if *on { "on" } else { "off" }));
    Ok(std::iter::once(model)
        .chain(features)
        .collect::<Vec<_>>()
        .join(","))
}

fn disks(
    spec: &GuestSpec,
    name: &str,
    q35: bool,
    location_iso: Option<&Path>,
    ctx: &PlanContext,
    warnings: &mut Vec<String>,
) -> Result<(Vec<GuestDisk>, Vec<NewImagePlan>), PlanError> {
    let mut planned = Vec::new();
    let mut images = Vec::new();
    let mut taken: Vec<PathBuf> = Vec::new();

    // The install CD comes before every user disk, so it gets the first
    // CD-ROM slot, as virt-install inserts it.
    let install_cd = match &spec.install {
        Install::Cdrom(path) => Some(path.as_path()),
        _ => location_iso,
    };
    if let Some(path) = install_cd {
        // A relative path means the same file to QEMU only while it runs in
        // this folder, so it is made absolute, as virt-install does.
        let path = &absolute(path);
        if !ctx.probe.exists(path) {
            return Err(PlanError::Invalid(format!(
                "Validating install media '{}' failed: No such file or directory",
                path.display()
            )));
        }
        planned.push(GuestDisk::install_cdrom(path.clone(), q35));
    }

    for disk in &spec.disks {
        let (source, format, image) = disk_source(disk, name, ctx, &mut taken)?;
        if let Some(source) = &source {
            check_in_use(source, spec.checks, ctx)?;
            if image.is_none() && disk.create.is_some() {
                warnings.push(format!(
                    "--disk size= is not used: `{}` exists and is used as it is",
                    source.display()
                ));
            }
        }
        if let Some(image) = &image {
            check_free_space(image, spec.checks, ctx)?;
        }
        images.extend(image);
        planned.push(GuestDisk {
            source,
            format,
            device: disk.device,
            bus: disk
                .bus
                .unwrap_or_else(|| default_bus(disk.device, spec.os.virtio_disk, q35)),
            unit: 0,
            cache: disk.cache,
            io: disk.io,
            discard: disk.discard.or(disk.create.as_ref().map(|c| c.sparse)),
            readonly: disk.readonly,
            shareable: disk.shareable,
            serial: disk.serial.clone(),
            boot_order: disk.boot_order,
            install_media: false,
        });
    }
    assign_units(&mut planned, q35)?;
    check_readonly(&planned)?;
    Ok((planned, images))
}

/// virt-install's `path_in_use` check: another guest's disk.
fn check_in_use(path: &Path, checks: Checks, ctx: &PlanContext) -> Result<(), PlanError> {
    let users = ctx.probe.disk_users(path);
    if users.is_empty() || !checks.path_in_use {
        return Ok(());
    }
    let names: Vec<String> = users.iter().map(|name| format!("'{name}'")).collect();
    Err(PlanError::Invalid(format!(
        "Disk {} is already in use by other guests [{}].{}",
        path.display(),
        names.join(", "),
        Checks::hint("path_in_use")
    )))
}

/// virt-install's space check, in its storage pool's words: too little room
/// for what is allocated now is fatal; a sparse image that could outgrow
/// the room is refused unless `--check disk_size=off`.
fn check_free_space(
    image: &NewImagePlan,
    checks: Checks,
    ctx: &PlanContext,
) -> Result<(), PlanError> {
    let folder = image.path.parent().unwrap_or(Path::new("/"));
    let Some(available) = ctx.probe.free_space(folder) else {
        return Ok(());
    };
    let mib = |bytes: u64| bytes / (1024 * 1024);
    let capacity = image.size_bytes;
    let allocation = if image.preallocate { capacity } else { 0 };
    if allocation > available {
        return Err(PlanError::Invalid(format!(
            "There is not enough free space on the storage pool to create the volume. \
             ({} M requested allocation > {} M available)",
            mib(allocation),
            mib(available)
        )));
    }
    if capacity > available && checks.disk_size {
        return Err(PlanError::Invalid(format!(
            "The requested volume capacity will exceed the available pool space when the \
             volume is fully allocated. ({} M requested capacity > {} M available){}",
            mib(capacity),
            mib(available),
            Checks::hint("disk_size")
        )));
    }
    Ok(())
}

fn default_bus(device: DiskDevice, virtio: bool, q35: bool) -> DiskBus {
    match (device, virtio, q35) {
        (DiskDevice::Disk, true, _) => DiskBus::Virtio,
        (_, _, true) => DiskBus::Sata,
        (_, _, false) => DiskBus::Ide,
    }
}

/// The image a disk uses, its format, and the image to make first.
fn disk_source(
    disk: &Disk,
    name: &str,
    ctx: &PlanContext,
    taken: &mut Vec<PathBuf>,
) -> Result<(Option<PathBuf>, String, Option<NewImagePlan>), PlanError> {
    let path = match &disk.path {
        Some(path) => absolute(path),
        None if disk.device == DiskDevice::Cdrom => return Ok((None, "raw".into(), None)),
        None => new_image_path(name, disk.format.as_deref(), ctx, taken),
    };
    taken.push(path.clone());

    if ctx.probe.exists(&path) {
        // An existing file is used as it is: never overwritten or resized.
        let format = disk
            .format
            .clone()
            .or_else(|| is_raw_media(&path, disk.device).then(|| "raw".to_string()))
            .or_else(|| ctx.probe.image_format(&path))
            .unwrap_or_else(|| "raw".into());
        return Ok((Some(path), format, None));
    }
    let Some(create) = &disk.create else {
        return Err(PlanError::Invalid(format!(
            "Size must be specified for non existent volume '{}'",
            path.display()
        )));
    };
    if disk.device == DiskDevice::Cdrom {
        return Err(PlanError::Invalid(format!(
            "Cannot create a CD-ROM image '{}': the file must exist",
            path.display()
        )));
    }
    if path
        .parent()
        .is_some_and(|parent| !parent.as_os_str().is_empty() && !ctx.probe.exists(parent))
        && disk.path.is_some()
    {
        return Err(PlanError::Invalid(format!(
            "Don't know how to create storage for path '{}': its folder does not exist",
            path.display()
        )));
    }
    let format = disk.format.clone().unwrap_or_else(|| "qcow2".into());
    let backing = match &create.backing_store {
        None => None,
        Some(backing) => {
            let backing = absolute(backing);
            if !ctx.probe.exists(&backing) {
                return Err(PlanError::Invalid(format!(
                    "backing_store '{}' does not exist",
                    backing.display()
                )));
            }
            let format = create
                .backing_format
                .clone()
                .or_else(|| ctx.probe.image_format(&backing))
                .unwrap_or_else(|| "raw".into());
            Some((backing, format))
        }
    };
    let image = NewImagePlan {
        path: path.clone(),
        format: format.clone(),
        size_bytes: (create.size_gib * GIB).round() as u64,
        preallocate: !create.sparse,
        backing,
    };
    Ok((Some(path), format, Some(image)))
}

fn is_raw_media(path: &Path, device: DiskDevice) -> bool {
    device == DiskDevice::Cdrom
        || path.starts_with("/dev")
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("iso"))
}

/// A character device whose file or socket is named from this folder, so
/// QEMU finds it wherever it runs.
fn absolute_chardev(device: &CharDevice) -> CharDevice {
    let backend = match &device.backend {
        CharBackend::File(path) => CharBackend::File(absolute(path)),
        CharBackend::Unix { path, listen } => CharBackend::Unix {
            path: absolute(path),
            listen: *listen,
        },
        other => other.clone(),
    };
    CharDevice {
        backend,
        target: device.target,
    }
}

/// `--boot` with its kernel, initrd, loader and nvram paths made absolute.
fn absolute_boot(boot: &crate::spec::Boot) -> crate::spec::Boot {
    let mut boot = boot.clone();
    if let Some(kernel) = &mut boot.kernel {
        kernel.kernel = absolute(&kernel.kernel);
        kernel.initrd = kernel.initrd.as_deref().map(absolute);
    }
    boot.loader = boot.loader.as_deref().map(absolute);
    boot.nvram = boot.nvram.as_deref().map(absolute);
    boot
}

pub(super) fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `NAME.qcow2` in the images folder, or `NAME-1.qcow2`, `NAME-2.qcow2`…
/// when that is taken, as virt-install names new volumes.
fn new_image_path(
    name: &str,
    format: Option<&str>,
    ctx: &PlanContext,
    taken: &[PathBuf],
) -> PathBuf {
    let suffix = match format {
        None | Some("qcow2") => "qcow2",
        Some(_) => "img",
    };
    let candidates = std::iter::once(format!("{name}.{suffix}"))
        .chain((1..).map(|n| format!("{name}-{n}.{suffix}")));
    candidates
        .map(|file| ctx.roots.images.join(file))
        .find(|path| !ctx.probe.exists(path) && !taken.contains(path))
        .unwrap_or_else(|| ctx.roots.images.join(format!("{name}.{suffix}")))
}

/// Gives each disk its port or unit on its bus, in order.
pub(super) fn assign_units(disks: &mut [GuestDisk], q35: bool) -> Result<(), PlanError> {
    let mut next = std::collections::BTreeMap::<&'static str, u32>::new();
    for disk in disks.iter_mut() {
        let (key, limit, message) = match (disk.bus, q35) {
            (DiskBus::Sata, true) | (DiskBus::Ide, true) => {
                ("ahci", 6, "Only 6 disks for bus 'sata' are supported")
            }
            (DiskBus::Ide, false) => ("ide", 4, "Only 4 disks for bus 'ide' are supported"),
            (DiskBus::Sata, false) => ("sata", 6, "Only 6 disks for bus 'sata' are supported"),
            (DiskBus::Scsi, _) => ("scsi", 256, "Too many SCSI disks"),
            (DiskBus::Virtio, _) => ("virtio", u32::MAX, ""),
            (DiskBus::Usb, _) => ("usb", 8, "Too many USB disks"),
            (DiskBus::Nvme, _) => ("nvme", u32::MAX, ""),
        };
        let unit = next.entry(key).or_insert(0);
        if *unit >= limit {
            return Err(PlanError::Invalid(message.into()));
        }
        disk.unit = *unit;
        *unit += 1;
    }
    Ok(())
}

/// QEMU's IDE and AHCI hard disks cannot be read-only.
fn check_readonly(disks: &[GuestDisk]) -> Result<(), PlanError> {
    let bad = disks.iter().find(|d| {
        d.readonly && d.device == DiskDevice::Disk && matches!(d.bus, DiskBus::Sata | DiskBus::Ide)
    });
    match bad {
        Some(disk) => Err(PlanError::Invalid(format!(
            "--disk {},readonly=on: QEMU cannot make an IDE or SATA disk read-only; \
             use bus=virtio or bus=scsi",
            disk.source.as_deref().unwrap_or(Path::new("")).display()
        ))),
        None => Ok(()),
    }
}

fn nics(
    spec: &GuestSpec,
    name: &str,
    q35: bool,
    ctx: &PlanContext,
    warnings: &mut Vec<String>,
) -> Result<Vec<GuestNic>, PlanError> {
    let default = [Nic {
        backend: NicBackend::Default,
        mac: None,
        model: None,
        boot_order: None,
        forwards: Vec::new(),
    }];
    let nics = spec.networks.as_deref().unwrap_or(&default);
    nics.iter()
        .enumerate()
        .map(|(index, nic)| {
            let backend = nic_backend(&nic.backend, spec, name, index, ctx, warnings)?;
            check_forwards(&nic.forwards, ctx)?;
            let model = match nic.model.as_deref() {
                Some("virtio") => "virtio-net-pci".to_string(),
                Some(model) => model.to_string(),
                None if spec.os.virtio_net => "virtio-net-pci".into(),
                None if q35 => "e1000e".into(),
                // The first emulated NIC the OS lists, as virt-install picks.
                None => match spec.os.nic_fallback.as_deref() {
                    Some(model @ ("e1000" | "rtl8139" | "ne2k_pci" | "pcnet")) => model.into(),
                    _ => "e1000".into(),
                },
            };
            let mac = match &nic.mac {
                Some(mac) => {
                    check_mac_in_use(mac, spec.checks, ctx)?;
                    mac.clone()
                }
                None => random_mac(ctx),
            };
            Ok(GuestNic {
                backend,
                mac,
                model,
                boot_order: nic.boot_order,
                forwards: nic.forwards.clone(),
            })
        })
        .collect()
}

/// A forward from a host port something else holds would only fail once
/// QEMU starts; refuse it before anything is created.
fn check_forwards(forwards: &[PortForward], ctx: &PlanContext) -> Result<(), PlanError> {
    for forward in forwards {
        let taken = forward.pairs().map(|(host, _)| host).find(|host| {
            ctx.probe
                .port_in_use(forward.proto, &forward.address, *host)
        });
        if let Some(port) = taken {
            return Err(PlanError::Invalid(format!(
                "--network portForward: host port {port}/{} on {} is already in use",
                forward.proto.as_str(),
                forward.address
            )));
        }
    }
    Ok(())
}

fn nic_backend(
    backend: &NicBackend,
    spec: &GuestSpec,
    name: &str,
    index: usize,
    ctx: &PlanContext,
    warnings: &mut Vec<String>,
) -> Result<GuestNicBackend, PlanError> {
    let tap = |bridge: &str| GuestNicBackend::Tap {
        ifname: tap_name(name, index),
        bridge: bridge.to_string(),
    };
    match backend {
        NicBackend::User => Ok(GuestNicBackend::User),
        NicBackend::Passt if ctx.host.passt.is_some() => Ok(GuestNicBackend::Passt),
        NicBackend::Passt => {
            warnings.push(
                "--network passt: qvirt runs it as QEMU user-mode networking, \
                 with the same NAT and port forwards"
                    .into(),
            );
            Ok(GuestNicBackend::User)
        }
        NicBackend::Bridge(bridge) if !ctx.host.bridges.contains(bridge) => {
            Err(PlanError::Invalid(format!(
                "--network bridge={bridge}: there is no bridge `{bridge}` on this host"
            )))
        }
        NicBackend::Bridge(bridge) => Ok(tap(bridge)),
        NicBackend::Direct { .. } if spec.connection == crate::paths::Connection::Session => Err(
            PlanError::Invalid("--network type=direct: a macvtap device needs root".into()),
        ),
        NicBackend::Direct { source, .. }
            if !ctx.probe.exists(&Path::new("/sys/class/net").join(source)) =>
        {
            Err(PlanError::Invalid(format!(
                "--network type=direct: there is no interface `{source}` on this host"
            )))
        }
        NicBackend::Direct { source, mode } => Ok(GuestNicBackend::Macvtap {
            ifname: tap_name(name, index),
            source: source.clone(),
            mode: mode.clone(),
        }),
        NicBackend::Default => match (spec.connection, &ctx.host.default_route_bridge) {
            (crate::paths::Connection::Session, _) => Ok(GuestNicBackend::User),
            (_, Some(bridge)) => Ok(tap(bridge)),
            (_, None) => default_network(ctx, warnings, tap),
        },
        NicBackend::Network(network) if network == "default" => default_network(ctx, warnings, tap),
        NicBackend::Network(network) => Err(PlanError::Invalid(format!(
            "Network not found: no network with matching name '{network}' \
             (qvirt has no libvirt networks; only 'default' is known)"
        ))),
    }
}

/// libvirt's `default` network is the bridge `virbr0`; without it qvirt
/// gives the guest user-mode NAT instead, and says so.
fn default_network(
    ctx: &PlanContext,
    warnings: &mut Vec<String>,
    tap: impl Fn(&str) -> GuestNicBackend,
) -> Result<GuestNicBackend, PlanError> {
    if ctx.host.has_virbr0 {
        return Ok(tap("virbr0"));
    }
    warnings.push("network 'default': no virbr0 bridge on this host, using user-mode NAT".into());
    Ok(GuestNicBackend::User)
}

/// A tap name unique to the guest and NIC, within the 15 bytes Linux allows.
pub(super) fn tap_name(guest: &str, index: usize) -> String {
    // FNV-1a: stable across runs and Rust versions, unlike the std hasher.
    let hash = guest.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("qv{:08x}n{index}", hash as u32)
}

/// virt-install's `mac_in_use` check: another guest's NIC.
fn check_mac_in_use(mac: &str, checks: Checks, ctx: &PlanContext) -> Result<(), PlanError> {
    if !checks.mac_in_use || ctx.probe.mac_users(mac).is_empty() {
        return Ok(());
    }
    Err(PlanError::Invalid(format!(
        "The MAC address '{mac}' is in use by another virtual machine.{}",
        Checks::hint("mac_in_use")
    )))
}

/// A random QEMU-range MAC address that no other guest has, as far as a
/// few tries can tell.
fn random_mac(ctx: &PlanContext) -> String {
    let draw = || {
        let bytes = ctx.probe.random_bytes(3);
        let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
        format!("52:54:00:{:02x}:{:02x}:{:02x}", byte(0), byte(1), byte(2))
    };
    let mut mac = draw();
    for _ in 0..16 {
        if ctx.probe.mac_users(&mac).is_empty() {
            break;
        }
        mac = draw();
    }
    mac
}

fn uuid(ctx: &PlanContext) -> String {
    let mut bytes = ctx.probe.random_bytes(16);
    bytes.resize(16, 0);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn spice_port(
    graphics: &crate::spec::Graphics,
    ctx: &PlanContext,
) -> Result<Option<u16>, PlanError> {
    if graphics.kind != GraphicsKind::Spice {
        return Ok(None);
    }
    if let Some(port) = graphics.port {
        return Ok(Some(port));
    }
    let address = match &graphics.listen {
        crate::spec::Listen::Address(address) => address.as_str(),
        crate::spec::Listen::None => return Ok(None),
    };
    ctx.probe
        .free_port(address, 5900)
        .map(Some)
        .ok_or_else(|| PlanError::Invalid("no free port for SPICE at or above 5900".into()))
}

fn video(spec: &GuestSpec, graphics: &crate::spec::Graphics) -> Option<VideoModel> {
    match (spec.video, graphics.kind) {
        (Some(VideoModel::None), _) => None,
        (Some(model), _) => Some(model),
        (None, GraphicsKind::None) => None,
        (None, _) if spec.os.virtio_gpu => Some(VideoModel::Virtio),
        (None, GraphicsKind::Spice) => Some(VideoModel::Qxl),
        (None, GraphicsKind::Vnc) => Some(VideoModel::Vga),
    }
}

/// The install phase's boot order: the media first, then the disk. A
/// kernel booted directly needs none; a cloud-init first boot boots the
/// disk.
fn install_boot(install: &Install, disks: &[GuestDisk], seed: bool) -> Option<Vec<BootDevice>> {
    let has_disk = disks.iter().any(|d| d.device == DiskDevice::Disk);
    let first = match install {
        Install::Cdrom(_) => BootDevice::Cdrom,
        Install::Pxe => BootDevice::Network,
        Install::Bootdev(device) => *device,
        Install::Location(_) | Install::Kernel(_) => return Some(Vec::new()),
        Install::None | Install::Import if seed => {
            return Some(if has_disk {
                vec![BootDevice::Hd]
            } else {
                Vec::new()
            });
        }
        Install::None | Install::Import => return None,
    };
    if first == BootDevice::Hd {
        return Some(vec![BootDevice::Hd]);
    }
    Some(if has_disk {
        vec![first, BootDevice::Hd]
    } else {
        vec![first]
    })
}

/// UEFI when `--boot` asks for it, or when the OS needs it (Windows 11);
/// in the second case missing firmware is a warning, as in virt-install,
/// and the guest gets BIOS.
fn uefi(
    spec: &GuestSpec,
    state: &Path,
    ctx: &PlanContext,
    warnings: &mut Vec<String>,
) -> Result<Option<Uefi>, PlanError> {
    let asked = match spec.boot.uefi {
        Some(false) => {
            if let Some(nvram) = &spec.boot.nvram {
                return Err(PlanError::Invalid(format!(
                    "--boot nvram={} needs UEFI, and the guest boots with BIOS",
                    nvram.display()
                )));
            }
            return Ok(None);
        }
        Some(true) => true,
        // The OS decides; an nvram= store alone also asks for UEFI.
        None if spec.boot.nvram.is_some() => true,
        None if spec.os.uefi == crate::osinfo::Uefi::Required => false,
        None => return Ok(None),
    };
    if !asked && ctx.host.firmware.is_none() && spec.boot.loader.is_none() {
        warnings.push(
            "Couldn't configure UEFI: no UEFI firmware was found (install the Debian \
             package `ovmf`)"
                .into(),
        );
        warnings.push("Your VM may not boot successfully.".into());
        return Ok(None);
    }
    let mut firmware = match (&ctx.host.firmware, &spec.boot.loader) {
        (_, Some(loader)) => crate::host::Firmware {
            code: absolute(loader),
            vars_template: ctx
                .host
                .firmware
                .as_ref()
                .map(|f| f.vars_template.clone())
                .unwrap_or_default(),
        },
        (Some(firmware), None) => firmware.clone(),
        (None, None) => {
            return Err(PlanError::Invalid(
                "UEFI firmware was not found: install the Debian package `ovmf`".into(),
            ));
        }
    };
    if !ctx.probe.exists(&firmware.code) {
        return Err(PlanError::Invalid(format!(
            "UEFI firmware '{}' does not exist",
            firmware.code.display()
        )));
    }
    let vars = match &spec.boot.nvram {
        Some(nvram) => absolute(nvram),
        None => {
            if firmware.vars_template.as_os_str().is_empty() {
                return Err(PlanError::Invalid(
                    "--boot loader= needs nvram= or the `ovmf` package's variable template".into(),
                ));
            }
            state.join("VARS.fd")
        }
    };
    firmware.code = absolute(&firmware.code);
    Ok(Some(Uefi { firmware, vars }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine with `free` bytes everywhere and one other guest that
    /// uses `/shared.img` and the MAC address 52:54:00:00:00:00.
    struct FakeProbe {
        free: u64,
    }

    impl crate::plan::Probe for FakeProbe {
        fn exists(&self, _: &Path) -> bool {
            false
        }
        fn image_format(&self, _: &Path) -> Option<String> {
            None
        }
        fn guest_exists(&self, _: &str) -> bool {
            false
        }
        fn random_bytes(&self, count: usize) -> Vec<u8> {
            vec![0; count]
        }
        fn free_port(&self, _: &str, from: u16) -> Option<u16> {
            Some(from)
        }
        fn free_space(&self, _: &Path) -> Option<u64> {
            Some(self.free)
        }
        fn disk_users(&self, path: &Path) -> Vec<String> {
            if path == Path::new("/shared.img") {
                vec!["other".into()]
            } else {
                Vec::new()
            }
        }
        fn mac_users(&self, mac: &str) -> Vec<String> {
            if mac == "52:54:00:00:00:00" {
                vec!["other".into()]
            } else {
                Vec::new()
            }
        }
    }

    fn context_checks(free: u64, run: impl FnOnce(&PlanContext)) {
        let host = crate::host::HostFacts {
            qemu: "qemu-system-x86_64".into(),
            kvm: Kvm::Usable,
            firmware: None,
            default_route_bridge: None,
            has_virbr0: false,
            bridges: Vec::new(),
            swtpm: None,
            passt: None,
        };
        let roots = crate::paths::Roots {
            runtime: "/r".into(),
            state: "/s".into(),
            images: "/i".into(),
        };
        let probe = FakeProbe { free };
        run(&PlanContext {
            host: &host,
            roots: &roots,
            probe: &probe,
        });
    }

    fn image(gib: u64, preallocate: bool) -> NewImagePlan {
        NewImagePlan {
            path: "/i/a.qcow2".into(),
            format: "qcow2".into(),
            size_bytes: gib << 30,
            preallocate,
            backing: None,
        }
    }

    #[test]
    fn free_space_in_virt_install_words() {
        let on = Checks::default();
        let off = Checks {
            disk_size: false,
            ..on
        };
        context_checks(1 << 30, |ctx| {
            assert!(check_free_space(&image(1, true), on, ctx).is_ok());
            let error = check_free_space(&image(2, true), off, ctx).expect_err("fatal");
            assert_eq!(
                error.to_string(),
                "There is not enough free space on the storage pool to create the volume. \
                 (2048 M requested allocation > 1024 M available)"
            );
            let error = check_free_space(&image(2, false), on, ctx).expect_err("checked");
            assert!(
                error.to_string().ends_with(
                    "(2048 M requested capacity > 1024 M available) \
                     (Use --check disk_size=off or --check all=off to override)"
                ),
                "{error}"
            );
            assert!(check_free_space(&image(2, false), off, ctx).is_ok());
        });
    }

    #[test]
    fn disks_in_use_by_others() {
        let on = Checks::default();
        let off = Checks {
            path_in_use: false,
            ..on
        };
        context_checks(0, |ctx| {
            let error = check_in_use(Path::new("/shared.img"), on, ctx).expect_err("in use");
            assert!(
                error
                    .to_string()
                    .starts_with("Disk /shared.img is already in use by other guests ['other']."),
                "{error}"
            );
            assert!(check_in_use(Path::new("/shared.img"), off, ctx).is_ok());
            assert!(check_in_use(Path::new("/mine.img"), on, ctx).is_ok());
        });
    }

    #[test]
    fn macs_in_use_by_others() {
        let on = Checks::default();
        let off = Checks {
            mac_in_use: false,
            ..on
        };
        context_checks(0, |ctx| {
            let error = check_mac_in_use("52:54:00:00:00:00", on, ctx).expect_err("in use");
            assert_eq!(
                error.to_string(),
                "The MAC address '52:54:00:00:00:00' is in use by another virtual machine. \
                 (Use --check mac_in_use=off or --check all=off to override)"
            );
            assert!(check_mac_in_use("52:54:00:00:00:00", off, ctx).is_ok());
            assert!(check_mac_in_use("52:54:00:12:34:56", on, ctx).is_ok());
        });
    }

    #[test]
    fn generic_guests_get_i440fx() {
        let generic = crate::osinfo::OsInfo::generic();
        let builtin = crate::osinfo::OsDb::load_from(&[], None);
        let linux = builtin.resolve("linux2022").expect("known").os;
        assert_eq!(machine(None, &generic).expect("pc"), "pc");
        assert_eq!(machine(None, &linux).expect("q35"), "q35");
        assert_eq!(machine(Some("q35"), &generic).expect("asked"), "q35");
        assert!(machine(Some("virt"), &linux).is_err());
    }

    #[test]
    fn tap_names_fit_linux() {
        let name = tap_name("a-rather-long-guest-name", 12);
        assert!(name.len() <= 15, "{name}");
        assert_eq!(tap_name("x", 0), tap_name("x", 0));
        assert_ne!(tap_name("x", 0), tap_name("y", 0));
    }

    #[test]
    fn accel_choice() {
        let mut warnings = Vec::new();
        assert_eq!(
            accel(None, &Kvm::Usable, &mut warnings).expect("kvm"),
            Accel::Kvm
        );
        assert_eq!(
            accel(Some(VirtType::Qemu), &Kvm::Usable, &mut warnings).expect("tcg"),
            Accel::Tcg
        );
        assert!(warnings.is_empty());
        let unusable = Kvm::Unusable("denied".into());
        assert_eq!(
            accel(None, &unusable, &mut warnings).expect("fallback"),
            Accel::Tcg
        );
        assert_eq!(warnings, ["KVM acceleration not available, using 'qemu'"]);
        assert!(accel(Some(VirtType::Kvm), &unusable, &mut warnings).is_err());
    }
}
