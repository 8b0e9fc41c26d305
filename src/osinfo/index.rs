//! The compact index of the OS database and its on-disk cache.
//!
//! Parsing the ~900 XML files of osinfo-db takes far longer than qvirt's
//! start-up budget, so the inherited facts ([`OsRecord`]s) are stored as JSON
//! in a cache file together with a fingerprint of every database directory:
//! the path, size, modification time (and on Unix inode and change time) of
//! every `.xml` and `VERSION` file that can hold OS data. Any edited, added or
//! removed file changes the fingerprint and the index is rebuilt; the cache is
//! written atomically (temporary file, then rename).
//!
//! The file has two lines, each a JSON value: the index proper, then the media
//! rules. The rules are half of the data and only media detection needs them,
//! so loading stops after the first line and keeps the second as text.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::OsinfoError;
use super::model::OsRecord;

/// Bumped whenever the index layout or the rules that fill it change.
pub(crate) const FORMAT: u32 = 2;

/// Top-level directories of a database that never hold `<os>` definitions.
const NOT_OS_DIRS: [&str; 5] = ["datamap", "device", "install-script", "platform", "schema"];

/// One database file that may hold `<os>` definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbFile {
    /// Index of the database directory (load order).
    pub(crate) dir: usize,
    /// Path relative to that directory, `/`-separated.
    pub(crate) rel: String,
    /// Full path.
    pub(crate) path: PathBuf,
}

/// The result of walking the database directories.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scan {
    /// OS data files, ordered by directory then relative path.
    pub(crate) files: Vec<DbFile>,
    /// `VERSION` files found, in directory order.
    pub(crate) versions: Vec<PathBuf>,
    /// Fingerprint of everything above.
    pub(crate) fingerprint: String,
}

/// What the cache file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Index {
    pub(crate) format: u32,
    pub(crate) fingerprint: String,
    pub(crate) dirs: Vec<String>,
    pub(crate) version: Option<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) records: Vec<OsRecord>,
    /// The media rules: JSON text of a list of `[record index, rule]`,
    /// decoded only by media detection (the cache file's second line).
    #[serde(skip)]
    pub(crate) media: String,
}

/// Walks `dirs` and fingerprints every file that can hold OS data.
pub(crate) fn scan(dirs: &[PathBuf]) -> Scan {
    let mut hash = Fnv::new();
    hash.add(&FORMAT.to_le_bytes());
    let mut scan = Scan::default();
    for (i, dir) in dirs.iter().enumerate() {
        hash.add(dir.to_string_lossy().as_bytes());
        hash.add(&[u8::from(dir.is_dir())]);
        let version = dir.join("VERSION");
        if let Ok(meta) = fs::metadata(&version) {
            hash_file(&mut hash, "VERSION", &meta);
            scan.versions.push(version);
        }
        walk(dir, "", i, &mut scan.files, &mut hash);
    }
    scan.fingerprint = format!("{FORMAT}-{}-{:016x}", scan.files.len(), hash.0);
    scan
}

fn walk(dir: &Path, rel: &str, index: usize, out: &mut Vec<DbFile>, hash: &mut Fnv) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(meta) = metadata(&entry) else { continue };
        if meta.is_dir() && !(rel.is_empty() && NOT_OS_DIRS.contains(&name.as_str())) {
            walk(&entry.path(), &child_rel, index, out, hash);
        } else if meta.is_file() && name.ends_with(".xml") {
            hash.add(&index.to_le_bytes());
            hash_file(hash, &child_rel, &meta);
            out.push(DbFile {
                dir: index,
                rel: child_rel,
                path: entry.path(),
            });
        }
    }
}

/// The entry's metadata, following symbolic links as libosinfo does.
fn metadata(entry: &fs::DirEntry) -> std::io::Result<fs::Metadata> {
    let meta = entry.metadata()?;
    if meta.file_type().is_symlink() {
        fs::metadata(entry.path())
    } else {
        Ok(meta)
    }
}

fn hash_file(hash: &mut Fnv, rel: &str, meta: &fs::Metadata) {
    hash.add(rel.as_bytes());
    hash.add(&meta.len().to_le_bytes());
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let mtime = mtime.map_or(0, |d| d.as_nanos());
    hash.add(&mtime.to_le_bytes());
    hash_unix(hash, meta);
}

#[cfg(unix)]
fn hash_unix(hash: &mut Fnv, meta: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    hash.add(&meta.ino().to_le_bytes());
    hash.add(&meta.ctime().to_le_bytes());
    hash.add(&meta.ctime_nsec().to_le_bytes());
}

#[cfg(not(unix))]
fn hash_unix(_hash: &mut Fnv, _meta: &fs::Metadata) {}

/// FNV-1a, 64 bit: stable across Rust releases, unlike `DefaultHasher`.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().chain(&[0xff]) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Reads the cache at `path` if it was built from the same files.
pub(crate) fn read(path: &Path, fingerprint: &str) -> Option<Index> {
    let bytes = fs::read(path).ok()?;
    let mut values = serde_json::Deserializer::from_slice(&bytes).into_iter::<Index>();
    let mut index = values.next()?.ok()?;
    if index.format != FORMAT || index.fingerprint != fingerprint {
        return None;
    }
    let media = std::str::from_utf8(&bytes[values.byte_offset()..])
        .ok()?
        .trim();
    index.media = media.starts_with('[').then(|| media.to_owned())?;
    Some(index)
}

/// Writes the cache atomically: a temporary file in the same directory, then a rename.
pub(crate) fn write(path: &Path, index: &Index) -> Result<(), OsinfoError> {
    let mut bytes = serde_json::to_vec(index).map_err(|source| OsinfoError::CacheEncode {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    bytes.extend_from_slice(index.media.as_bytes());
    bytes.push(b'\n');
    let io = |source| OsinfoError::CacheWrite {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = write_file(&tmp, &bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The database version: the last non-empty `VERSION` file in load order.
pub(crate) fn version(scan: &Scan) -> Option<String> {
    let read = |p: &PathBuf| fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    scan.versions
        .iter()
        .rev()
        .filter_map(read)
        .find(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{FORMAT, Index, read, scan, write};
    use std::fs;
    use std::path::Path;

    fn put(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    #[test]
    fn scan_lists_os_files_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cases = [
            ("os/example.org/a.xml", true),
            ("os/example.org/a.d/extra.xml", true),
            ("os/example.org/notes.txt", false),
            ("device/x.org/d.xml", false),
            ("schema/osinfo.xml", false),
            ("top.xml", true),
        ];
        for (rel, _) in cases {
            put(tmp.path(), rel, "<libosinfo/>");
        }
        put(tmp.path(), "VERSION", "20990101\n");
        let s = scan(&[tmp.path().to_path_buf()]);
        let found: Vec<&str> = s.files.iter().map(|f| f.rel.as_str()).collect();
        for (rel, listed) in cases {
            assert_eq!(found.contains(&rel), listed, "{rel}");
        }
        assert_eq!(super::version(&s).as_deref(), Some("20990101"));
    }

    #[test]
    fn fingerprint_changes_with_any_edit() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dirs = [tmp.path().to_path_buf()];
        put(tmp.path(), "os/a/b.xml", "<libosinfo/>");
        let first = scan(&dirs).fingerprint;
        assert_eq!(scan(&dirs).fingerprint, first, "stable without changes");
        let edits: [&dyn Fn(); 3] = [
            &|| put(tmp.path(), "os/a/b.xml", "<libosinfo> </libosinfo>"),
            &|| put(tmp.path(), "os/a/c.xml", "<libosinfo/>"),
            &|| fs::remove_file(tmp.path().join("os/a/c.xml")).expect("rm"),
        ];
        let mut before = first;
        for edit in edits {
            edit();
            let now = scan(&dirs).fingerprint;
            assert_ne!(now, before, "fingerprint must change");
            before = now;
        }
    }

    #[test]
    fn cache_round_trip_and_mismatch() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("sub/osinfo-index.json");
        let index = Index {
            format: FORMAT,
            fingerprint: "fp".into(),
            dirs: vec![],
            version: Some("1".into()),
            warnings: vec![],
            records: vec![],
            media: "[]".into(),
        };
        write(&path, &index).expect("write cache");
        let leftovers = fs::read_dir(tmp.path().join("sub")).expect("ls").count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
        assert_eq!(read(&path, "fp"), Some(index));
        assert_eq!(read(&path, "other"), None);
        let text = fs::read_to_string(&path).expect("read back");
        assert_eq!(text.lines().count(), 2, "index line, then media line");
        fs::write(&path, text.lines().next().expect("line")).expect("truncate");
        assert_eq!(read(&path, "fp"), None, "media line missing");
        fs::write(&path, b"{not json").expect("corrupt");
        assert_eq!(read(&path, "fp"), None);
    }
}
