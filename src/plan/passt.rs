//! The passt command for one `--network passt` NIC: a user-mode network
//! stack in its own process, which QEMU reaches over a UNIX socket.
//!
//! As libvirt does, each NIC gets its own passt that serves one QEMU only
//! (`--one-off`) and ends with it. Pure: the supervisor runs what this
//! returns.

use std::path::{Path, PathBuf};

use crate::paths::GuestDirs;
use crate::spec::PortForward;

/// The guest's address, prefix and gateway: those of QEMU's user-mode
/// networking, so a guest sees the same network whether passt is
/// installed or not (passt would otherwise copy the host's).
const ADDRESS: &str = "10.0.2.15";
const PREFIX: &str = "24";
const GATEWAY: &str = "10.0.2.2";

/// The socket passt serves NIC `index` on, in the guest's runtime folder.
pub fn socket(dirs: &GuestDirs, index: usize) -> PathBuf {
    dirs.runtime.join(format!("passt-{index}.sock"))
}

/// Where passt for NIC `index` writes its messages.
pub fn log(dirs: &GuestDirs, index: usize) -> PathBuf {
    dirs.state.join(format!("passt-{index}.log"))
}

/// passt's arguments (program excluded) for one NIC. `runas` is the
/// `UID:GID` to stay as when started as root, where passt would
/// otherwise switch to `nobody`, who cannot reach the guest's folders.
pub fn args(
    forwards: &[PortForward],
    socket: &Path,
    log: &Path,
    runas: Option<&str>,
) -> Vec<String> {
    let mut args: Vec<String> = ["--foreground", "--one-off", "--quiet", "--socket"]
        .into_iter()
        .map(String::from)
        .collect();
    args.push(socket.display().to_string());
    args.push("--log-file".into());
    args.push(log.display().to_string());
    if let Some(runas) = runas {
        args.push("--runas".into());
        args.push(runas.into());
    }
    for (option, value) in [
        ("--address", ADDRESS),
        ("--netmask", PREFIX),
        ("--gateway", GATEWAY),
    ] {
        args.push(option.into());
        args.push(value.into());
    }
    for forward in forwards {
        let option = match forward.proto {
            crate::spec::Proto::Tcp => "--tcp-ports",
            crate::spec::Proto::Udp => "--udp-ports",
        };
        args.push(option.into());
        args.push(port_spec(forward));
    }
    args
}

/// One forward in passt's `ADDRESS/HOST[-END]:GUEST[-END]` form.
fn port_spec(forward: &PortForward) -> String {
    let range = |first: u16| match forward.count {
        0 | 1 => first.to_string(),
        count => format!("{first}-{}", first.saturating_add(count - 1)),
    };
    format!(
        "{}/{}:{}",
        forward.address,
        range(forward.host),
        range(forward.guest)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_become_port_specs() {
        let cases = [
            ("8080:80", "--tcp-ports", "127.0.0.1/8080:80"),
            (
                "2222-2223:22-23",
                "--tcp-ports",
                "127.0.0.1/2222-2223:22-23",
            ),
            ("0.0.0.0:5353/udp", "--udp-ports", "0.0.0.0/5353:5353"),
            ("::1:8080:80", "--tcp-ports", "::1/8080:80"),
        ];
        for (shorthand, option, spec) in cases {
            let forward = PortForward::from_shorthand(shorthand).expect(shorthand);
            let args = args(
                &[forward],
                Path::new("/r/p.sock"),
                Path::new("/s/p.log"),
                None,
            );
            assert_eq!(args[args.len() - 2..], [option, spec], "{shorthand}");
        }
    }

    #[test]
    fn one_off_on_the_socket_with_user_mode_addresses() {
        let args = args(
            &[],
            Path::new("/r/p.sock"),
            Path::new("/s/p.log"),
            Some("0:0"),
        );
        let want = [
            "--foreground",
            "--one-off",
            "--quiet",
            "--socket",
            "/r/p.sock",
            "--log-file",
            "/s/p.log",
            "--runas",
            "0:0",
            "--address",
            "10.0.2.15",
            "--netmask",
            "24",
            "--gateway",
            "10.0.2.2",
        ];
        assert_eq!(args, want);
    }
}
