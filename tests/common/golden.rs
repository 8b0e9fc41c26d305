//! The golden files in `tests/golden/`: one command line and what
//! `qvirt-install --print-qemu` prints for it.
//!
//! A file reads:
//!
//! ```text
//! QVIRT_KVM=none --name a --memory 512 …     the command line, shell words,
//!                                            optionally led by VAR=VALUE
//! # warning: KVM acceleration not available   what it printed on stderr
//! qemu-img create -f qcow2 … $ROOT/images/a.qcow2 1073741824
//! qemu-system-x86_64 \
//!     -name 'guest=a,debug-threads=on' \
//!     -S \
//!     …
//! ```
//!
//! Each command is exactly one line of `--print-qemu`'s output, broken
//! before every option with a shell line continuation: the file is still
//! the commands to paste, and a changed option shows as one changed line.
//! `$ROOT` is the `QVIRT_ROOT` of the run, `$CWD` its working folder, and
//! `$PORT` a SPICE port the planner picked because the line gave none.

use std::fs;
use std::path::{Path, PathBuf};

use super::Sandbox;

/// The folder of the golden files.
pub fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// One golden file.
#[derive(Debug, Clone)]
pub struct Golden {
    /// The file's name without `.args`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The command line as written in the first line.
    pub line: String,
    /// `VAR=VALUE` words that lead the line.
    pub env: Vec<(String, String)>,
    /// The arguments after them.
    pub args: Vec<String>,
    /// The commands, one shell line each, as `--print-qemu` prints them.
    pub commands: Vec<String>,
}

/// Every golden file, sorted by name.
pub fn load_all() -> Vec<Golden> {
    let mut paths: Vec<PathBuf> = fs::read_dir(folder())
        .expect("tests/golden exists")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "args"))
        .collect();
    paths.sort();
    paths.iter().map(|path| load(path)).collect()
}

fn load(path: &Path) -> Golden {
    let text = fs::read_to_string(path).expect("readable golden file");
    let mut lines = text.lines();
    let line = lines.next().unwrap_or_default().to_string();
    let words =
        shell_words::split(&line).unwrap_or_else(|e| panic!("{}: first line: {e}", path.display()));
    let lead = words.iter().take_while(|w| is_assignment(w)).count();
    let env = words[..lead]
        .iter()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut commands = Vec::new();
    let mut current: Option<String> = None;
    for line in lines.filter(|l| !l.starts_with('#')) {
        let piece = match current {
            Some(_) => line.strip_prefix(CONTINUATION_INDENT).unwrap_or(line),
            None => line,
        };
        let (piece, continues) = match piece.strip_suffix(" \\") {
            Some(piece) => (piece, true),
            None => (piece, false),
        };
        let command = current.get_or_insert_with(String::new);
        if !command.is_empty() {
            command.push(' ');
        }
        command.push_str(piece);
        if !continues {
            commands.extend(current.take());
        }
    }
    Golden {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.to_path_buf(),
        line,
        env,
        args: words[lead..].to_vec(),
        commands,
    }
}

/// `NAME=value`, as a shell reads an assignment before a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

const CONTINUATION_INDENT: &str = "    ";

impl Golden {
    /// The arguments the binary gets: `$CWD` and `$ROOT` filled in, and
    /// `--print-qemu` unless the line asks for `--print-xml` itself.
    pub fn argv(&self, sandbox: &Sandbox) -> Vec<String> {
        let mut args: Vec<String> = self.args.iter().map(|a| sandbox.expand(a)).collect();
        let prints = args
            .iter()
            .any(|a| a.starts_with("--print-xml") || a.starts_with("--print-step"));
        if !prints {
            args.push("--print-qemu".into());
        }
        args
    }

    /// The environment on top of the sandbox's.
    pub fn env(&self, sandbox: &Sandbox) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), sandbox.expand(v)))
            .collect()
    }

    /// The file's text for a run that printed `stdout` and `stderr`;
    /// `scrub` puts the placeholders in. Commands are laid out before that,
    /// while their words are still the ones the binary quoted.
    pub fn render(&self, stdout: &str, stderr: &str, scrub: impl Fn(&str) -> String) -> String {
        let mut text = format!("{}\n", self.line);
        for line in stderr.lines() {
            text.push_str(&format!("# {}\n", scrub(line)));
        }
        for command in stdout.lines() {
            text.push_str(&scrub(&layout(&self.scrub_ports(command))));
            text.push('\n');
        }
        text
    }

    /// A SPICE port the planner chose depends on what else listens on
    /// this machine; one the line names does not.
    fn scrub_ports(&self, command: &str) -> String {
        let Some(at) = command.find("-spice 'port=") else {
            return command.to_string();
        };
        let start = at + "-spice 'port=".len();
        let digits = command[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        let port = &command[start..start + digits];
        if self.line.contains(&format!("port={port}")) {
            return command.to_string();
        }
        format!("{}$PORT{}", &command[..start], &command[start + digits..])
    }
}

/// One command, broken before each option. Words are split and quoted
/// back the way the binary quotes them, so joining the lines gives the
/// printed line exactly; a line that does not survive that is kept whole.
pub fn layout(command: &str) -> String {
    let Ok(words) = shell_words::split(command) else {
        return command.to_string();
    };
    // Environment assignments lead the line with only their value quoted,
    // as the binary prints them.
    let mut leading = true;
    let quoted: Vec<String> = words
        .iter()
        .map(|word| {
            leading &= is_assignment(word);
            match word.split_once('=') {
                Some((name, value)) if leading => {
                    format!("{name}={}", shell_words::quote(value))
                }
                _ => shell_words::quote(word).into_owned(),
            }
        })
        .collect();
    if quoted.join(" ") != command {
        return command.to_string();
    }
    let mut lines: Vec<String> = Vec::new();
    let mut program_seen = false;
    for (word, quoted) in words.iter().zip(&quoted) {
        let new_line = program_seen && word.starts_with('-') && !lines.is_empty();
        if !program_seen && !is_assignment(word) {
            program_seen = true;
        }
        match lines.last_mut() {
            Some(last) if !new_line => {
                last.push(' ');
                last.push_str(quoted);
            }
            _ => lines.push(quoted.clone()),
        }
    }
    lines.join(&format!(" \\\n{CONTINUATION_INDENT}"))
}
