//! What the tests that boot real guests share: the test guest's files, a
//! private QVIRT_ROOT per test, the two binaries, and waiting for markers
//! on a guest's serial console.
//!
//! Guests boot under TCG (`--virt-type qemu`): the build machines'
//! /dev/kvm cannot run a stock kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a test waits for a guest under TCG, generously: the tests run
/// side by side on two cores.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(240);

/// The test guest's folder, built by `tests/guest/build.sh` on first use
/// (cached there, so later runs reuse it).
pub fn guest() -> &'static Path {
    static GUEST: OnceLock<PathBuf> = OnceLock::new();
    GUEST.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::var_os("QVIRT_TEST_GUEST")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/test-guest"));
        let status = Command::new(root.join("tests/guest/build.sh"))
            .arg(&dir)
            .status()
            .expect("run tests/guest/build.sh");
        assert!(status.success(), "tests/guest/build.sh failed");
        dir
    })
}

/// `--boot` for a direct kernel boot of the test guest with these kernel
/// arguments (the serial console comes first).
pub fn kernel_boot(args: &str) -> String {
    let guest = guest();
    format!(
        "kernel={},initrd={},kernel_args=\"console=ttyS0 {args}\"",
        guest.join("vmlinuz").display(),
        guest.join("initrd.gz").display()
    )
}

/// The options the small test guests share: 256 MiB, TCG, serial only.
pub const SMALL: &[&str] = &[
    "--memory",
    "256",
    "--virt-type",
    "qemu",
    "--graphics",
    "none",
];

/// [`SMALL`] followed by `extra`.
pub fn small<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    SMALL.iter().copied().chain(extra.iter().copied()).collect()
}

/// One test's world: its own QVIRT_ROOT, and cleanup of every process
/// it started, whatever the test did.
pub struct World {
    /// The folder QVIRT_ROOT points at.
    pub root: tempfile::TempDir,
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

impl World {
    /// A fresh, empty world.
    pub fn new() -> World {
        World {
            root: tempfile::Builder::new()
                .prefix("qvirt-test")
                .tempdir()
                .expect("tempdir"),
        }
    }

    /// The QVIRT_ROOT folder.
    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// `qvirt-install` with this world's environment.
    pub fn install(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qvirt-install"));
        self.environment(&mut command);
        command.args(args);
        command
    }

    /// `qvirt` with this world's environment.
    pub fn qvirt(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qvirt"));
        self.environment(&mut command);
        command.args(args);
        command
    }

    /// Every guest's row of `qvirt list --all --json`.
    pub fn list_json(&self) -> Vec<serde_json::Value> {
        let output = self
            .qvirt(&["list", "--all", "--json"])
            .output()
            .expect("qvirt list");
        let (stdout, _) = expect_code(&output, 0);
        serde_json::from_str(&stdout).expect("list --json is JSON")
    }

    /// Guest `name`'s row of `qvirt list --all --json`, or null.
    pub fn list_row(&self, name: &str) -> serde_json::Value {
        self.list_json()
            .into_iter()
            .find(|row| row["name"] == name)
            .unwrap_or_default()
    }

    /// Guest `name`'s state as `qvirt list --json` gives it, or "".
    pub fn state_of(&self, name: &str) -> String {
        self.list_row(name)["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `qvirt-install` with this world's environment, inside the network
    /// namespace `netns`; the supervisor and QEMU stay in it.
    pub fn install_in(&self, netns: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        self.environment(&mut command);
        command
            .args(["netns", "exec", netns, env!("CARGO_BIN_EXE_qvirt-install")])
            .args(args);
        command
    }

    fn environment(&self, command: &mut Command) {
        command
            .env("QVIRT_ROOT", self.path())
            .env_remove("LIBVIRT_DEFAULT_URI")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .current_dir(self.path())
            .stdin(std::process::Stdio::null());
    }

    /// A guest's saved state folder.
    pub fn state_dir(&self, name: &str) -> PathBuf {
        self.path().join("lib").join(name)
    }

    /// A guest's runtime folder.
    pub fn runtime_dir(&self, name: &str) -> PathBuf {
        self.path().join("run").join(name)
    }

    /// Everything the guest printed on its serial console.
    pub fn console_log(&self, name: &str) -> PathBuf {
        self.state_dir(name).join("console.log")
    }

    /// The pid of the guest's QEMU, while it runs.
    pub fn qemu_pid(&self, name: &str) -> Option<i32> {
        let text = std::fs::read_to_string(self.runtime_dir(name).join("qemu.pid")).ok()?;
        text.trim().parse().ok()
    }

    /// Waits until the guest's console log holds `marker`.
    pub fn wait_for_marker(&self, name: &str, marker: &str) -> String {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            let log = std::fs::read(self.console_log(name)).unwrap_or_default();
            let log = String::from_utf8_lossy(&log).into_owned();
            if log.contains(marker) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "no `{marker}` on {name}'s console:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Starts a test guest that stays up after its markers, in the
    /// background, with a new 1 GiB disk, and waits for its DONE marker.
    pub fn start_staying(&self, name: &str, kernel_args: &str) {
        let boot = kernel_boot(&format!("qvirt.stay=1 {kernel_args}"));
        let args = small(&[
            "--name",
            name,
            "--osinfo",
            "generic",
            "--disk",
            "size=1",
            "--boot",
            &boot,
            "--noautoconsole",
        ]);
        let output = self.install(&args).output().expect("qvirt-install");
        expect_code(&output, 0);
        self.wait_for_marker(name, "QVIRT-GUEST DONE");
    }

    /// Waits until `check` is true, or fails with `what`.
    pub fn wait_until(&self, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Nothing a test started may outlive it: supervisors first, so they
        // start nothing new, then every QEMU, swtpm and passt whose command
        // line names this world's folder (also one started a moment ago,
        // whose pid no file holds yet).
        let guests = std::fs::read_dir(self.path().join("run"))
            .into_iter()
            .flatten()
            .flatten();
        for guest in guests {
            let status =
                std::fs::read_to_string(guest.path().join("status.json")).unwrap_or_default();
            let status: serde_json::Value = serde_json::from_str(&status).unwrap_or_default();
            if let Some(pid) = status.get("supervisor").and_then(|p| p.as_i64()) {
                kill(pid as i32);
            }
        }
        let root = self.path().to_string_lossy().into_owned();
        for _ in 0..3 {
            for pid in processes_naming(&root) {
                kill(pid);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The processes whose command line contains `text`, this one excluded.
fn processes_naming(text: &str) -> Vec<i32> {
    let own = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != own)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(text))
                .unwrap_or(false)
        })
        .collect()
}

/// SIGKILL, for cleanup.
pub fn kill(pid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// Whether a process with this pid exists.
pub fn alive(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    // A zombie still answers a signal test; read its state instead.
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero())) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Output as text, for assertions and messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Fails with both streams when the command did not exit with `code`.
pub fn expect_code(output: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = text(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// The files below `dir`, relative, sorted; the OS database's index cache
/// (`cache/`) is qvirt's own and not counted.
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let cache = dir.join("cache");
    while let Some(next) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path == cache {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.display().to_string());
            }
        }
    }
    found.sort();
    found
}
