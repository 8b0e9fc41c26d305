//! `--osinfo` against the real Debian osinfo-db (package `osinfo-db`, which
//! `scripts/setup-debian.sh` installs): lookups, old and newer names, the
//! list, detection from ISOs made here with xorriso, and the defaults the
//! database gives.

pub mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn database_installed() -> bool {
    let present = Path::new("/usr/share/osinfo/os").is_dir();
    if !present {
        eprintln!("skipped: osinfo-db is not installed (apt-get install osinfo-db)");
    }
    present
}

/// An ISO 9660 image with this volume id, made with xorriso.
fn iso(world: &World, name: &str, volume_id: &str) -> PathBuf {
    let tree = world.path().join(format!("{name}.tree"));
    std::fs::create_dir_all(&tree).expect("tree");
    std::fs::write(tree.join("README"), "qvirt test medium\n").expect("file");
    let path = world.path().join(format!("{name}.iso"));
    let status = Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-V", volume_id, "-o"])
        .arg(&path)
        .arg(&tree)
        .status()
        .expect("xorriso (Debian package xorriso)");
    assert!(status.success(), "xorriso failed");
    std::fs::remove_dir_all(&tree).expect("clean the tree");
    path
}

/// `--print-qemu` for a line, with the KVM probe stood in for.
fn print(world: &World, line: &[&str]) -> (Option<i32>, String, String) {
    let output = world
        .install(line)
        .arg("--print-qemu")
        .env("QVIRT_KVM", "usable")
        .env("QVIRT_PREDICTABLE", "1")
        .output()
        .expect("run");
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

#[test]
fn names_and_aliases_from_the_database() {
    if !database_installed() {
        return;
    }
    let world = World::new();
    let cases: [(&str, &str); 6] = [
        ("rhel7.9", "guest=rhel7.9"),
        ("debian11", "guest=debian11"),
        ("debianbullseye", "guest=debian11"),
        ("fedora36", "guest=fedora36"),
        ("win11", "guest=win11"),
        ("generic", "guest=vm1"),
    ];
    for (name, want) in cases {
        let (code, stdout, stderr) = print(
            &world,
            &[
                "--osinfo", name, "--pxe", "--disk", "none", "--memory", "512",
            ],
        );
        assert_eq!(code, Some(0), "{name}: {stderr}");
        assert!(stdout.contains(want), "{name}: {stdout}");
        assert!(
            !stderr.contains("not in the OS database"),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn old_and_newer_names_resolve_with_a_warning() {
    if !database_installed() {
        return;
    }
    let world = World::new();
    let cases: [(&str, &str); 4] = [
        ("rhel7", "using rhel7-unknown"),
        ("ubuntu24.04", "update the Debian package osinfo-db"),
        ("debian13", "update the Debian package osinfo-db"),
        ("RHEL9.4", "rhel9"),
    ];
    for (name, want) in cases {
        let (code, _, stderr) = print(
            &world,
            &[
                "--osinfo", name, "--pxe", "--disk", "none", "--memory", "512",
            ],
        );
        assert_eq!(code, Some(0), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: {stderr}");
    }

    let (code, _, stderr) = print(
        &world,
        &["--osinfo", "plan9front", "--pxe", "--disk", "none"],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("Unknown OS name 'plan9front'. See `--osinfo list` for valid values."),
        "{stderr}"
    );
}

#[test]
fn the_list_names_every_os() {
    if !database_installed() {
        return;
    }
    let world = World::new();
    let output = world.install(&["--osinfo", "list"]).output().expect("run");
    let (stdout, _) = expect_code(&output, 0);
    for id in ["rhel7.9", "debian11", "win11", "fedora36", "generic"] {
        assert!(
            stdout.lines().any(|l| l.split([',', ' ']).any(|w| w == id)),
            "{id} missing from the list"
        );
    }
    assert!(stdout.contains("osinfo-query os"));
}

#[test]
fn install_media_are_detected_by_their_volume_id() {
    if !database_installed() {
        return;
    }
    let world = World::new();
    let known = iso(&world, "debian", "Debian 11.5.0 amd64 n");
    let unknown = iso(&world, "mine", "QVIRT NOTHING KNOWN");

    let output = world
        .install(&["--test-media-detection", known.to_str().expect("utf-8")])
        .output()
        .expect("run");
    let (stdout, _) = expect_code(&output, 0);
    assert_eq!(stdout.trim(), "debian11");

    // Detected: the OS defaults apply with no --osinfo at all.
    let cdrom = known.to_str().expect("utf-8");
    let (code, stdout, stderr) = print(&world, &["--cdrom", cdrom]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Detected OS 'debian11'"), "{stderr}");
    assert!(
        stderr.contains("Using debian11 default --memory"),
        "{stderr}"
    );
    assert!(
        stdout.contains("virtio-blk-pci"),
        "a new virtio disk from the defaults"
    );

    // Not known: virt-install's error, with its hint for media.
    let cdrom = unknown.to_str().expect("utf-8");
    let (code, _, stderr) = print(
        &world,
        &["--cdrom", cdrom, "--memory", "512", "--disk", "none"],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("--osinfo/--os-variant OS name is required"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--osinfo detect=on,name=OSNAME"),
        "{stderr}"
    );
}

#[test]
fn the_database_decides_the_devices() {
    if !database_installed() {
        return;
    }
    let world = World::new();
    let cdrom = world.path().join("x.iso");
    std::fs::write(&cdrom, b"").expect("iso");
    let cdrom = cdrom.to_str().expect("utf-8");

    // Windows 11: UEFI, a TPM, the Windows clock, Hyper-V under KVM.
    let (code, stdout, stderr) = print(
        &world,
        &["--osinfo", "win11", "--cdrom", cdrom, "--disk", "size=20"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    for want in [
        "pflash0=",
        "-tpmdev",
        "tpm-crb",
        "base=localtime",
        "hv-relaxed=on",
    ] {
        assert!(stdout.contains(want), "{want} missing:\n{stdout}");
    }
    // ... unless the user says BIOS, as virt-install honours.
    let (code, stdout, stderr) = print(
        &world,
        &[
            "--osinfo",
            "win11",
            "--cdrom",
            cdrom,
            "--disk",
            "size=20",
            "--boot",
            "firmware=bios",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains("pflash"), "{stdout}");
    assert!(!stdout.contains("-tpmdev"), "{stdout}");

    // An old OS without virtio drivers gets emulated disks and NICs.
    let (code, stdout, stderr) = print(
        &world,
        &["--osinfo", "rhel4.9", "--cdrom", cdrom, "--disk", "size=2"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains("virtio-blk-pci"), "{stdout}");
    assert!(stdout.contains("ide-hd"), "{stdout}");
    assert!(stdout.contains("e1000"), "{stdout}");
}

#[test]
fn install_trees_are_detected_from_treeinfo_and_disk_info() {
    if !database_installed() {
        return;
    }
    let world = World::new();
    let cases = [
        (
            ".treeinfo",
            "[general]\nfamily = Fedora\nversion = 36\narch = x86_64\n",
            "fedora36",
        ),
        (
            ".disk/info",
            "Debian GNU/Linux 11.5.0 \"Bullseye\" - Official amd64",
            "debian11",
        ),
    ];
    for (index, (file, text, want)) in cases.into_iter().enumerate() {
        let tree = world.path().join(format!("tree{index}"));
        let path = tree.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(&path, text).expect("file");
        let output = world
            .install(&["--test-media-detection", tree.to_str().expect("utf-8")])
            .output()
            .expect("run");
        let (stdout, _) = expect_code(&output, 0);
        assert_eq!(stdout.trim(), want, "{text}");
    }
}
