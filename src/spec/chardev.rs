//! `--serial` and `--console`: the guest's character devices.
//!
//! virt-install gives every guest one `pty` console on its first serial
//! port. qvirt has no pty to hand out; that console is a socket in the
//! guest's runtime folder, with everything it prints kept in a log, and
//! `qvirt console` attaches to it.

use std::path::PathBuf;

use super::{SpecError, parse_all};
use crate::subopt::SubOpts;

/// The host side of a character device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CharBackend {
    /// `pty`: the guest's console socket, logged, for `qvirt console`.
    Console,
    /// `file,path=`: output appended to a file.
    File(PathBuf),
    /// `unix,path=`: a Unix socket, listening (`bind`) or connecting.
    Unix {
        /// The socket path.
        path: PathBuf,
        /// true: QEMU listens; false: QEMU connects.
        listen: bool,
    },
    /// `tcp,host=HOST:PORT`: a TCP socket, listening or connecting.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// true: QEMU listens; false: QEMU connects.
        listen: bool,
        /// `protocol.type=telnet`.
        telnet: bool,
    },
    /// `null`: output discarded.
    Null,
}

/// Where the device appears in the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CharTarget {
    /// A 16550 serial port (ttyS*).
    Serial,
    /// A virtio console (hvc*).
    Virtio,
}

/// One `--serial` or `--console`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CharDevice {
    /// The host side.
    pub backend: CharBackend,
    /// The guest side.
    pub target: CharTarget,
}

/// Reads `--serial` then `--console`. `None` when neither was given, so
/// the guest gets virt-install's default console; `--console none` alone
/// gives an empty list.
pub fn chardevs_from_args(
    serials: &[String],
    consoles: &[String],
) -> Result<Option<Vec<CharDevice>>, SpecError> {
    if serials.is_empty() && consoles.is_empty() {
        return Ok(None);
    }
    let mut devices = Vec::new();
    for mut opts in parse_all("serial", serials)? {
        devices.push(CharDevice::from_opts(&mut opts, CharTarget::Serial)?);
        opts.finish()?;
    }
    for mut opts in parse_all("console", consoles)? {
        if opts.is_none() {
            continue;
        }
        let device = CharDevice::from_opts(&mut opts, CharTarget::Serial)?;
        opts.finish()?;
        // A console that matches a serial port already given is that port.
        let same = devices
            .iter()
            .any(|d| d.target == CharTarget::Serial && d.backend == device.backend);
        if !(same && device.target == CharTarget::Serial) {
            devices.push(device);
        }
    }
    Ok(Some(devices))
}

impl CharDevice {
    fn from_opts(opts: &mut SubOpts, default_target: CharTarget) -> Result<CharDevice, SpecError> {
        let raw = opts.raw().to_string();
        let option = if opts.option() == "console" {
            "console"
        } else {
            "serial"
        };
        let invalid = |reason: String| SpecError::Value {
            option,
            raw: raw.clone(),
            reason,
        };
        let kind = opts.take("type").unwrap_or_else(|| "pty".into());
        let path = opts
            .take("path")
            .or_else(|| opts.take("source.path"))
            .map(PathBuf::from);
        let mode = opts.take("mode").or_else(|| opts.take("source.mode"));
        let host = opts.take("source.host").or_else(|| opts.take("host"));
        let service = opts.take("source.service");
        let listen = match mode.as_deref() {
            None | Some("bind") => true,
            Some("connect") => false,
            Some(other) => return Err(invalid(format!("Unknown mode '{other}'"))),
        };
        let telnet = match opts.take("protocol.type").as_deref() {
            None | Some("raw") => false,
            Some("telnet") => true,
            Some(other) => return Err(invalid(format!("Unknown protocol '{other}'"))),
        };

        let backend = match kind.as_str() {
            "pty" => CharBackend::Console,
            "null" => CharBackend::Null,
            "file" => CharBackend::File(path.ok_or_else(|| invalid("file needs path=".into()))?),
            "unix" => CharBackend::Unix {
                path: path.ok_or_else(|| invalid("unix needs path=".into()))?,
                listen,
            },
            "tcp" => {
                let (host, port) = tcp_address(host.as_deref(), service.as_deref())
                    .ok_or_else(|| invalid("tcp needs host=HOST:PORT".into()))?;
                CharBackend::Tcp {
                    host,
                    port,
                    listen,
                    telnet,
                }
            }
            other @ ("dev" | "pipe" | "stdio" | "vc" | "udp" | "spicevmc" | "spiceport"
            | "nmdm" | "qemu-vdagent") => {
                return Err(SpecError::Unsupported {
                    options: vec![format!("--{option} {other}")],
                });
            }
            other => return Err(invalid(format!("Unknown character device type '{other}'"))),
        };
        let target = match opts.take("target.type").as_deref() {
            None => default_target,
            Some("serial" | "isa-serial") => CharTarget::Serial,
            Some("virtio") => CharTarget::Virtio,
            Some(other) => {
                return Err(SpecError::Unsupported {
                    options: vec![format!("--{option} target.type={other}")],
                });
            }
        };
        Ok(CharDevice { backend, target })
    }
}

/// `HOST:PORT` (or a separate service), with `[v6]:PORT` allowed.
fn tcp_address(host: Option<&str>, service: Option<&str>) -> Option<(String, u16)> {
    let host = host.unwrap_or("");
    let (name, port) = match service {
        Some(service) => (host, service),
        None => host.rsplit_once(':')?,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let name = if name.is_empty() { "127.0.0.1" } else { name };
    Some((name.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> Result<CharDevice, SpecError> {
        let devices = chardevs_from_args(&[raw.to_string()], &[])?.expect("given");
        Ok(devices.into_iter().next().expect("one"))
    }

    #[test]
    fn backends() {
        assert_eq!(one("pty").expect("pty").backend, CharBackend::Console);
        assert_eq!(
            one("file,path=/tmp/s.log").expect("file").backend,
            CharBackend::File("/tmp/s.log".into())
        );
        assert_eq!(
            one("unix,path=/tmp/s.sock,mode=connect")
                .expect("unix")
                .backend,
            CharBackend::Unix {
                path: "/tmp/s.sock".into(),
                listen: false
            }
        );
        assert_eq!(
            one("tcp,host=:4555,mode=bind,protocol.type=telnet")
                .expect("tcp")
                .backend,
            CharBackend::Tcp {
                host: "127.0.0.1".into(),
                port: 4555,
                listen: true,
                telnet: true
            }
        );
    }

    #[test]
    fn console_matching_serial_is_one_device() {
        let devices = chardevs_from_args(&["pty".into()], &["pty,target_type=serial".into()])
            .expect("parses")
            .expect("given");
        assert_eq!(devices.len(), 1);
        let devices = chardevs_from_args(&[], &["none".into()]).expect("parses");
        assert_eq!(devices, Some(vec![]));
    }

    #[test]
    fn errors() {
        assert!(one("file").is_err());
        assert!(one("tcp,host=nohost").is_err());
        assert!(
            one("stdio")
                .expect_err("later")
                .to_string()
                .contains("not supported yet")
        );
    }
}
