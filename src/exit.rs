//! The exit-code contract, and how an error reaches the user.
//!
//! Scripts rely on these codes, so they live in one place and only the
//! binaries' `main` functions exit:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success, `--help`, `--version`, `--OPTION=?` |
//! | 1 | any failure, as virt-install exits 1 |
//! | 2 | a usage error: unknown option, missing or malformed value |

use std::error::Error;
use std::fmt::Write as _;
use std::process::ExitCode;

/// Success.
pub const SUCCESS: u8 = 0;
/// A failure that is not a usage error.
pub const FAILURE: u8 = 1;
/// The command line itself could not be read.
pub const USAGE: u8 = 2;

/// Formats `error: …`, one `caused by: …` line per source, and the hint.
pub fn render(error: &dyn Error, hint: Option<&str>) -> String {
    let mut out = format!("error: {error}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = writeln!(out, "caused by: {cause}");
        source = cause.source();
    }
    if let Some(hint) = hint {
        let _ = writeln!(out, "hint: {hint}");
    }
    out
}

/// Prints an error to stderr and returns the failure exit code.
pub fn report(error: &dyn Error, hint: Option<&str>) -> ExitCode {
    eprint!("{}", render(error, hint));
    ExitCode::from(FAILURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn render_lists_causes_and_hint() {
        let error = Outer(std::io::Error::other("inner"));
        let text = render(&error, Some("try again"));
        assert_eq!(text, "error: outer\ncaused by: inner\nhint: try again\n");
    }
}
