//! qvirt-install from start to end: read the command line as virt-install
//! does, answer `--OPTION=?`, type it into a spec, plan the commands, and
//! print them or run them.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{InstallArgs, abbrev, compat};
use crate::host::HostFacts;
use crate::osinfo::OsDb;
use crate::paths::{Roots, RootsEnv};
use crate::plan::{self, Plan, PlanContext};
use crate::runtime::probe::HostProbe;
use crate::spec::{GuestSpec, PrintStep, SpecEnv};
use crate::{exit, subopt};

/// Why qvirt-install stopped, with the exit code each case has.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// clap could not read the command line (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A prefix of several options (exit 2).
    #[error(transparent)]
    Ambiguous(#[from] abbrev::AmbiguousOption),
    /// Old and new spellings mixed.
    #[error(transparent)]
    Compat(#[from] compat::CompatError),
    /// The command line does not describe a guest.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// The guest cannot be made on this machine.
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    /// Making or running the guest failed.
    #[error(transparent)]
    Run(#[from] crate::runtime::install::RunError),
}

impl InstallError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            InstallError::Run(run) => run.hint(),
            _ => None,
        }
    }

    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            InstallError::Usage(_) | InstallError::Ambiguous(_) => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

/// How a successful run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Something was printed and nothing else is to be done.
    Printed,
    /// Help or the version was asked for; clap's text, to print as is.
    Help(String),
}

/// Runs qvirt-install with `argv` (program name first).
pub fn run(argv: Vec<String>) -> Result<Outcome, InstallError> {
    let mut args = match parse(argv)? {
        Parsed::Args(args) => *args,
        Parsed::Help(text) => return Ok(Outcome::Help(text)),
    };
    if print_introspection(&args) {
        return Ok(Outcome::Printed);
    }
    if let Some(media) = args.install.test_media_detection.as_deref() {
        return detect_media(media);
    }
    if let Some(word) = args.positional.first() {
        return Err(InstallError::Usage(format!(
            "unrecognized arguments: {word}"
        )));
    }
    let mut warnings = compat::apply(&mut args)?;

    let db = OsDb::load();
    warnings.extend(db.warnings().iter().cloned());
    let resolved = GuestSpec::from_args(&args, &SpecEnv::from_process(), &db)?;
    warnings.extend(resolved.warnings);
    let spec = resolved.spec;
    let quiet = spec.run.quiet;

    let roots = Roots::resolve(spec.connection, &RootsEnv::from_process());
    let host = HostFacts::probe();
    let probe = HostProbe::new(roots.clone(), qemu_img());
    let context = PlanContext {
        host: &host,
        roots: &roots,
        probe: &probe,
    };
    let plan = plan::plan(&spec, &context)?;
    warnings.extend(plan.warnings.iter().cloned());
    if !quiet {
        for warning in &warnings {
            eprintln!("warning: {warning}");
        }
    }

    if let Some(step) = spec.run.print {
        if step == PrintStep::Final && !plan.guest.is_two_phase() {
            return Err(InstallError::Spec(crate::spec::SpecError::Invalid(
                "Requested installation does not have XML step 2".into(),
            )));
        }
        print_commands(&plan, step);
        return Ok(Outcome::Printed);
    }
    if spec.run.dry_run {
        if !quiet {
            println!("Dry run completed successfully");
        }
        return Ok(Outcome::Printed);
    }
    match crate::runtime::install::create_and_run(&plan, &spec, &qemu_img()) {
        Err(crate::runtime::install::RunError::Interrupted { by_user: true }) => {
            // virt-install's quirk, kept for scripts: Ctrl+C is not a failure.
            if !quiet {
                eprintln!("Domain install interrupted.\nInstallation aborted at user request");
            }
            Ok(Outcome::Printed)
        }
        Err(error) => Err(error.into()),
        Ok(()) => Ok(Outcome::Printed),
    }
}

/// virt-install's hidden `--test-media-detection MEDIA`: print the OS the
/// install media is detected as, or nothing when none matches.
fn detect_media(media: &str) -> Result<Outcome, InstallError> {
    if media.contains("://") {
        return Err(InstallError::Spec(crate::spec::SpecError::Unsupported {
            options: vec![format!("--test-media-detection {media} (a URL)")],
        }));
    }
    let db = OsDb::load();
    if std::path::Path::new(media).is_dir() {
        let mut warnings = Vec::new();
        if let Some(os) = crate::spec::detect_tree(std::path::Path::new(media), &db, &mut warnings)
        {
            println!("{}", os.id);
        }
        return Ok(Outcome::Printed);
    }
    match db.detect_media(std::path::Path::new(media)) {
        Ok(Some(os)) => println!("{}", os.id),
        Ok(None) => {}
        Err(error) => {
            return Err(InstallError::Spec(crate::spec::SpecError::Invalid(
                format!("Validating install media '{media}' failed: {error}"),
            )));
        }
    }
    Ok(Outcome::Printed)
}

enum Parsed {
    Args(Box<InstallArgs>),
    Help(String),
}

fn parse(argv: Vec<String>) -> Result<Parsed, InstallError> {
    let command = InstallArgs::command();
    let argv = abbrev::expand(&command, argv)?;
    let matches = match command.try_get_matches_from(argv) {
        Ok(matches) => matches,
        Err(error) => {
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Ok(Parsed::Help(error.render().to_string()))
                }
                _ => Err(InstallError::Usage(usage_message(&error))),
            };
        }
    };
    InstallArgs::from_arg_matches(&matches)
        .map(|args| Parsed::Args(Box::new(args)))
        .map_err(|error| InstallError::Usage(usage_message(&error)))
}

/// clap's message without its own `error: ` prefix, which `main` adds.
fn usage_message(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let text = text.trim_end();
    text.strip_prefix("error: ").unwrap_or(text).to_string()
}

/// `--disk=?`, `--disk help` (several at once) and `--osinfo list`: print
/// and stop before anything is checked, as virt-install does.
fn print_introspection(args: &InstallArgs) -> bool {
    let mut out = String::new();
    for (option, values) in args.suboption_values() {
        if values.iter().any(|v| subopt::is_help(v)) {
            out.push_str(&format!("--{option} options:\n"));
            for key in help_keys_for(option) {
                out.push_str(&format!("  {key}\n"));
            }
            out.push('\n');
        }
    }
    if args.os.osinfo.as_deref() == Some("list") {
        for entry in OsDb::load().list() {
            out.push_str(&entry.line());
            out.push('\n');
        }
        out.push_str("\nUse `osinfo-query os` for more details.\n");
    }
    if out.is_empty() {
        return false;
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    true
}

/// The option's keys sorted as virt-install sorts them: its own name first.
fn help_keys_for(option: &str) -> Vec<String> {
    let mut keys = subopt::help_keys(option);
    keys.sort_by_key(|key| (key != option, key.to_lowercase()));
    keys
}

/// `qemu-img`, from `QVIRT_QEMU_IMG` or `PATH`.
pub fn qemu_img() -> PathBuf {
    if let Some(path) = std::env::var_os("QVIRT_QEMU_IMG").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    which::which("qemu-img").unwrap_or_else(|_| PathBuf::from("qemu-img"))
}

fn print_commands(plan: &Plan, step: PrintStep) {
    let mut lines = Vec::new();
    if step == PrintStep::All {
        lines.extend(
            plan.image_commands(&qemu_img())
                .iter()
                .map(|c| c.to_shell()),
        );
    }
    let install = plan.install_command();
    match step {
        PrintStep::All => {
            lines.extend(install.map(|c| c.to_shell()));
            lines.push(plan.final_command().to_shell());
        }
        PrintStep::Install => {
            lines.push(install.unwrap_or_else(|| plan.final_command()).to_shell());
        }
        PrintStep::Final => lines.push(plan.final_command().to_shell()),
    }
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(stdout, "{line}");
    }
}
