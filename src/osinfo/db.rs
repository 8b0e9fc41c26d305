//! [`OsDb`]: loading the database (through the index cache), resolving
//! names, listing and identifying install media.

use std::cmp::Reverse;
use std::path::{Path, PathBuf};

use super::OsinfoError;
use super::builtin;
use super::index::{self, FORMAT, Index, Scan};
use super::loader::{self, MediaRule};
use super::media::{self, MediaMatch, VolumeDescriptor};
use super::model::{DEFAULT_ARCH, ListEntry, OsInfo, OsRecord};
use super::paths;
use super::resolve::{self, Names, Target, WarnCtx};

/// The loaded OS database.
#[derive(Debug, Clone)]
pub struct OsDb {
    /// Database records first (`listed` of them), then hidden built-in fallbacks.
    records: Vec<OsRecord>,
    listed: usize,
    names: Names,
    version: Option<String>,
    warnings: Vec<String>,
    builtin: bool,
    /// Media rules, JSON-encoded as in the index (decoded by media detection).
    media: String,
}

/// The answer to [`OsDb::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The OS used.
    pub os: OsInfo,
    /// Why it is not exactly what was asked for, if it is not.
    pub warnings: Vec<String>,
}

impl OsDb {
    /// Loads the database from the environment's directories, through the
    /// index cache. Never fails: without a database, the built-in table is
    /// used and [`OsDb::warnings`] says so.
    pub fn load() -> OsDb {
        let env = paths::process_env;
        let cache = paths::cache_file(&env);
        OsDb::load_from(&paths::db_dirs(&env), cache.as_deref())
    }

    /// Loads the database from `dirs` (later ones override earlier ones),
    /// reading and refreshing the index cache file `cache` if given.
    pub fn load_from(dirs: &[PathBuf], cache: Option<&Path>) -> OsDb {
        let scan = index::scan(dirs);
        let cached = cache.and_then(|c| index::read(c, &scan.fingerprint));
        let index = cached.unwrap_or_else(|| build(dirs, &scan, cache));
        OsDb::from_index(index, dirs)
    }

    fn from_index(mut index: Index, dirs: &[PathBuf]) -> OsDb {
        let builtin = index.records.is_empty();
        if builtin {
            index.warnings.push(no_database_warning(dirs));
            index.records = builtin::records();
            index.media = "[]".to_owned();
        }
        let mut records = index.records;
        let listed = records.len();
        if !records.iter().any(|r| r.id().starts_with("linux20")) {
            let newest = builtin::records()
                .into_iter()
                .rfind(|r| r.id().starts_with("linux20"));
            records.extend(newest);
        }
        let names = Names::new(&records, listed);
        let (version, warnings, media) = (index.version, index.warnings, index.media);
        OsDb {
            records,
            listed,
            names,
            version,
            warnings,
            builtin,
            media,
        }
    }

    /// Problems met while loading (unreadable files, no database at all).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether a real database was found (else the built-in table is in use).
    pub fn has_database(&self) -> bool {
        !self.builtin
    }

    /// The database version (its `VERSION` file), e.g. `20221203`.
    pub fn version(&self) -> Option<String> {
        self.version.clone()
    }

    /// Resolves a short id, alias or full libosinfo id (a value containing
    /// `://`), with the facts for [`DEFAULT_ARCH`].
    pub fn resolve(&self, name: &str) -> Result<Resolved, OsinfoError> {
        self.resolve_for_arch(name, DEFAULT_ARCH)
    }

    /// Like [`OsDb::resolve`], with the facts for guest architecture `arch`.
    pub fn resolve_for_arch(&self, name: &str, arch: &str) -> Result<Resolved, OsinfoError> {
        let outcome = resolve::resolve(&self.records, &self.names, name)?;
        let os = match outcome.target {
            Target::Generic => OsInfo::generic(),
            Target::Record(i) => self.records[i].info_for(arch),
        };
        let ctx = WarnCtx {
            version: self.version.as_deref(),
            builtin: self.builtin,
        };
        let warn = outcome
            .reason
            .map(|r| resolve::warning(name.trim(), &os.id, r, ctx));
        Ok(Resolved {
            os,
            warnings: warn.into_iter().collect(),
        })
    }

    /// Every OS, `generic` included, sorted like virt-install's `--osinfo list`.
    pub fn list(&self) -> Vec<ListEntry> {
        let mut out: Vec<ListEntry> = self.listed().iter().map(OsRecord::list_entry).collect();
        out.push(OsRecord::generic().list_entry());
        out.sort_by_cached_key(|e| sort_key(&e.id));
        out
    }

    /// The generic Linux ids (`linux2022`...), newest first, for error hints.
    pub fn generic_linux_names(&self) -> Vec<String> {
        let generic = |e: &ListEntry| {
            e.id.strip_prefix("linux")
                .is_some_and(|y| y.parse::<u32>().is_ok())
        };
        self.list()
            .into_iter()
            .filter(generic)
            .map(|e| e.id)
            .collect()
    }

    /// Identifies the OS of an ISO image from its volume descriptor; `Ok(None)`
    /// when no database rule matches.
    pub fn detect_media(&self, iso: &Path) -> Result<Option<OsInfo>, OsinfoError> {
        Ok(self.identify_media(iso)?.map(|m| m.os))
    }

    /// Like [`OsDb::detect_media`], also returning the matching rule's details.
    pub fn identify_media(&self, iso: &Path) -> Result<Option<MediaMatch>, OsinfoError> {
        let vd = VolumeDescriptor::read(iso)?;
        let rules = self.media_rules();
        let found = media::identify(self.listed(), &rules, &vd);
        Ok(found.map(|(rec, rule)| media::media_match(rec, rule, vd)))
    }

    /// Our own encoding, so decoding only fails on a corrupted cache that
    /// still had the right fingerprint; then no medium is identified.
    fn media_rules(&self) -> Vec<MediaRule> {
        serde_json::from_str(&self.media).unwrap_or_default()
    }

    fn listed(&self) -> &[OsRecord] {
        &self.records[..self.listed]
    }
}

/// Parses the database and refreshes the cache (best effort).
fn build(dirs: &[PathBuf], scan: &Scan, cache: Option<&Path>) -> Index {
    let built = loader::build(&scan.files);
    let index = Index {
        format: FORMAT,
        fingerprint: scan.fingerprint.clone(),
        dirs: dirs.iter().map(|d| d.display().to_string()).collect(),
        version: index::version(scan),
        warnings: built.warnings,
        records: built.records,
        media: serde_json::to_string(&built.media).unwrap_or_else(|_| "[]".to_owned()),
    };
    if let Some(path) = cache.filter(|_| !index.records.is_empty()) {
        // Without a writable cache qvirt still works, only slower.
        let _ = index::write(path, &index);
    }
    index
}

fn no_database_warning(dirs: &[PathBuf]) -> String {
    let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    format!(
        "no OS database found in {}: using a small built-in table; \
         install the Debian package osinfo-db for the full list",
        list.join(", ")
    )
}

/// virt-install's natural sort: text case-insensitively, numbers descending.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Text(String),
    Num(Reverse<u128>),
}

fn sort_key(id: &str) -> Vec<Part> {
    let mut parts = vec![Part::Text(String::new())];
    for c in id.chars() {
        let digit = c.to_digit(10);
        match (parts.last_mut(), digit) {
            (Some(Part::Num(Reverse(n))), Some(d)) => {
                *n = n.saturating_mul(10).saturating_add(d.into())
            }
            (Some(Part::Text(t)), None) => t.extend(c.to_lowercase()),
            (_, Some(d)) => parts.push(Part::Num(Reverse(d.into()))),
            (_, None) => parts.push(Part::Text(c.to_lowercase().collect())),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::{OsDb, sort_key};
    use crate::osinfo::model::{Family, Uefi};
    use crate::osinfo::{OsinfoError, regex::Regex};
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const SYSTEM_DB: &str = "/usr/share/osinfo";

    /// The real Debian osinfo-db, or `None` (with the reason printed) when absent.
    fn real_db(cache: Option<&Path>) -> Option<OsDb> {
        if !Path::new(SYSTEM_DB).join("os").is_dir() {
            eprintln!("skipped: {SYSTEM_DB} is absent (apt-get install osinfo-db)");
            return None;
        }
        Some(OsDb::load_from(&[PathBuf::from(SYSTEM_DB)], cache))
    }

    fn cached_db() -> Option<(tempfile::TempDir, OsDb)> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = real_db(Some(&tmp.path().join("index.json")))?;
        Some((tmp, db))
    }

    #[test]
    fn sort_key_is_virt_install_natural_order() {
        let mut ids = [
            "debian9",
            "Debian10",
            "debian1.1",
            "centos7.0",
            "generic",
            "debian10",
            "win2k22",
        ];
        ids.sort_by_cached_key(|id| sort_key(id));
        assert_eq!(
            ids,
            [
                "centos7.0",
                "Debian10",
                "debian10",
                "debian9",
                "debian1.1",
                "generic",
                "win2k22"
            ]
        );
    }

    #[test]
    fn real_lookups_table() {
        let Some((_tmp, db)) = cached_db() else {
            return;
        };
        assert!(
            db.has_database() && db.warnings().is_empty(),
            "{:?}",
            db.warnings()
        );
        assert!(db.version().is_some());
        // (name, id, family, virtio disk+net, q35, uefi)
        let cases = [
            (
                "rhel7.9",
                "rhel7.9",
                Family::Linux,
                true,
                true,
                Uefi::Supported,
            ),
            (
                "debian11",
                "debian11",
                Family::Linux,
                true,
                true,
                Uefi::Supported,
            ),
            (
                "debianbullseye",
                "debian11",
                Family::Linux,
                true,
                true,
                Uefi::Supported,
            ),
            (
                "Fedora36",
                "fedora36",
                Family::Linux,
                true,
                true,
                Uefi::Supported,
            ),
            (
                "win11",
                "win11",
                Family::Windows,
                false,
                true,
                Uefi::Required,
            ),
            (
                "http://microsoft.com/win/10",
                "win10",
                Family::Windows,
                false,
                true,
                Uefi::Unsupported,
            ),
            (
                "generic",
                "generic",
                Family::Other,
                false,
                false,
                Uefi::Unsupported,
            ),
            (
                "none",
                "generic",
                Family::Other,
                false,
                false,
                Uefi::Unsupported,
            ),
        ];
        for (name, id, family, virtio, q35, uefi) in cases {
            let r = db.resolve(name).expect(name);
            assert!(r.warnings.is_empty(), "{name}: {:?}", r.warnings);
            let os = &r.os;
            assert_eq!(
                (os.id.as_str(), os.family, os.q35, os.uefi),
                (id, family, q35, uefi),
                "{name}"
            );
            assert_eq!((os.virtio_disk, os.virtio_net), (virtio, virtio), "{name}");
        }
    }

    #[test]
    fn real_facts() {
        let Some((_tmp, db)) = cached_db() else {
            return;
        };
        let get = |name: &str| db.resolve(name).expect(name).os;
        let debian = get("debian11");
        assert_eq!(debian.name, "Debian 11");
        assert_eq!(debian.uri.as_deref(), Some("http://debian.org/debian/11"));
        assert_eq!(
            (debian.memory_mib, debian.vcpus, debian.storage_gib),
            (Some(1024), Some(2), Some(20))
        );
        assert!(debian.virtio_rng && debian.virtio_balloon && debian.virtio_gpu && debian.usb3);
        let win11 = get("win11");
        assert!(win11.tpm2 && win11.secure_boot && !win11.virtio_disk);
        assert_eq!(win11.nic_fallback.as_deref(), Some("e1000e"));
        assert_eq!(
            (win11.memory_mib, win11.minimum_memory_mib),
            (Some(8192), Some(4096))
        );
        assert_eq!(win11.storage_gib, Some(128), "twice the 64 GiB minimum");
        let rhel = get("rhel7.9");
        assert!(rhel.virtio_serial && rhel.virtio_scsi && !rhel.virtio_gpu);
        let linux = get("linux2022");
        assert!(
            linux.virtio_gpu,
            "linux2022 re-enables what ubuntu22.04 disables"
        );
        assert_eq!(linux.memory_mib, Some(4096), "inherited from ubuntu22.04");
        let g = get("generic");
        assert!(g.is_generic() && g.memory_mib.is_none());
    }

    #[test]
    fn real_fallbacks_warn() {
        let Some((_tmp, db)) = cached_db() else {
            return;
        };
        let cases = [
            ("rhel7", "rhel7-unknown", false),
            ("debian13", "debian11", true),
            ("ubuntu24.04", "ubuntu22.10", true),
            ("fedora42", "fedora37", true),
            ("rhel9.4", "rhel9-unknown", true),
            ("win2025", "win2k22", true),
            ("virtio26", "linux2022", false),
        ];
        for (name, id, update_hint) in cases {
            if db.resolve(id).is_err() || db.resolve(name).is_ok_and(|r| r.warnings.is_empty()) {
                eprintln!("skipped {name}: this osinfo-db has {name} or lacks {id}");
                continue;
            }
            let r = db.resolve(name).expect(name);
            assert_eq!(r.os.id, id, "{name}");
            assert_eq!(r.warnings.len(), 1, "{name}");
            let w = &r.warnings[0];
            assert!(
                w.starts_with(&format!("--osinfo {name} ")) && w.contains(&format!("using {id}")),
                "{w}"
            );
            assert_eq!(
                w.contains("update the Debian package osinfo-db"),
                update_hint,
                "{w}"
            );
        }
    }

    #[test]
    fn real_unknown_names_are_refused() {
        let Some((_tmp, db)) = cached_db() else {
            return;
        };
        let err = db.resolve("frobnixos3").expect_err("unknown family");
        assert_eq!(
            err.to_string(),
            "Unknown OS name 'frobnixos3'. See `--osinfo list` for valid values."
        );
        let err = db.resolve("foo://bar").expect_err("unknown id");
        assert_eq!(err.to_string(), "Unknown libosinfo ID 'foo://bar'");
    }

    #[test]
    fn real_list_is_sorted_and_complete() {
        let Some((_tmp, db)) = cached_db() else {
            return;
        };
        let list = db.list();
        assert!(list.len() > 500, "{}", list.len());
        assert!(list.is_sorted_by_key(|e| sort_key(&e.id)));
        let line = |id: &str| list.iter().find(|e| e.id == id).map(|e| e.line());
        assert_eq!(
            line("debian11").as_deref(),
            Some("debian11, debianbullseye")
        );
        assert_eq!(line("generic").as_deref(), Some("generic"));
        let generic = db.generic_linux_names();
        assert_eq!(
            generic.first().map(String::as_str),
            Some("linux2022"),
            "{generic:?}"
        );
    }

    #[test]
    fn real_media_rules_all_compile() {
        let Some((_tmp, db)) = cached_db() else {
            return;
        };
        let rules = db.media_rules();
        let patterns = rules.iter().flat_map(|(_, m)| {
            [
                &m.volume_id,
                &m.system_id,
                &m.publisher_id,
                &m.application_id,
            ]
        });
        let patterns: Vec<&String> = patterns.flatten().collect();
        assert!(patterns.len() > 1000, "{}", patterns.len());
        let bad: Vec<_> = patterns.iter().filter(|p| Regex::new(p).is_err()).collect();
        assert!(bad.is_empty(), "{bad:?}");
    }

    #[test]
    fn warm_cache_gives_the_same_answers() {
        let Some((tmp, cold)) = cached_db() else {
            return;
        };
        assert!(tmp.path().join("index.json").is_file(), "cache written");
        let warm = real_db(Some(&tmp.path().join("index.json"))).expect("db");
        assert_eq!(warm.list(), cold.list());
        for name in ["debian11", "win11", "rhel7", "linux2024"] {
            assert_eq!(warm.resolve(name).ok(), cold.resolve(name).ok(), "{name}");
        }
    }

    fn os_file(dir: &Path, rel: &str, id: &str, short: &str, name: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let body = format!(
            "<libosinfo version=\"0.0.1\"><os id=\"{id}\"><short-id>{short}</short-id>\
             <name>{name}</name><family>linux</family></os></libosinfo>"
        );
        fs::write(path, body).expect("write");
    }

    #[test]
    fn user_override_wins_and_edits_rebuild_the_cache() {
        if !Path::new(SYSTEM_DB).join("os").is_dir() {
            eprintln!("skipped: {SYSTEM_DB} is absent");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let user = tmp.path().join("user");
        let cache = tmp.path().join("cache/index.json");
        let dirs = [PathBuf::from(SYSTEM_DB), user.clone()];
        let rel = "os/debian.org/debian-11.xml";
        os_file(
            &user,
            rel,
            "http://debian.org/debian/11",
            "debian11",
            "Debian 11 (override)",
        );
        let db = OsDb::load_from(&dirs, Some(&cache));
        let os = db.resolve("debian11").expect("debian11").os;
        assert_eq!(os.name, "Debian 11 (override)");
        assert!(
            !os.virtio_disk,
            "the override replaces the whole system file"
        );
        assert!(
            db.resolve("debianbullseye")
                .is_err_and(|e| matches!(e, OsinfoError::UnknownName { .. }))
        );
        os_file(
            &user,
            rel,
            "http://debian.org/debian/11",
            "debian11",
            "Debian 11 (edited)",
        );
        os_file(
            &user,
            "os/example.org/new-1.xml",
            "http://example.org/new/1",
            "newos1",
            "New OS 1",
        );
        let db = OsDb::load_from(&dirs, Some(&cache));
        assert_eq!(
            db.resolve("debian11").expect("debian11").os.name,
            "Debian 11 (edited)"
        );
        assert_eq!(db.resolve("newos1").expect("newos1").os.name, "New OS 1");
    }

    #[test]
    fn builtin_table_without_database() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = OsDb::load_from(
            &[tmp.path().join("missing")],
            Some(&tmp.path().join("c.json")),
        );
        assert!(!db.has_database());
        assert_eq!(db.warnings().len(), 1);
        assert!(
            db.warnings()[0].contains("osinfo-db"),
            "{:?}",
            db.warnings()
        );
        assert!(!tmp.path().join("c.json").exists(), "nothing worth caching");
        let win11 = db.resolve("win11").expect("win11");
        assert!(win11.warnings.is_empty() && win11.os.tpm2);
        let debian = db.resolve("debian12").expect("debian12");
        assert_eq!(debian.os.id, "linux2024");
        assert!(
            debian.warnings[0].contains("osinfo-db is not installed"),
            "{:?}",
            debian.warnings
        );
        let ids: Vec<String> = db.list().into_iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            [
                "generic",
                "linux2024",
                "linux2022",
                "linux2020",
                "linux2018",
                "linux2016",
                "win11",
                "win10"
            ]
        );
    }

    fn xorriso() -> bool {
        let ok = Command::new("xorriso")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("skipped: xorriso is absent (apt-get install xorriso)");
        }
        ok
    }

    fn make_iso(dir: &Path, volid: &str) -> PathBuf {
        let content = dir.join("content");
        fs::create_dir_all(&content).expect("mkdir");
        fs::write(content.join("README"), "qvirt test medium\n").expect("write");
        let iso = dir.join(format!("{}.iso", volid.replace(' ', "_")));
        let out = Command::new("xorriso")
            .args(["-as", "mkisofs", "-quiet", "-V", volid, "-o"])
            .arg(&iso)
            .arg(&content)
            .output()
            .expect("run xorriso");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        iso
    }

    #[test]
    fn detects_media_built_with_xorriso() {
        let Some((tmp, db)) = cached_db() else { return };
        if !xorriso() {
            return;
        }
        let known = make_iso(tmp.path(), "Debian 11.5.0 amd64 n");
        let found = db
            .identify_media(&known)
            .expect("readable")
            .expect("debian11 medium");
        assert_eq!(
            (found.os.id.as_str(), found.arch.as_str()),
            ("debian11", "x86_64")
        );
        assert_eq!(found.kernel.as_deref(), Some("install.amd/vmlinuz"));
        let unknown = make_iso(tmp.path(), "QVIRT TEST VOLUME");
        assert_eq!(db.detect_media(&unknown).expect("readable"), None);
    }

    #[test]
    fn non_iso_media_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = OsDb::load_from(&[], None);
        let cases = [("empty.iso", vec![]), ("zeros.iso", vec![0u8; 64 * 1024])];
        for (name, bytes) in cases {
            let path = tmp.path().join(name);
            fs::write(&path, bytes).expect("write");
            let err = db.detect_media(&path).expect_err(name);
            assert!(matches!(err, OsinfoError::NotIso9660 { .. }), "{err:?}");
            assert!(err.to_string().contains(name), "{err}");
        }
        let err = db
            .detect_media(&tmp.path().join("missing.iso"))
            .expect_err("missing");
        assert!(matches!(err, OsinfoError::MediaRead { .. }), "{err:?}");
    }
}
