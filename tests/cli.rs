//! The binary's contract, as scripts see it: what it prints, on which
//! stream, with which exit code (0 success, 1 failure, 2 usage error), and
//! that a run that only prints leaves nothing behind.

mod common;

use common::Sandbox;

/// One run of `qvirt-install` and what must come of it.
struct Case {
    /// What the case shows.
    what: &'static str,
    /// The command line, as shell words.
    line: &'static str,
    /// Variables on top of the sandbox's environment.
    env: &'static [(&'static str, &'static str)],
    /// The exit code.
    code: i32,
    /// Text stdout must hold.
    stdout: &'static [&'static str],
    /// Text stderr must hold.
    stderr: &'static [&'static str],
}

/// A guest that plans everywhere: an existing disk, no install phase.
const GUEST: &str =
    "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2 --network user";

const CASES: &[Case] = &[
    Case {
        what: "`--disk=?` lists the disk keys",
        line: "--disk=?",
        env: &[],
        code: 0,
        stdout: &[
            "--disk options:\n",
            "\n  boot.order\n",
            "\n  path\n",
            "\n  target.bus\n",
        ],
        stderr: &[],
    },
    Case {
        what: "`--disk help` is the same",
        line: "--disk help",
        env: &[],
        code: 0,
        stdout: &["--disk options:\n", "\n  driver.cache\n"],
        stderr: &[],
    },
    Case {
        what: "several options at once, before anything is checked",
        line: "--panic help --disk=? --name a/b",
        env: &[],
        code: 0,
        stdout: &["--panic options:\n", "\n  model\n", "--disk options:\n"],
        stderr: &[],
    },
    Case {
        what: "`--osinfo list` lists OS names",
        line: "--osinfo list",
        env: &[],
        code: 0,
        stdout: &["generic\n", "osinfo-query os"],
        stderr: &[],
    },
    Case {
        what: "an ambiguous prefix is a usage error in argparse's words",
        line: "--memo 1024",
        env: &[],
        code: 2,
        stdout: &[],
        stderr: &["ambiguous option: --memo could match --memory, --memorybacking"],
    },
    Case {
        what: "a positional argument is a usage error",
        line: "--name a foobar",
        env: &[],
        code: 2,
        stdout: &[],
        stderr: &["unrecognized arguments: foobar"],
    },
    Case {
        what: "an unknown option is a usage error",
        line: "--name a --frobnicate",
        env: &[],
        code: 2,
        stdout: &[],
        stderr: &["--frobnicate"],
    },
    Case {
        what: "an unknown sub-option names the option and the key",
        line: "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2,foo=1",
        env: &[],
        code: 1,
        stdout: &[],
        stderr: &["Unknown --disk options: ['foo']"],
    },
    Case {
        what: "an option qvirt lacks is refused by name",
        line: "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2 \
               --watchdog i6300esb",
        env: &[],
        code: 1,
        stdout: &[],
        stderr: &["--watchdog is not supported yet"],
    },
    Case {
        what: "--dry-run checks the install media",
        line: "--name a --memory 512 --osinfo debian11 --disk none --cdrom missing.iso --dry-run",
        env: &[],
        code: 1,
        stdout: &[],
        stderr: &["Validating install media '", "/missing.iso' failed"],
    },
    Case {
        what: "--dry-run of a good line says so",
        line: "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2 --network user \
               --dry-run",
        env: &[],
        code: 0,
        stdout: &["Dry run completed successfully"],
        stderr: &[],
    },
    Case {
        what: "without KVM, TCG with virt-install's warning",
        line: GUEST,
        env: &[("QVIRT_KVM", "none")],
        code: 0,
        stdout: &[" -accel tcg ", " -cpu max "],
        stderr: &["KVM acceleration not available, using 'qemu'"],
    },
    Case {
        what: "with KVM, KVM and the host CPU",
        line: GUEST,
        env: &[("QVIRT_KVM", "usable")],
        code: 0,
        stdout: &[" -accel kvm ", " -cpu host "],
        stderr: &[],
    },
    Case {
        what: "what is asked for stays: current vCPUs, video without a display, a balloon",
        line: "--name a --memory 512 --osinfo win10 --import --disk none --network none \
               --vcpus 4,vcpu.current=2 --graphics none --video virtio --memballoon virtio \
               --print-qemu",
        env: &[],
        code: 0,
        stdout: &[
            " -smp '2,maxcpus=4' ",
            " -device 'virtio-vga,id=video0' ",
            " -device 'virtio-balloon-pci,",
        ],
        stderr: &[],
    },
    Case {
        what: "size= on a disk that exists is said to go unused",
        line: "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2,size=50 \
               --print-qemu",
        env: &[],
        code: 0,
        stdout: &[],
        stderr: &[
            "--disk size= is not used: `",
            "/noble.qcow2` exists and is used as it is",
        ],
    },
    Case {
        what: "an nvram store for a BIOS guest is refused",
        line: "--name a --memory 512 --osinfo debian11 --import --disk none \
               --boot firmware=bios,nvram=vars.fd --print-qemu",
        env: &[],
        code: 1,
        stdout: &[],
        stderr: &["nvram=", "needs UEFI, and the guest boots with BIOS"],
    },
    Case {
        what: "a second display is refused by name, not dropped",
        line: "--name a --memory 512 --osinfo debian11 --import --disk none \
               --graphics vnc,password=x --graphics spice",
        env: &[],
        code: 1,
        stdout: &[],
        stderr: &["more than one --graphics is not supported yet"],
    },
    Case {
        what: "a current memory below the size with no balloon to take it back is said",
        line: "--name a --memory memory=512,currentMemory=256 --osinfo debian11 --import \
               --disk noble.qcow2 --memballoon none --print-qemu",
        env: &[],
        code: 0,
        stdout: &[" -m 'size=512M' "],
        stderr: &["the guest has no memory balloon, so it starts with all 512 MiB, not 256"],
    },
    Case {
        what: "--virt-type kvm without KVM is an error, not a fallback",
        line: "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2 \
               --virt-type kvm",
        env: &[("QVIRT_KVM", "none")],
        code: 1,
        stdout: &[],
        stderr: &["Host does not support domain type kvm"],
    },
    Case {
        what: "a sparse image that could outgrow the free space is refused",
        line: "--name a --memory 512 --osinfo debian11 --pxe --network user --disk size=2",
        env: &[("QVIRT_FREE_SPACE", "1073741824")],
        code: 1,
        stdout: &[],
        stderr: &[
            "The requested volume capacity will exceed the available pool space",
            "(2048 M requested capacity > 1024 M available)",
            "(Use --check disk_size=off or --check all=off to override)",
        ],
    },
    Case {
        what: "unless the check is off",
        line: "--name a --memory 512 --osinfo debian11 --pxe --network user --disk size=2 \
               --check disk_size=off",
        env: &[("QVIRT_FREE_SPACE", "1073741824")],
        code: 0,
        stdout: &["qemu-img create"],
        stderr: &[],
    },
    Case {
        what: "room for an allocated image is never optional",
        line: "--name a --memory 512 --osinfo debian11 --pxe --network user \
               --disk size=2,sparse=no --check all=off",
        env: &[("QVIRT_FREE_SPACE", "1073741824")],
        code: 1,
        stdout: &[],
        stderr: &["There is not enough free space on the storage pool to create the volume."],
    },
    Case {
        what: "--os-type is accepted with virt-install's warning",
        line: "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2 \
               --os-type linux",
        env: &[],
        code: 0,
        stdout: &["qemu-system-x86_64"],
        stderr: &["--os-type is deprecated and does nothing. Please stop using it."],
    },
    Case {
        what: "--quiet keeps warnings off stderr",
        line: "--name a --memory 512 --osinfo debian11 --import --disk noble.qcow2 --quiet",
        env: &[("QVIRT_KVM", "none")],
        code: 0,
        stdout: &[" -accel tcg "],
        stderr: &[],
    },
];

/// Runs a case's line in a sandbox with the fixtures; `--print-qemu` is
/// added to lines that neither print help nor run dry.
fn run(case: &Case, sandbox: &Sandbox) -> common::Run {
    let mut args = shell_words::split(case.line).expect("a shell line");
    let answers_itself = args
        .iter()
        .any(|a| a.contains('?') || a == "help" || a == "list" || a == "--dry-run");
    if !answers_itself {
        args.push("--print-qemu".into());
    }
    let env: Vec<(String, String)> = case
        .env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    sandbox.run(&args, &env)
}

#[test]
fn output_and_exit_codes() {
    let mut failures = Vec::new();
    for case in CASES {
        let sandbox = Sandbox::new();
        sandbox.make_fixtures();
        let run = run(case, &sandbox);
        let mut wrong = Vec::new();
        if run.code != Some(case.code) {
            wrong.push(format!("exit {:?}, want {}", run.code, case.code));
        }
        if run.panicked() {
            wrong.push("it panicked".into());
        }
        for want in case.stdout {
            if !run.stdout.contains(want) {
                wrong.push(format!("stdout lacks {want:?}"));
            }
        }
        for want in case.stderr {
            if !run.stderr.contains(want) {
                wrong.push(format!("stderr lacks {want:?}"));
            }
        }
        // Data goes to stdout only on success; an error says `error:`.
        if case.code != 0 && !run.stderr.starts_with("error: ") {
            wrong.push("stderr does not start with `error: `".into());
        }
        if case.stderr.is_empty() && !run.stderr.is_empty() {
            wrong.push("stderr should be empty".into());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} ({}): {}\nstdout:\n{}\nstderr:\n{}",
                case.what,
                case.line,
                wrong.join("; "),
                run.stdout,
                run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `--print-qemu` plans the disk images and prints their `qemu-img`
/// commands, but creates nothing: not the images, not the guest's folders.
#[test]
fn print_qemu_creates_nothing() {
    let sandbox = Sandbox::new();
    sandbox.make_fixtures();
    let line = "--name a --memory 512 --osinfo debian11 --cdrom debian.iso \
                --disk size=1 --disk path=beside.qcow2,size=1";
    let mut args = shell_words::split(line).expect("a shell line");
    args.push("--print-qemu".into());
    let before = list(sandbox.cwd());
    let run = sandbox.run(&args, &[]);

    assert_eq!(run.code, Some(0), "{}", run.both());
    let images = run
        .stdout
        .lines()
        .filter(|l| l.contains("qemu-img create"))
        .count();
    assert_eq!(images, 2, "two images planned:\n{}", run.stdout);
    assert!(
        sandbox.root_entries().is_empty(),
        "QVIRT_ROOT holds {:?}",
        sandbox.root_entries()
    );
    assert_eq!(list(sandbox.cwd()), before, "the working folder changed");
}

/// The same for `--dry-run`, which also checks the files it would read.
#[test]
fn dry_run_creates_nothing() {
    let sandbox = Sandbox::new();
    sandbox.make_fixtures();
    let before = list(sandbox.cwd());
    let run = sandbox.run_str(&[
        "--name",
        "a",
        "--memory",
        "512",
        "--osinfo",
        "debian11",
        "--cdrom",
        "debian.iso",
        "--disk",
        "size=1",
        "--disk",
        "path=beside.qcow2,size=1",
        "--dry-run",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.both());
    assert!(
        sandbox.root_entries().is_empty(),
        "{:?}",
        sandbox.root_entries()
    );
    assert_eq!(list(sandbox.cwd()), before, "the working folder changed");
}

fn list(folder: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = std::fs::read_dir(folder)
        .expect("readable")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    names
}

/// A name taken by a saved definition is refused in virt-install's words,
/// by `--dry-run` and `--print-qemu` alike.
#[test]
fn names_in_use_are_refused() {
    for mode in ["--dry-run", "--print-qemu"] {
        let sandbox = Sandbox::new();
        sandbox.make_fixtures();
        sandbox.define_guest("taken");
        let run = sandbox.run_str(&[
            "--name",
            "taken",
            "--memory",
            "512",
            "--osinfo",
            "debian11",
            "--import",
            "--disk",
            "noble.qcow2",
            mode,
        ]);
        assert_eq!(run.code, Some(1), "{mode}: {}", run.both());
        assert!(
            run.stderr.contains("Guest name 'taken' is already in use."),
            "{mode}: {}",
            run.stderr
        );
    }
}

/// Without `--name`, the OS's name is taken, or the next free one.
#[test]
fn default_names_skip_taken_ones() {
    let sandbox = Sandbox::new();
    sandbox.make_fixtures();
    sandbox.define_guest("debian11");
    let run = sandbox.run_str(&[
        "--memory",
        "512",
        "--osinfo",
        "debian11",
        "--import",
        "--disk",
        "noble.qcow2",
        "--print-qemu",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.both());
    assert!(
        run.stderr.contains("Using default --name debian11-2"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("guest=debian11-2,"), "{}", run.stdout);
}
