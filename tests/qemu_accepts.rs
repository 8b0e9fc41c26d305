//! QEMU itself accepts every golden command line.
//!
//! Each `qemu-system-x86_64` command of each file in `tests/golden/` is
//! started for real, under TCG because this project's build machines
//! cannot run stock guests under KVM: `-accel kvm` becomes `-accel tcg`
//! and `-cpu host` becomes `-cpu max`, nothing else changes but the ports
//! and listen addresses. Every file the command names is made first (the
//! golden's own `qemu-img` commands make the new images), the test
//! connects to the QMP socket the command names, reads `prelaunch` from
//! `query-status` (the argv has `-S`) and quits.
//!
//! Every QEMU runs in a network namespace of its own (`unshare --net`),
//! so tap devices and listening ports never reach the host's network. The
//! namespace needs root; without it the lines with a tap device are
//! skipped and say so, and the others run with ports made free here.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Sandbox;
use common::golden::{self, Golden};
use qvirt::qmp::{Qmp, QmpOptions};

/// The bridge every tap device is put on, inside the namespace, as the
/// runtime will put it on the user's bridge.
const TEST_BRIDGE: &str = "qvtestbr0";

/// QEMUs started at once: the machine has two cores.
const WORKERS: usize = 2;

/// Where a firmware pair lives when Debian's `ovmf` is installed.
const OVMF: (&str, &str) = (
    "/usr/share/OVMF/OVMF_CODE_4M.fd",
    "/usr/share/OVMF/OVMF_VARS_4M.fd",
);

/// What the machine offers the test.
#[derive(Clone, Copy)]
struct Host {
    /// `unshare --net` works (root).
    namespaces: bool,
    /// The real firmware, for the UEFI lines.
    ovmf: bool,
}

impl Host {
    fn probe() -> Host {
        // What each QEMU's namespace needs: unshare, and ip to set it up.
        let namespaces = Command::new("unshare")
            .args(["--net", "sh", "-c", &namespace_setup("true")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let ovmf = Path::new(OVMF.0).exists() && Path::new(OVMF.1).exists();
        Host { namespaces, ovmf }
    }
}

/// How one QEMU command ended.
enum Outcome {
    /// `query-status` said `prelaunch`.
    Accepted,
    /// Not run, and why.
    Skipped(String),
    /// QEMU refused it, or the check failed: what happened.
    Refused(String),
}

#[test]
fn qemu_accepts_every_golden_argv() {
    let qemu = common::program("qemu-system-x86_64");
    assert!(
        qemu.is_absolute(),
        "qemu-system-x86_64 is not on PATH: apt-get install qemu-system-x86"
    );
    let host = Host::probe();
    if !host.namespaces {
        common::report("qemu accepts: no network namespaces (needs root, unshare and ip)");
    }
    let goldens = golden::load_all();
    let jobs: Vec<(&Golden, usize)> = goldens
        .iter()
        .flat_map(|g| {
            let qemus = g.commands.iter().filter(|c| is_qemu(c)).count();
            (0..qemus).map(move |n| (g, n))
        })
        .collect();
    assert!(!jobs.is_empty(), "no golden QEMU commands");

    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<(String, Outcome)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some((golden, n)) = jobs.get(index) else {
                            return done;
                        };
                        let label = format!("{} (QEMU command {})", golden.name, n + 1);
                        done.push((label, check(golden, *n, host)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker"))
            .collect()
    });

    let mut accepted = 0;
    let mut refused = Vec::new();
    for (label, outcome) in &outcomes {
        match outcome {
            Outcome::Accepted => accepted += 1,
            Outcome::Skipped(why) => {
                common::report(&format!("qemu accepts: skipped {label}: {why}"))
            }
            Outcome::Refused(why) => refused.push(format!("{label}:\n{why}")),
        }
    }
    common::report(&format!(
        "qemu accepts: {accepted} of {} golden QEMU commands reached prelaunch",
        outcomes.len()
    ));
    assert!(
        refused.is_empty(),
        "{} golden QEMU commands were not accepted:\n\n{}",
        refused.len(),
        refused.join("\n\n")
    );
    assert!(accepted > 0, "every QEMU command was skipped");
}

fn is_qemu(command: &str) -> bool {
    shell_words::split(command)
        .ok()
        .and_then(|words| words.into_iter().find(|w| !w.contains('=')))
        .is_some_and(|program| program == "qemu-system-x86_64")
}

/// Runs the `n`th QEMU command of `golden` in a fresh sandbox.
fn check(golden: &Golden, n: usize, host: Host) -> Outcome {
    let sandbox = Sandbox::new();
    sandbox.make_fixtures();
    let Some(command) = golden.commands.iter().filter(|c| is_qemu(c)).nth(n) else {
        return Outcome::Refused("no such command".into());
    };
    let words = match shell_words::split(&sandbox.expand(command)) {
        Ok(words) => words,
        Err(error) => return Outcome::Refused(format!("not a shell line: {error}")),
    };
    let lead = words.iter().take_while(|w| w.contains('=')).count();
    let env: Vec<(String, String)> = words[..lead]
        .iter()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let args = named_taps(tcg(&words[lead + 1..]));

    let taps = args.iter().any(|a| a.starts_with("tap,"));
    if taps && !host.namespaces {
        return Outcome::Skipped("a tap device needs a network namespace, which needs root".into());
    }
    let uses_uefi = args.iter().any(|a| a.contains("\"pflash0-storage\""));
    if uses_uefi && !host.ovmf {
        return Outcome::Skipped(format!("UEFI needs the real firmware at {}", OVMF.0));
    }

    if let Err(why) = prepare(golden, &sandbox, &args) {
        return Outcome::Refused(why);
    }
    let (args, _listeners) = match free_ports(&args) {
        Ok(done) => done,
        Err(why) => return Outcome::Refused(why),
    };
    run(&sandbox, &env, &args, host)
}

/// The supervisor hands QEMU each tap as an open `fd=N`; here QEMU opens
/// it by name instead (tests/network.rs runs the fd path), and the rest of
/// the argv is started as it is.
fn named_taps(args: Vec<String>) -> Vec<String> {
    args.into_iter()
        .map(|arg| {
            if !arg.starts_with("tap,") {
                return arg;
            }
            let id = option(&arg, "id").unwrap_or_default();
            let fd = option(&arg, "fd").unwrap_or_default();
            format!("tap,id={id},ifname=qvaccept{fd},script=no,downscript=no")
        })
        .collect()
}

/// The command as it runs under TCG: qvirt gives Windows guests Hyper-V
/// enlightenments only under KVM, so they go with it.
fn tcg(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut previous = "";
    for arg in args {
        let changed = match (previous, arg.as_str()) {
            ("-accel", "kvm") => "tcg".to_string(),
            ("-cpu", cpu) if cpu == "host" || cpu.starts_with("host,") => {
                let features = cpu.split(',').skip(1).filter(|f| !f.starts_with("hv-"));
                std::iter::once("max")
                    .chain(features)
                    .collect::<Vec<_>>()
                    .join(",")
            }
            _ => arg.clone(),
        };
        previous = arg;
        out.push(changed);
    }
    out
}

/// Makes what the command reads: the golden's new images (by its own
/// `qemu-img` lines), every other file a `-blockdev` names, the folders
/// of every path, and the real firmware where the dummy one stands.
fn prepare(golden: &Golden, sandbox: &Sandbox, args: &[String]) -> Result<(), String> {
    for word in args {
        for path in paths_in(word, sandbox) {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
        }
    }
    for command in golden.commands.iter().filter(|c| !is_qemu(c)) {
        let words = shell_words::split(&sandbox.expand(command)).map_err(|e| e.to_string())?;
        let Some((program, rest)) = words.split_first() else {
            continue;
        };
        if program != "qemu-img" {
            return Err(format!("unknown command in the golden file: {command}"));
        }
        let output = Command::new(common::program("qemu-img"))
            .args(rest)
            .output()
            .map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(format!(
                "{command}\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    kernel_files(args);
    blockdev_files(args)
}

/// The install kernel and initrd the runtime fetches into the state
/// folder before a kernel install starts, stood in for: the smallest
/// kernel QEMU loads, and an initrd.
fn kernel_files(args: &[String]) {
    for pair in args.windows(2) {
        let path = Path::new(&pair[1]);
        if path.exists() {
            continue;
        }
        match pair[0].as_str() {
            "-kernel" => fs::write(path, common::tiny_bzimage()).expect("a kernel"),
            "-initrd" => fs::write(path, [0u8; 512]).expect("an initrd"),
            _ => {}
        }
    }
}

/// The absolute paths inside one argument that belong to the sandbox.
fn paths_in(word: &str, sandbox: &Sandbox) -> Vec<PathBuf> {
    let roots = [sandbox.root(), sandbox.cwd()].map(|p| p.display().to_string());
    let mut found = Vec::new();
    for root in &roots {
        let mut rest = word;
        while let Some(at) = rest.find(root.as_str()) {
            let tail = &rest[at..];
            // A path ends where QEMU's option syntax or JSON goes on; a
            // doubled comma is a comma of the path itself.
            let mut end = 0;
            let bytes = tail.as_bytes();
            while end < bytes.len() {
                match bytes[end] {
                    b'"' => break,
                    b',' if bytes.get(end + 1) == Some(&b',') => end += 2,
                    b',' => break,
                    _ => end += 1,
                }
            }
            found.push(PathBuf::from(tail[..end].replace(",,", ",")));
            rest = &tail[end..];
        }
    }
    found
}

/// Creates the files behind `-blockdev` storage nodes that do not exist
/// yet, in the format their format node reads; pflash nodes get the real
/// firmware, as the runtime copies it.
fn blockdev_files(args: &[String]) -> Result<(), String> {
    let nodes: Vec<serde_json::Value> = args
        .windows(2)
        .filter(|pair| pair[0] == "-blockdev")
        .map(|pair| serde_json::from_str(&pair[1]).map_err(|e| format!("{}: {e}", pair[1])))
        .collect::<Result<_, _>>()?;
    let formats: BTreeMap<&str, &str> = nodes
        .iter()
        .filter_map(|node| Some((node["file"].as_str()?, node["driver"].as_str()?)))
        .collect();
    for node in &nodes {
        let (Some(name), Some(file)) = (node["node-name"].as_str(), node["filename"].as_str())
        else {
            continue;
        };
        let path = Path::new(file);
        let firmware = match name {
            "pflash0-storage" => Some(OVMF.0),
            "pflash1-storage" => Some(OVMF.1),
            _ => None,
        };
        if let Some(real) = firmware {
            fs::copy(real, path).map_err(|e| format!("{real} -> {file}: {e}"))?;
            continue;
        }
        if path.exists() {
            continue;
        }
        match formats.get(name) {
            Some(&"qcow2") => common::qcow2(path, "1G"),
            _ => common::sparse_file(path, 1 << 20),
        }
    }
    Ok(())
}

/// Listeners kept open while QEMU runs, for chardevs that connect.
type Peers = (Vec<UnixListener>, Vec<TcpListener>, Vec<Swtpm>);

/// A real TPM emulator for a guest's TPM chardev, stopped when dropped.
struct Swtpm {
    child: std::process::Child,
    _state: tempfile::TempDir,
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts swtpm on the socket QEMU's TPM chardev connects to.
fn swtpm(path: &str) -> Result<Swtpm, String> {
    let state = tempfile::tempdir().map_err(|e| e.to_string())?;
    let child = Command::new("swtpm")
        .args(["socket", "--tpm2", "--ctrl"])
        .arg(format!("type=unixio,path={path}"))
        .arg("--tpmstate")
        .arg(format!("dir={}", state.path().display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("swtpm (Debian package swtpm): {e}"))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !Path::new(path).exists() {
        if std::time::Instant::now() > deadline {
            return Err("swtpm did not create its socket".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(Swtpm {
        child,
        _state: state,
    })
}

/// Gives every listening port a free one on the loopback, and opens the
/// peers that connecting chardevs need.
fn free_ports(args: &[String]) -> Result<(Vec<String>, Peers), String> {
    let mut peers: Peers = (Vec::new(), Vec::new(), Vec::new());
    let mut out = Vec::with_capacity(args.len());
    let mut previous = "";
    for arg in args {
        let changed = match previous {
            // With `to=` QEMU searches a free display itself; without, the
            // display is one whose port is free.
            "-vnc" if arg != "none" => {
                let (address, options) = arg.split_once(',').unwrap_or((arg, ""));
                let display = match address.rsplit_once(':') {
                    Some((_, display)) if options.contains("to=") => display.to_string(),
                    _ => (free_port(5900)? - 5900).to_string(),
                };
                let options = if options.is_empty() {
                    String::new()
                } else {
                    format!(",{options}")
                };
                format!("127.0.0.1:{display}{options}")
            }
            "-spice" => rewrite_options(arg, |key, value| match key {
                "port" => free_port(1024).map(|p| p.to_string()),
                "addr" => Ok("127.0.0.1".into()),
                _ => Ok(value.to_string()),
            })?,
            "-chardev" if arg.starts_with("socket,") => chardev_socket(arg, &mut peers)?,
            // passt's socket: a listener stands in for passt, which QEMU
            // connects to as it starts.
            "-netdev" if arg.starts_with("stream,") && arg.contains(",server=off") => {
                let path = option(arg, "addr.path").ok_or("a stream without a path")?;
                peers
                    .0
                    .push(UnixListener::bind(&path).map_err(|e| format!("{path}: {e}"))?);
                arg.clone()
            }
            _ => arg.clone(),
        };
        previous = arg;
        out.push(changed);
    }
    Ok((out, peers))
}

/// A `-chardev socket,…`: TCP on a free loopback port, and a listening
/// peer for one that connects (`server=off`).
fn chardev_socket(arg: &str, peers: &mut Peers) -> Result<String, String> {
    if option(arg, "id").as_deref() == Some("chrtpm") {
        let path = option(arg, "path").ok_or("a TPM socket without a path")?;
        peers.2.push(swtpm(&path)?);
        return Ok(arg.to_string());
    }
    let connects = arg.contains(",server=off");
    let mut port = None;
    let changed = rewrite_options(arg, |key, value| match key {
        "host" => Ok("127.0.0.1".into()),
        "port" => {
            let chosen = free_port(1024)?;
            port = Some(chosen);
            Ok(chosen.to_string())
        }
        _ => Ok(value.to_string()),
    })?;
    if connects {
        match port {
            Some(port) => peers
                .1
                .push(TcpListener::bind(("127.0.0.1", port)).map_err(|e| format!("peer: {e}"))?),
            None => {
                let path = option(arg, "path").ok_or("a socket without a path")?;
                peers
                    .0
                    .push(UnixListener::bind(&path).map_err(|e| format!("{path}: {e}"))?);
            }
        }
    }
    Ok(changed)
}

/// The value of `key` in a QEMU option string, commas undoubled.
fn option(arg: &str, key: &str) -> Option<String> {
    split_options(arg)
        .into_iter()
        .find_map(|part| part.strip_prefix(&format!("{key}=")).map(str::to_string))
        .map(|v| v.replace(",,", ","))
}

/// Splits QEMU's `a=b,c=d` at single commas.
fn split_options(arg: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' && chars.peek() == Some(&',') {
            chars.next();
            current.push_str(",,");
        } else if c == ',' {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

fn rewrite_options(
    arg: &str,
    mut change: impl FnMut(&str, &str) -> Result<String, String>,
) -> Result<String, String> {
    let parts = split_options(arg)
        .into_iter()
        .map(|part| match part.split_once('=') {
            Some((key, value)) => change(key, value).map(|v| format!("{key}={v}")),
            None => Ok(part),
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(parts.join(","))
}

/// A TCP port at or above `from` that nothing on the loopback uses now.
fn free_port(from: u16) -> Result<u16, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    if port >= from {
        return Ok(port);
    }
    (from..u16::MAX)
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .ok_or_else(|| "no free port".into())
}

/// A shell script that readies a new network namespace, then runs `then`:
/// lo is down in a new namespace, and the bridge stands for the user's.
fn namespace_setup(then: &str) -> String {
    format!("ip link set lo up && ip link add {TEST_BRIDGE} type bridge && {then}")
}

/// Starts QEMU, checks `prelaunch` over QMP, quits it.
fn run(sandbox: &Sandbox, env: &[(String, String)], args: &[String], host: Host) -> Outcome {
    let Some(qmp_path) = args
        .iter()
        .find(|a| a.contains("id=charmonitor"))
        .and_then(|a| option(a, "path"))
    else {
        return Outcome::Refused("no QMP socket in the argv".into());
    };
    let log = sandbox.cwd().join("qemu.log");
    let Ok(log_file) = fs::File::create(&log) else {
        return Outcome::Refused("cannot write qemu.log".into());
    };
    let Ok(log_copy) = log_file.try_clone() else {
        return Outcome::Refused("cannot write qemu.log".into());
    };
    let qemu = common::program("qemu-system-x86_64");
    let mut command = if host.namespaces {
        // lo is down in a new namespace; the bridge stands for the user's.
        let script =
            format!("ip link set lo up && ip link add {TEST_BRIDGE} type bridge && exec \"$@\"");
        let mut command = Command::new("unshare");
        command.args(["--net", "--", "sh", "-c", &script, "sh"]);
        command.arg(&qemu);
        command
    } else {
        Command::new(&qemu)
    };
    command
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(sandbox.cwd())
        .stdin(Stdio::null())
        .stdout(log_copy)
        .stderr(log_file);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return Outcome::Refused(format!("{}: {error}", qemu.display())),
    };

    let result = talk(&mut child, Path::new(&qmp_path), args, host);
    stop(&mut child);
    let printed = fs::read_to_string(&log).unwrap_or_default();
    match result {
        Ok(()) => Outcome::Accepted,
        Err(why) => Outcome::Refused(format!(
            "{why}\nQEMU printed:\n{printed}\nargv: {}",
            shell_words::join(args)
        )),
    }
}

fn talk(child: &mut Child, qmp_path: &Path, args: &[String], host: Host) -> Result<(), String> {
    let options = QmpOptions {
        connect_timeout: Duration::from_secs(20),
        ..QmpOptions::default()
    };
    let mut alive = || matches!(child.try_wait(), Ok(None));
    let qmp = Qmp::connect(qmp_path, options, &mut alive).map_err(|e| e.to_string())?;
    let status = qmp.query_status().map_err(|e| e.to_string())?;
    if status.status != "prelaunch" {
        return Err(format!("query-status says `{}`", status.status));
    }
    if host.namespaces {
        attach_taps(child.id(), args)?;
    }
    qmp.quit().map_err(|e| e.to_string())
}

/// Puts each tap QEMU made on the test bridge, inside QEMU's namespace,
/// which shows the tap has the name the argv gave it.
fn attach_taps(pid: u32, args: &[String]) -> Result<(), String> {
    let namespace = format!("--net=/proc/{pid}/ns/net");
    for tap in args.iter().filter(|a| a.starts_with("tap,")) {
        let name = option(tap, "ifname").ok_or("a tap without ifname")?;
        let output = Command::new("nsenter")
            .args([
                namespace.as_str(),
                "ip",
                "link",
                "set",
                &name,
                "master",
                TEST_BRIDGE,
            ])
            .output()
            .map_err(|e| format!("nsenter: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "tap {name} cannot join the bridge: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(())
}

/// Waits a little for QEMU to leave after `quit`, then kills it.
fn stop(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
