//! The machine's answers to the planner's questions: which files exist,
//! what format an image has, which names are taken, free ports, and
//! randomness for MAC addresses and UUIDs.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::paths::Roots;
use crate::plan::Probe;
use crate::spec::Proto;

/// Set to make MAC addresses and UUIDs repeatable, for golden tests.
pub const PREDICTABLE_ENV: &str = "QVIRT_PREDICTABLE";

/// [`Probe`] answered by this machine.
pub struct HostProbe {
    roots: Roots,
    qemu_img: PathBuf,
    predictable: bool,
    counter: std::cell::Cell<u8>,
}

impl HostProbe {
    /// A probe that looks for guests below `roots`.
    pub fn new(roots: Roots, qemu_img: PathBuf) -> HostProbe {
        HostProbe {
            roots,
            qemu_img,
            predictable: std::env::var_os(PREDICTABLE_ENV).is_some_and(|v| !v.is_empty()),
            counter: std::cell::Cell::new(0),
        }
    }
}

impl HostProbe {
    /// The defined guests whose saved definition passes `test`, sorted.
    fn guests_where(&self, test: impl Fn(&crate::plan::Guest) -> bool) -> Vec<String> {
        crate::runtime::state::defined_names(&self.roots)
            .into_iter()
            .filter(|name| {
                let dirs = self.roots.guest(name);
                crate::runtime::state::Definition::load(&dirs, name)
                    .is_ok_and(|definition| test(&definition.guest))
            })
            .collect()
    }
}

impl Probe for HostProbe {
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn image_format(&self, path: &Path) -> Option<String> {
        // `-U` reads the header even while another QEMU holds the image.
        let output = Command::new(&self.qemu_img)
            .args(["info", "-U", "--output=json"])
            .arg(path)
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let info: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        info.get("format")?.as_str().map(str::to_string)
    }

    fn guest_exists(&self, name: &str) -> bool {
        let dirs = self.roots.guest(name);
        dirs.definition().exists() || dirs.lock_file().exists()
    }

    fn random_bytes(&self, count: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; count];
        if self.predictable {
            // Distinct, repeatable values: 1, 2, 3 … across calls.
            for byte in &mut bytes {
                let next = self.counter.get().wrapping_add(1);
                self.counter.set(next);
                *byte = next;
            }
            return bytes;
        }
        let mut filled = 0;
        while filled < count {
            match rustix::rand::getrandom(
                &mut bytes[filled..],
                rustix::rand::GetRandomFlags::empty(),
            ) {
                Ok(n) => filled += n,
                Err(_) => break,
            }
        }
        bytes
    }

    fn disk_users(&self, path: &Path) -> Vec<String> {
        self.guests_where(|guest| {
            guest.disks.iter().any(|disk| {
                !disk.readonly && !disk.shareable && disk.source.as_deref() == Some(path)
            })
        })
    }

    fn mac_users(&self, mac: &str) -> Vec<String> {
        self.guests_where(|guest| {
            guest
                .nics
                .iter()
                .any(|nic| nic.mac.eq_ignore_ascii_case(mac))
        })
    }

    fn port_in_use(&self, proto: Proto, address: &str, port: u16) -> bool {
        // An address that cannot be bound at all is QEMU's to report.
        let busy = |error: std::io::Error| error.kind() == std::io::ErrorKind::AddrInUse;
        match proto {
            Proto::Tcp => TcpListener::bind((address, port)).err().is_some_and(busy),
            Proto::Udp => UdpSocket::bind((address, port)).err().is_some_and(busy),
        }
    }

    fn free_port(&self, address: &str, from: u16) -> Option<u16> {
        (from..=u16::MAX).find(|port| TcpListener::bind((address, *port)).is_ok())
    }
}
