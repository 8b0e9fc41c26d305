//! The QMP client: one connection to a running QEMU's monitor socket.
//!
//! It owns the socket from the greeting to the close. A reader thread reads
//! every line QEMU sends, because QEMU sends events at any time, also while
//! no command is waiting: replies go to the command that waits for their
//! `id`, events go to a queue that [`Qmp::next_event`] drains. Messages are
//! kept as raw JSON until a caller asks for a type, so an event or a run
//! state from a QEMU newer than the `qapi` schema passes through instead of
//! failing. It also keeps the optional QMP log, with passwords masked.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::net::Shutdown;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use qapi::qmp::QmpCommand;
use serde_json::{Map, Value};

/// The pause between two connection attempts. QEMU listens with a backlog
/// of 1, so one attempt at a time, not a burst of half-open connections.
const CONNECT_RETRY: Duration = Duration::from_millis(25);

/// How often a wait for the greeting asks whether QEMU is still alive.
const LIVENESS_POLL: Duration = Duration::from_millis(50);

/// Commands that can take longer than a query: they wait for the guest,
/// for block I/O, or for a device to appear or go away.
const SLOW_COMMANDS: &[&str] = &[
    "cont",
    "stop",
    "system_reset",
    "quit",
    "device_add",
    "device_del",
    "netdev_add",
    "object-add",
];

/// Command families that are all slow, by prefix.
const SLOW_PREFIXES: &[&str] = &["blockdev-"];

/// The key whose value never reaches the log.
const SECRET_KEY: &str = "password";

/// How a connection behaves: timeouts and the log.
#[derive(Debug, Clone)]
pub struct QmpOptions {
    /// Appends every message in both directions to this file, if set.
    pub log: Option<PathBuf>,
    /// How long a command may wait for its reply, unless it is slow.
    pub timeout: Duration,
    /// How long a known slow command (`cont`, `blockdev-add`, …) may wait.
    pub slow_timeout: Duration,
    /// How long [`Qmp::connect`] keeps trying, greeting included.
    pub connect_timeout: Duration,
}

impl Default for QmpOptions {
    fn default() -> QmpOptions {
        QmpOptions {
            log: None,
            timeout: Duration::from_secs(5),
            slow_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

impl QmpOptions {
    /// The reply timeout for `command` when the caller chose none.
    pub fn timeout_for(&self, command: &str) -> Duration {
        let slow = SLOW_COMMANDS.contains(&command)
            || SLOW_PREFIXES
                .iter()
                .any(|prefix| command.starts_with(prefix));
        if slow {
            self.slow_timeout
        } else {
            self.timeout
        }
    }
}

/// One asynchronous event from QEMU, known to the schema or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's name, e.g. `SHUTDOWN`.
    pub name: String,
    /// Its `data` member; `Null` when QEMU sent none.
    pub data: Value,
    /// When QEMU emitted it: seconds and microseconds since the UNIX epoch.
    pub timestamp: (u64, u64),
}

impl Event {
    /// Reads an `{"event": …}` message; `None` when it is not one.
    fn from_message(message: &mut Map<String, Value>) -> Option<Event> {
        let name = message.get("event")?.as_str()?.to_owned();
        let stamp = message.get("timestamp");
        let part = |key: &str| stamp.and_then(|s| s.get(key)).and_then(Value::as_u64);
        let timestamp = (
            part("seconds").unwrap_or(0),
            part("microseconds").unwrap_or(0),
        );
        let data = message.remove("data").unwrap_or(Value::Null);
        Some(Event {
            name,
            data,
            timestamp,
        })
    }
}

/// The answer to `query-status`, with the run state kept as text so that a
/// state newer than the `qapi` schema does not fail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Status {
    /// The run state, e.g. `prelaunch`, `running`, `paused`, `shutdown`.
    pub status: String,
    /// Whether the guest's CPUs are running.
    pub running: bool,
}

/// What can go wrong talking to QEMU over QMP.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    /// The socket did not accept a connection before the deadline.
    #[error("could not connect to the QMP socket `{}`", .path.display())]
    Connect {
        /// The socket's path.
        path: PathBuf,
        /// The last attempt's error.
        #[source]
        source: io::Error,
    },
    /// QEMU exited while we waited for its socket or its greeting.
    #[error("QEMU exited before it answered on the QMP socket `{}`", .path.display())]
    QemuExited {
        /// The socket's path.
        path: PathBuf,
    },
    /// The socket could not be prepared for the reader thread.
    #[error("could not set up the QMP connection on `{}`", .path.display())]
    Setup {
        /// The socket's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The greeting or `qmp_capabilities` failed.
    #[error("the QMP handshake with QEMU on `{}` failed", .path.display())]
    Handshake {
        /// The socket's path.
        path: PathBuf,
        /// Why: no greeting in time, a closed socket, or a refused command.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The QMP log could not be opened.
    #[error("could not open the QMP log `{}`", .path.display())]
    Log {
        /// The log's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A typed command could not be turned into JSON.
    #[error("could not encode the arguments of `{command}`")]
    Arguments {
        /// The command's name.
        command: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Writing a command to the socket failed.
    #[error("could not send `{command}` to QEMU")]
    Send {
        /// The command's name.
        command: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// QEMU did not reply in time.
    #[error("QEMU did not answer `{command}` within {timeout:?}")]
    Timeout {
        /// The command's name.
        command: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// QEMU answered with an error.
    #[error("QEMU refused `{command}`: {desc}")]
    Command {
        /// The command's name.
        command: String,
        /// QEMU's error class, e.g. `GenericError`, `DeviceNotFound`.
        class: String,
        /// QEMU's description.
        desc: String,
    },
    /// A typed command's reply did not match its type.
    #[error("could not decode QEMU's answer to `{command}`")]
    Reply {
        /// The command's name.
        command: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The connection closed before the command was answered, or before
    /// it was sent.
    #[error("the QMP connection closed before `{command}` was answered")]
    Closed {
        /// The command's name.
        command: String,
    },
    /// None of the awaited events arrived in time.
    #[error("QEMU sent no {} event within {timeout:?}", backticked(.names))]
    EventTimeout {
        /// The events waited for.
        names: Vec<String>,
        /// How long we waited.
        timeout: Duration,
    },
    /// The connection closed and every queued event has been read.
    #[error("the QMP connection closed and no events are left")]
    EventsClosed,
}

/// `` `A`, `B` `` for error messages.
fn backticked(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(" or ")
}

/// A reply, handed from the reader thread to the waiting command.
enum Reply {
    Return(Value),
    Error { class: String, desc: String },
}

/// What the reader thread and the commands share.
#[derive(Default)]
struct Shared {
    /// The commands waiting for a reply, by `id`.
    pending: HashMap<u64, Sender<Reply>>,
    /// Set once the socket reached EOF: no reply will come any more.
    closed: bool,
}

/// Locks a mutex even if a thread panicked holding it: the data it guards
/// stays consistent at every unlock, so a panic cannot leave it half-done.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether every logged message is also printed on stderr (`--debug`).
static ECHO: AtomicBool = AtomicBool::new(false);

/// Prints every QMP message of this process on stderr too, as `--debug`
/// asks.
pub fn echo_to_stderr(on: bool) {
    ECHO.store(on, Ordering::Relaxed);
}

/// The QMP log: one line per message, appended.
struct Log {
    file: Mutex<File>,
}

impl Log {
    fn open(path: &Path) -> Result<Log, QmpError> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path);
        let file = file.map_err(|source| QmpError::Log {
            path: path.to_owned(),
            source,
        })?;
        Ok(Log {
            file: Mutex::new(file),
        })
    }

    /// Appends `<seconds>.<millis> <direction> <json>`. A failed write is
    /// ignored: the log is a diagnostic and must not fail the guest.
    fn write(&self, direction: &str, json: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let line = format!(
            "{}.{:03} {direction} {json}\n",
            now.as_secs(),
            now.subsec_millis()
        );
        let _ = lock(&self.file).write_all(line.as_bytes());
        if ECHO.load(Ordering::Relaxed) {
            eprint!("debug: qmp {line}");
        }
    }
}

/// Replaces the value of every `password` key, at any depth, by `"***"`.
fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if key == SECRET_KEY {
                    *inner = Value::from("***");
                } else {
                    mask_secrets(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

/// The reader thread's state: it owns the read side of the socket.
struct Reader {
    input: BufReader<UnixStream>,
    shared: Arc<Mutex<Shared>>,
    greeting: Option<Sender<Value>>,
    events: Sender<Event>,
    log: Option<Arc<Log>>,
}

impl Reader {
    fn spawn(self) -> io::Result<JoinHandle<()>> {
        thread::Builder::new()
            .name("qmp-reader".into())
            .spawn(|| self.run())
    }

    /// Reads lines until EOF or a read error, then wakes every waiter.
    fn run(mut self) {
        let mut line = Vec::new();
        loop {
            line.clear();
            match self.input.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => self.handle(&line),
            }
        }
        let mut shared = lock(&self.shared);
        shared.closed = true;
        // Dropping the senders tells each waiting command the socket closed;
        // dropping `self.events` after this tells the event queue.
        shared.pending.clear();
    }

    fn handle(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        if let Some(log) = &self.log {
            log.write("<-", text);
        }
        // A line that is not a JSON object cannot be routed; it is in the
        // log, and skipping it keeps the connection usable.
        let Ok(Value::Object(message)) = serde_json::from_str::<Value>(text) else {
            return;
        };
        self.route(message);
    }

    fn route(&mut self, mut message: Map<String, Value>) {
        if message.contains_key("QMP") {
            if let Some(greeting) = self.greeting.take() {
                let _ = greeting.send(Value::Object(message));
            }
        } else if let Some(event) = Event::from_message(&mut message) {
            // A send error means the client is being dropped: nobody to tell.
            let _ = self.events.send(event);
        } else {
            self.deliver(message);
        }
    }

    /// Hands a reply to the command waiting for its `id`. A reply nobody
    /// waits for (its command timed out) is dropped.
    fn deliver(&mut self, mut message: Map<String, Value>) {
        let Some(id) = message.get("id").and_then(Value::as_u64) else {
            return;
        };
        let Some(waiter) = lock(&self.shared).pending.remove(&id) else {
            return;
        };
        let reply = match message.remove("error") {
            Some(error) => Reply::Error {
                class: text_member(&error, "class", "GenericError"),
                desc: text_member(&error, "desc", ""),
            },
            None => Reply::Return(message.remove("return").unwrap_or(Value::Null)),
        };
        let _ = waiter.send(reply);
    }
}

/// A string member of a JSON object, or `default`.
fn text_member(value: &Value, key: &str, default: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_owned()
}

/// An open QMP connection, past the handshake. All methods take `&self`,
/// so one thread can wait for events while another sends commands.
/// Dropping it closes the socket and ends the reader thread.
pub struct Qmp {
    writer: Mutex<UnixStream>,
    shared: Arc<Mutex<Shared>>,
    events: Mutex<Receiver<Event>>,
    log: Option<Arc<Log>>,
    options: QmpOptions,
    next_id: AtomicU64,
    greeting: Value,
    reader: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Qmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qmp")
            .field("greeting", &self.greeting)
            .finish_non_exhaustive()
    }
}

impl Qmp {
    /// Connects to QEMU's QMP socket at `path`, retrying until
    /// `options.connect_timeout` while `alive` ("is QEMU still running?")
    /// says yes, then reads the greeting and sends `qmp_capabilities`.
    pub fn connect(
        path: &Path,
        options: QmpOptions,
        alive: &mut dyn FnMut() -> bool,
    ) -> Result<Qmp, QmpError> {
        let start = Instant::now();
        let stream = connect_until(path, start + options.connect_timeout, alive)?;
        // QEMU greets only from its main loop, which may start well after the
        // socket listens (memory preallocation): give it the rest of the time.
        let greeting_wait = options.connect_timeout.saturating_sub(start.elapsed());
        let greeting_wait = greeting_wait.max(options.timeout);
        Qmp::start(stream, path.to_owned(), options, greeting_wait, alive)
    }

    /// Takes over an already-connected socket, reads the greeting and sends
    /// `qmp_capabilities`.
    pub fn from_stream(stream: UnixStream, options: QmpOptions) -> Result<Qmp, QmpError> {
        let path = peer_path(&stream);
        let greeting_wait = options.timeout;
        Qmp::start(stream, path, options, greeting_wait, &mut || true)
    }

    fn start(
        stream: UnixStream,
        path: PathBuf,
        options: QmpOptions,
        greeting_wait: Duration,
        alive: &mut dyn FnMut() -> bool,
    ) -> Result<Qmp, QmpError> {
        let log = options
            .log
            .as_deref()
            .map(Log::open)
            .transpose()?
            .map(Arc::new);
        let input = reader_half(&stream).map_err(|source| QmpError::Setup {
            path: path.clone(),
            source,
        })?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (greeting_tx, greeting_rx) = mpsc::channel();
        let (events_tx, events_rx) = mpsc::channel();
        let reader = Reader {
            input: BufReader::new(input),
            shared: Arc::clone(&shared),
            greeting: Some(greeting_tx),
            events: events_tx,
            log: log.clone(),
        };
        let handle = reader.spawn().map_err(|source| QmpError::Setup {
            path: path.clone(),
            source,
        })?;
        // From here on, an early return drops `qmp`, which closes the socket
        // and joins the reader.
        let mut qmp = Qmp {
            writer: Mutex::new(stream),
            shared,
            events: Mutex::new(events_rx),
            log,
            options,
            next_id: AtomicU64::new(1),
            greeting: Value::Null,
            reader: Some(handle),
        };
        qmp.greeting = wait_for_greeting(&greeting_rx, &path, greeting_wait, alive)?;
        qmp.execute_raw("qmp_capabilities", None)
            .map_err(|error| QmpError::Handshake {
                path,
                source: Box::new(error),
            })?;
        Ok(qmp)
    }

    /// QEMU's greeting, `{"QMP": {"version": …, "capabilities": …}}`.
    pub fn greeting(&self) -> &Value {
        &self.greeting
    }

    /// Whether the socket has closed: no command will be answered any more.
    pub fn is_closed(&self) -> bool {
        lock(&self.shared).closed
    }

    /// Runs a typed `qapi` command with its default timeout.
    pub fn execute<C: QmpCommand>(&self, command: C) -> Result<C::Ok, QmpError> {
        self.execute_with_timeout(command, self.options.timeout_for(C::NAME))
    }

    /// Runs a typed `qapi` command, waiting at most `timeout` for the reply.
    pub fn execute_with_timeout<C: QmpCommand>(
        &self,
        command: C,
        timeout: Duration,
    ) -> Result<C::Ok, QmpError> {
        let arguments = serde_json::to_value(&command).map_err(|source| QmpError::Arguments {
            command: C::NAME.into(),
            source,
        })?;
        let value = self.execute_raw_with_timeout(C::NAME, non_empty(arguments), timeout)?;
        serde_json::from_value(value).map_err(|source| QmpError::Reply {
            command: C::NAME.into(),
            source,
        })
    }

    /// Runs any command by name with its default timeout; returns the raw
    /// `return` value.
    pub fn execute_raw(&self, name: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        self.execute_raw_with_timeout(name, arguments, self.options.timeout_for(name))
    }

    /// Runs any command by name, waiting at most `timeout` for the reply.
    pub fn execute_raw_with_timeout(
        &self,
        name: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, QmpError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let reply = self.register(name, id)?;
        let message = Outgoing {
            execute: name,
            arguments,
            id,
        };
        if let Err(source) = self.send(&message) {
            lock(&self.shared).pending.remove(&id);
            // A write after QEMU hung up fails with EPIPE: say what happened.
            if self.is_closed() {
                return Err(QmpError::Closed {
                    command: name.into(),
                });
            }
            return Err(QmpError::Send {
                command: name.into(),
                source,
            });
        }
        match reply.recv_timeout(timeout) {
            Ok(Reply::Return(value)) => Ok(value),
            Ok(Reply::Error { class, desc }) => Err(QmpError::Command {
                command: name.into(),
                class,
                desc,
            }),
            Err(RecvTimeoutError::Timeout) => {
                lock(&self.shared).pending.remove(&id);
                Err(QmpError::Timeout {
                    command: name.into(),
                    timeout,
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(QmpError::Closed {
                command: name.into(),
            }),
        }
    }

    /// Makes room for the reply to `id`, unless the socket already closed.
    fn register(&self, name: &str, id: u64) -> Result<Receiver<Reply>, QmpError> {
        let mut shared = lock(&self.shared);
        if shared.closed {
            return Err(QmpError::Closed {
                command: name.into(),
            });
        }
        let (tx, rx) = mpsc::channel();
        shared.pending.insert(id, tx);
        Ok(rx)
    }

    /// Writes one message as one line. It is logged first, so that the log
    /// never shows a reply before its command.
    fn send(&self, message: &Outgoing<'_>) -> io::Result<()> {
        if let Some(log) = &self.log {
            log.write("->", &message.to_masked_json());
        }
        let mut line = message.to_json();
        line.push('\n');
        lock(&self.writer).write_all(line.as_bytes())
    }

    /// `query-status`, with the run state as text.
    pub fn query_status(&self) -> Result<Status, QmpError> {
        let value = self.execute_raw("query-status", None)?;
        serde_json::from_value(value).map_err(|source| QmpError::Reply {
            command: "query-status".into(),
            source,
        })
    }

    /// `quit`. QEMU may close the socket before its reply gets out, so a
    /// closed connection counts as success here.
    pub fn quit(&self) -> Result<(), QmpError> {
        match self.execute_raw("quit", None) {
            Ok(_) | Err(QmpError::Closed { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The next event, waiting at most `timeout`: `Ok(None)` when none came,
    /// [`QmpError::EventsClosed`] once the socket closed and the queue is
    /// empty. Events queue up until read, unbounded.
    pub fn next_event(&self, timeout: Duration) -> Result<Option<Event>, QmpError> {
        match lock(&self.events).recv_timeout(timeout) {
            Ok(event) => Ok(Some(event)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(QmpError::EventsClosed),
        }
    }

    /// Every event queued so far, without waiting.
    pub fn pending_events(&self) -> Vec<Event> {
        let events = lock(&self.events);
        let mut drained = Vec::new();
        loop {
            match events.try_recv() {
                Ok(event) => drained.push(event),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return drained,
            }
        }
    }

    /// Waits at most `timeout` for the first event named in `names`.
    /// Other events that arrive before it are read and dropped.
    pub fn wait_for_event(&self, names: &[&str], timeout: Duration) -> Result<Event, QmpError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left)? {
                Some(event) if names.contains(&event.name.as_str()) => return Ok(event),
                // Past the deadline this still reads what is queued, then stops.
                Some(_) => {}
                None => {
                    let names = names.iter().map(|name| name.to_string()).collect();
                    return Err(QmpError::EventTimeout { names, timeout });
                }
            }
        }
    }
}

impl Drop for Qmp {
    fn drop(&mut self) {
        // Shutting the socket down (not just closing our descriptor) ends
        // the reader's blocking read, so the join cannot hang.
        let _ = lock(&self.writer).shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Tries to connect once per [`CONNECT_RETRY`] until `deadline`, giving up
/// as soon as `alive` says QEMU is gone.
fn connect_until(
    path: &Path,
    deadline: Instant,
    alive: &mut dyn FnMut() -> bool,
) -> Result<UnixStream, QmpError> {
    loop {
        let error = match UnixStream::connect(path) {
            Ok(stream) => return Ok(stream),
            Err(error) => error,
        };
        if !alive() {
            return Err(QmpError::QemuExited {
                path: path.to_owned(),
            });
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(QmpError::Connect {
                path: path.to_owned(),
                source: error,
            });
        }
        thread::sleep(CONNECT_RETRY.min(left));
    }
}

/// Waits for the reader thread to hand over the greeting, checking that
/// QEMU is alive in between.
fn wait_for_greeting(
    greeting: &Receiver<Value>,
    path: &Path,
    wait: Duration,
    alive: &mut dyn FnMut() -> bool,
) -> Result<Value, QmpError> {
    let deadline = Instant::now() + wait;
    let failed = |kind, text: String| QmpError::Handshake {
        path: path.to_owned(),
        source: Box::new(io::Error::new(kind, text)),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let text = format!("QEMU sent no greeting within {wait:?}");
            return Err(failed(io::ErrorKind::TimedOut, text));
        }
        match greeting.recv_timeout(LIVENESS_POLL.min(left)) {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Timeout) if !alive() => {
                return Err(QmpError::QemuExited {
                    path: path.to_owned(),
                });
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                let text = "the connection closed before QEMU's greeting".to_owned();
                return Err(failed(io::ErrorKind::UnexpectedEof, text));
            }
        }
    }
}

/// A blocking clone of the socket for the reader thread. A read timeout or
/// non-blocking mode left by the caller would end the reader at the first
/// quiet moment, as if QEMU had hung up.
fn reader_half(stream: &UnixStream) -> io::Result<UnixStream> {
    let input = stream.try_clone()?;
    input.set_nonblocking(false)?;
    input.set_read_timeout(None)?;
    Ok(input)
}

/// The path the socket is connected to, for error messages.
fn peer_path(stream: &UnixStream) -> PathBuf {
    let address = stream.peer_addr().ok();
    let path = address.as_ref().and_then(|address| address.as_pathname());
    path.map_or_else(|| PathBuf::from("(unnamed)"), Path::to_owned)
}

/// Arguments worth sending: a typed command without fields serialises to
/// `{}` (or `null`), which QMP does not need.
fn non_empty(arguments: Value) -> Option<Value> {
    match arguments {
        Value::Null => None,
        Value::Object(map) if map.is_empty() => None,
        other => Some(other),
    }
}

/// One command on the wire. A struct, not a JSON map, so that `execute`
/// comes first in the log whatever order serde_json keeps maps in.
#[derive(serde::Serialize)]
struct Outgoing<'a> {
    execute: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<Value>,
    id: u64,
}

impl Outgoing<'_> {
    fn to_json(&self) -> String {
        // Serialising strings, numbers and `Value`s cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The JSON text for the log: every `password` value masked.
    fn to_masked_json(&self) -> String {
        let mut arguments = self.arguments.clone();
        arguments.iter_mut().for_each(mask_secrets);
        Outgoing {
            execute: self.execute,
            arguments,
            id: self.id,
        }
        .to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;
    use std::process::{Child, Command, Stdio};

    /// The server side of a fake QEMU.
    struct Fake {
        input: BufReader<UnixStream>,
        output: UnixStream,
    }

    impl Fake {
        fn new(stream: UnixStream) -> Fake {
            let input = BufReader::new(stream.try_clone().unwrap());
            Fake {
                input,
                output: stream,
            }
        }

        fn send(&mut self, message: Value) {
            writeln!(self.output, "{message}").unwrap();
        }

        fn recv(&mut self) -> Value {
            let mut line = String::new();
            self.input.read_line(&mut line).unwrap();
            serde_json::from_str(&line).unwrap()
        }

        fn reply(&mut self, command: &Value, value: Value) {
            self.send(json!({"return": value, "id": command["id"]}));
        }

        fn handshake(&mut self) {
            self.send(json!({"QMP": {
                "version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""},
                "capabilities": ["oob"]
            }}));
            let command = self.recv();
            assert_eq!(command["execute"], "qmp_capabilities");
            self.reply(&command, json!({}));
        }
    }

    /// A client connected to a fake QEMU that runs `script` in a thread.
    fn fake(
        options: QmpOptions,
        script: impl FnOnce(Fake) + Send + 'static,
    ) -> (Qmp, JoinHandle<()>) {
        let (client, server) = UnixStream::pair().unwrap();
        let server = thread::spawn(move || script(Fake::new(server)));
        (Qmp::from_stream(client, options).unwrap(), server)
    }

    fn short_timeouts() -> QmpOptions {
        QmpOptions {
            timeout: Duration::from_secs(2),
            ..QmpOptions::default()
        }
    }

    #[test]
    fn qmp_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Qmp>();
    }

    #[test]
    fn slow_commands_get_the_long_timeout() {
        let options = QmpOptions::default();
        for slow in [
            "cont",
            "quit",
            "blockdev-add",
            "blockdev-del",
            "device_del",
            "object-add",
        ] {
            assert_eq!(options.timeout_for(slow), Duration::from_secs(30), "{slow}");
        }
        assert_eq!(options.timeout_for("query-status"), Duration::from_secs(5));
    }

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let mut message = json!({"execute": "x", "arguments": {
            "password": "hunter2", "nested": [{"password": "swordfish"}], "id": "vnc"
        }});
        mask_secrets(&mut message);
        let text = message.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("swordfish"),
            "{text}"
        );
        assert_eq!(message["arguments"]["id"], "vnc");
        assert_eq!(message["arguments"]["password"], "***");
    }

    #[test]
    fn fake_server_replies_errors_and_unknown_events() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("qmp.log");
        let options = QmpOptions {
            log: Some(log.clone()),
            ..short_timeouts()
        };
        let (qmp, server) = fake(options, |mut qemu| {
            qemu.handshake();
            // An event no schema knows, while no command is pending.
            qemu.send(json!({"event": "X_FUTURE_EVENT", "data": {"answer": 42},
                "timestamp": {"seconds": 1700000000, "microseconds": 250}}));
            let command = qemu.recv();
            assert_eq!(command["execute"], "query-status");
            qemu.reply(
                &command,
                json!({"status": "future-state", "running": false}),
            );
            let command = qemu.recv();
            qemu.reply(&command, json!({"status": "running", "running": true}));
            let command = qemu.recv();
            assert_eq!(command["arguments"], json!({"id": "nope"}));
            qemu.send(json!({"error": {"class": "DeviceNotFound",
                "desc": "Device 'nope' not found"}, "id": command["id"]}));
            let command = qemu.recv();
            assert_eq!(command["arguments"]["password"], "hunter2");
            qemu.send(json!({"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}}));
            qemu.send(json!({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 3}}));
            qemu.reply(&command, json!({}));
        });

        let event = qmp.next_event(Duration::from_secs(2)).unwrap().unwrap();
        assert_eq!(event.name, "X_FUTURE_EVENT");
        assert_eq!(event.data, json!({"answer": 42}));
        assert_eq!(event.timestamp, (1700000000, 250));

        let status = qmp.query_status().unwrap();
        assert_eq!(
            status,
            Status {
                status: "future-state".into(),
                running: false
            }
        );
        let typed = qmp.execute(qapi::qmp::query_status {}).unwrap();
        assert!(typed.running);

        let error = qmp
            .execute_raw("device_del", Some(json!({"id": "nope"})))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "QEMU refused `device_del`: Device 'nope' not found"
        );
        assert!(matches!(&error, QmpError::Command { class, .. } if class == "DeviceNotFound"));

        let arguments = json!({"protocol": "vnc", "password": "hunter2"});
        qmp.execute_raw("set_password", Some(arguments)).unwrap();
        // Both events were queued before the reply was read.
        let names: Vec<String> = qmp.pending_events().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["RESUME", "STOP"]);
        assert!(qmp.pending_events().is_empty());
        server.join().unwrap();
        drop(qmp);

        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains(r#""password":"***""#), "{text}");
        for line in text.lines() {
            let mut parts = line.splitn(3, ' ');
            let stamp = parts.next().unwrap();
            assert!(
                stamp.split_once('.').is_some_and(|(_, ms)| ms.len() == 3),
                "{line}"
            );
            assert!(stamp.replace('.', "").parse::<u64>().is_ok(), "{line}");
            assert!(matches!(parts.next(), Some("->" | "<-")), "{line}");
            serde_json::from_str::<Value>(parts.next().unwrap()).unwrap();
        }
        assert!(text.contains(r#""event":"X_FUTURE_EVENT""#), "{text}");
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn unanswered_command_times_out_and_late_reply_is_dropped() {
        let (qmp, server) = fake(short_timeouts(), |mut qemu| {
            qemu.handshake();
            let ignored = qemu.recv();
            let command = qemu.recv();
            qemu.reply(&ignored, json!({"stale": true}));
            qemu.reply(&command, json!({"name": "guest"}));
        });
        let timeout = Duration::from_millis(200);
        let error = qmp
            .execute_raw_with_timeout("query-status", None, timeout)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "QEMU did not answer `query-status` within 200ms"
        );
        assert_eq!(
            qmp.execute_raw("query-name", None).unwrap(),
            json!({"name": "guest"})
        );
        server.join().unwrap();
    }

    #[test]
    fn eof_fails_pending_and_later_commands_and_ends_events() {
        let (qmp, server) = fake(short_timeouts(), |mut qemu| {
            qemu.handshake();
            qemu.send(json!({"event": "SHUTDOWN", "data": {"guest": true},
                "timestamp": {"seconds": 1, "microseconds": 0}}));
            qemu.recv();
            // Returning drops the socket while the command waits.
        });
        let error = qmp.execute_raw("query-status", None).unwrap_err();
        assert!(matches!(error, QmpError::Closed { .. }), "{error}");
        assert!(qmp.is_closed());
        let error = qmp.execute_raw("query-name", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the QMP connection closed before `query-name` was answered"
        );
        let event = qmp.next_event(Duration::from_secs(1)).unwrap().unwrap();
        assert_eq!(event.name, "SHUTDOWN");
        let error = qmp.next_event(Duration::from_secs(1)).unwrap_err();
        assert!(matches!(error, QmpError::EventsClosed), "{error}");
        let error = qmp
            .wait_for_event(&["RESUME"], Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(error, QmpError::EventsClosed), "{error}");
        server.join().unwrap();
    }

    #[test]
    fn wait_for_event_skips_others_and_times_out() {
        let (qmp, server) = fake(short_timeouts(), |mut qemu| {
            qemu.handshake();
            qemu.send(json!({"event": "STOP"}));
            qemu.send(json!({"event": "RESUME"}));
            // Stay open until the client is dropped.
            let mut rest = Vec::new();
            let _ = qemu.input.read_to_end(&mut rest);
        });
        let event = qmp
            .wait_for_event(&["RESUME", "RESET"], Duration::from_secs(2))
            .unwrap();
        assert_eq!((event.name.as_str(), event.timestamp), ("RESUME", (0, 0)));
        assert_eq!(event.data, Value::Null);
        let error = qmp
            .wait_for_event(&["SHUTDOWN"], Duration::from_millis(100))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "QEMU sent no `SHUTDOWN` event within 100ms"
        );
        let start = Instant::now();
        drop(qmp);
        assert!(start.elapsed() < Duration::from_secs(1));
        server.join().unwrap();
    }

    #[test]
    fn silent_server_fails_the_handshake() {
        let (client, server) = UnixStream::pair().unwrap();
        let options = QmpOptions {
            timeout: Duration::from_millis(200),
            ..QmpOptions::default()
        };
        let error = Qmp::from_stream(client, options).unwrap_err();
        assert!(matches!(error, QmpError::Handshake { .. }), "{error}");
        let cause = std::error::Error::source(&error).unwrap().to_string();
        assert_eq!(cause, "QEMU sent no greeting within 200ms");
        drop(server);
    }

    #[test]
    fn connect_retries_until_the_socket_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp.sock");
        let listen_at = path.clone();
        let server = thread::spawn(move || {
            thread::sleep(Duration::from_millis(150));
            let listener = UnixListener::bind(listen_at).unwrap();
            let mut qemu = Fake::new(listener.accept().unwrap().0);
            qemu.handshake();
        });
        let qmp = Qmp::connect(&path, short_timeouts(), &mut || true).unwrap();
        assert_eq!(qmp.greeting()["QMP"]["version"]["qemu"]["major"], 7);
        server.join().unwrap();
    }

    #[test]
    fn connect_gives_up_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never.sock");
        let options = QmpOptions {
            connect_timeout: Duration::from_millis(150),
            ..QmpOptions::default()
        };
        let error = Qmp::connect(&path, options, &mut || true).unwrap_err();
        assert!(matches!(error, QmpError::Connect { .. }), "{error}");
    }

    #[test]
    fn connect_fails_fast_when_qemu_exits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never.sock");
        let start = Instant::now();
        let mut alive = || start.elapsed() < Duration::from_millis(200);
        let error = Qmp::connect(&path, QmpOptions::default(), &mut alive).unwrap_err();
        assert!(matches!(error, QmpError::QemuExited { .. }), "{error}");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    /// Kills QEMU if a test fails half-way.
    struct Guest(Child);

    impl Drop for Guest {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start_qemu(socket: &Path) -> Option<Guest> {
        let qmp = format!("unix:{},server=on,wait=off", socket.display());
        let child = Command::new("qemu-system-x86_64")
            .args(["-S", "-nodefaults", "-no-user-config", "-display", "none"])
            .args(["-machine", "q35", "-accel", "tcg", "-qmp", &qmp])
            .stdin(Stdio::null())
            .spawn();
        match child {
            Ok(child) => Some(Guest(child)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => panic!("could not start qemu-system-x86_64: {error}"),
        }
    }

    #[test]
    fn real_qemu_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("qmp.sock");
        let Some(mut guest) = start_qemu(&socket) else {
            eprintln!("skipped: qemu-system-x86_64 is not installed");
            return;
        };
        let log = dir.path().join("qmp.log");
        let options = QmpOptions {
            log: Some(log.clone()),
            ..QmpOptions::default()
        };
        let mut alive = || matches!(guest.0.try_wait(), Ok(None));
        let qmp = Qmp::connect(&socket, options, &mut alive).unwrap();
        assert!(qmp.greeting()["QMP"]["version"]["qemu"]["major"].is_u64());

        let status = qmp.query_status().unwrap();
        assert_eq!(
            status,
            Status {
                status: "prelaunch".into(),
                running: false
            }
        );

        let error = qmp.execute_raw("no-such-command", None).unwrap_err();
        assert!(matches!(&error, QmpError::Command { class, .. } if class == "CommandNotFound"));
        // No VNC display: QEMU refuses, but the password must not be logged.
        let arguments = json!({"password": "hunter2"});
        assert!(
            qmp.execute_raw("change-vnc-password", Some(arguments))
                .is_err()
        );

        qmp.execute(qapi::qmp::cont {}).unwrap();
        qmp.wait_for_event(&["RESUME"], Duration::from_secs(10))
            .unwrap();
        assert_eq!(qmp.query_status().unwrap().status, "running");
        assert!(qmp.execute(qapi::qmp::query_status {}).unwrap().running);

        qmp.execute(qapi::qmp::system_powerdown {}).unwrap();
        qmp.wait_for_event(&["POWERDOWN"], Duration::from_secs(10))
            .unwrap();

        qmp.quit().unwrap();
        let shutdown = qmp
            .wait_for_event(&["SHUTDOWN"], Duration::from_secs(10))
            .unwrap();
        assert_eq!(shutdown.data["reason"], "host-qmp-quit");
        loop {
            match qmp.next_event(Duration::from_secs(10)) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("QEMU did not close the socket after `quit`"),
                Err(error) => break assert!(matches!(error, QmpError::EventsClosed)),
            }
        }
        assert!(qmp.is_closed());
        let error = qmp.query_status().unwrap_err();
        assert!(matches!(error, QmpError::Closed { .. }), "{error}");
        assert!(guest.0.wait().unwrap().success());

        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        for needle in [
            r#"<- {"QMP""#,
            r#"-> {"execute":"qmp_capabilities","id":1}"#,
            r#"-> {"execute":"change-vnc-password","arguments":{"password":"***"}"#,
            r#"-> {"execute":"cont""#,
            r#""event": "RESUME""#,
            r#""event": "POWERDOWN""#,
            r#""event": "SHUTDOWN""#,
        ] {
            assert!(text.contains(needle), "no {needle} in\n{text}");
        }
    }
}
