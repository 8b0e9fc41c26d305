//! The built-in OS table used when no osinfo-db is installed: the generic
//! Linux entries `linux2016` to `linux2024` and `win10`, `win11`, with
//! sensible facts (the `generic` OS is always available on its own).

use super::model::{Caps, Family, OsRecord};
use super::xml::{RawFirmware, RawResources, ResKind};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The built-in records, oldest first.
pub(crate) fn records() -> Vec<OsRecord> {
    let mut out: Vec<OsRecord> = [2016, 2018, 2020, 2022, 2024]
        .into_iter()
        .map(linux)
        .collect();
    out.push(windows(10));
    out.push(windows(11));
    out
}

fn linux(year: u32) -> OsRecord {
    let caps = Caps {
        virtio_disk: true,
        virtio_net: true,
        virtio_rng: true,
        virtio_balloon: true,
        virtio_gpu: true,
        virtio_scsi: true,
        virtio_serial: true,
        virtio_input: true,
        usb3: true,
        q35: true,
        nic_fallback: Some("e1000e".to_owned()),
    };
    OsRecord {
        uri: Some(format!("http://libosinfo.org/linux/{year}")),
        short_ids: vec![format!("linux{year}")],
        name: format!("Generic Linux {year}"),
        family: Family::Linux,
        distro: None,
        version: Some(year.to_string()),
        release_date: Some(format!("{year}-01-01")),
        caps,
        resources: resources(1024 * MIB, 2048 * MIB, 2, 20 * GIB),
        ..OsRecord::generic()
    }
}

fn windows(version: u32) -> OsRecord {
    let caps = Caps {
        usb3: true,
        q35: true,
        nic_fallback: Some("e1000e".to_owned()),
        ..Caps::default()
    };
    let min_ram = if version >= 11 { 4096 } else { 2048 };
    OsRecord {
        uri: Some(format!("http://microsoft.com/win/{version}")),
        short_ids: vec![format!("win{version}")],
        name: format!("Microsoft Windows {version}"),
        family: Family::Windows,
        distro: Some("win".to_owned()),
        version: Some(format!("{version}.0")),
        caps,
        firmware: efi(version >= 11),
        resources: resources(min_ram * MIB, 4096 * MIB, 2, 64 * GIB),
        win11: version >= 11,
        ..OsRecord::generic()
    }
}

fn efi(required: bool) -> Vec<RawFirmware> {
    let fw = |kind: &str, supported| RawFirmware {
        arch: "x86_64".to_owned(),
        kind: kind.to_owned(),
        supported,
        secure_boot: None,
    };
    vec![fw("efi", true), fw("bios", !required)]
}

fn resources(min_ram: u64, ram: u64, cpus: u64, storage: u64) -> Vec<RawResources> {
    let block = |kind, ram, storage| RawResources {
        arch: "all".to_owned(),
        kind,
        inherit: false,
        n_cpus: Some(cpus),
        ram: Some(ram),
        storage: Some(storage),
    };
    vec![
        block(ResKind::Minimum, min_ram, storage / 2),
        block(ResKind::Recommended, ram, storage),
    ]
}

#[cfg(test)]
mod tests {
    use super::records;
    use crate::osinfo::model::{Family, Uefi};

    #[test]
    fn builtin_facts_table() {
        let recs = records();
        let cases = [
            (
                "linux2016",
                Family::Linux,
                true,
                Uefi::Unsupported,
                2048,
                20,
                false,
            ),
            (
                "linux2024",
                Family::Linux,
                true,
                Uefi::Unsupported,
                2048,
                20,
                false,
            ),
            (
                "win10",
                Family::Windows,
                false,
                Uefi::Supported,
                4096,
                64,
                false,
            ),
            (
                "win11",
                Family::Windows,
                false,
                Uefi::Required,
                4096,
                64,
                true,
            ),
        ];
        for (id, family, virtio, uefi, mem, disk, tpm) in cases {
            let info = recs
                .iter()
                .find(|r| r.id() == id)
                .expect(id)
                .info_for("x86_64");
            assert_eq!(info.family, family, "{id}");
            assert_eq!(
                (info.virtio_disk, info.virtio_net),
                (virtio, virtio),
                "{id}"
            );
            assert_eq!(info.uefi, uefi, "{id}");
            assert_eq!(
                (info.memory_mib, info.vcpus, info.storage_gib),
                (Some(mem), Some(2), Some(disk))
            );
            assert_eq!((info.tpm2, info.secure_boot), (tpm, tpm), "{id}");
            assert!(info.q35 && info.usb3, "{id}");
        }
        let win10 = recs
            .iter()
            .find(|r| r.id() == "win10")
            .expect("win10")
            .info_for("x86_64");
        assert_eq!(win10.nic_fallback.as_deref(), Some("e1000e"));
    }
}
