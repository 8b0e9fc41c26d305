//! qvirt-install running real guests under TCG: direct kernel boot, a
//! whole install from an ISO with its restart from disk, `--noautoconsole`,
//! imports, several disks and NICs, and the faults.

pub mod support;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// A test guest booted directly that stays up after its markers, with no
/// disk, as [`small`] guests run, with `extra` options.
fn staying_guest<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    static BOOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let boot = BOOT.get_or_init(|| kernel_boot("qvirt.stay=1"));
    let mut args = small(&[
        "--name", name, "--osinfo", "generic", "--disk", "none", "--boot", boot,
    ]);
    args.extend(extra);
    args
}

/// The test guest's whole install from its ISO onto a new 1 GiB disk, as
/// [`small`] guests run, with `extra` options.
fn iso_install<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    static ISO: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let iso = ISO.get_or_init(|| guest().join("guest.iso").display().to_string());
    let mut args = small(&[
        "--name", name, "--cdrom", iso, "--disk", "size=1", "--osinfo", "generic",
    ]);
    args.extend(extra);
    args
}

#[test]
fn direct_kernel_boot_shows_the_kernel_arguments() {
    let world = World::new();
    let boot = kernel_boot("qvirt.test=direct,boot quiet");
    let args = small(&[
        "--name", "k", "--osinfo", "generic", "--disk", "none", "--boot", &boot,
    ]);
    let output = world.install(&args).output().expect("run");
    let (stdout, _) = expect_code(&output, 0);

    let log = world.wait_for_marker("k", "QVIRT-GUEST DONE");
    assert!(log.contains("QVIRT-GUEST BOOT cmdline="), "{log}");
    assert!(log.contains("qvirt.test=direct,boot quiet"), "{log}");
    // The console was relayed to the terminal (here: stdout).
    assert!(stdout.contains("QVIRT-GUEST DONE"), "{stdout}");
    assert_eq!(
        world.qemu_pid("k"),
        None,
        "QEMU is gone once the guest is off"
    );
}

#[test]
fn cdrom_install_reboots_into_the_installed_disk() {
    let world = World::new();
    let args = iso_install("inst", &[]);
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 0);

    let log = world.wait_for_marker("inst", "QVIRT-GUEST INSTALLED-SYSTEM");
    let installed = log
        .find("QVIRT-GUEST INSTALLED /dev/")
        .expect("the installer ran");
    let system = log
        .find("QVIRT-GUEST INSTALLED-SYSTEM")
        .expect("the system booted");
    assert!(
        installed < system,
        "install, then the system from disk:\n{log}"
    );
    for message in [
        "Starting install...",
        "Domain has shutdown. Continuing.",
        "Restarting guest.",
    ] {
        assert!(stderr.contains(message), "{message}: {stderr}");
    }
    assert_eq!(
        stderr.matches("Domain creation completed.").count(),
        1,
        "said once: {stderr}"
    );

    // Where virt-install puts a new disk without a path, as qcow2 of 1 GiB.
    let image = world.path().join("images/inst.qcow2");
    let info = std::process::Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&image)
        .output()
        .expect("qemu-img info");
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
    assert_eq!(info["format"], "qcow2");
    assert_eq!(info["virtual-size"], 1u64 << 30);

    // The definition is saved with the install media gone.
    let definition =
        std::fs::read_to_string(world.state_dir("inst").join("guest.json")).expect("definition");
    let definition: serde_json::Value = serde_json::from_str(&definition).expect("json");
    assert!(definition["install"].is_null(), "the install phase is over");
    assert!(!definition["run"]["args"].to_string().contains("guest.iso"));
}

#[test]
fn noautoconsole_returns_at_once_and_the_restart_still_happens() {
    let world = World::new();
    let args = iso_install("bg", &["--noautoconsole"]);
    let started = Instant::now();
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 0);
    assert!(stderr.contains("Domain is still running. Installation may be in progress."));
    let log = std::fs::read_to_string(world.console_log("bg")).unwrap_or_default();
    assert!(
        !log.contains("INSTALLED-SYSTEM"),
        "returned after {:?}, before the install ended",
        started.elapsed()
    );

    // Nobody waits, and still the guest comes back from its disk.
    world.wait_for_marker("bg", "QVIRT-GUEST INSTALLED-SYSTEM");
}

#[test]
fn import_boots_the_installed_image() {
    let world = World::new();
    let disk = world.path().join("system.qcow2");
    std::fs::copy(guest().join("disk.qcow2"), &disk).expect("copy the image");
    let before = std::fs::metadata(&disk).expect("stat").len();
    let path = format!("path={}", disk.display());
    let args = small(&[
        "--name",
        "imp",
        "--import",
        "--disk",
        &path,
        "--osinfo",
        "linux2022",
    ]);
    let output = world.install(&args).output().expect("run");
    expect_code(&output, 0);

    let log = world.wait_for_marker("imp", "QVIRT-GUEST DONE");
    assert!(log.contains("QVIRT-GUEST INSTALLED-SYSTEM"), "{log}");
    assert!(
        log.contains("QVIRT-GUEST DISK vda"),
        "virtio for a modern Linux:\n{log}"
    );
    assert_eq!(
        std::fs::metadata(&disk).expect("stat").len(),
        before,
        "used as it is"
    );
}

#[test]
fn every_disk_and_nic_asked_for_is_there() {
    let world = World::new();
    let second = world.path().join("second.qcow2");
    let second = format!("path={},size=0.5", second.display());
    let boot = kernel_boot("");
    let args = small(&[
        "--name",
        "many",
        "--osinfo",
        "linux2022",
        "--boot",
        &boot,
        "--disk",
        "size=1",
        "--disk",
        &second,
        "--network",
        "user,mac=52:54:00:12:34:01",
        "--network",
        "user,mac=52:54:00:12:34:02,model=e1000",
    ]);
    let output = world.install(&args).output().expect("run");
    expect_code(&output, 0);

    let log = world.wait_for_marker("many", "QVIRT-GUEST DONE");
    for want in [
        "QVIRT-GUEST DISK vda 1073741824",
        "QVIRT-GUEST DISK vdb 536870912",
        " 52:54:00:12:34:01",
        " 52:54:00:12:34:02",
    ] {
        assert!(log.contains(want), "{want}:\n{log}");
    }
}

#[test]
fn a_missing_iso_leaves_nothing_behind() {
    let world = World::new();
    let args = small(&[
        "--name",
        "noiso",
        "--cdrom",
        "/nonexistent/x.iso",
        "--disk",
        "size=1",
    ]);
    let args: Vec<&str> = args.into_iter().chain(["--osinfo", "generic"]).collect();
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains("Validating install media '/nonexistent/x.iso' failed"),
        "{stderr}"
    );
    assert_eq!(files_below(world.path()), Vec::<String>::new());
}

#[test]
fn a_qemu_that_refuses_to_start_leaves_nothing_behind() {
    let world = World::new();
    let boot = kernel_boot("");
    // 64 TiB: more memory than the host has, so QEMU exits at once.
    let args = [
        "--name",
        "huge",
        "--memory",
        "67108864",
        "--virt-type",
        "qemu",
        "--graphics",
        "none",
        "--osinfo",
        "generic",
        "--disk",
        "size=1",
        "--boot",
        &boot,
    ];
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains("QEMU exited before the guest started"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(files_below(world.path()), Vec::<String>::new(), "{stderr}");
}

#[test]
fn a_name_in_use_is_refused_and_changes_nothing() {
    let world = World::new();
    world.start_staying("taken", "");
    let image = world.path().join("images/taken.qcow2");
    let before = std::fs::read(&image).expect("the first guest's disk");
    let definition = std::fs::read(world.state_dir("taken").join("guest.json")).expect("def");

    let args = small(&[
        "--name", "taken", "--osinfo", "generic", "--disk", "size=2", "--import",
    ]);
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains("Guest name 'taken' is already in use."),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&image).expect("disk"), before);
    assert_eq!(
        std::fs::read(world.state_dir("taken").join("guest.json")).expect("def"),
        definition
    );
    assert!(!world.path().join("images/taken-1.qcow2").exists());
    assert!(
        world.qemu_pid("taken").is_some_and(alive),
        "the first guest still runs"
    );
}

#[test]
fn ctrl_c_while_waiting_leaves_the_guest_running() {
    let world = World::new();
    let boot = kernel_boot("qvirt.stay=1");
    let args = small(&[
        "--name",
        "wait",
        "--osinfo",
        "generic",
        "--disk",
        "size=1",
        "--boot",
        &boot,
        "--noautoconsole",
        "--wait",
        "-1",
    ]);
    let child = world
        .install(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    world.wait_for_marker("wait", "QVIRT-GUEST DONE");
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
    let output = child.wait_with_output().expect("wait");

    let (_, stderr) = expect_code(&output, 0);
    assert!(stderr.contains("Domain install interrupted."), "{stderr}");
    assert!(
        stderr.contains("console wait"),
        "says how to reach it: {stderr}"
    );
    assert!(
        world.qemu_pid("wait").is_some_and(alive),
        "the guest keeps running"
    );
}

#[test]
fn qemu_killed_during_the_install_removes_what_the_run_made() {
    let world = World::new();
    let args = iso_install("killed", &["--noautoconsole", "--wait", "-1"]);
    let child = world
        .install(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    world.wait_until("QEMU to run", || world.qemu_pid("killed").is_some());
    let qemu = world.qemu_pid("killed").expect("pid");
    kill(qemu);
    let output = child.wait_with_output().expect("wait");

    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains("does not appear to have been successful"),
        "{stderr}"
    );
    world.wait_until("the supervisor to clean up", || {
        !world.path().join("images/killed.qcow2").exists() && !world.state_dir("killed").exists()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!alive(qemu));
}

#[test]
fn a_transient_guest_leaves_no_definition() {
    let world = World::new();
    let boot = kernel_boot("");
    let args = small(&[
        "--name",
        "once",
        "--osinfo",
        "generic",
        "--disk",
        "none",
        "--boot",
        &boot,
        "--transient",
    ]);
    let output = world.install(&args).output().expect("run");
    let (stdout, _) = expect_code(&output, 0);
    assert!(
        stdout.contains("QVIRT-GUEST DONE"),
        "the guest ran: {stdout}"
    );
    world.wait_until("the supervisor to forget it", || {
        !world.state_dir("once").exists() && !world.runtime_dir("once").exists()
    });
}

/// Nested and software hypervisors can make `-cpu host` abort on the
/// ARCH_CAPABILITIES MSR; qvirt then retries once without that MSR, says so,
/// and keeps the fix. A stand-in for qemu-system-x86_64 aborts as such a
/// host does and otherwise runs the real QEMU.
#[test]
fn the_msr_abort_of_cpu_host_is_retried() {
    let usable = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if !usable {
        eprintln!("skipped: /dev/kvm cannot be opened here");
        return;
    }
    let world = World::new();
    let qemu = world.path().join("qemu-aborting-on-msr");
    std::fs::write(
        &qemu,
        "#!/bin/sh\n\
         case \" $* \" in *' -cpu host '*)\n\
           echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2; exit 1 ;;\n\
         esac\n\
         exec qemu-system-x86_64 \"$@\"\n",
    )
    .expect("stand-in");
    let mut permissions = std::fs::metadata(&qemu).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&qemu, permissions).expect("chmod");

    let boot = kernel_boot("");
    let args = [
        "--name",
        "kvm",
        "--memory",
        "256",
        "--graphics",
        "none",
        "--osinfo",
        "linux2022",
        "--disk",
        "none",
        "--boot",
        &boot,
        "--noautoconsole",
    ];
    let output = world
        .install(&args)
        .env("QVIRT_QEMU", &qemu)
        .output()
        .expect("run");
    let (_, stderr) = expect_code(&output, 0);
    assert!(stderr.contains("failed to set MSR 0x10a"), "{stderr}");
    assert!(
        stderr.contains("-cpu host,arch-capabilities=off"),
        "{stderr}"
    );
    let definition =
        std::fs::read_to_string(world.state_dir("kvm").join("guest.json")).expect("definition");
    assert!(
        definition.contains("host,arch-capabilities=off"),
        "the fix is kept"
    );
    let output = world.qvirt(&["destroy", "kvm"]).output().expect("destroy");
    expect_code(&output, 0);
}

#[test]
fn a_disk_another_guest_uses_is_refused() {
    let world = World::new();
    let disk = world.path().join("shared.qcow2");
    std::fs::copy(guest().join("disk.qcow2"), &disk).expect("image");
    let path = format!("path={}", disk.display());
    // --noreboot with --import defines the guest without starting it.
    let first = small(&[
        "--name",
        "first",
        "--import",
        "--disk",
        &path,
        "--osinfo",
        "linux2022",
        "--noreboot",
    ]);
    let output = world.install(&first).output().expect("run");
    expect_code(&output, 0);
    assert!(
        world.state_dir("first").join("guest.json").exists(),
        "defined"
    );
    assert_eq!(world.qemu_pid("first"), None, "and not started");

    let second = small(&[
        "--name",
        "second",
        "--import",
        "--disk",
        &path,
        "--osinfo",
        "linux2022",
    ]);
    let output = world.install(&second).output().expect("run");
    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains("is already in use by other guests ['first']"),
        "{stderr}"
    );
    assert!(stderr.contains("--check path_in_use=off"), "{stderr}");
    assert!(!world.state_dir("second").exists());
}

#[test]
fn destroy_on_exit_without_a_console_stops_the_guest_at_once() {
    let world = World::new();
    let args = staying_guest("brief", &["--noautoconsole", "--destroy-on-exit"]);
    let output = world.install(&args).output().expect("run");
    expect_code(&output, 0);
    assert_eq!(
        world.qemu_pid("brief"),
        None,
        "forced off as qvirt-install exits"
    );
    assert_eq!(world.state_of("brief"), "shut-off");
}

#[test]
fn current_memory_is_taken_back_by_the_balloon() {
    let world = World::new();
    let boot = kernel_boot("qvirt.stay=1");
    // libvirt's <memory> 384 MiB and <currentMemory> 256 MiB; linux2022
    // has the virtio balloon driver.
    let args = [
        "--name",
        "mem",
        "--memory",
        "memory=384,currentMemory=256",
        "--virt-type",
        "qemu",
        "--graphics",
        "none",
        "--osinfo",
        "linux2022",
        "--disk",
        "none",
        "--boot",
        &boot,
        "--noautoconsole",
    ];
    let output = world.install(&args).output().expect("run");
    expect_code(&output, 0);
    world.wait_for_marker("mem", "QVIRT-GUEST DONE");

    let args = std::fs::read_to_string(world.state_dir("mem").join("guest.json")).expect("def");
    assert!(
        args.contains("size=384M"),
        "QEMU gets the whole size: {args}"
    );
    let actual = || {
        let output = world
            .qvirt(&["qmp", "mem", "query-balloon"])
            .output()
            .expect("qvirt qmp");
        let reply: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        reply["actual"].as_u64()
    };
    world.wait_until("the guest to give 128 MiB back", || {
        actual() == Some(256 << 20)
    });
}

#[test]
fn a_mac_address_another_guest_has_is_refused() {
    let world = World::new();
    let line = |name: &'static str| {
        small(&[
            "--name",
            name,
            "--osinfo",
            "generic",
            "--import",
            "--disk",
            "none",
            "--network",
            "user,mac=52:54:00:aa:bb:cc",
        ])
    };
    // Defined, not started: --noreboot with a single-phase install.
    let mut first = line("one");
    first.push("--noreboot");
    expect_code(&world.install(&first).output().expect("run"), 0);

    let output = world.install(&line("two")).output().expect("run");
    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains(
            "The MAC address '52:54:00:aa:bb:cc' is in use by another virtual machine. \
             (Use --check mac_in_use=off"
        ),
        "{stderr}"
    );
    assert!(!world.state_dir("two").exists(), "nothing of it is left");

    let mut unchecked = line("two");
    unchecked.extend(["--check", "mac_in_use=off", "--dry-run"]);
    expect_code(&world.install(&unchecked).output().expect("run"), 0);
}

/// `--wait` leaves the guest running when it ends, and it ends only by
/// Ctrl+C here; `--destroy-on-exit` forces the guest off all the same.
#[test]
fn destroy_on_exit_stops_the_guest_when_ctrl_c_ends_the_wait() {
    let world = World::new();
    let args = staying_guest(
        "gone",
        &["--noautoconsole", "--wait", "-1", "--destroy-on-exit"],
    );
    let child = world
        .install(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    world.wait_for_marker("gone", "QVIRT-GUEST DONE");
    let qemu = world.qemu_pid("gone").expect("QEMU runs");
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
    let output = child.wait_with_output().expect("wait");

    let (_, stderr) = expect_code(&output, 0);
    assert!(stderr.contains("Domain install interrupted."), "{stderr}");
    assert!(!stderr.contains("keeps running"), "{stderr}");
    assert!(!alive(qemu), "forced off as qvirt-install exits: {stderr}");
    assert_eq!(world.state_of("gone"), "shut-off");
}

/// The install rebooting is not the user stopping the guest: it restarts
/// into its final form, which `--destroy-on-exit` then forces off as
/// qvirt-install exits.
#[test]
fn destroy_on_exit_after_the_wait_stops_the_restarted_guest() {
    let world = World::new();
    let args = iso_install(
        "twice",
        &["--noautoconsole", "--wait", "-1", "--destroy-on-exit"],
    );
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 0);
    assert!(stderr.contains("Restarting guest."), "{stderr}");
    assert!(!stderr.contains("User stopped the VM"), "{stderr}");
    assert_eq!(world.qemu_pid("twice"), None, "{stderr}");
    let definition =
        std::fs::read_to_string(world.state_dir("twice").join("guest.json")).expect("definition");
    let definition: serde_json::Value = serde_json::from_str(&definition).expect("json");
    assert!(definition["install"].is_null(), "the install phase is over");
    assert_eq!(world.state_of("twice"), "shut-off");
}

/// As virt-install: `--wait` does not hide the console, it only stops
/// waiting for it; bare `--wait` waits until the guest is off.
#[test]
fn wait_without_a_limit_still_shows_the_console() {
    let world = World::new();
    let boot = kernel_boot("");
    let args = small(&[
        "--name", "shown", "--osinfo", "generic", "--disk", "none", "--boot", &boot, "--wait",
    ]);
    let output = world.install(&args).output().expect("run");
    let (stdout, stderr) = expect_code(&output, 0);
    assert!(stdout.contains("QVIRT-GUEST DONE"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Waiting for the installation to complete."),
        "{stderr}"
    );
}

/// `--graphics none --wait 1` on a guest that stays up: qvirt-install shows
/// its console for the minute and leaves, as virt-install does.
fn wait_a_minute_on_the_console(world: &World, name: &str, extra: &[&str]) -> (Output, i32) {
    let mut args = staying_guest(name, &["--wait", "1"]);
    args.extend(extra);
    let started = Instant::now();
    let child = world
        .install(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    world.wait_until("QEMU to run", || world.qemu_pid(name).is_some());
    let qemu = world.qemu_pid(name).expect("pid");
    let output = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() >= Duration::from_secs(60),
        "gave up after {:?}",
        started.elapsed()
    );
    (output, qemu)
}

#[test]
fn wait_shows_the_console_and_gives_up_after_its_minutes() {
    let world = World::new();
    let (output, qemu) = wait_a_minute_on_the_console(&world, "slow", &[]);

    let (stdout, stderr) = expect_code(&output, 1);
    assert!(stdout.contains("QVIRT-GUEST DONE"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Waiting 1 minute for the installation to complete."),
        "{stderr}"
    );
    assert!(
        stderr.contains("Installation has exceeded specified time limit. Exiting application."),
        "{stderr}"
    );
    assert!(alive(qemu), "the guest is left running");
    assert_eq!(world.qemu_pid("slow"), Some(qemu));
}

#[test]
fn destroy_on_exit_stops_the_guest_when_the_wait_runs_out() {
    let world = World::new();
    let (output, qemu) = wait_a_minute_on_the_console(&world, "brief", &["--destroy-on-exit"]);

    let (stdout, stderr) = expect_code(&output, 1);
    assert!(stdout.contains("QVIRT-GUEST DONE"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Installation has exceeded specified time limit."),
        "{stderr}"
    );
    assert!(!alive(qemu), "forced off as qvirt-install exits");
    assert_eq!(world.qemu_pid("brief"), None);
}
