//! The serial console: this terminal joined to the guest's console socket.
//!
//! On a terminal the input goes raw to the guest, and `Ctrl+]` leaves, as
//! with `virsh console`; the terminal is restored however the session
//! ends. Without a terminal only the guest's output is relayed. One client
//! at a time: a second one is told the console is busy instead of hanging
//! in QEMU's listen queue.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal as _, Read as _, Seek as _, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::{FlockOperation, flock};
use rustix::termios::{OptionalActions, Termios, tcgetattr, tcsetattr};

use crate::paths::GuestDirs;

/// The byte `Ctrl+]` sends.
const ESCAPE: u8 = 0x1d;

/// How much of the console log `qvirt console` shows first.
const REPLAY_BYTES: u64 = 4096;

/// Why the console could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Another client is attached.
    #[error("operation failed: Active console session exists for domain '{name}'")]
    Busy {
        /// The guest.
        name: String,
    },
    /// The guest has no console socket (it is not running).
    #[error("cannot connect to the console of guest `{name}` at `{}`", .path.display())]
    Connect {
        /// The guest.
        name: String,
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing failed.
    #[error("the console connection failed")]
    Io(#[from] std::io::Error),
}

/// How a console session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detached {
    /// The user pressed `Ctrl+]`.
    User,
    /// The guest's QEMU closed the console (it stopped).
    Closed,
    /// A signal asked this process to stop.
    Interrupted,
    /// The deadline passed.
    TimedOut,
}

/// How to attach.
#[derive(Debug, Clone, Copy)]
pub struct AttachOptions<'a> {
    /// Say on stderr, as virsh does, that the console is joined and how
    /// to leave it, once it is.
    pub banner: bool,
    /// Print the end of the console log first.
    pub replay: bool,
    /// How long to wait for the socket to appear.
    pub wait: Duration,
    /// Set by a signal handler: leave the console.
    pub stop: Option<&'a AtomicBool>,
    /// Leave the console at this time (`qvirt-install --wait N`).
    pub deadline: Option<Instant>,
    /// Send stdin to the guest even when it is not a terminal, and leave
    /// at its end (`echo reboot | qvirt console NAME`). Otherwise input is
    /// read only from a terminal.
    pub pipe_input: bool,
}

/// Holds the console for one client.
struct ConsoleLock {
    _file: File,
}

fn lock(dirs: &GuestDirs, name: &str) -> Result<ConsoleLock, ConsoleError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dirs.console_lock())?;
    flock(&file, FlockOperation::NonBlockingLockExclusive).map_err(|_| ConsoleError::Busy {
        name: name.to_string(),
    })?;
    Ok(ConsoleLock { _file: file })
}

/// Joins this terminal to guest `name`'s serial console until the user
/// leaves or the guest's QEMU closes it.
pub fn attach(
    dirs: &GuestDirs,
    name: &str,
    options: AttachOptions<'_>,
) -> Result<Detached, ConsoleError> {
    let _lock = lock(dirs, name)?;
    let mut socket = connect(dirs, name, options.wait)?;
    if options.banner {
        eprintln!("Connected to domain '{name}'\nEscape character is ^] (Ctrl + ])");
    }
    let mut stdout = std::io::stdout();
    if options.replay {
        replay(dirs, &mut stdout);
    }
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    let _raw = if terminal {
        RawMode::enter(&stdin).ok()
    } else {
        None
    };
    let input = terminal || options.pipe_input;
    relay(&mut socket, input, options, &mut stdout)
}

fn connect(dirs: &GuestDirs, name: &str, wait: Duration) -> Result<UnixStream, ConsoleError> {
    let path = dirs.console_socket();
    let deadline = Instant::now() + wait;
    loop {
        match UnixStream::connect(&path) {
            Ok(socket) => return Ok(socket),
            Err(source) if Instant::now() >= deadline => {
                return Err(ConsoleError::Connect {
                    name: name.to_string(),
                    path,
                    source,
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn replay(dirs: &GuestDirs, out: &mut dyn Write) {
    let Ok(mut log) = File::open(dirs.console_log()) else {
        return;
    };
    let length = log.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = log.seek(SeekFrom::Start(length.saturating_sub(REPLAY_BYTES)));
    let mut text = Vec::new();
    let _ = log.read_to_end(&mut text);
    let _ = out.write_all(&text);
    let _ = out.flush();
}

/// Copies both ways until one side ends. Polling both file descriptors in
/// one loop means no reader thread is left behind on stdin.
fn relay(
    socket: &mut UnixStream,
    input: bool,
    options: AttachOptions<'_>,
    out: &mut dyn Write,
) -> Result<Detached, ConsoleError> {
    let stdin = std::io::stdin();
    let mut buffer = [0u8; 4096];
    loop {
        if options
            .stop
            .is_some_and(|stop| stop.load(Ordering::Relaxed))
        {
            return Ok(Detached::Interrupted);
        }
        if options.deadline.is_some_and(|at| Instant::now() >= at) {
            return Ok(Detached::TimedOut);
        }
        let mut fds = vec![PollFd::new(socket, PollFlags::IN)];
        if input {
            fds.push(PollFd::from_borrowed_fd(stdin.as_fd(), PollFlags::IN));
        }
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 200_000_000,
        };
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(errno) => return Err(std::io::Error::from(errno).into()),
        }
        let socket_ready = !fds[0].revents().is_empty();
        let stdin_ready = fds.get(1).is_some_and(|fd| !fd.revents().is_empty());
        drop(fds);

        if socket_ready {
            let count = socket.read(&mut buffer)?;
            if count == 0 {
                return Ok(Detached::Closed);
            }
            out.write_all(&buffer[..count])?;
            out.flush()?;
        }
        if stdin_ready {
            let count = rustix::io::read(&stdin, &mut buffer).map_err(std::io::Error::from)?;
            let input = &buffer[..count];
            if count == 0 {
                return Ok(Detached::User);
            }
            match input.iter().position(|b| *b == ESCAPE) {
                Some(at) => {
                    socket.write_all(&input[..at])?;
                    return Ok(Detached::User);
                }
                None => socket.write_all(input)?,
            }
        }
    }
}

/// The terminal in raw mode, restored when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter(stdin: &std::io::Stdin) -> rustix::io::Result<RawMode> {
        let saved = tcgetattr(stdin)?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(stdin, OptionalActions::Now, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn options(deadline: Option<Instant>) -> AttachOptions<'static> {
        AttachOptions {
            banner: false,
            replay: false,
            wait: Duration::ZERO,
            stop: None,
            deadline,
            pipe_input: false,
        }
    }

    fn dirs(root: &std::path::Path) -> GuestDirs {
        let dirs = GuestDirs {
            runtime: root.join("run"),
            state: root.join("lib"),
        };
        std::fs::create_dir_all(&dirs.runtime).expect("run");
        std::fs::create_dir_all(&dirs.state).expect("lib");
        dirs
    }

    #[test]
    fn relays_until_the_guest_closes() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(root.path());
        let listener = UnixListener::bind(dirs.console_socket()).expect("bind");
        let guest = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            stream.write_all(b"QVIRT-GUEST BOOT\r\n").expect("write");
        });
        let mut socket = connect(&dirs, "g", Duration::from_secs(2)).expect("connect");
        let mut out = Vec::new();
        let ended = relay(&mut socket, false, options(None), &mut out).expect("relay");
        guest.join().expect("guest");
        assert_eq!(ended, Detached::Closed);
        assert_eq!(out, b"QVIRT-GUEST BOOT\r\n");
    }

    #[test]
    fn relays_until_the_deadline() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(root.path());
        let listener = UnixListener::bind(dirs.console_socket()).expect("bind");
        let (sender, done) = std::sync::mpsc::channel::<()>();
        let guest = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            stream.write_all(b"QVIRT-GUEST DONE\r\n").expect("write");
            // The guest stays up: its console stays open.
            let _ = done.recv();
        });
        let mut socket = connect(&dirs, "g", Duration::from_secs(2)).expect("connect");
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(500);
        let ended = relay(&mut socket, false, options(Some(deadline)), &mut out).expect("relay");
        assert!(Instant::now() >= deadline);
        drop(sender);
        guest.join().expect("guest");
        assert_eq!(ended, Detached::TimedOut);
        assert_eq!(out, b"QVIRT-GUEST DONE\r\n");
    }

    #[test]
    fn a_second_client_is_told_it_is_busy() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(root.path());
        let _first = lock(&dirs, "g").expect("first");
        let error = lock(&dirs, "g").err().expect("busy");
        assert_eq!(
            error.to_string(),
            "operation failed: Active console session exists for domain 'g'"
        );
    }
}
