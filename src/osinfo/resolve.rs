//! Resolution of a user-supplied `--osinfo` name to an OS, with qvirt's
//! fallbacks where virt-install 4 simply fails:
//!
//! * exact short id or alias, case-insensitive; `generic` and `none`; a value
//!   containing `://` is a full libosinfo id;
//! * old names earlier virt-install releases accepted (`linux`, `virtio26`,
//!   `windows`, `vista`...);
//! * `linux20NN` missing from an older database: the newest generic Linux;
//! * names of a known family in a version the database lacks (`rhel7`,
//!   `debian13`, `ubuntu24.04`, `win2025`...): the closest entry of that
//!   family (the distro prefix is the short id without its trailing version);
//! * well-known Linux or Windows names when the database has no such family:
//!   a generic Linux or Windows entry.
//!
//! Only a name that matches nothing is refused, in virt-install's words.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::OsinfoError;
use super::model::{Family, OsRecord};

/// What a name resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Generic,
    Record(usize),
}

/// Why a fallback was used (decides the warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Closest entry of the same family; `newer`: newer than every entry.
    Closest { newer: bool },
    /// `linux20NN` not in the database.
    GenericLinux { newer: bool },
    /// An old virt-install name; the string says what was picked.
    OldName(&'static str),
    /// A well-known name whose family the database lacks.
    NoFamily(&'static str),
}

/// A resolution: the target and, for a fallback, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) target: Target,
    pub(crate) reason: Option<Reason>,
}

impl Outcome {
    fn exact(target: Target) -> Outcome {
        Outcome {
            target,
            reason: None,
        }
    }

    fn fallback(index: usize, reason: Reason) -> Outcome {
        Outcome {
            target: Target::Record(index),
            reason: Some(reason),
        }
    }
}

/// Old names: `(name, target)`; `None` means "a generic Linux with virtio".
const OLD_NAMES: [(&str, Option<&str>); 10] = [
    ("linux", None),
    ("virtio26", None),
    ("windows", Some("win10")),
    ("vista", Some("winvista")),
    ("winxp64", Some("winxp")),
    ("solaris", Some("solaris10")),
    ("unix", Some("freebsd")),
    ("msdos", Some("msdos6.22")),
    ("opensolaris", Some("opensolaris2009.06")),
    ("other", Some("generic")),
];

/// Families known to be Linux, for databases (or the built-in table) lacking them.
const LINUX_FAMILIES: [&str; 28] = [
    "almalinux",
    "alpinelinux",
    "altlinux",
    "archlinux",
    "centos",
    "centos-stream",
    "debian",
    "elementary",
    "endless",
    "fedora",
    "fedora-coreos",
    "gentoo",
    "kali",
    "linuxmint",
    "mageia",
    "manjaro",
    "mint",
    "nixos",
    "ol",
    "opensuse",
    "popos",
    "rhel",
    "rocky",
    "sle",
    "sled",
    "sles",
    "slem",
    "ubuntu",
];

/// Families known to be Windows.
const WINDOWS_FAMILIES: [&str; 6] = ["win", "win2k", "winnt", "winxp", "winvista", "winme"];

/// The name lookup tables over a record list; `listed` records are the
/// database, any after them are hidden built-in fallbacks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    by_name: HashMap<String, usize>,
    by_uri: HashMap<String, usize>,
    listed: usize,
}

impl Names {
    pub(crate) fn new(records: &[OsRecord], listed: usize) -> Names {
        let mut names = Names {
            listed,
            ..Names::default()
        };
        for (i, rec) in records.iter().enumerate().take(listed) {
            names.by_name.entry(rec.id().to_lowercase()).or_insert(i);
            if let Some(uri) = &rec.uri {
                names.by_uri.entry(uri.clone()).or_insert(i);
            }
        }
        for (i, rec) in records.iter().enumerate().take(listed) {
            for alias in rec.short_ids.iter().skip(1) {
                names.by_name.entry(alias.to_lowercase()).or_insert(i);
            }
        }
        names
    }
}

/// Resolves `name` against `records`.
pub(crate) fn resolve(
    records: &[OsRecord],
    names: &Names,
    name: &str,
) -> Result<Outcome, OsinfoError> {
    let name = name.trim();
    if name.contains("://") {
        return by_uri(records, names, name);
    }
    let key = name.to_lowercase();
    let r = Resolver { records, names };
    r.lookup(&key).ok_or_else(|| OsinfoError::UnknownName {
        name: name.to_owned(),
    })
}

fn by_uri(records: &[OsRecord], names: &Names, uri: &str) -> Result<Outcome, OsinfoError> {
    let found = names.by_uri.get(uri).copied().or_else(|| {
        let listed = &records[..names.listed];
        listed.iter().position(|r| {
            r.uri
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(uri))
        })
    });
    found
        .map(|i| Outcome::exact(Target::Record(i)))
        .ok_or_else(|| OsinfoError::UnknownId { id: uri.to_owned() })
}

struct Resolver<'a> {
    records: &'a [OsRecord],
    names: &'a Names,
}

impl Resolver<'_> {
    fn lookup(&self, key: &str) -> Option<Outcome> {
        if key == "generic" || key == "none" {
            return Some(Outcome::exact(Target::Generic));
        }
        if let Some(&i) = self.names.by_name.get(key) {
            return Some(Outcome::exact(Target::Record(i)));
        }
        if let Some(found) = self.old_name(key) {
            return Some(found);
        }
        if let Some(year) = linux_year(key) {
            return self.generic_linux().map(|(i, newest)| {
                Outcome::fallback(
                    i,
                    Reason::GenericLinux {
                        newer: year > newest,
                    },
                )
            });
        }
        let key = windows_year(key).unwrap_or_else(|| key.to_owned());
        self.family(&key).or_else(|| self.well_known(&key))
    }

    /// Exact name or closest family entry, for an old name's target.
    fn find(&self, key: &str) -> Option<Target> {
        if key == "generic" {
            return Some(Target::Generic);
        }
        let exact = self.names.by_name.get(key).map(|&i| Target::Record(i));
        exact.or_else(|| self.family(key).map(|o| o.target))
    }

    fn old_name(&self, key: &str) -> Option<Outcome> {
        let (_, target) = OLD_NAMES.iter().find(|(old, _)| *old == key)?;
        let Some(target) = target else {
            let (i, _) = self.generic_linux()?;
            return Some(Outcome::fallback(
                i,
                Reason::OldName("a generic Linux with virtio"),
            ));
        };
        let found = self.find(target)?;
        Some(Outcome {
            target: found,
            reason: Some(Reason::OldName("its modern equivalent")),
        })
    }

    /// The newest `linux20NN` entry (hidden built-ins included) and its year.
    fn generic_linux(&self) -> Option<(usize, u32)> {
        let years = self
            .records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, linux_year(r.id())?)));
        years.max_by_key(|&(_, year)| year)
    }

    /// Entries sharing the name's family prefix, with their parsed versions.
    fn members(&self, prefix: &str) -> Vec<(usize, Version)> {
        let listed = self.records.iter().take(self.names.listed).enumerate();
        let parsed = listed.filter_map(|(i, rec)| {
            let versions = rec
                .short_ids
                .iter()
                .map(|s| Version::parse(&s.to_lowercase()));
            versions
                .filter(|v| v.prefix == prefix)
                .find(Version::is_usable)
                .map(|v| (i, v))
        });
        parsed.collect()
    }

    fn family(&self, key: &str) -> Option<Outcome> {
        let want = Version::parse(key);
        if want.prefix.is_empty() {
            return None;
        }
        let members = self.members(&want.prefix);
        let (index, _) = closest(&members, &want)?;
        let newer = members
            .iter()
            .filter(|(_, v)| !v.unknown)
            .all(|(_, v)| cmp(&v.nums, &want.nums).is_lt());
        Some(Outcome::fallback(
            index,
            Reason::Closest {
                newer: newer && !want.nums.is_empty(),
            },
        ))
    }

    /// A generic Linux or Windows entry for a well-known family the database lacks.
    fn well_known(&self, key: &str) -> Option<Outcome> {
        let prefix = Version::parse(key).prefix;
        if LINUX_FAMILIES.contains(&prefix.as_str()) {
            let (i, _) = self.generic_linux()?;
            return Some(Outcome::fallback(
                i,
                Reason::NoFamily("a generic Linux with virtio"),
            ));
        }
        if !WINDOWS_FAMILIES.contains(&prefix.as_str()) {
            return None;
        }
        let windows = self.records.iter().take(self.names.listed).enumerate();
        let windows = windows.filter(|(_, r)| r.family == Family::Windows);
        let pick = windows.clone().find(|(_, r)| r.id() == "win10");
        let newest = || windows.max_by(|(_, a), (_, b)| a.release_date.cmp(&b.release_date));
        let (i, _) = pick.or_else(newest)?;
        Some(Outcome::fallback(i, Reason::NoFamily("a generic Windows")))
    }
}

/// The closest member: the major's `-unknown` entry, else the newest entry of
/// the same major, else the newest older entry, else the oldest one.
fn closest(members: &[(usize, Version)], want: &Version) -> Option<(usize, Vec<u64>)> {
    let rank = |(i, v): &(usize, Version)| (*i, v.rank());
    let newest = |it: &mut dyn Iterator<Item = &(usize, Version)>| {
        it.map(rank).max_by(|a, b| cmp(&a.1, &b.1))
    };
    let Some(&major) = want.nums.first() else {
        return newest(&mut members.iter());
    };
    let same = || {
        members
            .iter()
            .filter(move |(_, v)| v.nums.first() == Some(&major))
    };
    if let Some(unknown) = same().find(|(_, v)| v.unknown && v.nums.len() == 1) {
        return Some(rank(unknown));
    }
    let older = || {
        members
            .iter()
            .filter(|(_, v)| cmp(&v.rank(), &want.nums).is_le())
    };
    newest(&mut same())
        .or_else(|| newest(&mut older()))
        .or_else(|| members.iter().map(rank).min_by(|a, b| cmp(&a.1, &b.1)))
}

/// `linux2022` → 2022.
fn linux_year(key: &str) -> Option<u32> {
    let digits = key.strip_prefix("linux")?;
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

/// `win2025` → `win2k25`, libosinfo's spelling of Windows Server releases.
fn windows_year(key: &str) -> Option<String> {
    let digits = key.strip_prefix("win20")?;
    (digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("win2k{digits}"))
}

/// A short id split into family prefix and version: `rhel9.4` → `rhel`, `[9, 4]`;
/// `rhel7-unknown` → `rhel`, `[7]`, unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) prefix: String,
    pub(crate) nums: Vec<u64>,
    pub(crate) unknown: bool,
}

impl Version {
    pub(crate) fn parse(id: &str) -> Version {
        let (base, unknown) = match id.strip_suffix("-unknown") {
            Some(base) => (base, true),
            None => (id, false),
        };
        let split = base
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
            .len();
        let (mut prefix, mut tail) = base.split_at(split);
        while let Some(rest) = tail.strip_prefix('.') {
            (prefix, tail) = (&base[..base.len() - rest.len()], rest);
        }
        let nums = tail
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap_or(u64::MAX));
        Version {
            prefix: prefix.to_owned(),
            nums: nums.collect(),
            unknown,
        }
    }

    /// Version-less `-unknown` entries (`fedora-unknown`) are never a fallback.
    fn is_usable(&self) -> bool {
        !(self.unknown && self.nums.is_empty())
    }

    /// Sort rank: an `-unknown` entry ranks above every release of its major.
    fn rank(&self) -> Vec<u64> {
        let mut rank = self.nums.clone();
        if self.unknown {
            rank.push(u64::MAX);
        }
        rank
    }
}

/// Compares versions, missing components counting as zero.
fn cmp(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Context for warning texts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WarnCtx<'a> {
    pub(crate) version: Option<&'a str>,
    pub(crate) builtin: bool,
}

/// The warning for a fallback resolution.
pub(crate) fn warning(name: &str, chosen: &str, reason: Reason, ctx: WarnCtx<'_>) -> String {
    let db = match (ctx.builtin, ctx.version) {
        (true, _) => " (osinfo-db is not installed)".to_owned(),
        (false, Some(v)) => format!(" (osinfo-db {v})"),
        (false, None) => String::new(),
    };
    let (head, what, newer) = match reason {
        Reason::Closest { newer } => ("is not in the OS database", "its closest match", newer),
        Reason::GenericLinux { newer } => (
            "is not in the OS database",
            "the newest generic Linux",
            newer,
        ),
        Reason::OldName(what) => ("is an old name not in the OS database", what, false),
        Reason::NoFamily(what) => ("is not in the OS database", what, true),
    };
    let hint = match (newer, ctx.builtin) {
        (_, true) => "; install the Debian package osinfo-db for the full list",
        (true, false) => "; update the Debian package osinfo-db to get it",
        (false, false) => "",
    };
    format!("--osinfo {name} {head}{db}: using {chosen}, {what}{hint}")
}

#[cfg(test)]
mod tests {
    use super::{Names, Reason, Target, Version, WarnCtx, resolve, warning};
    use crate::osinfo::OsinfoError;
    use crate::osinfo::model::{Family, OsRecord};

    fn rec(ids: &[&str], family: Family) -> OsRecord {
        OsRecord {
            uri: Some(format!("http://example.org/{}", ids[0])),
            short_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            family,
            ..OsRecord::generic()
        }
    }

    fn sample() -> Vec<OsRecord> {
        let linux = [
            "rhel7.0",
            "rhel7.9",
            "rhel7-unknown",
            "rhel9.0",
            "rhel9.1",
            "rhel9-unknown",
        ];
        let mut recs: Vec<OsRecord> = linux.iter().map(|id| rec(&[id], Family::Linux)).collect();
        for ids in [
            &["debian10"][..],
            &["debian11", "debianbullseye"],
            &["fedora-unknown"],
            &["fedora37"],
        ] {
            recs.push(rec(ids, Family::Linux));
        }
        for id in [
            "linux2018",
            "linux2022",
            "ubuntu22.04",
            "ubuntu22.10",
            "centos-stream9",
        ] {
            recs.push(rec(&[id], Family::Linux));
        }
        for id in [
            "win10", "win11", "win2k19", "win2k22", "win95", "winxp", "winvista",
        ] {
            recs.push(rec(&[id], Family::Windows));
        }
        recs
    }

    fn id_of(recs: &[OsRecord], t: Target) -> String {
        match t {
            Target::Generic => "generic".to_owned(),
            Target::Record(i) => recs[i].id().to_owned(),
        }
    }

    #[test]
    fn resolution_table() {
        let recs = sample();
        let names = Names::new(&recs, recs.len());
        let closest = |newer| Some(Reason::Closest { newer });
        let cases: &[(&str, &str, Option<Reason>)] = &[
            ("debian11", "debian11", None),
            ("DebianBullseye", "debian11", None),
            ("http://example.org/win11", "win11", None),
            ("generic", "generic", None),
            ("none", "generic", None),
            ("rhel7", "rhel7-unknown", closest(false)),
            ("rhel9.4", "rhel9-unknown", closest(true)),
            ("rhel10", "rhel9-unknown", closest(true)),
            ("debian13", "debian11", closest(true)),
            ("fedora42", "fedora37", closest(true)),
            ("ubuntu24.04", "ubuntu22.10", closest(true)),
            ("ubuntu22.11", "ubuntu22.10", closest(true)),
            ("centos-stream10", "centos-stream9", closest(true)),
            ("win2025", "win2k22", closest(true)),
            ("win2k25", "win2k22", closest(true)),
            ("win12", "win11", closest(false)),
            ("fedora", "fedora37", closest(false)),
            (
                "linux2024",
                "linux2022",
                Some(Reason::GenericLinux { newer: true }),
            ),
            (
                "linux2010",
                "linux2022",
                Some(Reason::GenericLinux { newer: false }),
            ),
            (
                "linux",
                "linux2022",
                Some(Reason::OldName("a generic Linux with virtio")),
            ),
            (
                "virtio26",
                "linux2022",
                Some(Reason::OldName("a generic Linux with virtio")),
            ),
            (
                "vista",
                "winvista",
                Some(Reason::OldName("its modern equivalent")),
            ),
            (
                "other",
                "generic",
                Some(Reason::OldName("its modern equivalent")),
            ),
            (
                "rocky9",
                "linux2022",
                Some(Reason::NoFamily("a generic Linux with virtio")),
            ),
            (
                "winnt4.0",
                "win10",
                Some(Reason::NoFamily("a generic Windows")),
            ),
        ];
        for &(name, want, reason) in cases {
            let out = resolve(&recs, &names, name).expect(name);
            assert_eq!(
                (id_of(&recs, out.target).as_str(), out.reason),
                (want, reason),
                "{name}"
            );
        }
    }

    #[test]
    fn refusals_use_virt_install_words() {
        let recs = sample();
        let names = Names::new(&recs, recs.len());
        let cases = [
            (
                "frobnix3",
                "Unknown OS name 'frobnix3'. See `--osinfo list` for valid values.",
            ),
            (
                "fedora-unknown2",
                "Unknown OS name 'fedora-unknown2'. See `--osinfo list` for valid values.",
            ),
            ("foo://bar", "Unknown libosinfo ID 'foo://bar'"),
        ];
        for (name, message) in cases {
            let err = resolve(&recs, &names, name).expect_err(name);
            assert!(matches!(
                err,
                OsinfoError::UnknownName { .. } | OsinfoError::UnknownId { .. }
            ));
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn version_parse_table() {
        let cases: &[(&str, &str, &[u64], bool)] = &[
            ("rhel9.4", "rhel", &[9, 4], false),
            ("rhel7-unknown", "rhel", &[7], true),
            ("fedora-unknown", "fedora", &[], true),
            ("ubuntu24.04", "ubuntu", &[24, 4], false),
            ("centos-stream9", "centos-stream", &[9], false),
            ("sle15sp4", "sle15sp", &[4], false),
            ("win2k22", "win2k", &[22], false),
            ("winxp", "winxp", &[], false),
            ("debian1.1", "debian", &[1, 1], false),
            ("foo.", "foo.", &[], false),
        ];
        for &(id, prefix, nums, unknown) in cases {
            let want = Version {
                prefix: prefix.into(),
                nums: nums.to_vec(),
                unknown,
            };
            assert_eq!(Version::parse(id), want, "{id}");
        }
    }

    #[test]
    fn warning_texts() {
        let db = WarnCtx {
            version: Some("20221203"),
            builtin: false,
        };
        let none = WarnCtx {
            version: None,
            builtin: true,
        };
        let cases = [
            (
                warning(
                    "rhel7",
                    "rhel7-unknown",
                    Reason::Closest { newer: false },
                    db,
                ),
                "--osinfo rhel7 is not in the OS database (osinfo-db 20221203): \
                 using rhel7-unknown, its closest match",
            ),
            (
                warning("debian13", "debian11", Reason::Closest { newer: true }, db),
                "--osinfo debian13 is not in the OS database (osinfo-db 20221203): \
                 using debian11, its closest match; update the Debian package osinfo-db to get it",
            ),
            (
                warning(
                    "debian12",
                    "linux2024",
                    Reason::NoFamily("a generic Linux with virtio"),
                    none,
                ),
                "--osinfo debian12 is not in the OS database (osinfo-db is not installed): \
                 using linux2024, a generic Linux with virtio; \
                 install the Debian package osinfo-db for the full list",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
