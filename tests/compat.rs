//! virt-install's own test corpus, run through `qvirt-install --dry-run`.
//!
//! `tests/data/virt-install-cli-cases.tsv` holds every virt-install command
//! line of virt-manager's test suite with what virt-install does with it.
//! Each case runs in a fresh sandbox with `--dry-run` appended, its
//! placeholders mapped as the file's header explains:
//!
//! * the libvirt test URIs by the URI they pretend to be (`fakeuri=`):
//!   `qemu:///system` and `qemu:///session` are served, the others (lxc,
//!   xen, vz, bhyve, remote) stay foreign and must be refused; a test URI
//!   without `fakeuri=` is the test driver's host, served as
//!   `qemu:///system`, with no UEFI firmware when it fakes no domain
//!   capabilities;
//! * the harness's host facts: the default route goes through the bridge
//!   `testsuitebr0`, and the test driver defines a guest named `test`;
//! * paths: the sandbox's working folder stands for the virt-manager
//!   checkout (`tests/data/...`), its `pool-dir/` for the test driver's
//!   directory pool, with that pool's volumes in it.
//!
//! What must happen:
//!
//! * `valid` and `compare`: exit 0, or exit 1 saying `not supported yet`
//!   and naming an option the line uses;
//! * `invalid` (and the two compare cases that expect a failure): exit 1 or
//!   2, never a panic; where our message matches the case's `#@ grep:`
//!   pattern it counts as refused in virt-install's words.
//!
//! The checkout's fake install media are made as virt-manager's holds
//! them: the Fedora 17 tree (`TREEDIR`, a `.treeinfo` and its kernel and
//! initrd), the same tree as an ISO (`ISOTREE`), and the ISO libosinfo does
//! not know, holding only `frib.img` and `frob.img` (`ISO-NO-OS`); the
//! other fake ISOs stay files of zeros, which is all `--cdrom` needs.
//!
//! Two lists name the invalid cases this cannot hold for, each with why;
//! a case on them that starts to be refused fails the test until it is
//! taken off. Anything else fails with the case and what we printed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use clap::CommandFactory;
use common::{Run, Sandbox};

/// Invalid cases whose error comes from running the install (the wait for
/// it to end): `--dry-run` stops before that in virt-install too, so under
/// it they must simply be accepted. Recognised by their `#@ grep:`.
const RUN_TIME_ONLY: &[&str] = &["exceeded specified time limit"];

/// Invalid cases qvirt cannot refuse yet, by a piece of their line, and why.
const KNOWN_GAPS: &[(&str, &str)] = &[(
    "--disk /pool-dir/backingl3.img",
    "the disk is another guest's backing file: needs the runtime's disk_users \
         and backing chains",
)];

/// The test driver's directory pool: its volumes exist.
const POOL_VOLUMES: &[&str] = &[
    "testvol1.img",
    "testvol2.img",
    "collidevol1.img",
    "iso-vol",
    "sharevol.img",
    "backingl3.img",
    "UPPER",
];

/// Placeholders that name folders, not files.
const FOLDER_PLACEHOLDERS: &[&str] = &["XMLDIR", "TREEDIR"];

/// Old spellings and the option virt-install (and qvirt) turns each into
/// (virt-install.md §11), so that a refusal of the option it became names
/// the option the user typed.
const OLD_SPELLINGS: &[(&str, &str)] = &[
    ("ram", "memory"),
    ("cdrom_short", "cdrom"),
    ("file", "disk"),
    ("file_size", "disk"),
    ("nonsparse", "disk"),
    ("nodisks", "disk"),
    ("bridge", "network"),
    ("mac", "network"),
    ("nonetworks", "network"),
    ("vnc", "graphics"),
    ("vncport", "graphics"),
    ("vnclisten", "graphics"),
    ("keymap", "graphics"),
    ("sdl", "graphics"),
    ("nographics", "graphics"),
    ("noacpi", "features"),
    ("noapic", "features"),
    ("cpuset", "vcpus"),
    ("init", "boot"),
    ("uuid", "metadata"),
    ("description", "metadata"),
    ("force", "check"),
    ("print_step", "print_xml"),
];

/// One line of the corpus.
#[derive(Debug, Clone)]
struct Case {
    /// Its line number in the file, for messages.
    line: usize,
    /// `valid`, `invalid` or `compare`.
    expect: String,
    /// The arguments as the file has them, placeholders and all.
    args: String,
    /// The `#@ key: value` lines before it.
    meta: BTreeMap<String, String>,
}

impl Case {
    /// Whether virt-install fails on it.
    fn expects_failure(&self) -> bool {
        self.expect == "invalid" || self.meta.get("expect_failure").is_some_and(|v| v == "true")
    }
}

/// The corpus and what its header says about the placeholders.
struct Corpus {
    cases: Vec<Case>,
    /// `NAME` → value, from the header.
    placeholders: BTreeMap<String, String>,
}

fn load() -> Corpus {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/virt-install-cli-cases.tsv");
    let text = fs::read_to_string(&path).expect("the corpus is in tests/data");
    let mut cases = Vec::new();
    let mut placeholders = BTreeMap::new();
    let mut meta = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("#@ ") {
            if let Some((key, value)) = rest.split_once(": ") {
                meta.insert(key.to_string(), value.to_string());
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("#   %(") {
            if let Some((name, value)) = rest.split_once(")s = ") {
                let value = value.split_whitespace().next().unwrap_or_default();
                placeholders.insert(name.to_string(), value.to_string());
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (expect, args) = line.split_once('\t').expect("EXPECT<TAB>ARGS");
        cases.push(Case {
            line: index + 1,
            expect: expect.to_string(),
            args: args.to_string(),
            meta: std::mem::take(&mut meta),
        });
    }
    Corpus {
        cases,
        placeholders,
    }
}

impl Corpus {
    /// The URI qvirt gets for a placeholder or literal test URI, and the
    /// host facts that go with it.
    fn uri(&self, value: &str) -> (String, Vec<(String, String)>) {
        let fake = value
            .split(',')
            .find_map(|part| part.strip_prefix("fakeuri="))
            .map(str::to_string);
        let domcaps = value.split(',').any(|part| part.starts_with("domcaps="));
        let mut env = Vec::new();
        if !domcaps {
            // No domain capabilities: libvirt reports no UEFI firmware.
            env.push(("QVIRT_FIRMWARE".to_string(), "none".to_string()));
        }
        let uri = fake.unwrap_or_else(|| "qemu:///system".to_string());
        (uri, env)
    }

    /// The case's words with every placeholder filled in, and the
    /// environment it runs with.
    fn expand(&self, case: &Case, sandbox: &Sandbox) -> (Vec<String>, Vec<(String, String)>) {
        let mut env = vec![("QVIRT_NET".to_string(), "route=testsuitebr0".to_string())];
        let mut text = case.args.clone();
        for (name, value) in &self.placeholders {
            let key = format!("%({name})s");
            if !text.contains(&key) {
                continue;
            }
            let replacement = if name.starts_with("URI-") {
                let (uri, facts) = self.uri(value);
                env.extend(facts);
                uri
            } else {
                value.clone()
            };
            text = text.replace(&key, &replacement);
        }
        if text.contains("test:///default") {
            // libvirt's own test driver: a host with no domain capabilities.
            text = text.replace("test:///default", "qemu:///system");
            env.push(("QVIRT_FIRMWARE".to_string(), "none".to_string()));
        }
        let cwd = sandbox.cwd().display().to_string();
        let text = text
            .replace("/pool-dir/", &format!("{cwd}/pool-dir/"))
            .replace("/tmp/__virtinst", &format!("{cwd}/tmp/__virtinst"));
        if let Some((key, value)) = case.meta.get("env").and_then(|e| e.split_once('=')) {
            env.push((key.to_string(), value.to_string()));
        }
        let mut words = shell_words::split(&text)
            .unwrap_or_else(|e| panic!("line {}: not a shell line: {e}", case.line));
        words.push("--dry-run".into());
        (words, env)
    }

    /// The test driver's world in the sandbox: its pool, its guest `test`,
    /// and the checkout's files the line names.
    fn furnish(&self, words: &[String], sandbox: &Sandbox) {
        let pool = sandbox.cwd().join("pool-dir");
        fs::create_dir_all(&pool).expect("pool folder");
        for volume in POOL_VOLUMES {
            common::sparse_file(&pool.join(volume), 1 << 20);
        }
        let tmp = sandbox.cwd().join("tmp");
        fs::create_dir_all(&tmp).expect("tmp folder");
        common::sparse_file(&tmp.join("__virtinst_cli_exist1.img"), 0);
        sandbox.define_guest("test");
        // virt-install's test driver has a guest using collidevol1.img;
        // define one here too (defined, not started), for path_in_use.
        let collide = pool.join("collidevol1.img").display().to_string();
        let define = [
            "--name",
            "test-collide",
            "--memory",
            "64",
            "--osinfo",
            "generic",
            "--import",
            "--disk",
            &collide,
            "--noreboot",
            "--quiet",
        ];
        let args: Vec<String> = define.iter().map(|a| a.to_string()).collect();
        let run = sandbox.run(&args, &[]);
        assert_eq!(
            run.code,
            Some(0),
            "defining the colliding guest: {}",
            run.both()
        );
        // The firmware the fake domain capabilities offer (`QVIRT_FIRMWARE`
        // of the sandbox names these two).
        for name in [common::FIRMWARE_CODE, common::FIRMWARE_VARS] {
            common::sparse_file(&sandbox.cwd().join(name), 64 << 10);
        }
        // `--initrd-inject virt-install` injects the script itself, from the
        // top of virt-manager's checkout.
        fs::write(sandbox.cwd().join("virt-install"), "#!/usr/bin/python3\n").expect("script");

        let folders: BTreeSet<&str> = FOLDER_PLACEHOLDERS
            .iter()
            .filter_map(|name| self.placeholders.get(*name).map(String::as_str))
            .collect();
        self.fake_media(words, sandbox);
        for word in words {
            let mut rest = word.as_str();
            while let Some(at) = rest.find("tests/data/") {
                let tail = &rest[at..];
                let end = tail.find([',', ' ', '\'', '"']).unwrap_or(tail.len());
                let path = sandbox.cwd().join(&tail[..end]);
                if folders.contains(&tail[..end]) {
                    fs::create_dir_all(&path).expect("checkout folder");
                } else {
                    fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
                    if !path.exists() {
                        common::sparse_file(&path, 1 << 16);
                        label_fake_media(&path);
                    }
                }
                rest = &tail[end..];
            }
        }
    }
}

impl Corpus {
    /// The fake install media a line names, with the files in them.
    fn fake_media(&self, words: &[String], sandbox: &Sandbox) {
        let named = |placeholder: &str| {
            let path = self.placeholders.get(placeholder)?;
            words
                .iter()
                .any(|w| w.contains(path.as_str()))
                .then(|| sandbox.cwd().join(path))
        };
        let fedora17 = [
            (
                ".treeinfo",
                "[general]\nfamily = Fedora\nversion = 17\narch = x86_64\n\n\
                 [images-x86_64]\nkernel = images/pxeboot/vmlinuz\n\
                 initrd = images/pxeboot/initrd.img\n",
            ),
            ("images/pxeboot/vmlinuz", "kernel"),
            ("images/pxeboot/initrd.img", "initrd"),
        ];
        if let Some(tree) = named("TREEDIR") {
            write_tree(&tree, &fedora17);
        }
        if let Some(iso) = named("ISOTREE") {
            make_iso(&iso, &fedora17);
        }
        if let Some(iso) = named("ISO-NO-OS") {
            make_iso(&iso, &[("frib.img", "kernel"), ("frob.img", "initrd")]);
        }
    }
}

fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().expect("a parent")).expect("tree folder");
        fs::write(&path, text).expect("tree file");
    }
}

/// An ISO holding `files`, made with `xorriso` as virt-manager's are.
fn make_iso(iso: &Path, files: &[(&str, &str)]) {
    let tree = tempfile::tempdir().expect("a folder for the ISO's files");
    write_tree(tree.path(), files);
    fs::create_dir_all(iso.parent().expect("a parent")).expect("media folder");
    let status = std::process::Command::new(common::program("xorriso"))
        .args(["-as", "mkisofs", "-quiet", "-R", "-J", "-o"])
        .arg(iso)
        .arg(tree.path())
        .status()
        .expect("xorriso runs (the Debian package `xorriso`)");
    assert!(status.success(), "xorriso made {}", iso.display());
}

/// The ISO 9660 identifiers of virt-install's fake install media that its
/// OS detection recognises (system id, volume id, publisher id), so that
/// qvirt's detection sees what libosinfo sees in them.
const FAKE_MEDIA_LABELS: &[(&str, &str, &str, &str)] = &[
    ("fake-centos65-label.iso", "LINUX", "CentOS_6.5_Final", ""),
    (
        "fake-win-multi.iso",
        "",
        "CEDNA_X64FRE_EN-US_DV5",
        "MICROSOFT CORPORATION",
    ),
];

/// Writes an ISO 9660 primary volume descriptor with the medium's
/// identifiers into a fake medium virt-install's tests detect by label.
fn label_fake_media(path: &Path) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let Some((_, system, volume, publisher)) =
        FAKE_MEDIA_LABELS.iter().find(|(file, ..)| *file == name)
    else {
        return;
    };
    let mut sector = vec![b' '; 2048];
    sector[0] = 1;
    sector[1..6].copy_from_slice(b"CD001");
    sector[6] = 1;
    for (at, text) in [(8, system), (40, volume), (318, publisher)] {
        sector[at..at + text.len()].copy_from_slice(text.as_bytes());
    }
    let mut image = fs::read(path).expect("fake medium");
    image.resize(image.len().max(17 * 2048), 0);
    image[16 * 2048..17 * 2048].copy_from_slice(&sector);
    fs::write(path, image).expect("label the fake medium");
}

/// How one case came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// A valid or compare case that parsed and planned (exit 0).
    Ok,
    /// A valid or compare case refused as not supported yet.
    NotSupportedYet,
    /// A failing case refused, in virt-install's words.
    RefusedInWords,
    /// A failing case refused, in other words.
    Refused,
    /// A failing case accepted by `--dry-run`, as virt-install accepts it.
    RunTimeOnly,
    /// A failing case on the known-gaps list, still accepted.
    KnownGap,
}

/// Judges one run; `Err` is a failure of the test, with the reason.
fn judge(case: &Case, words: &[String], run: &Run, options: &Options) -> Result<Outcome, String> {
    if run.panicked() {
        return Err("it panicked".into());
    }
    let gap = KNOWN_GAPS
        .iter()
        .find(|(piece, _)| case.args.contains(piece));
    let run_time = case
        .meta
        .get("grep")
        .is_some_and(|grep| RUN_TIME_ONLY.contains(&grep.as_str()));
    let accepted = run.code == Some(0) || unsupported_for(words, run, options).is_ok();

    if case.expects_failure() && (gap.is_some() || run_time) {
        return match (accepted, gap) {
            (true, Some(_)) => Ok(Outcome::KnownGap),
            (true, None) => Ok(Outcome::RunTimeOnly),
            (false, Some((_, why))) => Err(format!(
                "refused now, so take it off KNOWN_GAPS (it was there because {why})"
            )),
            (false, None) => Err("refused under --dry-run, which stops before the \
                 install runs; RUN_TIME_ONLY says it must be accepted"
                .into()),
        };
    }
    if case.expects_failure() {
        if !matches!(run.code, Some(1 | 2)) {
            return Err(format!("exit {:?}, expected 1 or 2", run.code));
        }
        let words_match = case
            .meta
            .get("grep")
            .is_some_and(|grep| Pattern::new(grep).is_found_in(&run.both()));
        return Ok(if words_match {
            Outcome::RefusedInWords
        } else {
            Outcome::Refused
        });
    }
    match run.code {
        Some(0) => Ok(Outcome::Ok),
        Some(1) => unsupported_for(words, run, options).map(|()| Outcome::NotSupportedYet),
        other => Err(format!("exit {other:?}, expected 0 or 1")),
    }
}

/// `Ok` when the run exited 1 saying `not supported yet` about an option
/// the line uses.
fn unsupported_for(words: &[String], run: &Run, options: &Options) -> Result<(), String> {
    if run.code != Some(1) || !run.stderr.contains("not supported yet") {
        return Err("exit 1 without `not supported yet`".into());
    }
    let used = options.used_by(words);
    let named: BTreeSet<String> = run
        .stderr
        .lines()
        .filter(|line| line.contains("not supported yet"))
        .flat_map(options_in)
        .filter_map(|name| options.id_of_long(&name))
        .collect();
    if named.is_disjoint(&used) {
        return Err(format!(
            "`not supported yet` names {named:?}, but the line uses {used:?}"
        ));
    }
    Ok(())
}

/// Every `--name` in a message.
fn options_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let tail = &rest[at + 2..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(tail.len());
        if end > 0 {
            names.push(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    names
}

/// qvirt-install's options, from its clap definition: every long name,
/// alias and short name, by the argument they belong to.
struct Options {
    command: clap::Command,
    long: BTreeMap<String, String>,
    short: BTreeMap<char, String>,
}

impl Options {
    fn new() -> Options {
        let command = qvirt::cli::InstallArgs::command();
        let mut long = BTreeMap::new();
        let mut short = BTreeMap::new();
        for arg in command.get_arguments() {
            let id = canonical(arg.get_id().as_str());
            for name in arg
                .get_long()
                .into_iter()
                .chain(arg.get_all_aliases().unwrap_or_default())
            {
                long.insert(name.to_string(), id.clone());
            }
            if let Some(c) = arg.get_short() {
                short.insert(c, id.clone());
            }
        }
        Options {
            command,
            long,
            short,
        }
    }

    fn id_of_long(&self, name: &str) -> Option<String> {
        self.long.get(name).cloned()
    }

    /// The options a command line uses, prefixes expanded as the binary
    /// expands them.
    fn used_by(&self, words: &[String]) -> BTreeSet<String> {
        let words = qvirt::cli::abbrev::expand(&self.command, words.to_vec()).unwrap_or_default();
        let mut used = BTreeSet::new();
        for word in &words {
            if let Some(body) = word.strip_prefix("--") {
                let name = body.split_once('=').map_or(body, |(name, _)| name);
                used.extend(self.id_of_long(name));
            } else if let Some(c) = word.strip_prefix('-').and_then(|s| s.chars().next()) {
                used.extend(self.short.get(&c).cloned());
            }
        }
        used
    }
}

/// An argument's id, with old spellings folded into what they become.
fn canonical(id: &str) -> String {
    OLD_SPELLINGS
        .iter()
        .find(|(old, _)| *old == id)
        .map_or(id, |(_, new)| new)
        .to_string()
}

#[test]
fn virt_install_corpus() {
    let corpus = load();
    assert_eq!(
        corpus.cases.len(),
        284,
        "the corpus has 284 virt-install lines"
    );
    for (piece, _) in KNOWN_GAPS {
        let hits = corpus
            .cases
            .iter()
            .filter(|c| c.args.contains(piece))
            .count();
        assert_eq!(
            hits, 1,
            "KNOWN_GAPS entry `{piece}` must name exactly one case"
        );
    }

    let options = Options::new();
    let results: Vec<(Case, Result<Outcome, String>, String)> = std::thread::scope(|scope| {
        let chunks: Vec<&[Case]> = corpus
            .cases
            .chunks(corpus.cases.len().div_ceil(2))
            .collect();
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (corpus, options) = (&corpus, &options);
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|case| {
                            let sandbox = Sandbox::new();
                            let (words, env) = corpus.expand(case, &sandbox);
                            corpus.furnish(&words, &sandbox);
                            let run = sandbox.run(&words, &env);
                            let verdict = judge(case, &words, &run, options);
                            (case.clone(), verdict, run.both())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker"))
            .collect()
    });

    let mut counts: BTreeMap<(String, Outcome), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    // `QVIRT_COMPAT_VERBOSE=1` lists the refusals whose words differ from
    // virt-install's, to work on.
    let verbose = std::env::var_os("QVIRT_COMPAT_VERBOSE").is_some();
    for (case, verdict, printed) in &results {
        if verbose && matches!(verdict, Ok(Outcome::Refused)) {
            let grep = case.meta.get("grep").map_or("(none)", String::as_str);
            println!("line {}: grep {grep:?}\n{}", case.line, indent(printed));
        }
        match verdict {
            Ok(outcome) => *counts.entry((case.expect.clone(), *outcome)).or_default() += 1,
            Err(why) => failures.push(format!(
                "line {} ({}): {why}\n  {}\n  we printed:\n{}",
                case.line,
                case.expect,
                case.args,
                indent(printed)
            )),
        }
    }
    common::report(&summary(&counts));
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases fail:\n\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// `compat: valid 30 ok, 40 not supported yet; …`, the figure the README
/// quotes.
fn summary(counts: &BTreeMap<(String, Outcome), usize>) -> String {
    let count = |expect: &str, outcome: Outcome| {
        counts
            .get(&(expect.to_string(), outcome))
            .copied()
            .unwrap_or(0)
    };
    let parsed = |expect: &str| {
        format!(
            "{expect} {} ok, {} not supported yet",
            count(expect, Outcome::Ok),
            count(expect, Outcome::NotSupportedYet)
        )
    };
    let refused =
        |expect: &str| count(expect, Outcome::Refused) + count(expect, Outcome::RefusedInWords);
    let compare_failing = refused("compare");
    format!(
        "compat: {}; {}{}; invalid {} refused ({} in virt-install's words), \
         {} accepted by --dry-run as virt-install does, {} known gap{}",
        parsed("valid"),
        parsed("compare"),
        if compare_failing > 0 {
            format!(", {compare_failing} refused as their goldens expect")
        } else {
            String::new()
        },
        refused("invalid"),
        count("invalid", Outcome::RefusedInWords),
        count("invalid", Outcome::RunTimeOnly),
        count("invalid", Outcome::KnownGap),
        if count("invalid", Outcome::KnownGap) == 1 {
            ""
        } else {
            "s"
        },
    )
}

/// The part of Python's regular expressions the corpus's `#@ grep:`
/// patterns use: literals, `.`, `*`, `(a|b)` groups, and `\n`-style
/// escapes; found anywhere in the text, as `re.search` does.
struct Pattern {
    alternatives: Vec<Vec<Node>>,
}

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Star(Box<Node>),
    Group(Vec<Vec<Node>>),
}

impl Pattern {
    fn new(pattern: &str) -> Pattern {
        let chars: Vec<char> = pattern.chars().collect();
        let mut at = 0;
        Pattern {
            alternatives: parse_alternatives(&chars, &mut at),
        }
    }

    fn is_found_in(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        (0..=text.len()).any(|start| {
            !ends_alternatives(&self.alternatives, &text, &BTreeSet::from([start])).is_empty()
        })
    }
}

fn parse_alternatives(chars: &[char], at: &mut usize) -> Vec<Vec<Node>> {
    let mut alternatives = vec![Vec::new()];
    while *at < chars.len() {
        let c = chars[*at];
        *at += 1;
        let node = match c {
            ')' => break,
            '|' => {
                alternatives.push(Vec::new());
                continue;
            }
            '(' => Node::Group(parse_alternatives(chars, at)),
            '.' => Node::Any,
            '*' => {
                let sequence = alternatives.last_mut().expect("one alternative");
                if let Some(previous) = sequence.pop() {
                    sequence.push(Node::Star(Box::new(previous)));
                }
                continue;
            }
            '\\' => {
                let escaped = chars.get(*at).copied().unwrap_or('\\');
                *at += 1;
                Node::Char(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                })
            }
            other => Node::Char(other),
        };
        alternatives.last_mut().expect("one alternative").push(node);
    }
    alternatives
}

/// Every position a match of `alternatives` can end at, from `starts`.
fn ends_alternatives(
    alternatives: &[Vec<Node>],
    text: &[char],
    starts: &BTreeSet<usize>,
) -> BTreeSet<usize> {
    alternatives
        .iter()
        .flat_map(|sequence| {
            sequence.iter().fold(starts.clone(), |positions, node| {
                positions
                    .iter()
                    .flat_map(|&p| ends_node(node, text, p))
                    .collect()
            })
        })
        .collect()
}

fn ends_node(node: &Node, text: &[char], at: usize) -> BTreeSet<usize> {
    match node {
        Node::Char(c) => text
            .get(at)
            .filter(|t| *t == c)
            .map(|_| at + 1)
            .into_iter()
            .collect(),
        // As in Python, `.` does not match a newline.
        Node::Any => text
            .get(at)
            .filter(|t| **t != '\n')
            .map(|_| at + 1)
            .into_iter()
            .collect(),
        Node::Group(alternatives) => ends_alternatives(alternatives, text, &BTreeSet::from([at])),
        Node::Star(inner) => {
            let mut reached = BTreeSet::from([at]);
            let mut frontier = reached.clone();
            while !frontier.is_empty() {
                let next: BTreeSet<usize> = frontier
                    .iter()
                    .flat_map(|&p| ends_node(inner, text, p))
                    .filter(|p| !reached.contains(p))
                    .collect();
                reached.extend(next.iter().copied());
                frontier = next;
            }
            reached
        }
    }
}

#[test]
fn grep_patterns_match_as_python_does() {
    let cases = [
        (
            "Unknown --clock options:.*'foo_tickpolicy'",
            "Unknown --clock options: ['a', 'foo_tickpolicy']",
            true,
        ),
        (
            "(/@foo xmlXPathEval|not an iterator)",
            "x not an iterator y",
            true,
        ),
        ("(/@foo xmlXPathEval|not an iterator)", "neither", false),
        ("Restarting guest.\\n", "Restarting guest.\nmore", true),
        ("Restarting guest.\\n", "Restarting guest.", false),
        ("a.*b", "a\nb", false),
        (
            "Option 'keymap' had no value set.",
            "Option 'keymap' had no value set.",
            true,
        ),
    ];
    for (pattern, text, want) in cases {
        assert_eq!(
            Pattern::new(pattern).is_found_in(text),
            want,
            "{pattern:?} in {text:?}"
        );
    }
}

#[test]
fn options_are_named_in_messages() {
    assert_eq!(
        options_in("error: --location, --extra-args are not supported yet"),
        ["location", "extra-args"]
    );
    let options = Options::new();
    let words: Vec<String> = ["--os-var", "x", "-c", "a.iso", "--sdl", "--disk=a"]
        .iter()
        .map(|w| w.to_string())
        .collect();
    let used = options.used_by(&words);
    for id in ["osinfo", "cdrom", "graphics", "disk"] {
        assert!(used.contains(id), "{id} in {used:?}");
    }
}
