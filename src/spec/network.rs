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
    /// A tap device on this host bridge.
    Bridge(String),
    /// A libvirt virtual network, by name.
    Network(String),
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
            (
                Some(other @ ("passt" | "direct" | "vhostuser" | "vdpa" | "hostdev" | "ethernet")),
                None,
                None,
            ) => {
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
        if opts
            .take_prefixed("portForward")
            .into_iter()
            .next()
            .is_some()
        {
            return Err(unsupported("portForward".into()));
        }
        Ok(Nic {
            backend,
            mac,
            model,
            boot_order,
        })
    }
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
        let error = nic("type=direct,source=eth0").expect_err("later");
        assert!(error.to_string().contains("not supported yet"), "{error}");
    }
}
