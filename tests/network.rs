//! Networking and graphics on real guests under TCG: a tap on a bridge,
//! a user-mode port forward, a port forward through passt, VNC and SPICE on loopback, passwords kept off
//! QEMU's command line, the tutorial line, and the refusals.
//!
//! Every guest runs inside a network namespace the test makes and removes,
//! and traffic goes only to 127.0.0.1 inside it: nothing reaches the
//! host's network. Namespaces need root; without it these tests say so
//! and pass.

pub mod support;

use std::process::Command;

use support::*;

/// A network namespace with `lo` up and, if asked, a bridge; removed
/// when dropped.
struct Netns {
    name: String,
}

impl Netns {
    /// `None` when this process may not make namespaces.
    fn new(tag: &str, bridge: Option<&str>) -> Option<Netns> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: network namespaces need root");
            return None;
        }
        let netns = Netns {
            name: format!("qvt{}{tag}", std::process::id()),
        };
        netns.ip(&["netns", "add", &netns.name]);
        netns.ip(&["-n", &netns.name, "link", "set", "lo", "up"]);
        if let Some(bridge) = bridge {
            netns.ip(&["-n", &netns.name, "link", "add", bridge, "type", "bridge"]);
            netns.ip(&["-n", &netns.name, "link", "set", bridge, "up"]);
            // With only IPv6 link-local addresses, glibc's AI_ADDRCONFIG
            // makes SPICE's lookup of 127.0.0.1 fail; an IPv4 address on
            // the bridge (documentation range, inside the namespace) is
            // what a real host has.
            netns.ip(&[
                "-n",
                &netns.name,
                "addr",
                "add",
                "192.0.2.1/24",
                "dev",
                bridge,
            ]);
        }
        Some(netns)
    }

    /// A default route through `bridge`, as passt needs a routable
    /// interface to start; the gateway (documentation range) is never
    /// reached, as nothing is sent off loopback.
    fn route_default(&self, bridge: &str) {
        self.ip(&[
            "-n",
            &self.name,
            "route",
            "add",
            "default",
            "via",
            "192.0.2.254",
            "dev",
            bridge,
        ]);
    }

    fn ip(&self, args: &[&str]) -> String {
        let output = Command::new("ip").args(args).output().expect("run ip");
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "ip {args:?}: {stderr}");
        stdout
    }

    /// The interfaces on `bridge`.
    fn ports_of(&self, bridge: &str) -> String {
        self.ip(&["-n", &self.name, "-o", "link", "show", "master", bridge])
    }

    /// The first line a TCP server on 127.0.0.1:`port` in the namespace
    /// sends, read with bash (no traffic leaves the namespace).
    fn greeting(&self, port: u16) -> String {
        self.reply(port, "", 12)
    }

    /// The first `count` bytes a TCP server on 127.0.0.1:`port` sends
    /// after it is sent `first`.
    fn reply(&self, port: u16, first: &str, count: usize) -> String {
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port} && printf '{first}' >&3 && \
             timeout 10 head -c {count} <&3; exec 3<&-"
        );
        let output = Command::new("ip")
            .args(["netns", "exec", &self.name, "bash", "-c", &script])
            .output()
            .expect("run bash");
        text(&output).0
    }

    /// Whether something accepts a TCP connection on 127.0.0.1:`port`.
    fn accepts(&self, port: u16) -> bool {
        let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
        Command::new("ip")
            .args(["netns", "exec", &self.name, "bash", "-c", &script])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// The kernel and initrd of the test guest, with these kernel arguments.
/// A 256 MiB test guest under TCG, booted directly with `boot` and no
/// disk, with `extra` options (its network and display).
fn net_guest<'a>(name: &'a str, boot: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--name",
        name,
        "--memory",
        "256",
        "--virt-type",
        "qemu",
        "--osinfo",
        "generic",
        "--disk",
        "none",
        "--boot",
        boot,
    ];
    args.extend(extra);
    args
}

fn boot(kernel_args: &str) -> String {
    let guest = guest();
    format!(
        "kernel={},initrd={},kernel_args=\"console=ttyS0 qvirt.stay=1 {kernel_args}\"",
        guest.join("vmlinuz").display(),
        guest.join("initrd.gz").display()
    )
}

/// The port of `scheme://127.0.0.1:PORT`, as `qvirt list` shows it.
fn display_port(world: &World, name: &str, scheme: &str) -> u16 {
    let display = world.list_row(name)["display"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let prefix = format!("{scheme}://127.0.0.1:");
    let port = display.strip_prefix(&prefix).unwrap_or_default();
    port.parse()
        .unwrap_or_else(|_| panic!("display `{display}` is not {prefix}PORT"))
}

fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

fn destroy(world: &World, name: &str) {
    let output = world.qvirt(&["destroy", name]).output().expect("destroy");
    expect_code(&output, 0);
}

/// One guest with a user-mode NIC that forwards a port and a tap NIC on
/// a bridge, and a VNC display with a password.
#[test]
fn bridge_forward_and_vnc() {
    let Some(netns) = Netns::new("a", Some("br1")) else {
        return;
    };
    let world = World::new();
    let boot = boot("qvirt.net=1 qvirt.listen=7777");
    let mac = "52:54:00:12:34:56";
    let bridge_nic = format!("bridge=br1,mac={mac}");
    let args = net_guest(
        "netguest",
        &boot,
        &[
            "--network",
            "user,portForward=18080:7777",
            "--network",
            &bridge_nic,
            "--graphics",
            "vnc,password=vnc-sekrit-42",
            "--noautoconsole",
        ],
    );
    let output = world.install_in(&netns.name, &args).output().expect("run");
    let (_, stderr) = expect_code(&output, 0);
    assert!(stderr.contains("vnc://127.0.0.1:"), "{stderr}");

    // The tap joined the bridge, and the guest sees the MAC asked for.
    let log = world.wait_for_marker("netguest", &format!(" {mac}"));
    assert!(log.contains("QVIRT-GUEST NIC"), "{log}");
    let ports = netns.ports_of("br1");
    assert!(ports.contains("qv"), "no tap on br1: {ports}");

    // The forward reaches the guest's listener.
    world.wait_for_marker("netguest", "QVIRT-GUEST LISTEN 7777");
    let mut hello = String::new();
    world.wait_until("the forward's greeting", || {
        hello = netns.greeting(18080);
        hello.starts_with("QVIRT-GUEST")
    });

    // VNC answers on loopback; its password is nowhere in QEMU's argv.
    let port = display_port(&world, "netguest", "vnc");
    assert_eq!(netns.greeting(port), "RFB 003.008\n");
    let pid = world.qemu_pid("netguest").expect("qemu runs");
    assert!(!cmdline(pid).contains("vnc-sekrit-42"), "{}", cmdline(pid));

    // The tap and the forward go with the guest.
    destroy(&world, "netguest");
    world.wait_until("the tap to go", || netns.ports_of("br1").trim().is_empty());
    world.wait_until("the forward to go", || !netns.accepts(18080));
}

/// The pids of the passt processes serving a guest of this world.
fn passts_of(world: &World, name: &str) -> Vec<i32> {
    let socket = world.runtime_dir(name).join("passt-0.sock");
    let socket = socket.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| alive(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|raw| {
                let cmdline = String::from_utf8_lossy(&raw);
                let program = cmdline.split('\0').next().unwrap_or_default();
                let program = program.rsplit('/').next().unwrap_or_default();
                program.starts_with("passt") && cmdline.contains(&socket)
            })
        })
        .collect()
}

/// `--network passt` with passt installed: passt carries the NIC and its
/// port forward, and goes with the guest.
#[test]
fn passt_forwards_and_ends_with_the_guest() {
    if which::which("passt").is_err() {
        eprintln!("skipped: passt is not installed (Debian package `passt`)");
        return;
    }
    let Some(netns) = Netns::new("p", Some("br1")) else {
        return;
    };
    netns.route_default("br1");
    let world = World::new();
    let boot = boot("qvirt.net=1 qvirt.listen=7777");
    let args = net_guest(
        "passtguest",
        &boot,
        &[
            "--network",
            "passt,portForward=18090:7777",
            "--graphics",
            "none",
            "--noautoconsole",
        ],
    );
    let output = world.install_in(&netns.name, &args).output().expect("run");
    let (_, stderr) = expect_code(&output, 0);
    assert!(!stderr.contains("user-mode"), "{stderr}");

    // passt runs for the guest, and QEMU reaches it over its socket.
    let passts = passts_of(&world, "passtguest");
    assert_eq!(passts.len(), 1, "passt processes: {passts:?}");
    let pid = world.qemu_pid("passtguest").expect("qemu runs");
    assert!(
        cmdline(pid).contains("stream,id=hostnet0"),
        "{}",
        cmdline(pid)
    );

    // The forward reaches the guest's listener through passt. The client
    // speaks first: Debian 12's passt (2023-03-09) acknowledges the
    // guest's SYN,ACK only with data, so until the client sends some,
    // the guest's listener never accepts the connection.
    world.wait_for_marker("passtguest", "QVIRT-GUEST LISTEN 7777");
    let mut hello = String::new();
    world.wait_until("the forward's greeting", || {
        hello = netns.reply(18090, "\\n", 17);
        hello.starts_with("QVIRT-GUEST")
    });
    assert_eq!(hello, "QVIRT-GUEST HELLO");

    // passt, its socket and its forward go with the guest.
    let socket = world.runtime_dir("passtguest").join("passt-0.sock");
    assert!(socket.exists(), "no {}", socket.display());
    destroy(&world, "passtguest");
    world.wait_until("passt to end", || {
        passts_of(&world, "passtguest").is_empty()
    });
    world.wait_until("passt's socket to go", || !socket.exists());
    world.wait_until("the forward to go", || !netns.accepts(18090));
}

#[test]
fn spice_accepts_a_connection() {
    let Some(netns) = Netns::new("s", None) else {
        return;
    };
    let world = World::new();
    let boot = boot("");
    let args = net_guest(
        "spiceguest",
        &boot,
        &[
            "--network",
            "none",
            "--graphics",
            "spice,password=spice-sekrit-42",
            "--noautoconsole",
        ],
    );
    let output = world.install_in(&netns.name, &args).output().expect("run");
    expect_code(&output, 0);
    world.wait_for_marker("spiceguest", "QVIRT-GUEST DONE");

    let port = display_port(&world, "spiceguest", "spice");
    assert!(netns.accepts(port), "nothing on SPICE port {port}");
    let pid = world.qemu_pid("spiceguest").expect("qemu runs");
    assert!(
        !cmdline(pid).contains("spice-sekrit-42"),
        "{}",
        cmdline(pid)
    );
    destroy(&world, "spiceguest");
}

/// The line from the itzgeek tutorial, with the test guest's ISO.
#[test]
fn the_tutorial_line_installs() {
    let Some(netns) = Netns::new("t", Some("br1")) else {
        return;
    };
    let world = World::new();
    let iso = format!("--cdrom={}", guest().join("guest.iso").display());
    let disk = format!("path={}/itzgeekguest.dsk,size=4", world.path().display());
    let args = [
        "--name=itzgeekguest",
        "--ram=1024",
        "--vcpus=1",
        &iso,
        "--os-type=linux",
        "--os-variant=rhel7",
        "--network",
        "bridge=br1",
        "--graphics=spice",
        "--disk",
        &disk,
        "--virt-type",
        "qemu",
    ];
    let output = world.install_in(&netns.name, &args).output().expect("run");
    expect_code(&output, 0);
    let log = world.wait_for_marker("itzgeekguest", "QVIRT-GUEST INSTALLED-SYSTEM");
    assert!(log.contains("QVIRT-GUEST INSTALLED "), "{log}");

    // The installed system powers itself off after its markers, and its
    // tap goes with it.
    world.wait_for_marker("itzgeekguest", "QVIRT-GUEST DONE");
    world.wait_until("the tap to go", || netns.ports_of("br1").trim().is_empty());
}

#[test]
fn refusals_leave_nothing() {
    let Some(netns) = Netns::new("r", Some("br1")) else {
        return;
    };
    // A port something on loopback holds already.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().expect("addr").port();
    let forward = format!("user,portForward={port}:80");
    let cases = [
        ("bridge=br9", "there is no bridge `br9`"),
        ("network=nosuch", "no network with matching name 'nosuch'"),
        (forward.as_str(), "is already in use"),
    ];
    for (network, want) in cases {
        let world = World::new();
        let args = [
            "--name",
            "refused",
            "--memory",
            "256",
            "--virt-type",
            "qemu",
            "--osinfo",
            "generic",
            "--disk",
            "none",
            "--pxe",
            "--network",
            network,
            "--noautoconsole",
        ];
        // The forward's port is held in this namespace, the bridges in
        // the test's one.
        let output = if network.contains("portForward") {
            world.install(&args).output()
        } else {
            world.install_in(&netns.name, &args).output()
        }
        .expect("run");
        let (_, stderr) = expect_code(&output, 1);
        assert!(stderr.contains(want), "{network}: {stderr}");
        assert_eq!(files_below(world.path()), Vec::<String>::new(), "{network}");
    }
    drop(held);
}

/// Without root, qemu-bridge-helper makes the tap; a bridge its access
/// list does not allow is a clear error. (Root uses the helper when
/// `QVIRT_TAP=helper` says so.)
#[test]
fn a_bridge_the_helper_may_not_use_is_refused() {
    if std::path::Path::new("/etc/qemu/bridge.conf").exists() {
        eprintln!("skipped: this host has a /etc/qemu/bridge.conf");
        return;
    }
    let Some(netns) = Netns::new("h", Some("br1")) else {
        return;
    };
    let world = World::new();
    let args = [
        "--name",
        "helped",
        "--memory",
        "256",
        "--virt-type",
        "qemu",
        "--osinfo",
        "generic",
        "--disk",
        "none",
        "--pxe",
        "--network",
        "bridge=br1",
        "--graphics",
        "none",
        "--noautoconsole",
    ];
    let output = world
        .install_in(&netns.name, &args)
        .env("QVIRT_TAP", "helper")
        .output()
        .expect("run");
    let (_, stderr) = expect_code(&output, 1);
    assert!(stderr.contains("`/etc/qemu/bridge.conf`"), "{stderr}");
    assert!(stderr.contains("hint: add `allow br1`"), "{stderr}");
    assert!(netns.ports_of("br1").trim().is_empty(), "a tap is left");
    assert_eq!(files_below(world.path()), Vec::<String>::new());
}

/// `type=direct` puts a macvtap on a host interface (one end of a veth pair here),
/// with the guest's MAC, and deletes it when the guest stops.
#[test]
fn direct_makes_a_macvtap_and_removes_it() {
    let Some(netns) = Netns::new("d", None) else {
        return;
    };
    netns.ip(&[
        "-n",
        &netns.name,
        "link",
        "add",
        "eth9",
        "type",
        "veth",
        "peer",
        "name",
        "eth9p",
    ]);
    netns.ip(&["-n", &netns.name, "link", "set", "eth9", "up"]);
    let macvtaps = || netns.ip(&["-n", &netns.name, "-o", "link", "show", "type", "macvtap"]);
    let world = World::new();
    let boot = boot("");
    let mac = "52:54:00:ab:cd:ef";
    let nic = format!("type=direct,source=eth9,source.mode=bridge,mac={mac}");
    let args = net_guest(
        "direct",
        &boot,
        &["--network", &nic, "--graphics", "none", "--noautoconsole"],
    );
    let output = world.install_in(&netns.name, &args).output().expect("run");
    expect_code(&output, 0);
    world.wait_for_marker("direct", &format!(" {mac}"));
    let links = macvtaps();
    assert!(links.contains("eth9") && links.contains(mac), "{links}");

    destroy(&world, "direct");
    world.wait_until("the macvtap to go", || macvtaps().trim().is_empty());
}
