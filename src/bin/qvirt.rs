//! `qvirt`: what virsh does for virt-install's guests, with no daemon.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use qvirt::cli::qvirt::QvirtArgs;

fn main() -> ExitCode {
    // `COMPLETE=bash qvirt`: the shell completions, guest names included.
    clap_complete::CompleteEnv::with_factory(QvirtArgs::command).complete();
    let args = QvirtArgs::parse();
    match qvirt::commands::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => qvirt::exit::report(&error, error.hint().as_deref()),
    }
}
