//! `qvirt` over real guests under TCG: the whole life of a guest, a guest
//! that ignores the power button, a QEMU killed with SIGKILL, and the
//! refusals.

pub mod support;

use std::time::Duration;

use support::*;

fn qvirt(world: &World, args: &[&str]) -> (String, String) {
    let output = world.qvirt(args).output().expect("qvirt");
    expect_code(&output, 0)
}

#[test]
fn the_whole_life_of_a_guest() {
    let world = World::new();
    world.start_staying("life", "");

    let (table, _) = qvirt(&world, &["list"]);
    assert!(
        table.contains("life") && table.contains("running"),
        "{table}"
    );
    let rows = world.list_json();
    let row = rows.iter().find(|r| r["name"] == "life").expect("listed");
    assert_eq!(row["state"], "running");
    assert_eq!(row["memory_mib"], 256);
    let pid = row["pid"].as_i64().expect("a pid") as i32;
    assert!(alive(pid));

    // Pause and go on; a raw QMP command; the command line; no display.
    qvirt(&world, &["suspend", "life"]);
    assert_eq!(world.state_of("life"), "paused");
    // A reset while paused leaves QEMU in prelaunch, which is paused to
    // virsh, and the JSON state stays a string.
    qvirt(&world, &["reset", "life"]);
    assert_eq!(world.state_of("life"), "paused");
    qvirt(&world, &["resume", "life"]);
    assert_eq!(world.state_of("life"), "running");
    let boots = |count: usize| {
        let log = std::fs::read_to_string(world.console_log("life")).unwrap_or_default();
        log.matches("QVIRT-GUEST DONE").count() >= count
    };
    world.wait_until("the boot after the reset", || boots(2));
    let (reply, debug) = qvirt(&world, &["--debug", "qmp", "life", "query-status"]);
    assert!(
        debug.contains("debug: qmp") && debug.contains("query-status"),
        "--debug shows the QMP messages: {debug}"
    );
    let reply: serde_json::Value = serde_json::from_str(&reply).expect("JSON reply");
    assert_eq!(reply["status"], "running");
    let (args, _) = qvirt(&world, &["dumpargs", "life"]);
    assert!(
        args.starts_with('/') && args.contains("-name 'guest=life"),
        "{args}"
    );
    let output = world
        .qvirt(&["domdisplay", "life"])
        .output()
        .expect("domdisplay");
    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains("No graphical display found for domain 'life'"),
        "{stderr}"
    );

    // The console replays what the guest printed.
    let (console, _) = qvirt(&world, &["console", "life"]);
    assert!(console.contains("QVIRT-GUEST DONE"), "{console}");

    let (_, said) = qvirt(&world, &["shutdown", "life", "--timeout", "60"]);
    assert!(said.contains("ACPI power button"), "{said}");
    world.wait_for_marker("life", "QVIRT-GUEST POWERBUTTON");
    assert_eq!(world.state_of("life"), "shut-off");
    assert!(!alive(pid));

    qvirt(&world, &["start", "life"]);
    world.wait_until("the boot after start", || boots(3));
    assert_eq!(world.state_of("life"), "running");

    let (_, said) = qvirt(&world, &["destroy", "life"]);
    assert!(said.contains("destroyed"), "{said}");
    assert_eq!(world.state_of("life"), "shut-off");

    qvirt(&world, &["undefine", "life", "--remove-all-storage"]);
    assert!(world.list_json().is_empty());
    assert_eq!(
        files_below(world.path()),
        Vec::<String>::new(),
        "no file of it is left"
    );
}

#[test]
fn a_guest_that_ignores_the_power_button_is_forced_off() {
    let world = World::new();
    world.start_staying("stubborn", "qvirt.ignore-powerbutton=1");
    let pid = world.qemu_pid("stubborn").expect("running");

    let (_, said) = qvirt(&world, &["shutdown", "stubborn", "--timeout", "2"]);
    assert!(
        said.contains("did not shut down within 2 s: forced off"),
        "{said}"
    );
    world.wait_for_marker("stubborn", "QVIRT-GUEST POWERBUTTON-IGNORED");
    assert!(!alive(pid), "no QEMU is left");
    assert_eq!(world.state_of("stubborn"), "shut-off");
}

#[test]
fn a_killed_qemu_shows_as_crashed_and_starts_again() {
    let world = World::new();
    world.start_staying("victim", "");
    let pid = world.qemu_pid("victim").expect("running");
    kill(pid);
    world.wait_until("QEMU to be gone", || !alive(pid));
    world.wait_until("the supervisor to notice", || {
        world.state_of("victim") == "crashed"
    });
    assert!(
        !world.runtime_dir("victim").join("qemu.pid").exists(),
        "stale pid cleaned"
    );

    qvirt(&world, &["start", "victim"]);
    world.wait_until("the guest to run again", || {
        world.state_of("victim") == "running"
    });
    qvirt(&world, &["destroy", "victim"]);
}

#[test]
fn refusals_are_clear_and_change_nothing() {
    let world = World::new();
    world.start_staying("busy", "");
    let definition = std::fs::read(world.state_dir("busy").join("guest.json")).expect("def");

    let cases: [(&[&str], &str); 6] = [
        (
            &["start", "nosuch"],
            "Domain not found: no domain with matching name 'nosuch'",
        ),
        // Paths are no names: nothing outside the guest's folders is touched.
        (&["undefine", "../lib/busy"], "Domain not found"),
        (&["undefine", "busy/."], "Domain not found"),
        (&["shutdown", "nosuch"], "Domain not found"),
        (&["undefine", "busy"], "domain 'busy' is already active"),
        (&["start", "busy"], "domain 'busy' is already active"),
    ];
    for (args, want) in cases {
        let output = world.qvirt(args).output().expect("qvirt");
        let (_, stderr) = expect_code(&output, 1);
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }

    // A second console client is told the console is busy.
    let mut first = world
        .qvirt(&["console", "busy"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("first console");
    std::thread::sleep(Duration::from_millis(500));
    let output = world
        .qvirt(&["console", "busy"])
        .output()
        .expect("second console");
    let (_, stderr) = expect_code(&output, 1);
    assert!(
        stderr.contains("Active console session exists for domain 'busy'"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Connected to domain"),
        "no false welcome: {stderr}"
    );
    kill(first.id() as i32);
    let _ = first.wait();

    assert_eq!(
        std::fs::read(world.state_dir("busy").join("guest.json")).expect("def"),
        definition
    );
    assert_eq!(world.state_of("busy"), "running");

    // A reader that goes away early is no failure, and no panic.
    let mut list = world
        .qvirt(&["list", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("list");
    drop(list.stdout.take());
    let output = list.wait_with_output().expect("list ends");
    expect_code(&output, 0);

    qvirt(&world, &["destroy", "busy"]);
}

#[test]
fn completions_offer_the_defined_guests() {
    let world = World::new();
    for name in ["alpha", "beta"] {
        let state = world.state_dir(name);
        std::fs::create_dir_all(&state).expect("state folder");
        std::fs::write(state.join("guest.json"), "{}").expect("a definition");
    }
    let output = world
        .qvirt(&["--", "qvirt", "start", ""])
        .env("COMPLETE", "fish")
        .output()
        .expect("completion");
    let (stdout, _) = expect_code(&output, 0);
    let offered: Vec<&str> = stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    let guests: Vec<&str> = offered
        .into_iter()
        .filter(|o| !o.starts_with('-'))
        .collect();
    assert_eq!(guests, ["alpha", "beta"], "{stdout}");
}

#[test]
fn a_definition_that_cannot_be_read_is_shown_and_can_be_undefined() {
    let world = World::new();
    let state = world.state_dir("broken");
    std::fs::create_dir_all(&state).expect("state folder");
    std::fs::write(state.join("guest.json"), "{ not json").expect("a broken definition");

    let output = world.qvirt(&["list", "--all"]).output().expect("list");
    let (_, stderr) = expect_code(&output, 0);
    assert!(
        stderr.contains("warning: the saved definition `") && stderr.contains("broken"),
        "{stderr}"
    );

    // Its disks are unknown, so storage is not removed blindly.
    let output = world
        .qvirt(&["undefine", "broken", "--remove-all-storage"])
        .output()
        .expect("undefine");
    expect_code(&output, 1);
    assert!(state.exists());
    qvirt(&world, &["undefine", "broken"]);
    assert!(!state.exists());
}
