//! Kernel installs and cloud-init seeds with real guests under TCG:
//! `--location` from a tree and an ISO in Debian's installer layout (made
//! here from the test guest's kernel and initrd), `--extra-args`,
//! `--initrd-inject`, explicit `kernel=`/`initrd=`, a `cidata` seed seen on
//! the first boot only, and the refusals that must leave nothing behind.

pub mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// The options every guest here shares: small, TCG, serial console only,
/// and nobody attached.
const SMALL: &[&str] = &[
    "--memory",
    "256",
    "--virt-type",
    "qemu",
    "--graphics",
    "none",
    "--osinfo",
    "generic",
    "--noautoconsole",
];

fn line<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    SMALL.iter().copied().chain(extra.iter().copied()).collect()
}

/// A folder with `files` (name, source file) below it.
fn tree(root: &Path, files: &[(&str, PathBuf)]) -> PathBuf {
    for (name, source) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
        std::fs::copy(source, &path).expect("copy into the tree");
    }
    root.to_path_buf()
}

/// The test guest's kernel and initrd where Debian's installer ISOs keep
/// them.
fn debian_tree(root: &Path) -> PathBuf {
    tree(
        root,
        &[
            ("install.amd/vmlinuz", guest().join("vmlinuz")),
            ("install.amd/initrd.gz", guest().join("initrd.gz")),
        ],
    )
}

/// An ISO of `tree`, Rock Ridge and Joliet, as xorriso makes Debian's.
fn iso(tree: &Path, iso: &Path) -> PathBuf {
    let status = Command::new("xorriso")
        .args([
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-J",
            "-V",
            "QVIRT-TEST",
            "-o",
        ])
        .arg(iso)
        .arg(tree)
        .status()
        .expect("xorriso runs");
    assert!(status.success(), "xorriso made {}", iso.display());
    iso.to_path_buf()
}

fn definition(world: &World, name: &str) -> serde_json::Value {
    let text =
        std::fs::read_to_string(world.state_dir(name).join("guest.json")).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

/// Waits for the install phase to end and the guest to run from its
/// disk, and checks that the final form boots no kernel and has no media.
fn wait_for_final_phase(world: &World, name: &str, media: &str) {
    world.wait_until("the install phase to end", || {
        let saved = definition(world, name);
        saved.get("install").is_some_and(|i| i.is_null())
    });
    let run = definition(world, name)["run"]["args"].to_string();
    assert!(
        !run.contains("-kernel"),
        "the final form boots its disk: {run}"
    );
    assert!(!run.contains(media), "the media are gone: {run}");
}

#[test]
fn location_iso_boots_with_the_extra_args_and_then_the_disk() {
    let world = World::new();
    let inputs = tempfile::tempdir().expect("tempdir");
    let tree = debian_tree(&inputs.path().join("tree"));
    let iso = iso(&tree, &inputs.path().join("debian.iso"));
    let iso = iso.to_str().expect("utf-8");
    let args = line(&[
        "--name",
        "lociso",
        "--disk",
        "size=1",
        "--location",
        iso,
        "--extra-args",
        "qvirt.test=location-iso quiet",
    ]);
    let output = world.install(&args).output().expect("run");
    expect_code(&output, 0);

    let log = world.wait_for_marker("lociso", "QVIRT-GUEST DONE");
    let boot = log
        .lines()
        .find(|l| l.contains("QVIRT-GUEST BOOT"))
        .expect("a BOOT line");
    assert!(
        boot.contains("qvirt.test=location-iso quiet console=ttyS0"),
        "{boot}"
    );
    // The ISO is attached as a CD-ROM for the install.
    assert!(log.contains("QVIRT-GUEST DISK sr0"), "{log}");
    wait_for_final_phase(&world, "lociso", "debian.iso");
    // The fetched kernel and initrd go once nothing boots them again.
    let boot = world.state_dir("lociso").join("boot");
    world.wait_until("the fetched kernel to go", || !boot.exists());
}

#[test]
fn location_tree_with_an_injected_file_the_guest_prints() {
    let world = World::new();
    let inputs = tempfile::tempdir().expect("tempdir");
    let tree = debian_tree(&inputs.path().join("tree"));
    let note = inputs.path().join("qvirt-note.txt");
    std::fs::write(&note, "injected by qvirt\nsecond line\n").expect("note");
    let (tree, note) = (tree.to_str().expect("utf-8"), note.to_str().expect("utf-8"));
    let args = line(&[
        "--name",
        "loctree",
        "--disk",
        "size=1",
        "--location",
        tree,
        "--initrd-inject",
        note,
        "--extra-args",
        "qvirt.cat=/qvirt-note.txt",
    ]);
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 0);
    assert!(stderr.contains("Directory tree installs"), "{stderr}");

    let log = world.wait_for_marker("loctree", "QVIRT-GUEST DONE");
    for want in [
        "qvirt.cat=/qvirt-note.txt console=ttyS0",
        "QVIRT-GUEST CAT /qvirt-note.txt injected by qvirt",
        "QVIRT-GUEST CAT /qvirt-note.txt second line",
    ] {
        assert!(log.contains(want), "{want}:\n{log}");
    }
    wait_for_final_phase(&world, "loctree", tree);
    // The guest's own copy got the file; the tree did not.
    assert_eq!(
        std::fs::metadata(inputs.path().join("tree/install.amd/initrd.gz"))
            .expect("stat")
            .len(),
        std::fs::metadata(guest().join("initrd.gz"))
            .expect("stat")
            .len()
    );
}

#[test]
fn an_iso_of_no_known_layout_needs_kernel_and_initrd() {
    let world = World::new();
    let inputs = tempfile::tempdir().expect("tempdir");
    let tree = tree(
        &inputs.path().join("tree"),
        &[
            ("boot/custom-kernel", guest().join("vmlinuz")),
            ("boot/custom-initrd", guest().join("initrd.gz")),
        ],
    );
    let iso = iso(&tree, &inputs.path().join("custom.iso"));
    let iso = iso.to_str().expect("utf-8");

    let args = line(&["--name", "nolayout", "--disk", "size=1", "--location", iso]);
    let output = world.install(&args).output().expect("run");
    let (_, stderr) = expect_code(&output, 1);
    for want in [
        "Could not find an installable distribution",
        "kernel=PATH,initrd=PATH",
    ] {
        assert!(stderr.contains(want), "{want}: {stderr}");
    }
    assert_eq!(files_below(world.path()), Vec::<String>::new());

    let location = format!("{iso},kernel=boot/custom-kernel,initrd=/boot/custom-initrd");
    let args = line(&[
        "--name",
        "explicit",
        "--disk",
        "size=1",
        "--location",
        &location,
        "--extra-args",
        "qvirt.test=explicit",
    ]);
    let output = world.install(&args).output().expect("run");
    expect_code(&output, 0);
    let log = world.wait_for_marker("explicit", "QVIRT-GUEST DONE");
    assert!(log.contains("qvirt.test=explicit console=ttyS0"), "{log}");
}

#[test]
fn cloud_init_seed_is_read_on_the_first_boot_only() {
    let world = World::new();
    let inputs = tempfile::tempdir().expect("tempdir");
    let disk = inputs.path().join("cloud.qcow2");
    std::fs::copy(guest().join("disk.qcow2"), &disk).expect("copy the image");
    let user_data = inputs.path().join("user-data.yaml");
    std::fs::write(&user_data, "#cloud-config\nhostname: qvirt-seeded\n").expect("user-data");
    let disk = format!("path={}", disk.display());
    let seed = format!("user-data={}", user_data.display());
    let args = line(&[
        "--name",
        "cloud",
        "--import",
        "--disk",
        &disk,
        "--cloud-init",
        &seed,
    ]);
    let output = world.install(&args).output().expect("run");
    expect_code(&output, 0);

    // The first boot reads the seed and powers off; the supervisor starts
    // the guest again, seed gone, and it powers off once more.
    world.wait_until("two boots", || {
        let log = std::fs::read(world.console_log("cloud")).unwrap_or_default();
        String::from_utf8_lossy(&log)
            .matches("QVIRT-GUEST DONE")
            .count()
            >= 2
    });
    let log = String::from_utf8_lossy(&std::fs::read(world.console_log("cloud")).expect("log"))
        .into_owned();
    let (first, second) = log.split_once("QVIRT-GUEST DONE").expect("a first boot");
    for want in [
        "QVIRT-GUEST CIDATA #cloud-config",
        "QVIRT-GUEST CIDATA hostname: qvirt-seeded",
    ] {
        assert!(first.contains(want), "{want}:\n{log}");
    }
    assert!(
        !second.contains("CIDATA"),
        "the seed on the second boot:\n{log}"
    );
    assert!(
        second.contains("QVIRT-GUEST INSTALLED-SYSTEM"),
        "it booted its disk:\n{log}"
    );

    // With the seed file gone, the guest still starts.
    world.wait_until("the supervisor to finish", || {
        !world.runtime_dir("cloud").join("status.json").exists()
    });
    std::fs::remove_file(world.state_dir("cloud").join("cidata.iso")).expect("the seed");
    let output = world.qvirt(&["start", "cloud"]).output().expect("start");
    expect_code(&output, 0);
    world.wait_until("a third boot", || {
        let log = std::fs::read(world.console_log("cloud")).unwrap_or_default();
        String::from_utf8_lossy(&log)
            .matches("QVIRT-GUEST DONE")
            .count()
            >= 3
    });
}

#[test]
fn refusals_leave_nothing_behind() {
    let inputs = tempfile::tempdir().expect("tempdir");
    let zeros = inputs.path().join("zeros.iso");
    std::fs::write(&zeros, vec![0u8; 1 << 20]).expect("a file that is no ISO");
    let zeros = zeros.to_str().expect("utf-8");
    let missing = inputs.path().join("missing.yaml");
    let missing_seed = format!("user-data={}", missing.display());
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--import",
                "--disk",
                "size=1",
                "--extra-args",
                "console=ttyS0",
            ],
            "Kernel arguments are only supported with location or kernel installs.",
        ),
        (
            &[
                "--import",
                "--disk",
                "size=1",
                "--cloud-init",
                &missing_seed,
            ],
            "Couldn't acquire file",
        ),
        (
            &["--disk", "size=1", "--location", zeros],
            "is not an ISO 9660 image",
        ),
        (
            &["--disk", "size=1", "--location", "/nonexistent/tree"],
            "Could not find media '/nonexistent/tree'",
        ),
    ];
    for (extra, want) in cases {
        let world = World::new();
        let mut args = line(&["--name", "refused"]);
        args.extend_from_slice(extra);
        let output = world.install(&args).output().expect("run");
        let (_, stderr) = expect_code(&output, 1);
        assert!(stderr.contains(want), "{extra:?}: {stderr}");
        assert_eq!(
            files_below(world.path()),
            Vec::<String>::new(),
            "{extra:?} left files"
        );
    }
}
