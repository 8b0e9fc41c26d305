//! Facts about this machine that decide the QEMU command line: which QEMU,
//! whether KVM works, where UEFI firmware is, which bridges exist.
//!
//! Probing does I/O; the planner only reads the [`HostFacts`] it returns,
//! so tests can hand it any machine they like.

use std::path::{Path, PathBuf};

/// Whether `/dev/kvm` can accelerate a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kvm {
    /// It opens read-write.
    Usable,
    /// It opens, but belongs to `kvm_pvm`, which runs only PVM-built guest
    /// kernels: a stock kernel hangs or aborts under it.
    Pvm,
    /// It cannot be used, and why.
    Unusable(String),
}

/// A UEFI firmware pair: read-only code and a template of the variables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Firmware {
    /// The code image (pflash unit 0).
    pub code: PathBuf,
    /// The variable store template, copied for each guest (pflash unit 1).
    pub vars_template: PathBuf,
}

/// What the planner needs to know about the host.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// The `qemu-system-x86_64` to run.
    pub qemu: PathBuf,
    /// Whether KVM works.
    pub kvm: Kvm,
    /// UEFI firmware, if installed (Debian package `ovmf`).
    pub firmware: Option<Firmware>,
    /// The bridge that carries the default route, if it is a bridge.
    pub default_route_bridge: Option<String>,
    /// Whether libvirt's default network bridge `virbr0` exists.
    pub has_virbr0: bool,
}

impl HostFacts {
    /// Looks at this machine.
    pub fn probe() -> HostFacts {
        HostFacts {
            qemu: find_qemu(),
            kvm: probe_kvm(Path::new("/dev/kvm")),
            firmware: find_firmware(),
            default_route_bridge: default_route_bridge(),
            has_virbr0: is_bridge("virbr0"),
        }
    }
}

/// The environment variable that names a QEMU binary to use instead of
/// the one on `PATH`.
pub const QEMU_ENV: &str = "QVIRT_QEMU";

fn find_qemu() -> PathBuf {
    if let Some(path) = std::env::var_os(QEMU_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    which::which("qemu-system-x86_64").unwrap_or_else(|_| PathBuf::from("qemu-system-x86_64"))
}

fn probe_kvm(device: &Path) -> Kvm {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
    {
        Ok(_) if Path::new("/sys/module/kvm_pvm").exists() => Kvm::Pvm,
        Ok(_) => Kvm::Usable,
        Err(error) => Kvm::Unusable(format!("{}: {error}", device.display())),
    }
}

/// Debian's `ovmf` package, then the names other distributions use.
fn find_firmware() -> Option<Firmware> {
    const PAIRS: &[(&str, &str)] = &[
        (
            "/usr/share/OVMF/OVMF_CODE_4M.fd",
            "/usr/share/OVMF/OVMF_VARS_4M.fd",
        ),
        (
            "/usr/share/OVMF/OVMF_CODE.fd",
            "/usr/share/OVMF/OVMF_VARS.fd",
        ),
        (
            "/usr/share/edk2/ovmf/OVMF_CODE.fd",
            "/usr/share/edk2/ovmf/OVMF_VARS.fd",
        ),
        (
            "/usr/share/edk2/x64/OVMF_CODE.4m.fd",
            "/usr/share/edk2/x64/OVMF_VARS.4m.fd",
        ),
        (
            "/usr/share/qemu/edk2-x86_64-code.fd",
            "/usr/share/qemu/edk2-i386-vars.fd",
        ),
    ];
    PAIRS
        .iter()
        .map(|(code, vars)| (Path::new(code), Path::new(vars)))
        .find(|(code, vars)| code.exists() && vars.exists())
        .map(|(code, vars)| Firmware {
            code: code.to_path_buf(),
            vars_template: vars.to_path_buf(),
        })
}

fn is_bridge(name: &str) -> bool {
    Path::new("/sys/class/net")
        .join(name)
        .join("bridge")
        .exists()
}

/// The interface of the IPv4 default route, when it is a bridge.
fn default_route_bridge() -> Option<String> {
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    routes
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let interface = fields.next()?;
            let destination = fields.next()?;
            (destination == "00000000").then(|| interface.to_string())
        })
        .find(|interface| is_bridge(interface))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_kvm_is_unusable() {
        match probe_kvm(Path::new("/nonexistent/kvm")) {
            Kvm::Unusable(reason) => assert!(reason.contains("/nonexistent/kvm"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
