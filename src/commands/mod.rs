//! `qvirt`'s subcommands, one file each, over the guests' state folders.
//! There is no daemon: each command reads a guest's saved definition and
//! talks to its running QEMU over the client QMP socket.

mod console;
mod control;
mod list;
mod start;
mod stop;
mod supervise;
mod undefine;

use crate::cli::qvirt::{QvirtArgs, QvirtCommand};
use crate::paths::{Connection, GuestDirs, Roots, RootsEnv};
use crate::runtime::live::{self, Live};
use crate::runtime::state::{Definition, StateError};

/// Why a `qvirt` command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// `--connect` or `LIBVIRT_DEFAULT_URI` named a hypervisor qvirt does
    /// not serve.
    #[error("{0} is not supported: qvirt serves qemu:///system and qemu:///session")]
    Connection(String),
    /// The guest's state.
    #[error(transparent)]
    State(#[from] StateError),
    /// The guest is off and the command needs it running.
    #[error("Requested operation is not valid: domain '{0}' is not running")]
    NotRunning(String),
    /// The guest runs and the command needs it off.
    #[error("Requested operation is not valid: domain '{0}' is already active")]
    Running(String),
    /// QMP failed.
    #[error(transparent)]
    Qmp(#[from] crate::qmp::QmpError),
    /// The arguments of `qvirt qmp` are not a JSON object.
    #[error("the arguments must be a JSON object: {0}")]
    Arguments(String),
    /// The guest could not be started.
    #[error("{error}")]
    Start {
        /// What went wrong.
        error: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// The supervisor could not be started.
    #[error(transparent)]
    Spawn(#[from] crate::runtime::supervise::SpawnError),
    /// The supervisor failed.
    #[error(transparent)]
    Supervise(#[from] crate::runtime::supervise::SuperviseError),
    /// The console failed.
    #[error(transparent)]
    Console(#[from] crate::runtime::console::ConsoleError),
    /// The guest has no display.
    #[error("No graphical display found for domain '{0}'")]
    NoDisplay(String),
    /// The guest would not stop.
    #[error("domain '{0}' did not stop, even after SIGKILL")]
    Unstoppable(String),
    /// Standard output could not be written.
    #[error("cannot write to standard output")]
    Output(#[source] std::io::Error),
}

/// Prints data on stdout, a line. A reader that went away (`| head`) is
/// no failure of the command's.
fn emit(text: &str) -> Result<(), CommandError> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CommandError::Output(error))
        }
        _ => Ok(()),
    }
}

impl CommandError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            CommandError::Start { hint, .. } => hint.clone(),
            CommandError::NotRunning(name) => Some(format!("start it with `qvirt start {name}`")),
            CommandError::Running(name) => Some(format!("stop it first: `qvirt shutdown {name}`")),
            _ => None,
        }
    }
}

/// Where `qvirt` looks for guests.
pub struct Context {
    /// The connection.
    pub connection: Connection,
    /// Its folders.
    pub roots: Roots,
    /// `--quiet`.
    pub quiet: bool,
}

impl Context {
    /// Prints a message for people, unless `--quiet`.
    pub fn say(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A defined guest: its folders and saved definition.
    pub fn guest(&self, name: &str) -> Result<(GuestDirs, Definition), CommandError> {
        let dirs = self.roots.guest(name);
        let definition = Definition::load(&dirs, name)?;
        Ok((dirs, definition))
    }

    /// A guest that must be running.
    pub fn running(&self, name: &str) -> Result<(GuestDirs, Definition, Live), CommandError> {
        let (dirs, definition) = self.guest(name)?;
        let live = live::inspect(&dirs, &definition)
            .ok_or_else(|| CommandError::NotRunning(name.to_string()))?;
        Ok((dirs, definition, live))
    }
}

/// The connection `qvirt` uses: `--connect`, else the same default as
/// qvirt-install's.
fn connection(uri: Option<&str>) -> Result<Connection, CommandError> {
    if let Some(uri) = uri {
        return Connection::from_uri(uri)
            .ok_or_else(|| CommandError::Connection(format!("--connect {uri}")));
    }
    let default = std::env::var("LIBVIRT_DEFAULT_URI").ok();
    let root = rustix::process::geteuid().is_root();
    Connection::default_for(default.as_deref(), root).ok_or_else(|| {
        CommandError::Connection(format!(
            "LIBVIRT_DEFAULT_URI={}",
            default.unwrap_or_default()
        ))
    })
}

/// Runs one `qvirt` command.
pub fn run(args: QvirtArgs) -> Result<(), CommandError> {
    crate::qmp::echo_to_stderr(args.debug);
    let connection = connection(args.connect.as_deref())?;
    let context = Context {
        connection,
        roots: Roots::resolve(connection, &RootsEnv::from_process()),
        quiet: args.quiet,
    };
    match args.command {
        QvirtCommand::List { all, json } => list::run(&context, all, json),
        QvirtCommand::Start { guest, console } => start::run(&context, &guest.name, console),
        QvirtCommand::Shutdown { guest, timeout } => stop::shutdown(&context, &guest.name, timeout),
        QvirtCommand::Reboot { guest } => control::reboot(&context, &guest.name),
        QvirtCommand::Reset { guest } => control::simple(&context, &guest.name, "system_reset"),
        QvirtCommand::Destroy { guest } => stop::destroy(&context, &guest.name),
        QvirtCommand::Suspend { guest } => control::simple(&context, &guest.name, "stop"),
        QvirtCommand::Resume { guest } => control::simple(&context, &guest.name, "cont"),
        QvirtCommand::Console { guest } => console::run(&context, &guest.name),
        QvirtCommand::Undefine {
            guest,
            remove_all_storage,
        } => undefine::run(&context, &guest.name, remove_all_storage),
        QvirtCommand::Dumpargs { guest } => control::dumpargs(&context, &guest.name),
        QvirtCommand::Qmp {
            guest,
            command,
            arguments,
        } => control::qmp(&context, &guest.name, &command, arguments.as_deref()),
        QvirtCommand::Domdisplay { guest } => control::domdisplay(&context, &guest.name),
        QvirtCommand::Supervise { guest } => supervise::run(&context, &guest.name),
    }
}
