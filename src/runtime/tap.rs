//! Tap devices for `--network bridge=`, made by qvirt and handed to QEMU
//! as open file descriptors: QEMU's sandbox forbids it to spawn helpers.
//!
//! As root the supervisor opens `/dev/net/tun` itself (TUNSETIFF) and puts
//! the tap on its bridge with `ip`. Otherwise it runs `qemu-bridge-helper`,
//! which checks `/etc/qemu/bridge.conf`, makes the tap, joins it to the
//! bridge and sends it back over a socket pair. Either way the tap is not
//! persistent: it goes when QEMU, its last holder, exits.
//!
//! `type=direct` gets a macvtap device on the host interface, made with
//! `ip` and opened through a device node qvirt makes itself (containers
//! often have no udev). A macvtap link outlives its users, so [`Taps`]
//! deletes it when dropped.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketFlags, SocketType,
};

/// Where Debian's `qemu-system-common` puts the helper.
const BRIDGE_HELPER: &str = "/usr/lib/qemu/qemu-bridge-helper";

/// The helper's access list.
pub const BRIDGE_CONF: &str = "/etc/qemu/bridge.conf";

/// Set to `helper` to use `qemu-bridge-helper` even as root, for tests.
pub const TAP_ENV: &str = "QVIRT_TAP";

/// `_IOW('T', 202, int)`: the kernel reads a `struct ifreq` all the same.
const TUNSETIFF: rustix::ioctl::Opcode = 0x4004_54ca;
const IFF_TAP: u16 = 0x0002;
const IFF_NO_PI: u16 = 0x1000;
const IFF_VNET_HDR: u16 = 0x4000;

/// Why a tap device could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// `/dev/net/tun` did not open or refused the name.
    #[error("cannot create the tap device `{name}`")]
    Create {
        /// The tap's name.
        name: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `ip` could not put the tap on the bridge.
    #[error("cannot attach `{tap}` to the bridge `{bridge}`: {reason}")]
    Attach {
        /// The tap.
        tap: String,
        /// The bridge.
        bridge: String,
        /// What `ip` said.
        reason: String,
    },
    /// The macvtap device could not be made or opened.
    #[error("cannot create the macvtap device `{name}` on `{source_if}`: {reason}")]
    Macvtap {
        /// The macvtap's name.
        name: String,
        /// The host interface.
        source_if: String,
        /// What went wrong.
        reason: String,
    },
    /// The helper could not be run.
    #[error("cannot run `{}`", .program.display())]
    Helper {
        /// The helper.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The helper's access list does not allow the bridge.
    #[error("the bridge `{bridge}` is not allowed for unprivileged users in `{BRIDGE_CONF}`")]
    NotAllowed {
        /// The bridge.
        bridge: String,
        /// What the helper said.
        said: String,
    },
    /// The helper failed otherwise.
    #[error("`qemu-bridge-helper` could not attach a tap to `{bridge}`: {said}")]
    HelperFailed {
        /// The bridge.
        bridge: String,
        /// What it said.
        said: String,
    },
}

impl TapError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            TapError::NotAllowed { bridge, .. } => Some(format!(
                "add `allow {bridge}` to `{BRIDGE_CONF}`, and make the helper setuid root"
            )),
            TapError::Helper { .. } => {
                Some("install `qemu-system-common`, or run qvirt-install as root".into())
            }
            _ => None,
        }
    }
}

/// The open taps of one QEMU start, each with the fd number QEMU expects
/// it at; the macvtap links among them are deleted on drop.
#[derive(Default)]
pub struct Taps {
    /// The open taps and their numbers in QEMU.
    pub fds: Vec<(OwnedFd, i32)>,
    macvtaps: Vec<String>,
}

impl Taps {
    /// Adds a tap on `bridge` at `fd`.
    pub fn add_bridged(&mut self, name: &str, bridge: &str, fd: i32) -> Result<(), TapError> {
        self.fds.push((open_on_bridge(name, bridge)?, fd));
        Ok(())
    }

    /// Adds a macvtap on `source` at `fd`, with the guest's MAC.
    pub fn add_macvtap(
        &mut self,
        name: &str,
        source: &str,
        mode: &str,
        mac: &str,
        fd: i32,
    ) -> Result<(), TapError> {
        let error = |reason: String| TapError::Macvtap {
            name: name.to_string(),
            source_if: source.to_string(),
            reason,
        };
        ip(&[
            "link", "add", "link", source, "name", name, "type", "macvtap", "mode", mode,
        ])
        .map_err(error)?;
        self.macvtaps.push(name.to_string());
        ip(&["link", "set", "dev", name, "address", mac, "up"]).map_err(error)?;
        let fd_ = open_macvtap(name).map_err(|e| error(e.to_string()))?;
        self.fds.push((fd_, fd));
        Ok(())
    }
}

impl Drop for Taps {
    fn drop(&mut self) {
        for name in &self.macvtaps {
            let _ = ip(&["link", "del", "dev", name]);
        }
    }
}

/// Opens `/dev/tapN` of a macvtap, or, where udev made none, a node of
/// our own from the numbers in sysfs, removed once open.
fn open_macvtap(name: &str) -> std::io::Result<OwnedFd> {
    let flags = rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC;
    let ifindex = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))?;
    let udev = PathBuf::from(format!("/dev/tap{}", ifindex.trim()));
    if udev.exists() {
        return Ok(rustix::fs::open(&udev, flags, rustix::fs::Mode::empty())?);
    }
    let dev = std::fs::read_to_string(format!(
        "/sys/class/net/{name}/macvtap/tap{}/dev",
        ifindex.trim()
    ))?;
    let (major, minor) = dev
        .trim()
        .split_once(':')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| std::io::Error::other(format!("odd device number `{}`", dev.trim())))?;
    let node = std::env::temp_dir().join(format!("qvirt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&node);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &node,
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        rustix::fs::makedev(major, minor),
    )?;
    let fd = rustix::fs::open(&node, flags, rustix::fs::Mode::empty());
    let _ = std::fs::remove_file(&node);
    Ok(fd?)
}

/// Runs `ip ARGS`; its complaint on failure.
fn ip(args: &[&str]) -> Result<(), String> {
    match std::process::Command::new("ip").args(args).output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(String::from_utf8_lossy(&output.stderr).trim().to_string()),
        Err(error) => Err(format!("cannot run `ip`: {error}")),
    }
}

/// A tap device on `bridge`, open: as root named `name`, otherwise from
/// `qemu-bridge-helper` with a name it picks.
fn open_on_bridge(name: &str, bridge: &str) -> Result<OwnedFd, TapError> {
    let helper = std::env::var(TAP_ENV).is_ok_and(|v| v == "helper");
    if rustix::process::geteuid().is_root() && !helper {
        let fd = create(name)?;
        attach(name, bridge)?;
        return Ok(fd);
    }
    from_helper(Path::new(BRIDGE_HELPER), bridge)
}

/// Opens `/dev/net/tun` and makes it the tap `name`, with virtio-net
/// headers (QEMU sees them and uses them).
fn create(name: &str) -> Result<OwnedFd, TapError> {
    let error = |source: std::io::Error| TapError::Create {
        name: name.to_string(),
        source,
    };
    let fd = rustix::fs::open(
        "/dev/net/tun",
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| error(e.into()))?;

    // struct ifreq: 16 bytes of name, then the flags, padded to 40.
    let mut ifreq = [0u8; 40];
    let bytes = name.as_bytes();
    if bytes.len() > 15 {
        return Err(error(std::io::Error::from(
            std::io::ErrorKind::InvalidInput,
        )));
    }
    ifreq[..bytes.len()].copy_from_slice(bytes);
    let flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    ifreq[16..18].copy_from_slice(&flags.to_ne_bytes());
    set_iff(&fd, ifreq).map_err(|e| error(e.into()))?;
    Ok(fd)
}

#[expect(unsafe_code, reason = "TUNSETIFF has no safe wrapper in rustix")]
fn set_iff(fd: &OwnedFd, ifreq: [u8; 40]) -> rustix::io::Result<()> {
    // SAFETY: TUNSETIFF reads a `struct ifreq`, 40 bytes on Linux, which is
    // what the setter points the kernel at; it writes nothing back.
    unsafe {
        let setter = rustix::ioctl::Setter::<TUNSETIFF, [u8; 40]>::new(ifreq);
        rustix::ioctl::ioctl(fd, setter)
    }
}

/// Puts the tap on the bridge and brings it up.
fn attach(tap: &str, bridge: &str) -> Result<(), TapError> {
    ip(&["link", "set", "dev", tap, "master", bridge, "up"]).map_err(|reason| TapError::Attach {
        tap: tap.to_string(),
        bridge: bridge.to_string(),
        reason,
    })
}

/// Runs `qemu-bridge-helper --use-vnet --br=BRIDGE --fd=N` as libvirt
/// does, and receives the tap it sends over the socket pair.
fn from_helper(program: &Path, bridge: &str) -> Result<OwnedFd, TapError> {
    let helper_error = |source: std::io::Error| TapError::Helper {
        program: program.to_path_buf(),
        source,
    };
    let (ours, theirs) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| helper_error(e.into()))?;
    // The helper's end must survive exec; only that child gets it, as the
    // supervisor starts nothing else meanwhile.
    rustix::io::fcntl_setfd(&theirs, rustix::io::FdFlags::empty())
        .map_err(|e| helper_error(e.into()))?;
    let output = std::process::Command::new(program)
        .arg("--use-vnet")
        .arg(format!("--br={bridge}"))
        .arg(format!("--fd={}", theirs.as_raw_fd()))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(helper_error)?;
    drop(theirs);

    let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if !output.status.success() {
        let denied = said.contains("acl") || said.contains(BRIDGE_CONF);
        return Err(if denied {
            TapError::NotAllowed {
                bridge: bridge.to_string(),
                said,
            }
        } else {
            TapError::HelperFailed {
                bridge: bridge.to_string(),
                said,
            }
        });
    }
    receive_fd(&ours).ok_or_else(|| TapError::HelperFailed {
        bridge: bridge.to_string(),
        said: "it sent no tap device".into(),
    })
}

/// One file descriptor sent with SCM_RIGHTS.
fn receive_fd(socket: &OwnedFd) -> Option<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(&mut byte)];
    rustix::net::recvmsg(socket, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC).ok()?;
    control.drain().find_map(|message| match message {
        RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_helper_says_what_to_install() {
        let error = from_helper(Path::new("/nonexistent/qemu-bridge-helper"), "br0")
            .expect_err("no helper");
        assert!(matches!(error, TapError::Helper { .. }), "{error}");
        assert!(
            error
                .hint()
                .is_some_and(|h| h.contains("qemu-system-common"))
        );
    }
}
