//! `qvirt`'s subcommands, one file each, over the guests' state folders.

pub mod supervise;

use crate::cli::qvirt::{QvirtArgs, QvirtCommand};
use crate::paths::{Connection, Roots, RootsEnv};

/// Why a `qvirt` command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// `--connect` named a hypervisor qvirt does not serve.
    #[error("--connect {0} is not supported: qvirt serves qemu:///system and qemu:///session")]
    Connection(String),
    /// The supervisor failed.
    #[error(transparent)]
    Supervise(#[from] crate::runtime::supervise::SuperviseError),
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

/// Runs one `qvirt` command.
pub fn run(args: QvirtArgs) -> Result<(), CommandError> {
    let connection = match args.connect.as_deref() {
        Some(uri) => {
            Connection::from_uri(uri).ok_or_else(|| CommandError::Connection(uri.to_string()))?
        }
        None => {
            let default = std::env::var("LIBVIRT_DEFAULT_URI").ok();
            let root = rustix::process::geteuid().is_root();
            Connection::default_for(default.as_deref(), root)
                .ok_or_else(|| CommandError::Connection(default.unwrap_or_default()))?
        }
    };
    let context = Context {
        connection,
        roots: Roots::resolve(connection, &RootsEnv::from_process()),
        quiet: args.quiet,
    };
    match args.command {
        QvirtCommand::Supervise { guest } => supervise::run(&context, &guest.name),
        other => todo_command(&other),
    }
}

fn todo_command(command: &QvirtCommand) -> Result<(), CommandError> {
    // TODO(#4): the virsh-like commands.
    let _ = command;
    Err(CommandError::Connection(
        "(this command comes with #4)".into(),
    ))
}
