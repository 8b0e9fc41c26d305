//! What qvirt knows of the guest's OS, and the defaults it implies.
//!
//! virt-install takes device defaults from libosinfo: virtio where the OS
//! has the drivers, USB 3 where it has xHCI, the Windows clock, and so on.
//! This module answers the same questions from a small built-in table.
//! TODO(#5): read the real osinfo-db, detect the OS from install media, and
//! take memory, vCPU and disk-size defaults from it.

/// The broad family an OS belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Family {
    /// Linux distributions and the `linux20NN` generic ids.
    Linux,
    /// Microsoft Windows.
    Windows,
    /// The `generic` id and anything qvirt knows nothing about.
    Other,
}

/// One OS, with the facts the defaults depend on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OsInfo {
    /// The short id, as `--osinfo` takes it (`debian12`, `generic`).
    pub id: String,
    /// The family.
    pub family: Family,
    /// The guest has virtio drivers (disk, NIC, RNG, GPU, serial).
    pub virtio: bool,
    /// The guest has an xHCI (USB 3) driver.
    pub usb3: bool,
}

impl OsInfo {
    /// The `generic` OS: no virtio, emulated devices only.
    pub fn generic() -> OsInfo {
        OsInfo {
            id: "generic".into(),
            family: Family::Other,
            virtio: false,
            usb3: false,
        }
    }

    /// True for the `generic` OS, which virt-install warns about.
    pub fn is_generic(&self) -> bool {
        self.id == "generic"
    }

    /// The OS names `--osinfo list` prints.
    pub fn list() -> Vec<String> {
        [
            "generic",
            "linux2016",
            "linux2018",
            "linux2020",
            "linux2022",
            "win10",
            "win11",
        ]
        .iter()
        .map(|id| id.to_string())
        .collect()
    }

    /// Looks up an OS by short id. Without the OS database every
    /// well-formed name is accepted and judged by its family: names that
    /// start with `win` are Windows, others are modern Linux with virtio.
    pub fn lookup(name: &str) -> Option<OsInfo> {
        let id = name.trim().to_ascii_lowercase();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return None;
        }
        if id == "generic" || id == "none" {
            return Some(OsInfo::generic());
        }
        let (family, virtio, usb3) = if id.starts_with("win") {
            // Windows has neither virtio nor, before 8, xHCI drivers built in.
            (
                Family::Windows,
                false,
                !matches!(id.as_str(), "winxp" | "win7" | "win2k8"),
            )
        } else {
            (Family::Linux, true, true)
        };
        Some(OsInfo {
            id,
            family,
            virtio,
            usb3,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let cases = [
            ("generic", Family::Other, false),
            ("none", Family::Other, false),
            ("debian12", Family::Linux, true),
            ("Linux2022", Family::Linux, true),
            ("win11", Family::Windows, false),
        ];
        for (name, family, virtio) in cases {
            let os = OsInfo::lookup(name).expect(name);
            assert_eq!((os.family, os.virtio), (family, virtio), "{name}");
        }
    }

    #[test]
    fn malformed_names_are_unknown() {
        for name in ["", "a b", "x/y", "rm;rf"] {
            assert_eq!(OsInfo::lookup(name), None, "{name:?}");
        }
    }
}
