//! `--disk`: storage devices, and the images qvirt-install makes for them.

use std::path::PathBuf;

use super::{SpecError, parse_all};
use crate::subopt::SubOpts;

/// What the guest sees the disk as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DiskDevice {
    /// A hard disk.
    Disk,
    /// A CD-ROM drive, read-only.
    Cdrom,
}

/// The bus a disk hangs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DiskBus {
    /// virtio-blk.
    Virtio,
    /// AHCI (q35's built-in controller).
    Sata,
    /// PIIX IDE (the `pc` machine).
    Ide,
    /// virtio-scsi.
    Scsi,
    /// USB mass storage.
    Usb,
    /// NVMe.
    Nvme,
}

impl DiskBus {
    const ALL: [DiskBus; 6] = [
        DiskBus::Virtio,
        DiskBus::Sata,
        DiskBus::Ide,
        DiskBus::Scsi,
        DiskBus::Usb,
        DiskBus::Nvme,
    ];

    fn parse(value: &str) -> Option<DiskBus> {
        DiskBus::ALL.into_iter().find(|bus| bus.name() == value)
    }

    /// The name `bus=` takes.
    pub fn name(self) -> &'static str {
        match self {
            DiskBus::Virtio => "virtio",
            DiskBus::Sata => "sata",
            DiskBus::Ide => "ide",
            DiskBus::Scsi => "scsi",
            DiskBus::Usb => "usb",
            DiskBus::Nvme => "nvme",
        }
    }
}

/// `cache=`: how QEMU caches writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cache {
    /// `none`: O_DIRECT, guest-visible write cache.
    None,
    /// `writethrough`.
    Writethrough,
    /// `writeback`.
    Writeback,
    /// `directsync`.
    Directsync,
    /// `unsafe`: flushes ignored.
    Unsafe,
}

/// `io=`: QEMU's asynchronous I/O engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DiskIo {
    /// Linux native AIO.
    Native,
    /// A thread pool.
    Threads,
    /// io_uring.
    IoUring,
}

/// An image that does not exist yet and is made before the guest starts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewImage {
    /// `size=`, in GiB as virt-install reads it (`.5` is 512 MiB).
    pub size_gib: f64,
    /// `sparse=no` asks for the space to be allocated now.
    pub sparse: bool,
    /// `backing_store=`.
    pub backing_store: Option<PathBuf>,
    /// `backing_format=`.
    pub backing_format: Option<String>,
}

/// One `--disk`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Disk {
    /// The image or device; `None` for a new image in the default folder,
    /// and for an empty CD-ROM drive.
    pub path: Option<PathBuf>,
    /// What the guest sees.
    pub device: DiskDevice,
    /// `format=`: the image format; `None` is probed (or qcow2 when new).
    pub format: Option<String>,
    /// `bus=`; `None` follows the OS and machine.
    pub bus: Option<DiskBus>,
    /// `cache=`.
    pub cache: Option<Cache>,
    /// `io=`.
    pub io: Option<DiskIo>,
    /// `discard=unmap` (true) or `ignore` (false).
    pub discard: Option<bool>,
    /// `readonly=`.
    pub readonly: bool,
    /// `shareable=`.
    pub shareable: bool,
    /// `serial=`.
    pub serial: Option<String>,
    /// `boot.order=`.
    pub boot_order: Option<u32>,
    /// Set when the image is to be made: `size=` and its companions.
    pub create: Option<NewImage>,
}

/// Reads every `--disk`. `None` when no `--disk` was given at all;
/// `--disk none` gives an empty list, which satisfies the storage rule.
pub fn disks_from_args(values: &[String]) -> Result<Option<Vec<Disk>>, SpecError> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut disks = Vec::new();
    for mut opts in parse_all("disk", values)? {
        if opts.is_none() {
            continue;
        }
        disks.push(Disk::from_opts(&mut opts)?);
        opts.finish()?;
    }
    Ok(Some(disks))
}

impl Disk {
    fn from_opts(opts: &mut SubOpts) -> Result<Disk, SpecError> {
        let raw = opts.raw().to_string();
        let invalid = |reason: String| SpecError::Value {
            option: "disk",
            raw: raw.clone(),
            reason,
        };

        let path = opts
            .take("path")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        let device = match opts.take("device").as_deref() {
            None | Some("disk") => DiskDevice::Disk,
            Some("cdrom") => DiskDevice::Cdrom,
            Some(other @ ("floppy" | "lun")) => {
                return Err(SpecError::Unsupported {
                    options: vec![format!("--disk device={other}")],
                });
            }
            Some(other) => return Err(invalid(format!("Unknown device type '{other}'"))),
        };
        let format = opts.take("format").or_else(|| opts.take("driver.type"));
        let bus = match opts.take("target.bus") {
            None => None,
            Some(bus) => Some(DiskBus::parse(&bus).ok_or_else(|| {
                invalid(format!(
                    "Unknown bus '{bus}': use virtio, sata, scsi, ide, usb or nvme"
                ))
            })?),
        };
        let cache = match opts.take("driver.cache").as_deref() {
            None => None,
            Some("none") => Some(Cache::None),
            Some("writethrough") => Some(Cache::Writethrough),
            Some("writeback") => Some(Cache::Writeback),
            Some("directsync") => Some(Cache::Directsync),
            Some("unsafe") => Some(Cache::Unsafe),
            Some(other) => return Err(invalid(format!("Unknown cache mode '{other}'"))),
        };
        let io = match opts.take("driver.io").as_deref() {
            None => None,
            Some("native") => Some(DiskIo::Native),
            Some("threads") => Some(DiskIo::Threads),
            Some("io_uring") => Some(DiskIo::IoUring),
            Some(other) => return Err(invalid(format!("Unknown io mode '{other}'"))),
        };
        let discard = match opts.take("driver.discard").as_deref() {
            None => None,
            Some("unmap") => Some(true),
            Some("ignore") => Some(false),
            Some(other) => return Err(invalid(format!("Unknown discard mode '{other}'"))),
        };
        if let Some(name) = opts.take("driver.name").filter(|n| n != "qemu") {
            return Err(invalid(format!(
                "Unknown driver name '{name}': only 'qemu' exists"
            )));
        }
        let mut readonly = opts.take_bool("readonly")?.unwrap_or(false);
        let mut shareable = opts.take_bool("shareable")?.unwrap_or(false);
        match opts.take("perms").as_deref() {
            None | Some("rw") => {}
            Some("ro") => readonly = true,
            Some("sh") => shareable = true,
            Some(other) => {
                return Err(SpecError::Invalid(format!(
                    "Unknown 'perms' value '{other}'"
                )));
            }
        }
        let serial = opts.take("serial");
        let boot_order = opts.take_parsed::<u32>("boot.order")?;

        let size =
            match opts.take("size") {
                None => None,
                Some(size) => Some(size.parse::<f64>().ok().filter(|s| *s > 0.0).ok_or_else(
                    || {
                        SpecError::Invalid(format!(
                            "Improper value for 'size': could not convert string to float: '{size}'"
                        ))
                    },
                )?),
            };
        let sparse = opts.take_bool("sparse")?.unwrap_or(true);
        let backing_store = opts.take("backing_store").map(PathBuf::from);
        let backing_format = opts.take("backing_format");
        if backing_format.is_some() && backing_store.is_none() {
            return Err(invalid("backing_format needs backing_store".into()));
        }

        // Storage named another way (`vol=`, `pool=`) is not a missing path.
        opts.refuse_leftovers()?;
        if device == DiskDevice::Disk && path.is_none() && size.is_none() {
            return Err(SpecError::Invalid(
                "Device type 'disk' requires a path".into(),
            ));
        }
        let create = match size {
            Some(size_gib) => Some(NewImage {
                size_gib,
                sparse,
                backing_store,
                backing_format,
            }),
            None if backing_store.is_some() => {
                let name = path
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display();
                return Err(SpecError::Invalid(format!(
                    "Size must be specified for non existent volume '{name}'"
                )));
            }
            None => None,
        };
        if device == DiskDevice::Cdrom {
            if let Some(bus @ (DiskBus::Virtio | DiskBus::Nvme)) = bus {
                // libvirt's rule: a drive whose media can change sits on
                // ide, sata, scsi or usb.
                return Err(SpecError::Invalid(format!(
                    "disk device type 'cdrom' is not supported on bus '{}'",
                    bus.name()
                )));
            }
            readonly = true;
        }
        if io == Some(DiskIo::Native) && !matches!(cache, Some(Cache::None | Cache::Directsync)) {
            return Err(invalid(
                "io=native needs cache=none or cache=directsync (QEMU requires O_DIRECT for it)"
                    .into(),
            ));
        }

        Ok(Disk {
            path,
            device,
            format,
            bus,
            cache,
            io,
            discard,
            readonly,
            shareable,
            serial,
            boot_order,
            create,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(raw: &str) -> Result<Disk, SpecError> {
        let disks = disks_from_args(&[raw.to_string()])?.expect("given");
        Ok(disks.into_iter().next().expect("one disk"))
    }

    #[test]
    fn everyday_disks() {
        let d = disk("path=/a.qcow2,size=20,bus=virtio,cache=none,io=native,discard=unmap")
            .expect("parses");
        assert_eq!(d.path, Some(PathBuf::from("/a.qcow2")));
        assert_eq!(d.create.as_ref().map(|c| c.size_gib), Some(20.0));
        assert_eq!(
            (d.bus, d.cache, d.io),
            (
                Some(DiskBus::Virtio),
                Some(Cache::None),
                Some(DiskIo::Native)
            )
        );
        assert_eq!(d.discard, Some(true));

        let d = disk("/x.iso,device=cdrom").expect("parses");
        assert!(d.readonly && d.create.is_none());

        let d = disk("size=.5").expect("parses");
        assert_eq!(d.create.map(|c| c.size_gib), Some(0.5));

        let d = disk("/b.qcow2,size=1,backing_store=/base.qcow2,backing_format=qcow2,sparse=no")
            .expect("parses");
        let create = d.create.expect("new");
        assert!(!create.sparse);
        assert_eq!(create.backing_format.as_deref(), Some("qcow2"));
    }

    #[test]
    fn disk_errors() {
        let cases = [
            ("device=disk", "Device type 'disk' requires a path"),
            ("/a,size=x", "could not convert string to float: 'x'"),
            ("/a,perms=xx", "Unknown 'perms' value 'xx'"),
            ("/a,io=native", "io=native needs cache=none"),
            ("/a,bus=floppy", "Unknown bus 'floppy'"),
            (
                "/a.iso,device=cdrom,bus=virtio",
                "disk device type 'cdrom' is not supported on bus 'virtio'",
            ),
            ("/a,device=floppy", "not supported yet"),
            ("vol=pool/vol", "--disk vol is not supported yet"),
            ("pool=default,size=1", "--disk pool is not supported yet"),
        ];
        for (raw, want) in cases {
            let error = disk(raw).expect_err(raw).to_string();
            assert!(error.contains(want), "{raw}: {error}");
        }
    }

    #[test]
    fn disk_none_counts_as_storage() {
        let disks = disks_from_args(&["none".to_string()]).expect("parses");
        assert_eq!(disks, Some(vec![]));
        assert_eq!(disks_from_args(&[]).expect("parses"), None);
    }
}
