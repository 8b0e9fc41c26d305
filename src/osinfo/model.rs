//! The public facts about one operating system ([`OsInfo`], [`Family`],
//! [`Uefi`], [`ListEntry`]) and the compact per-OS record the index stores
//! ([`OsRecord`]), from which an `OsInfo` is derived for a guest architecture
//! with virt-install's rules (recommended resources, else twice the minimum).

use serde::{Deserialize, Serialize};

use super::xml::{RawFirmware, RawResources, ResKind};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The guest architecture whose facts [`OsInfo`] carries by default.
pub const DEFAULT_ARCH: &str = "x86_64";

/// Broad OS family, from libosinfo's `<family>` (`win9x`, `winnt`, `win16` are Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `<family>linux</family>`.
    Linux,
    /// `win9x`, `winnt` or `win16`.
    Windows,
    /// Anything else (BSDs, Solaris, DOS, generic...).
    Other,
}

impl Family {
    /// Maps a libosinfo `<family>` value.
    pub fn from_osinfo(family: Option<&str>) -> Family {
        match family {
            Some("linux") => Family::Linux,
            Some("win9x" | "winnt" | "win16") => Family::Windows,
            _ => Family::Other,
        }
    }
}

/// What the OS says about UEFI firmware on the architecture, from `<firmware>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Uefi {
    /// No `<firmware type="efi">` entry (or `supported="false"`).
    Unsupported,
    /// EFI is supported, BIOS too.
    Supported,
    /// EFI is supported and BIOS is not (virt-install's `requires_firmware_efi`).
    Required,
}

/// The facts qvirt needs about one OS, for one guest architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// Short id as the user would type it: `debian12`, `win11`, `generic`.
    pub id: String,
    /// Full libosinfo id, e.g. `http://debian.org/debian/12`; `None` for generic.
    pub uri: Option<String>,
    /// Display name, e.g. `Debian 12`.
    pub name: String,
    /// Broad family.
    pub family: Family,
    /// libosinfo `<distro>` (`debian`, `fedora`, `win`...), used e.g. for kernel arguments.
    pub distro: Option<String>,
    /// libosinfo `<version>` (`11`, `9.1`, `unknown`...).
    pub version: Option<String>,
    /// Supports virtio-blk (`virtio-block` or `virtio1.0-block`).
    pub virtio_disk: bool,
    /// Supports virtio-net (legacy or 1.0).
    pub virtio_net: bool,
    /// Supports virtio-rng.
    pub virtio_rng: bool,
    /// Supports the virtio memory balloon.
    pub virtio_balloon: bool,
    /// Supports `virtio1.0-gpu`.
    pub virtio_gpu: bool,
    /// Supports virtio-scsi.
    pub virtio_scsi: bool,
    /// Supports virtio-serial (`virtio-console`), so a guest-agent channel.
    pub virtio_serial: bool,
    /// Supports `virtio1.0-input`.
    pub virtio_input: bool,
    /// Supports the `qemu-xhci` USB 3 controller.
    pub usb3: bool,
    /// Suitable for the q35 chipset (virt-install's `supports_chipset_q35`).
    pub q35: bool,
    /// First of e1000e, e1000, rtl8139, ne2k_pci, pcnet the OS lists: the NIC
    /// model to use when virtio-net is not supported.
    pub nic_fallback: Option<String>,
    /// UEFI support for the architecture.
    pub uefi: Uefi,
    /// The OS needs (or its EFI entry declares) secure boot: Windows 11 and its descendants.
    pub secure_boot: bool,
    /// The OS needs a TPM 2.0: Windows 11 and its descendants.
    pub tpm2: bool,
    /// Default memory: recommended RAM, else twice the minimum, in MiB.
    pub memory_mib: Option<u64>,
    /// Default vCPUs: recommended n-cpus, else twice the minimum.
    pub vcpus: Option<u32>,
    /// Default new-disk size: recommended storage, else twice the minimum, in GiB.
    pub storage_gib: Option<u64>,
    /// Minimum RAM in MiB, for the "less than the recommended" warning.
    pub minimum_memory_mib: Option<u64>,
    /// libosinfo `<release-status>`: `prerelease`, `rolling`, `snapshot`; `None` means released.
    pub release_status: Option<String>,
    /// libosinfo `<eol-date>` (`YYYY-MM-DD`).
    pub eol_date: Option<String>,
}

impl OsInfo {
    /// virt-install's `generic` OS: no virtio, no defaults.
    pub fn generic() -> OsInfo {
        OsRecord::generic().info_for(DEFAULT_ARCH)
    }

    /// Whether this is the generic OS.
    pub fn is_generic(&self) -> bool {
        self.id == "generic"
    }
}

/// One line of `--osinfo list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    /// Primary short id.
    pub id: String,
    /// The other short ids of the same OS, sorted.
    pub aliases: Vec<String>,
    /// Display name.
    pub name: String,
    /// Full libosinfo id.
    pub uri: Option<String>,
}

impl ListEntry {
    /// virt-install's line: every name of the OS, sorted, joined by `, `.
    pub fn line(&self) -> String {
        let mut all: Vec<&str> = self.aliases.iter().map(String::as_str).collect();
        all.push(&self.id);
        all.sort_unstable();
        all.dedup();
        all.join(", ")
    }
}

/// For `skip_serializing_if`: keeps the index small.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// Device support after inheritance, as the index stores it (false fields omitted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Caps {
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_disk: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_net: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_rng: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_balloon: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_gpu: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_scsi: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_serial: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) virtio_input: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) usb3: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) q35: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nic_fallback: Option<String>,
}

/// Everything the index keeps about one OS, inheritance already applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OsRecord {
    pub(crate) uri: Option<String>,
    pub(crate) short_ids: Vec<String>,
    pub(crate) name: String,
    pub(crate) family: Family,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) distro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) release_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) eol_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) release_status: Option<String>,
    pub(crate) caps: Caps,
    /// Effective firmware entries, nearest definition first.
    pub(crate) firmware: Vec<RawFirmware>,
    /// Effective minimum and recommended resource blocks per arch.
    pub(crate) resources: Vec<RawResources>,
    /// Windows 11 or derived from it: needs UEFI, secure boot and TPM 2.0.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) win11: bool,
}

impl OsRecord {
    /// The record behind [`OsInfo::generic`].
    pub(crate) fn generic() -> OsRecord {
        OsRecord {
            uri: None,
            short_ids: vec!["generic".to_owned()],
            name: "Generic or unknown OS. Usage is not recommended.".to_owned(),
            family: Family::Other,
            distro: None,
            version: None,
            release_date: None,
            eol_date: None,
            release_status: None,
            caps: Caps::default(),
            firmware: Vec::new(),
            resources: Vec::new(),
            win11: false,
        }
    }

    /// Primary short id.
    pub(crate) fn id(&self) -> &str {
        self.short_ids.first().map_or("", String::as_str)
    }

    /// The public facts for guest architecture `arch`.
    pub(crate) fn info_for(&self, arch: &str) -> OsInfo {
        let caps = &self.caps;
        let recommended = |f: Field| self.recommended(f, arch);
        OsInfo {
            id: self.id().to_owned(),
            uri: self.uri.clone(),
            name: self.name.clone(),
            family: self.family,
            distro: self.distro.clone(),
            version: self.version.clone(),
            virtio_disk: caps.virtio_disk,
            virtio_net: caps.virtio_net,
            virtio_rng: caps.virtio_rng,
            virtio_balloon: caps.virtio_balloon,
            virtio_gpu: caps.virtio_gpu,
            virtio_scsi: caps.virtio_scsi,
            virtio_serial: caps.virtio_serial,
            virtio_input: caps.virtio_input,
            usb3: caps.usb3,
            q35: caps.q35,
            nic_fallback: caps.nic_fallback.clone(),
            uefi: self.uefi(arch),
            secure_boot: self.win11 || self.efi_secure_boot(arch),
            tpm2: self.win11,
            memory_mib: recommended(Field::Ram).map(|b| b / MIB),
            vcpus: recommended(Field::Cpus).and_then(|n| u32::try_from(n).ok()),
            storage_gib: recommended(Field::Storage).map(|b| b / GIB),
            minimum_memory_mib: self
                .value(ResKind::Minimum, Field::Ram, arch)
                .map(|b| b / MIB),
            release_status: self.release_status.clone(),
            eol_date: self.eol_date.clone(),
        }
    }

    /// virt-install's `_get_recommended_key`: recommended for the arch, then
    /// for `all`, else twice the minimum (arch, then `all`).
    fn recommended(&self, field: Field, arch: &str) -> Option<u64> {
        let doubled = || {
            self.value(ResKind::Minimum, field, arch)
                .map(|v| v.saturating_mul(2))
        };
        self.value(ResKind::Recommended, field, arch)
            .or_else(doubled)
    }

    fn value(&self, kind: ResKind, field: Field, arch: &str) -> Option<u64> {
        [arch, "all"].into_iter().find_map(|a| {
            let block = self
                .resources
                .iter()
                .find(|r| r.kind == kind && r.arch == a)?;
            field.get(block).filter(|&v| v > 0)
        })
    }

    fn firmware(&self, arch: &str, kind: &str) -> Option<&RawFirmware> {
        self.firmware
            .iter()
            .find(|f| f.arch == arch && f.kind == kind)
    }

    /// virt-install's `requires_firmware_efi`: EFI supported (default no) and
    /// BIOS not supported (default yes).
    fn uefi(&self, arch: &str) -> Uefi {
        let efi = self.firmware(arch, "efi").is_some_and(|f| f.supported);
        let bios = self.firmware(arch, "bios").is_none_or(|f| f.supported);
        match (efi || self.win11, bios && !self.win11) {
            (false, _) => Uefi::Unsupported,
            (true, true) => Uefi::Supported,
            (true, false) => Uefi::Required,
        }
    }

    fn efi_secure_boot(&self, arch: &str) -> bool {
        self.firmware(arch, "efi")
            .and_then(|f| f.secure_boot)
            .unwrap_or(false)
    }

    /// The entry for `--osinfo list`.
    pub(crate) fn list_entry(&self) -> ListEntry {
        let mut aliases: Vec<String> = self.short_ids.iter().skip(1).cloned().collect();
        aliases.sort_unstable();
        aliases.dedup();
        aliases.retain(|a| a != self.id());
        ListEntry {
            id: self.id().to_owned(),
            aliases,
            name: self.name.clone(),
            uri: self.uri.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Ram,
    Cpus,
    Storage,
}

impl Field {
    fn get(self, r: &RawResources) -> Option<u64> {
        match self {
            Field::Ram => r.ram,
            Field::Cpus => r.n_cpus,
            Field::Storage => r.storage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Family, ListEntry, OsInfo, OsRecord, Uefi};
    use crate::osinfo::xml::{RawFirmware, RawResources, ResKind};

    fn block(kind: ResKind, arch: &str, ram: Option<u64>, cpus: Option<u64>) -> RawResources {
        RawResources {
            arch: arch.into(),
            kind,
            inherit: false,
            n_cpus: cpus,
            ram,
            storage: None,
        }
    }

    fn firmware(kind: &str, supported: bool) -> RawFirmware {
        RawFirmware {
            arch: "x86_64".into(),
            kind: kind.into(),
            supported,
            secure_boot: None,
        }
    }

    #[test]
    fn family_mapping_table() {
        let cases = [
            (Some("linux"), Family::Linux),
            (Some("winnt"), Family::Windows),
            (Some("win9x"), Family::Windows),
            (Some("win16"), Family::Windows),
            (Some("freebsd"), Family::Other),
            (None, Family::Other),
        ];
        for (raw, want) in cases {
            assert_eq!(Family::from_osinfo(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn resources_follow_virt_install_rules() {
        const GIB: u64 = 1 << 30;
        type Case = (Vec<RawResources>, Option<u64>, Option<u32>, Option<u64>);
        let cases: &[Case] = &[
            (vec![], None, None, None),
            (
                vec![block(ResKind::Minimum, "all", Some(GIB), Some(1))],
                Some(2048),
                Some(2),
                Some(1024),
            ),
            (
                vec![
                    block(ResKind::Minimum, "all", Some(GIB), Some(1)),
                    block(ResKind::Recommended, "all", Some(4 * GIB), None),
                ],
                Some(4096),
                Some(2),
                Some(1024),
            ),
            (
                vec![
                    block(ResKind::Recommended, "all", Some(4 * GIB), None),
                    block(ResKind::Recommended, "x86_64", Some(8 * GIB), Some(4)),
                    block(ResKind::Recommended, "aarch64", Some(GIB), Some(1)),
                ],
                Some(8192),
                Some(4),
                None,
            ),
        ];
        for (resources, mem, cpus, min) in cases {
            let rec = OsRecord {
                resources: resources.clone(),
                ..OsRecord::generic()
            };
            let info = rec.info_for("x86_64");
            assert_eq!(
                (info.memory_mib, info.vcpus, info.minimum_memory_mib),
                (*mem, *cpus, *min)
            );
        }
    }

    #[test]
    fn uefi_table() {
        let cases = [
            (vec![], false, Uefi::Unsupported),
            (vec![firmware("efi", true)], false, Uefi::Supported),
            (
                vec![firmware("efi", true), firmware("bios", false)],
                false,
                Uefi::Required,
            ),
            (vec![firmware("efi", false)], false, Uefi::Unsupported),
            (vec![], true, Uefi::Required),
        ];
        for (fw, win11, want) in cases {
            let rec = OsRecord {
                firmware: fw.clone(),
                win11,
                ..OsRecord::generic()
            };
            assert_eq!(rec.info_for("x86_64").uefi, want, "{fw:?} win11={win11}");
            assert_eq!(
                rec.info_for("aarch64").uefi,
                if win11 { want } else { Uefi::Unsupported }
            );
        }
    }

    #[test]
    fn generic_has_no_defaults() {
        let g = OsInfo::generic();
        assert!(g.is_generic());
        assert_eq!(
            (g.memory_mib, g.vcpus, g.storage_gib, g.uri),
            (None, None, None, None)
        );
        assert!(!g.virtio_disk && !g.q35 && !g.usb3);
    }

    #[test]
    fn list_line_joins_sorted_names() {
        let e = ListEntry {
            id: "debian11".into(),
            aliases: vec!["debianbullseye".into()],
            name: "Debian 11".into(),
            uri: None,
        };
        assert_eq!(e.line(), "debian11, debianbullseye");
    }
}
