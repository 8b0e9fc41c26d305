//! Golden QEMU command lines: each file in `tests/golden/` holds a
//! virt-install command line and the `qemu-img` and `qemu-system-x86_64`
//! commands `qvirt-install --print-qemu` prints for it (see
//! `common/golden.rs` for the format).
//!
//! `QVIRT_BLESS=1 cargo test --test golden` rewrites every file from what
//! the binary prints now; otherwise a difference fails the test with a
//! diff of the lines. A new case is a file holding only its first line,
//! blessed once.

mod common;

use common::Sandbox;
use common::golden::{self, Golden};

/// The issue asks for at least this many golden command lines.
const AT_LEAST: usize = 45;

/// Runs one golden line in a fresh sandbox and returns the file's text
/// as it should be, or why the run itself failed.
fn render(golden: &Golden) -> Result<String, String> {
    let sandbox = Sandbox::new();
    sandbox.make_fixtures();
    let run = sandbox.run(&golden.argv(&sandbox), &golden.env(&sandbox));
    if run.code != Some(0) {
        return Err(format!("exit {:?}\n{}", run.code, run.both()));
    }
    // `--print-qemu` and `--print-xml --dry-run` create nothing at all.
    let made = sandbox.root_entries();
    if !made.is_empty() {
        return Err(format!("it created {made:?}"));
    }
    Ok(golden.render(&run.stdout, &run.stderr, |text| sandbox.scrub(text)))
}

#[test]
fn print_qemu_matches_the_golden_files() {
    let goldens = golden::load_all();
    assert!(
        goldens.len() >= AT_LEAST,
        "only {} golden files in {}",
        goldens.len(),
        golden::folder().display()
    );

    // Two at a time: the machine has two cores and each run is a process.
    let results: Vec<(String, Result<String, String>)> = std::thread::scope(|scope| {
        let chunks: Vec<&[Golden]> = goldens.chunks(goldens.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|g| (g.name.clone(), render(g)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker"))
            .collect()
    });

    let mut failures = Vec::new();
    for (golden, (_, result)) in goldens.iter().zip(results) {
        let actual = match result {
            Ok(actual) => actual,
            Err(why) => {
                failures.push(format!("{}: the run failed: {why}", golden.name));
                continue;
            }
        };
        let expected = std::fs::read_to_string(&golden.path).expect("readable");
        if common::blessing() {
            if expected != actual {
                std::fs::write(&golden.path, &actual).expect("writable golden file");
                eprintln!("blessed {}", golden.path.display());
            }
            continue;
        }
        if let Some(diff) = common::diff(&expected, &actual) {
            failures.push(format!(
                "{}: --print-qemu differs from {} (- expected, + actual):\n{diff}",
                golden.name,
                golden.path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden files fail (QVIRT_BLESS=1 rewrites them):\n\n{}",
        failures.len(),
        goldens.len(),
        failures.join("\n")
    );
}

/// The one-option-per-line layout gives back the printed line exactly.
#[test]
fn layout_round_trips() {
    let cases = [
        ("A=1 qemu -name 'guest=a,b' -S -device x", 4),
        ("qemu-img create -f qcow2 /a.qcow2 1024", 2),
        ("qemu -append 'a    b' -kernel '/x y'", 3),
    ];
    for (line, lines) in cases {
        let text = golden::layout(line);
        assert_eq!(text.lines().count(), lines, "{text}");
        assert_eq!(text.replace(" \\\n    ", " "), line);
    }
}

/// Lines of Appendix C (and of the sub-option language) that qvirt does
/// not serve yet: each is refused with exit 1, names what is missing, and
/// leaves nothing behind.
#[test]
fn everyday_lines_qvirt_lacks_are_refused() {
    let cases = [
        (
            "--name c7 --ram 2048 --disk path=c7.qcow2,size=20 --os-variant centos7.0 \
             --graphics none --location http://mirror.example/centos/7/os/x86_64/ \
             --extra-args 'console=ttyS0,115200n8 serial'",
            "--location http://mirror.example/centos/7/os/x86_64/ (a URL) is not supported yet",
        ),
        (
            "--name arm --arch aarch64 --machine virt --memory 1024 --osinfo fedora39 --import \
             --disk noble.qcow2 --graphics none --dry-run --print-xml",
            "--arch aarch64 is not supported yet",
        ),
        (
            "--name ks --memory 4096 --osinfo rhel9.4 --disk size=20 \
             --location https://example.com/rhel.iso --initrd-inject ks.cfg \
             --extra-args 'inst.ks=file:/ks.cfg console=ttyS0' --graphics none --wait -1",
            "--location https://example.com/rhel.iso (a URL) is not supported yet",
        ),
        (
            "--name un --memory 2048 --osinfo debian11 --disk size=5 --cdrom debian.iso \
             --unattended profile=desktop",
            "--unattended is not supported yet",
        ),
        (
            "--name p --memory 512 --osinfo debian11 --pxe --disk none \
             --network type=vhostuser",
            "--network vhostuser is not supported yet",
        ),
        (
            "--name fl --memory 512 --osinfo debian11 --import --disk noble.qcow2 \
             --disk fd.img,device=floppy",
            "--disk device=floppy is not supported yet",
        ),
    ];
    for (line, want) in cases {
        let sandbox = Sandbox::new();
        sandbox.make_fixtures();
        let mut args = shell_words::split(line).expect("a shell line");
        args.push("--print-qemu".into());
        let run = sandbox.run(&args, &[]);
        assert_eq!(run.code, Some(1), "{line}\n{}", run.both());
        assert!(run.stderr.contains(want), "{line}: {}", run.stderr);
        assert!(sandbox.root_entries().is_empty(), "{line} left files");
    }
}
