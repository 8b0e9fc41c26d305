//! `--network`: the guest's NICs.

use super::{SpecError, parse_all};
use crate::subopt::SubOpts;

/// Where a NIC's traffic goes on the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NicBackend {
    /// virt-install's default: chosen from the connection and the host.
    Default,
    /// QEMU's user-mode networking (NAT, no root).
    User,
    /// `--network passt`: a passt process when passt is installed, QEMU's
    /// user-mode networking (the same NAT and port forwards) otherwise.
    Passt,
    /// A tap device on this host bridge.
    Bridge(String),
    /// A libvirt virtual network, by name.
    Network(String),
    /// `type=direct`: a macvtap device on a host interface.
    Direct {
        /// `source=`: the host interface.
        source: String,
        /// `source.mode=`: vepa (libvirt's default), bridge, private or
        /// passthrough.
        mode: String,
    },
}

/// One `--network`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Nic {
    /// The host side.
    pub backend: NicBackend,
    /// `mac=`; `None` (or `RANDOM`) makes one up.
    pub mac: Option<String>,
    /// `model=`; `None` follows the OS and machine.
    pub model: Option<String>,
    /// `boot.order=`.
    pub boot_order: Option<u32>,
    /// `portForward=`: host ports forwarded into the guest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<PortForward>,
}

/// The transport a port forward carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// The name QEMU and virt-install use.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One `portForward=[ADDRESS:]HOST[-END][:GUEST][/PROTO]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortForward {
    /// TCP or UDP.
    pub proto: Proto,
    /// The host address to bind; `127.0.0.1` unless given.
    pub address: String,
    /// The first host port.
    pub host: u16,
    /// The first guest port; the range is as long as the host range.
    pub guest: u16,
    /// How many ports, from `host` and `guest` on.
    pub count: u16,
}

impl PortForward {
    /// Each host port and the guest port it reaches.
    pub fn pairs(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        (0..self.count).map(|i| (self.host + i, self.guest + i))
    }

    /// Reads virt-install's passt shorthand.
    pub fn from_shorthand(value: &str) -> Result<PortForward, String> {
        let bad = || {
            format!(
                "port forward '{value}' is not [ADDRESS:]HOSTPORT[-END][:GUESTPORT[-END]][/PROTO]"
            )
        };
        let (rest, proto) = match value.rsplit_once('/') {
            Some((rest, "tcp")) => (rest, Proto::Tcp),
            Some((rest, "udp")) => (rest, Proto::Udp),
            Some(_) => return Err(bad()),
            None => (value, Proto::Tcp),
        };
        // Ports are the last one or two `:` fields; an address (IPv6 ones
        // have colons too) is whatever comes before them.
        let fields: Vec<&str> = rest.split(':').collect();
        let ports = fields
            .iter()
            .rev()
            .take(2)
            .take_while(|f| port_range(f).is_some())
            .count();
        let (address, host, guest) = match (ports, fields.len()) {
            (0, _) => return Err(bad()),
            (1, _) => (&fields[..fields.len() - 1], fields[fields.len() - 1], None),
            (_, n) => (&fields[..n - 2], fields[n - 2], Some(fields[n - 1])),
        };
        let address = address.join(":");
        let address = address.trim_start_matches('[').trim_end_matches(']');
        let host = port_range(host).ok_or_else(bad)?;
        let guest = match guest {
            Some(guest) => port_range(guest).ok_or_else(bad)?,
            None => host,
        };
        let count = host.1 - host.0 + 1;
        if guest.1 - guest.0 + 1 != count {
            return Err(format!(
                "port forward '{value}': the guest range must be as long as the host range"
            ));
        }
        Ok(PortForward {
            proto,
            address: if address.is_empty() {
                "127.0.0.1".to_string()
            } else {
                address.to_string()
            },
            host: host.0,
            guest: guest.0,
            count,
        })
    }
}

/// `PORT` or `FIRST-LAST`, as an inclusive range of non-zero ports.
fn port_range(text: &str) -> Option<(u16, u16)> {
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let first: u16 = first.parse().ok().filter(|p| *p > 0)?;
    let last: u16 = last.parse().ok()?;
    (last >= first).then_some((first, last))
}

/// NIC models QEMU has and guests commonly drive.
const MODELS: &[&str] = &[
    "virtio", "e1000e", "e1000", "rtl8139", "ne2k_pci", "pcnet", "vmxnet3",
];

/// Reads every `--network`; `None` when none was given, so the caller adds
/// virt-install's default NIC. `--network none` gives an empty list.
pub fn nics_from_args(values: &[String]) -> Result<Option<Vec<Nic>>, SpecError> {
    if values.is_empty() {
        return Ok(None);
    }
    let mut nics = Vec::new();
    for mut opts in parse_all("network", values)? {
        if opts.is_none() {
            continue;
        }
        nics.push(Nic::from_opts(&mut opts)?);
        opts.finish()?;
    }
    Ok(Some(nics))
}

impl Nic {
    fn from_opts(opts: &mut SubOpts) -> Result<Nic, SpecError> {
        let raw = opts.raw().to_string();
        let invalid = |reason: String| SpecError::Value {
            option: "network",
            raw: raw.clone(),
            reason,
        };
        let unsupported = |what: String| SpecError::Unsupported {
            options: vec![format!("--network {what}")],
        };

        let kind = opts.take("type");
        let bridge = opts.take("bridge");
        let network = opts.take("network");
        let backend = match (kind.as_deref(), bridge, network) {
            (_, Some(bridge), _) => NicBackend::Bridge(bridge),
            (_, None, Some(network)) => NicBackend::Network(network),
            (Some("default") | None, None, None) => NicBackend::Default,
            (Some("user"), None, None) => NicBackend::User,
            (Some("passt"), None, None) => NicBackend::Passt,
            // The old `--network bridge:br0` and `network:default` forms.
            (Some(kind), None, None) if kind.starts_with("bridge:") => {
                NicBackend::Bridge(kind["bridge:".len()..].to_string())
            }
            (Some(kind), None, None) if kind.starts_with("network:") => {
                NicBackend::Network(kind["network:".len()..].to_string())
            }
            (Some("bridge"), None, None) => {
                let source = opts
                    .take("source")
                    .ok_or_else(|| invalid("bridge needs a name".into()))?;
                NicBackend::Bridge(source)
            }
            (Some("network"), None, None) => {
                let source = opts
                    .take("source")
                    .ok_or_else(|| invalid("network needs a name".into()))?;
                NicBackend::Network(source)
            }
            (Some("direct"), None, None) => {
                let source = opts
                    .take("source")
                    .ok_or_else(|| invalid("direct needs a source interface".into()))?;
                let mode = opts.take("source.mode").unwrap_or_else(|| "vepa".into());
                if !["vepa", "bridge", "private", "passthrough"].contains(&mode.as_str()) {
                    return Err(invalid(format!("Unknown macvtap mode '{mode}'")));
                }
                NicBackend::Direct { source, mode }
            }
            (Some(other @ ("vhostuser" | "vdpa" | "hostdev" | "ethernet")), None, None) => {
                return Err(unsupported(other.to_string()));
            }
            (Some(other), None, None) => {
                return Err(invalid(format!("Unknown network type '{other}'")));
            }
        };

        let mac = opts
            .take("mac.address")
            .filter(|mac| !mac.eq_ignore_ascii_case("random"))
            .map(|mac| {
                validate_mac(&mac)
                    .ok_or_else(|| invalid(format!("MAC address '{mac}' is not valid")))
            })
            .transpose()?;
        let model = opts.take("model.type").filter(|m| m != "default");
        if let Some(model) = &model {
            if !MODELS.contains(&model.as_str()) {
                return Err(invalid(format!(
                    "Unknown NIC model '{model}': use one of {}",
                    MODELS.join(", ")
                )));
            }
        }
        let boot_order = opts.take_parsed::<u32>("boot.order")?;
        let forwards = port_forwards(opts, &backend).map_err(invalid)?;
        Ok(Nic {
            backend,
            mac,
            model,
            boot_order,
            forwards,
        })
    }
}

/// `portForward=` and `portForwardN=` in the shorthand; the long
/// `portForwardN.range…` keys are refused by name.
fn port_forwards(opts: &mut SubOpts, backend: &NicBackend) -> Result<Vec<PortForward>, String> {
    let mut forwards = Vec::new();
    for (key, value) in opts.take_prefixed("portForward") {
        if key.contains('.') {
            return Err(format!(
                "'{key}' is not supported yet: use portForward=[ADDRESS:]HOST[:GUEST][/PROTO]"
            ));
        }
        forwards.push(PortForward::from_shorthand(&value)?);
    }
    if !forwards.is_empty() && !matches!(backend, NicBackend::User | NicBackend::Passt) {
        return Err("portForward needs a user or passt network".into());
    }
    Ok(forwards)
}

/// `aa:bb:cc:dd:ee:ff` in lower case, or `None` when it is not a unicast
/// MAC address.
fn validate_mac(mac: &str) -> Option<String> {
    let parts: Vec<&str> = mac.split(':').collect();
    let well_formed = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    let first = u8::from_str_radix(parts.first()?, 16).ok()?;
    (well_formed && first & 1 == 0).then(|| mac.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nic(raw: &str) -> Result<Nic, SpecError> {
        let nics = nics_from_args(&[raw.to_string()])?.expect("given");
        Ok(nics.into_iter().next().expect("one"))
    }

    #[test]
    fn backends() {
        let cases = [
            ("bridge=br0", NicBackend::Bridge("br0".into())),
            ("bridge:br1", NicBackend::Bridge("br1".into())),
            ("network=default", NicBackend::Network("default".into())),
            ("network:default", NicBackend::Network("default".into())),
            ("default", NicBackend::Default),
            ("user", NicBackend::User),
            ("type=bridge,source=br2", NicBackend::Bridge("br2".into())),
        ];
        for (raw, want) in cases {
            assert_eq!(nic(raw).expect(raw).backend, want, "{raw}");
        }
    }

    #[test]
    fn mac_and_model() {
        let n = nic("user,mac=52:54:00:AA:bb:01,model=e1000").expect("parses");
        assert_eq!(n.mac.as_deref(), Some("52:54:00:aa:bb:01"));
        assert_eq!(n.model.as_deref(), Some("e1000"));
        assert_eq!(nic("user,mac=RANDOM").expect("parses").mac, None);
        for raw in [
            "user,mac=01:00:00:00:00:00",
            "user,mac=zz",
            "user,model=foo",
        ] {
            assert!(nic(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn none_and_unsupported() {
        assert_eq!(
            nics_from_args(&["none".into()]).expect("parses"),
            Some(vec![])
        );
        let direct = nic("type=direct,source=eth0").expect("parses").backend;
        let mode = "vepa".to_string();
        assert_eq!(
            direct,
            NicBackend::Direct {
                source: "eth0".into(),
                mode
            }
        );
        assert!(nic("type=direct,source=eth0,source.mode=odd").is_err());
        let error = nic("type=vhostuser").expect_err("later");
        assert!(error.to_string().contains("not supported yet"), "{error}");
    }

    #[test]
    fn port_forwards_in_passt_shorthand() {
        let forward = |proto, address: &str, host, guest, count| PortForward {
            proto,
            address: address.to_string(),
            host,
            guest,
            count,
        };
        let cases = [
            ("8080:80", forward(Proto::Tcp, "127.0.0.1", 8080, 80, 1)),
            ("2222", forward(Proto::Tcp, "127.0.0.1", 2222, 2222, 1)),
            (
                "7000-7002/udp",
                forward(Proto::Udp, "127.0.0.1", 7000, 7000, 3),
            ),
            (
                "0.0.0.0:2222:22",
                forward(Proto::Tcp, "0.0.0.0", 2222, 22, 1),
            ),
            (
                "10.0.0.1:8080",
                forward(Proto::Tcp, "10.0.0.1", 8080, 8080, 1),
            ),
            (
                "2001:db8::1:3000-3001:4000-4001",
                forward(Proto::Tcp, "2001:db8::1", 3000, 4000, 2),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(
                PortForward::from_shorthand(raw).as_ref(),
                Ok(&want),
                "{raw}"
            );
        }
        for raw in [
            "",
            "x",
            "80/sctp",
            "90-80",
            "8000-8002:80-81",
            "8000-8001:80",
        ] {
            assert!(PortForward::from_shorthand(raw).is_err(), "{raw}");
        }
        let n = nic("passt,portForward=8080:80,portForward1=53/udp").expect("parses");
        assert_eq!((n.backend, n.forwards.len()), (NicBackend::Passt, 2));
        assert!(nic("bridge=br0,portForward=80").is_err());
        assert!(nic("user,portForward0.range0.start=80").is_err());
    }
}
