//! Facts about this machine that decide the QEMU command line: which QEMU,
//! whether KVM works, where UEFI firmware is, which bridges exist.
//!
//! Probing does I/O; the planner only reads the [`HostFacts`] it returns,
//! so tests can hand it any machine they like. Tests of the binary cannot,
//! so environment variables stand in for the probes, and golden files come
//! out the same on every machine:
//!
//! | variable | values | replaces |
//! | --- | --- | --- |
//! | `QVIRT_KVM` | `usable`, `pvm`, `none` | opening `/dev/kvm` |
//! | `QVIRT_NET` | `none`, or a comma list of `virbr0`, `route=BRIDGE` and `bridge=BRIDGE` | looking for bridges |
//! | `QVIRT_FIRMWARE` | `none`, or `CODE:VARS` | looking for OVMF |
//! | `QVIRT_FREE_SPACE` | bytes | the free space of the images' folder |
//! | `QVIRT_PASST` | `none`, or the path of `passt` | looking for passt on `PATH` |

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
    /// Every bridge on the host, by name.
    pub bridges: Vec<String>,
    /// The TPM emulator (Debian package `swtpm`), if installed.
    pub swtpm: Option<PathBuf>,
    /// The user-mode network helper (Debian package `passt`), if installed.
    pub passt: Option<PathBuf>,
}

impl HostFacts {
    /// Looks at this machine, unless the environment stands in for a probe.
    pub fn probe() -> HostFacts {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let kvm = match var(KVM_ENV) {
            Some(value) => kvm_from_env(&value),
            None => probe_kvm(Path::new("/dev/kvm")),
        };
        let firmware = match var(FIRMWARE_ENV) {
            Some(value) => firmware_from_env(&value),
            None => find_firmware(),
        };
        let (default_route_bridge, has_virbr0, bridges) = match var(NET_ENV) {
            Some(value) => net_from_env(&value),
            None => (default_route_bridge(), is_bridge("virbr0"), all_bridges()),
        };
        HostFacts {
            qemu: find_qemu(),
            kvm,
            firmware,
            default_route_bridge,
            has_virbr0,
            bridges,
            swtpm: which::which("swtpm").ok(),
            passt: find_passt(),
        }
    }
}

/// Stands in for opening `/dev/kvm`: `usable`, `pvm` or `none`.
pub const KVM_ENV: &str = "QVIRT_KVM";

/// Stands in for looking at the host's bridges: `none`, or a comma list
/// of `virbr0` (libvirt's default network exists), `route=BRIDGE` (the
/// default route goes through that bridge) and `bridge=BRIDGE` (another
/// bridge exists).
pub const NET_ENV: &str = "QVIRT_NET";

/// Stands in for looking for OVMF: `none`, or `CODE:VARS`.
pub const FIRMWARE_ENV: &str = "QVIRT_FIRMWARE";

/// Stands in for looking for passt: `none`, or the path of the binary.
pub const PASST_ENV: &str = "QVIRT_PASST";

/// The `passt` to run for `--network passt`, unless the environment says
/// there is none; the planner and the supervisor both ask here, so they
/// agree on it.
pub fn find_passt() -> Option<PathBuf> {
    match std::env::var(PASST_ENV).ok().filter(|v| !v.is_empty()) {
        Some(value) => passt_from_env(&value),
        None => which::which("passt").ok(),
    }
}

fn passt_from_env(value: &str) -> Option<PathBuf> {
    (value != "none").then(|| PathBuf::from(value))
}

fn kvm_from_env(value: &str) -> Kvm {
    match value {
        "usable" => Kvm::Usable,
        "pvm" => Kvm::Pvm,
        // A value that is none of the three must not pass for a working
        // KVM, so it reads as unusable and says why.
        other => Kvm::Unusable(format!("{KVM_ENV}={other}")),
    }
}

fn firmware_from_env(value: &str) -> Option<Firmware> {
    let (code, vars) = value.split_once(':')?;
    Some(Firmware {
        code: PathBuf::from(code),
        vars_template: PathBuf::from(vars),
    })
}

fn net_from_env(value: &str) -> (Option<String>, bool, Vec<String>) {
    let mut route = None;
    let mut virbr0 = false;
    let mut bridges = Vec::new();
    for item in value.split(',') {
        match item.split_once('=') {
            Some(("route", bridge)) => {
                route = Some(bridge.to_string());
                bridges.push(bridge.to_string());
            }
            Some(("bridge", bridge)) => bridges.push(bridge.to_string()),
            _ if item == "virbr0" => {
                virbr0 = true;
                bridges.push(item.to_string());
            }
            _ => {}
        }
    }
    (route, virbr0, bridges)
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

/// Stands in for the free space of every folder, in bytes.
pub const FREE_SPACE_ENV: &str = "QVIRT_FREE_SPACE";

/// Bytes free to an unprivileged writer in `folder`, or in its nearest
/// parent that exists (a new guest's images folder may not exist yet).
pub fn free_space(folder: &Path) -> Option<u64> {
    if let Some(value) = std::env::var(FREE_SPACE_ENV).ok().filter(|v| !v.is_empty()) {
        return value.trim().parse().ok();
    }
    let existing = folder.ancestors().find(|path| path.is_dir())?;
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some(stat.f_frsize.saturating_mul(stat.f_bavail))
}

fn is_bridge(name: &str) -> bool {
    Path::new("/sys/class/net")
        .join(name)
        .join("bridge")
        .exists()
}

/// The names of the bridges in this network namespace.
fn all_bridges() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.path().join("bridge").exists())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect()
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
    fn environment_stands_in_for_probes() {
        assert_eq!(kvm_from_env("usable"), Kvm::Usable);
        assert_eq!(kvm_from_env("pvm"), Kvm::Pvm);
        assert_eq!(kvm_from_env("none"), Kvm::Unusable("QVIRT_KVM=none".into()));
        assert_eq!(firmware_from_env("none"), None);
        assert_eq!(passt_from_env("none"), None);
        assert_eq!(
            passt_from_env("/opt/passt"),
            Some(PathBuf::from("/opt/passt"))
        );
        let firmware = firmware_from_env("/a/CODE.fd:/a/VARS.fd").expect("a pair");
        assert_eq!(firmware.vars_template, PathBuf::from("/a/VARS.fd"));
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let cases = [
            ("none", (None, false, names(&[]))),
            ("virbr0", (None, true, names(&["virbr0"]))),
            (
                "route=br0",
                (Some("br0".to_string()), false, names(&["br0"])),
            ),
            (
                "virbr0,route=br1,bridge=br2",
                (
                    Some("br1".to_string()),
                    true,
                    names(&["virbr0", "br1", "br2"]),
                ),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(net_from_env(value), want, "{value}");
        }
    }

    #[test]
    fn free_space_looks_at_the_nearest_folder() {
        let root = free_space(Path::new("/")).expect("the root has a size");
        let missing = free_space(Path::new("/nonexistent/a/b")).expect("falls back to /");
        assert!(root > 0 && missing > 0);
    }

    #[test]
    fn missing_kvm_is_unusable() {
        match probe_kvm(Path::new("/nonexistent/kvm")) {
            Kvm::Unusable(reason) => assert!(reason.contains("/nonexistent/kvm"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
