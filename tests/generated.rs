//! The man pages and shell completions in `man/` and `completions/` come
//! from the one clap definition of each binary, as `--help` does. They are
//! committed, so a packager needs no build step; this test fails when one
//! is stale, and `QVIRT_BLESS=1 cargo test --test generated` rewrites them.

mod common;

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_complete::env::{self, EnvCompleter};

use qvirt::cli::qvirt::QvirtArgs;

fn man(command: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .expect("a man page renders");
    out
}

/// `qvirt.1` names a page per subcommand (`qvirt-list(1)` …): those are
/// generated too, named as clap_mangen names them once the command is
/// built.
fn subcommand_pages(command: clap::Command) -> Vec<(String, Vec<u8>)> {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| {
            let page = clap_mangen::Man::new(sub.clone());
            (format!("man/{}", page.get_filename()), man(sub.clone()))
        })
        .collect()
}

/// `command` without its hidden arguments: clap_complete offers hidden
/// options too, and old spellings must not be suggested.
fn without_hidden(command: &clap::Command) -> clap::Command {
    let visible = command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .cloned();
    let subcommands = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(without_hidden);
    // clap takes `&'static str` names; a test leaking a few is harmless.
    let leak = |text: &str| -> &'static str { Box::leak(text.to_string().into_boxed_str()) };
    let mut copy = clap::Command::new(leak(command.get_name()))
        .args(visible)
        .subcommands(subcommands);
    if let Some(about) = command.get_about() {
        copy = copy.about(about.clone());
    }
    // qvirt-install defines its own `--version`, as virt-install has no -V.
    if let Some(version) = command.get_version() {
        copy = copy.version(leak(version)).disable_version_flag(true);
    }
    copy
}

fn completion(shell: Shell, command: clap::Command) -> Vec<u8> {
    let mut command = without_hidden(&command);
    let name = command.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut out);
    out
}

/// Every generated file, by its path in the repository, with its text.
fn generated() -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        (
            "man/qvirt-install.1".into(),
            man(qvirt::cli::install_command()),
        ),
        ("man/qvirt.1".into(), man(QvirtArgs::command())),
    ];
    files.extend(subcommand_pages(QvirtArgs::command()));
    let install = qvirt::cli::install_command();
    files.push((
        "completions/qvirt-install.bash".into(),
        completion(Shell::Bash, install.clone()),
    ));
    files.push((
        "completions/_qvirt-install".into(),
        completion(Shell::Zsh, install.clone()),
    ));
    files.push((
        "completions/qvirt-install.fish".into(),
        completion(Shell::Fish, install),
    ));
    // qvirt's completions call back into qvirt (`COMPLETE=<shell>`), so
    // they can offer the names of the guests defined at that moment.
    let shells: [(&str, &dyn EnvCompleter); 3] = [
        ("completions/qvirt.bash", &env::Bash),
        ("completions/_qvirt", &env::Zsh),
        ("completions/qvirt.fish", &env::Fish),
    ];
    for (path, shell) in shells {
        let mut out = Vec::new();
        shell
            .write_registration("COMPLETE", "qvirt", "qvirt", "qvirt", &mut out)
            .expect("a registration script");
        files.push((path.into(), out));
    }
    files
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The files now in `man/` and `completions/`.
fn committed() -> Vec<String> {
    let mut found = Vec::new();
    for folder in ["man", "completions"] {
        for entry in std::fs::read_dir(repo(folder))
            .into_iter()
            .flatten()
            .flatten()
        {
            found.push(format!("{folder}/{}", entry.file_name().to_string_lossy()));
        }
    }
    found.sort();
    found
}

#[test]
fn generated_files_are_fresh() {
    let files = generated();
    let mut stale = Vec::new();
    for (name, want) in &files {
        let path = repo(name);
        let have = std::fs::read(&path).unwrap_or_default();
        if &have == want {
            continue;
        }
        if common::blessing() {
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("folder");
            std::fs::write(&path, want).expect("writable");
            eprintln!("regenerated {name}");
            continue;
        }
        let diff = common::diff(
            &String::from_utf8_lossy(&have),
            &String::from_utf8_lossy(want),
        )
        .unwrap_or_default();
        stale.push(format!(
            "{name} is stale (- committed, + generated):\n{diff}"
        ));
    }
    // A page of a subcommand that is gone must go too.
    for extra in committed() {
        if files.iter().any(|(name, _)| *name == extra) {
            continue;
        }
        if common::blessing() {
            std::fs::remove_file(repo(&extra)).expect("removable");
            continue;
        }
        stale.push(format!("{extra} is not generated any more"));
    }
    assert!(
        stale.is_empty(),
        "QVIRT_BLESS=1 cargo test --test generated rewrites them:\n\n{}",
        stale.join("\n")
    );
}

/// Old spellings are accepted but hidden from `--help`, as virt-install
/// hides them; the generated files must not advertise them either.
#[test]
fn hidden_options_stay_hidden() {
    let hidden = [
        "--nographics",
        "--vncport",
        "--vnclisten",
        "--file-size",
        "--nonsparse",
        "--nodisks",
        "--nonetworks",
        "--print-step",
        "--check-cpu",
        "--test-stub-command",
        "--os-type",
        "--accelerate",
    ];
    let visible = ["--disk", "--print-qemu", "--os-variant", "--network"];
    for (name, bytes) in generated()
        .iter()
        .filter(|(n, _)| n.contains("qvirt-install"))
    {
        // roff writes a dash as `\-`.
        let text = String::from_utf8(bytes.clone())
            .expect("text")
            .replace("\\-", "-");
        // fish names a long option `-l name`, the others `--name`.
        let shows = |name: &str| {
            [name.to_string(), format!("-l {}", &name[2..])]
                .iter()
                .any(|spelling| {
                    text.match_indices(spelling.as_str()).any(|(at, _)| {
                        !text[at + spelling.len()..]
                            .starts_with(|c: char| c == '-' || c.is_alphanumeric())
                    })
                })
        };
        for hidden_name in hidden {
            assert!(!shows(hidden_name), "{name} shows the hidden {hidden_name}");
        }
        for visible_name in visible {
            assert!(shows(visible_name), "{name} lacks {visible_name}");
        }
    }
}

/// `--help` groups the options under virt-install's headings, in its order.
#[test]
fn help_has_virt_install_headings() {
    let run = common::Sandbox::new().run_str(&["--help"]);
    assert_eq!(run.code, Some(0), "{}", run.both());
    let headings = [
        "General Options",
        "Installation Method Options",
        "OS options",
        "Device Options",
        "Guest Configuration Options",
        "Virtualization Platform Options",
        "Miscellaneous Options",
    ];
    let mut from = 0;
    for heading in headings {
        let at = run.stdout[from..]
            .find(&format!("{heading}:"))
            .unwrap_or_else(|| {
                panic!(
                    "--help lacks `{heading}:` after offset {from}:\n{}",
                    run.stdout
                )
            });
        from += at;
    }
    assert!(run.stdout.contains("--option=?"), "{}", run.stdout);
}
