//! `qvirt-install`: the drop-in for virt-install.

use std::process::ExitCode;

use qvirt::install::{self, Outcome};

fn main() -> ExitCode {
    match install::run(std::env::args().collect()) {
        Ok(Outcome::Printed) => ExitCode::SUCCESS,
        Ok(Outcome::Help(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            let code = error.exit_code();
            let hint = error.hint();
            let _ = qvirt::exit::report(&error, hint.as_deref());
            ExitCode::from(code)
        }
    }
}
