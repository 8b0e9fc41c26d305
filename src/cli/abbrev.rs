//! Unique prefixes of long options, as Python's argparse accepts them.
//!
//! virt-install's own test suite writes `--dry` for `--dry-run`, and
//! scripts write `--noauto` and `--os-var`. Before clap sees the command
//! line, every `--prefix` that is not an option itself is replaced by the
//! one option it starts; a prefix of several options is a usage error that
//! lists them, in argparse's words.

use clap::Command;

/// A prefix that starts more than one option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ambiguous option: --{prefix} could match {}", .candidates.join(", "))]
pub struct AmbiguousOption {
    /// The prefix as typed, without dashes.
    pub prefix: String,
    /// The options it starts, with dashes.
    pub candidates: Vec<String>,
}

/// Every long name of `command`'s arguments, aliases included, grouped by
/// argument.
fn long_names(command: &Command) -> Vec<Vec<String>> {
    command
        .get_arguments()
        .map(|arg| {
            let mut names: Vec<String> = arg.get_long().into_iter().map(String::from).collect();
            names.extend(
                arg.get_all_aliases()
                    .unwrap_or_default()
                    .into_iter()
                    .map(String::from),
            );
            names
        })
        .filter(|names| !names.is_empty())
        .collect()
}

/// Replaces unique prefixes of long options by the options' names.
pub fn expand(command: &Command, args: Vec<String>) -> Result<Vec<String>, AmbiguousOption> {
    let mut names = long_names(command);
    names.push(vec!["help".to_string()]);
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(args.by_ref());
            break;
        }
        out.push(expand_one(&names, arg)?);
    }
    Ok(out)
}

fn expand_one(names: &[Vec<String>], arg: String) -> Result<String, AmbiguousOption> {
    let Some(body) = arg.strip_prefix("--").filter(|b| !b.is_empty()) else {
        return Ok(arg);
    };
    let (name, value) = match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    };
    if names.iter().flatten().any(|n| n == name) {
        return Ok(arg);
    }
    let matches: Vec<&String> = names
        .iter()
        .filter_map(|group| group.iter().find(|n| n.starts_with(name)))
        .collect();
    match matches.as_slice() {
        [] => Ok(arg),
        [only] => Ok(match value {
            Some(value) => format!("--{only}={value}"),
            None => format!("--{only}"),
        }),
        many => {
            let mut candidates: Vec<String> = many.iter().map(|n| format!("--{n}")).collect();
            candidates.sort();
            Err(AmbiguousOption {
                prefix: name.to_string(),
                candidates,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn expanded(args: &[&str]) -> Result<Vec<String>, AmbiguousOption> {
        let command = crate::cli::InstallArgs::command();
        expand(&command, args.iter().map(|a| a.to_string()).collect())
    }

    #[test]
    fn unique_prefixes_expand() {
        let cases: [(&[&str], &[&str]); 5] = [
            (&["--dry"], &["--dry-run"]),
            (&["--noauto"], &["--noautoconsole"]),
            (&["--os-var", "debian12"], &["--os-variant", "debian12"]),
            (&["--imp"], &["--import"]),
            (&["--memory", "512"], &["--memory", "512"]),
        ];
        for (args, want) in cases {
            assert_eq!(expanded(args).expect("unique"), want, "{args:?}");
        }
    }

    #[test]
    fn ambiguous_prefixes_are_errors() {
        let error = expanded(&["--memo", "1"]).expect_err("ambiguous");
        assert_eq!(
            error.to_string(),
            "ambiguous option: --memo could match --memory, --memorybacking"
        );
        assert!(expanded(&["--mem=1024"]).is_err());
    }

    #[test]
    fn exact_names_and_values_stay() {
        let args = ["--file", "a", "--", "--dry"];
        assert_eq!(expanded(&args).expect("fine"), args);
    }
}
