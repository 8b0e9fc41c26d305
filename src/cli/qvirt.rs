//! `qvirt`: what virsh does for virt-install's guests, over the state
//! folders qvirt-install keeps, with no daemon.

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::paths::{Connection, Roots, RootsEnv};

/// `qvirt`: manage the guests that qvirt-install made.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "qvirt",
    version,
    about = "Manage the guests that qvirt-install made, as virsh does, with no daemon",
    max_term_width = 100
)]
pub struct QvirtArgs {
    /// Hypervisor connection: qemu:///system or qemu:///session
    #[arg(short = 'c', long, global = true, value_name = "URI")]
    pub connect: Option<String>,
    /// Print only errors
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Print every QMP message on stderr
    #[arg(short = 'd', long, global = true)]
    pub debug: bool,
    /// The command.
    #[command(subcommand)]
    pub command: QvirtCommand,
}

/// A guest, by name.
#[derive(Debug, Clone, Args)]
pub struct GuestName {
    /// The guest's name
    #[arg(value_name = "NAME", add = ArgValueCandidates::new(defined_guests))]
    pub name: String,
}

/// The names of the guests defined under the default connection, for the
/// shell completions (which call back into `qvirt` to get them).
fn defined_guests() -> Vec<CompletionCandidate> {
    let default = std::env::var("LIBVIRT_DEFAULT_URI").ok();
    let root = rustix::process::geteuid().is_root();
    let Some(connection) = Connection::default_for(default.as_deref(), root) else {
        return Vec::new();
    };
    let roots = Roots::resolve(connection, &RootsEnv::from_process());
    crate::runtime::state::defined_names(&roots)
        .into_iter()
        .map(CompletionCandidate::new)
        .collect()
}

/// `qvirt`'s commands, named as in virsh.
#[derive(Debug, Clone, Subcommand)]
pub enum QvirtCommand {
    /// List guests: name, state, pid, memory, vCPUs and display
    List {
        /// Also list guests that are shut off
        #[arg(long)]
        all: bool,
        /// Print a JSON array, one object per guest with its console socket, for scripts
        #[arg(long)]
        json: bool,
    },
    /// Start a defined guest from its saved definition
    Start {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
        /// Attach to the serial console once it runs
        #[arg(long)]
        console: bool,
    },
    /// Ask the guest to power off (ACPI), and force it after a timeout
    Shutdown {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
        /// Seconds to wait for the guest before forcing it off
        #[arg(long, default_value_t = 180, value_name = "SECONDS")]
        timeout: u64,
    },
    /// Ask the guest to reboot: Ctrl+Alt+Del on its keyboard
    Reboot {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Reset the guest at once, as the reset button does
    Reset {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Stop the guest at once
    Destroy {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Pause the guest's vCPUs
    Suspend {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Resume a paused guest
    Resume {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Attach to the guest's serial console; Ctrl+] leaves it
    Console {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Forget a guest that is off
    Undefine {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
        /// Also delete the disk images its definition lists
        #[arg(long)]
        remove_all_storage: bool,
    },
    /// Print the guest's QEMU command line, shell-quoted
    Dumpargs {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Send one QMP command and print the reply as JSON
    Qmp {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
        /// The QMP command, such as query-status
        #[arg(value_name = "COMMAND")]
        command: String,
        /// Its arguments, as a JSON object
        #[arg(value_name = "JSON-ARGUMENTS")]
        arguments: Option<String>,
    },
    /// Print the guest's VNC or SPICE address
    Domdisplay {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
    /// Run a guest's supervisor (started by qvirt-install and qvirt start)
    #[command(name = "__supervise", hide = true)]
    Supervise {
        /// The guest.
        #[command(flatten)]
        guest: GuestName,
    },
}
