//! qvirt: virt-install's command line, without libvirt.
//!
//! Data flows one way through the modules:
//!
//! 1. [`cli`] holds what the user typed (clap), and rewrites old spellings.
//! 2. [`subopt`] splits `key=value,…` strings the way virt-install does.
//! 3. [`spec`] turns both into a typed [`spec::GuestSpec`], with no I/O.
//! 4. [`plan`] turns a spec into the exact `qemu-img` and QEMU commands.
//! 5. [`runtime`] creates disks, launches and supervises QEMU over [`qmp`],
//!    and keeps each guest's state directory; [`commands`] are `qvirt`'s
//!    subcommands on top of it.

pub mod cli;
pub mod cloudinit;
pub mod commands;
pub mod disk;
pub mod exit;
pub mod host;
pub mod install;
pub mod media;
pub mod osinfo;
pub mod paths;
pub mod plan;
pub mod qmp;
pub mod runtime;
pub mod spec;
pub mod subopt;
