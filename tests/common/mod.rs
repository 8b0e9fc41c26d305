//! Helpers shared by the tests that run the real `qvirt-install`.
//!
//! Every run gets a fresh [`Sandbox`]: `QVIRT_ROOT` is one temporary folder,
//! the working folder another, and the environment is fixed so that the
//! machine the tests run on does not show in what they compare.

// Each test crate uses a different part of this module.
#![expect(dead_code, reason = "shared by several test crates")]

pub mod golden;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Writes a line to the test process's real stderr: unlike `eprintln!`,
/// which the test harness captures, this shows in every `cargo test` run,
/// so counts and skip reasons reach the log.
pub fn report(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The binary under test.
pub fn qvirt_install() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qvirt-install"))
}

/// True when the tests may write the expected files instead of comparing.
pub fn blessing() -> bool {
    std::env::var_os("QVIRT_BLESS").is_some_and(|v| !v.is_empty())
}

/// A program on `PATH`, resolved as the binary resolves it.
pub fn program(name: &str) -> PathBuf {
    which::which(name).unwrap_or_else(|_| PathBuf::from(name))
}

/// The environment every run starts from. The probes that differ between
/// machines (KVM, bridges, OVMF, passt, free space) are stood in for, the
/// connection is fixed whoever runs the tests, and MACs and UUIDs are
/// repeatable.
fn base_env(sandbox: &Sandbox) -> BTreeMap<String, String> {
    let firmware = format!(
        "{}:{}",
        sandbox.cwd().join(FIRMWARE_CODE).display(),
        sandbox.cwd().join(FIRMWARE_VARS).display()
    );
    [
        ("QVIRT_ROOT", sandbox.root().display().to_string()),
        ("QVIRT_PREDICTABLE", "1".into()),
        ("QVIRT_KVM", "usable".into()),
        ("QVIRT_NET", "none".into()),
        ("QVIRT_PASST", "none".into()),
        ("QVIRT_FIRMWARE", firmware),
        // 1 TiB, whatever the temporary folder's file system has free.
        ("QVIRT_FREE_SPACE", (1u64 << 40).to_string()),
        ("LIBVIRT_DEFAULT_URI", "qemu:///system".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Variables of the test's own environment that would change what the
/// binary does, and so are never passed on.
const CLEARED: &[&str] = &[
    "QVIRT_QEMU",
    "QVIRT_QEMU_IMG",
    "VIRTINSTALL_OSINFO_DISABLE_REQUIRE",
    "XDG_RUNTIME_DIR",
    "XDG_DATA_HOME",
];

/// The dummy firmware pair each sandbox holds, which `QVIRT_FIRMWARE`
/// names so that UEFI guests plan the same on every machine.
pub const FIRMWARE_CODE: &str = "OVMF_CODE_4M.fd";
/// See [`FIRMWARE_CODE`].
pub const FIRMWARE_VARS: &str = "OVMF_VARS_4M.fd";

/// A `QVIRT_ROOT` and a working folder, both temporary.
pub struct Sandbox {
    root: tempfile::TempDir,
    cwd: tempfile::TempDir,
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from_output(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Both streams, for messages.
    pub fn both(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Whether Rust's panic handler spoke: a panic is never an answer.
    pub fn panicked(&self) -> bool {
        self.stderr.contains("panicked at") || self.code == Some(101)
    }
}

impl Sandbox {
    /// Two fresh temporary folders.
    pub fn new() -> Sandbox {
        Sandbox {
            root: tempfile::Builder::new()
                .prefix("qvirt-root")
                .tempdir()
                .expect("a temporary root"),
            cwd: tempfile::Builder::new()
                .prefix("qvirt-cwd")
                .tempdir()
                .expect("a temporary working folder"),
        }
    }

    /// `QVIRT_ROOT`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The folder the binary runs in.
    pub fn cwd(&self) -> &Path {
        self.cwd.path()
    }

    /// Runs `qvirt-install ARGS` with `env` on top of the base environment.
    pub fn run(&self, args: &[String], env: &[(String, String)]) -> Run {
        let mut command = Command::new(qvirt_install());
        command.args(args).current_dir(self.cwd());
        for name in CLEARED {
            command.env_remove(name);
        }
        command.envs(base_env(self));
        command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Run::from_output(command.output().expect("qvirt-install runs"))
    }

    /// Runs with string slices, for tables.
    pub fn run_str(&self, args: &[&str]) -> Run {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.run(&args, &[])
    }

    /// Replaces this sandbox's folders and the QEMU programs by the
    /// placeholders the golden files use.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text
            .replace(&self.root().display().to_string(), "$ROOT")
            .replace(&self.cwd().display().to_string(), "$CWD");
        for name in ["qemu-system-x86_64", "qemu-img"] {
            text = text.replace(&program(name).display().to_string(), name);
        }
        text
    }

    /// The opposite of [`Sandbox::scrub`] for the folders.
    pub fn expand(&self, text: &str) -> String {
        text.replace("$ROOT", &self.root().display().to_string())
            .replace("$CWD", &self.cwd().display().to_string())
    }

    /// Every file and folder below the root, for checks that nothing was
    /// made.
    pub fn root_entries(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.root().to_path_buf()];
        // The OS database's index cache is qvirt's own, not a run's result.
        let cache = self.root().join("cache");
        while let Some(folder) = stack.pop() {
            for entry in fs::read_dir(&folder).expect("readable").flatten() {
                let path = entry.path();
                if path == cache {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path.clone());
                }
                found.push(path);
            }
        }
        found
    }

    /// Makes a guest named `name` look defined, as `qvirt-install` leaves
    /// it: a saved definition in its state folder.
    pub fn define_guest(&self, name: &str) {
        let state = self.root().join("lib").join(name);
        fs::create_dir_all(&state).expect("state folder");
        fs::write(state.join("guest.json"), "{}\n").expect("definition");
    }

    /// Writes the files the golden command lines name, in the working
    /// folder: install media, existing images, a kernel and an initrd, and
    /// a firmware pair.
    pub fn make_fixtures(&self) {
        for (name, size) in [
            ("debian.iso", 1 << 20),
            ("Win11.iso", 1 << 20),
            ("virtio-win.iso", 1 << 20),
            ("CentOS-6.9-x86_64-minimal.iso", 1 << 20),
            ("in,stall.iso", 1 << 20),
            ("data.raw", 64 << 20),
            ("initrd.img", 4096),
            (FIRMWARE_CODE, 64 << 10),
            (FIRMWARE_VARS, 64 << 10),
            ("nvram.fd", 64 << 10),
        ] {
            sparse_file(&self.cwd().join(name), size);
        }
        for name in ["noble.qcow2", "base.qcow2", "my,disk.qcow2"] {
            qcow2(&self.cwd().join(name), "1G");
        }
        fs::write(self.cwd().join("vmlinuz"), tiny_bzimage()).expect("kernel");
        self.make_install_media();
    }

    /// Install media for `--location` and files for `--cloud-init` and
    /// `--initrd-inject`: a tree in Debian's installer layout, the same
    /// tree as an ISO, and an ISO of no layout virt-install knows.
    fn make_install_media(&self) {
        let cwd = self.cwd();
        for (name, text) in [
            ("user-data.yaml", "#cloud-config\nhostname: golden\n"),
            ("meta-data.yaml", "instance-id: golden\n"),
            ("ks.cfg", "# kickstart\n"),
            ("id.pub", "ssh-ed25519 AAAAC3Nza golden@example\n"),
        ] {
            fs::write(cwd.join(name), text).expect("fixture file");
        }
        let tree = cwd.join("debian-tree/install.amd");
        fs::create_dir_all(&tree).expect("tree folder");
        fs::write(tree.join("vmlinuz"), tiny_bzimage()).expect("tree kernel");
        fs::write(tree.join("initrd.gz"), [0u8; 512]).expect("tree initrd");
        make_iso(&cwd.join("debian-netinst.iso"), &cwd.join("debian-tree"));
        let other = cwd.join("other-tree/boot");
        fs::create_dir_all(&other).expect("tree folder");
        fs::write(other.join("kernel"), tiny_bzimage()).expect("kernel");
        fs::write(other.join("initramfs"), [0u8; 512]).expect("initrd");
        make_iso(&cwd.join("custom.iso"), &cwd.join("other-tree"));
    }
}

/// An ISO 9660 image of `tree`, with Rock Ridge and Joliet names, made by
/// `xorriso` as distributions make theirs.
pub fn make_iso(iso: &Path, tree: &Path) {
    let status = Command::new(program("xorriso"))
        .args([
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-J",
            "-V",
            "QVIRT-FIXTURE",
            "-o",
        ])
        .arg(iso)
        .arg(tree)
        .status()
        .expect("xorriso runs (the Debian package `xorriso`)");
    assert!(status.success(), "xorriso made {}", iso.display());
}

/// A file of `size` zero bytes that takes no room.
pub fn sparse_file(path: &Path, size: u64) {
    let file = fs::File::create(path).expect("fixture file");
    file.set_len(size).expect("fixture size");
}

/// A qcow2 image made by `qemu-img`, as a user's existing disk would be.
pub fn qcow2(path: &Path, size: &str) {
    let status = Command::new(program("qemu-img"))
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg(size)
        .status()
        .expect("qemu-img runs");
    assert!(status.success(), "qemu-img create {}", path.display());
}

/// The smallest file QEMU loads as a Linux kernel with an initrd: a
/// bzImage header (boot protocol 2.15, loaded high) and nothing to run.
/// QEMU reads `-kernel` while it builds the machine, before `-S` stops
/// it, and refuses an initrd next to a file without this header.
pub fn tiny_bzimage() -> Vec<u8> {
    let mut image = vec![0u8; 64 << 10];
    // One setup sector after the boot sector, and the boot signature.
    image[0x1f1] = 1;
    image[0x1fe..0x200].copy_from_slice(&[0x55, 0xaa]);
    image[0x202..0x206].copy_from_slice(b"HdrS");
    image[0x206..0x208].copy_from_slice(&0x020f_u16.to_le_bytes());
    // LOADED_HIGH, and an initrd may go anywhere below 2 GiB.
    image[0x211] = 0x01;
    image[0x22c..0x230].copy_from_slice(&0x7fff_ffff_u32.to_le_bytes());
    image
}

/// A line diff of `expected` and `actual`, or `None` when they are equal:
/// changed lines marked `-` (expected, with its line number) and `+`
/// (actual), one unchanged line of context before each change.
/// Lines are matched by their longest common subsequence, so one changed
/// option shows as one pair of lines.
pub fn diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    let mut shown_up_to = 0;
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
            continue;
        }
        if i > shown_up_to {
            out.push_str(&format!("{:>5}   {}\n", i, old[i - 1]));
        }
        if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            out.push_str(&format!("{:>5} - {}\n", i + 1, old[i]));
            i += 1;
        } else {
            out.push_str(&format!("      + {}\n", new[j]));
            j += 1;
        }
        shown_up_to = i + 1;
    }
    if out.is_empty() {
        out.push_str("(the texts differ only in their line endings)\n");
    }
    Some(out)
}
