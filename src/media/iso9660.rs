//! Reading files out of an ISO 9660 image, with no mount and no root.
//!
//! Names come from Rock Ridge (`NM` entries) when the image has them, else
//! from the Joliet tree, else from the plain ISO 9660 names (`;1` and a
//! bare trailing dot dropped, matched without regard to case). That covers
//! what `xorriso`, `genisoimage` and the distributions' ISOs write.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const SECTOR: u64 = 2048;

/// Why an image or a file in it could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    /// The image could not be opened or read.
    #[error("cannot read `{}`", .path.display())]
    Io {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of several extents, which install kernels never are.
    #[error("`{name}` in `{}` is 4 GiB or more, in several extents, which qvirt does not read", .path.display())]
    MultiExtent {
        /// The image.
        path: PathBuf,
        /// The file.
        name: String,
    },
    /// The image is not ISO 9660.
    #[error("`{}` is not an ISO 9660 image: {reason}", .path.display())]
    NotIso {
        /// The image.
        path: PathBuf,
        /// What is missing or wrong.
        reason: &'static str,
    },
}

/// One file or folder in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The first sector.
    extent: u32,
    /// The size in bytes.
    pub size: u32,
    /// A folder.
    pub is_dir: bool,
    /// The first part of a file of several extents (4 GiB or more).
    multi_extent: bool,
    name: String,
}

/// An open image.
pub struct Iso {
    path: PathBuf,
    file: File,
    root: Entry,
    /// Which names to read: Rock Ridge, Joliet (UCS-2) or plain.
    names: Names,
    /// Bytes to skip at the start of each record's system use area (SUSP `SP`).
    susp_skip: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    RockRidge,
    Joliet,
    Plain,
}

impl Iso {
    /// Opens an image and reads its volume descriptors.
    pub fn open(path: &Path) -> Result<Iso, IsoError> {
        let io = |source| IsoError::Io {
            path: path.to_path_buf(),
            source,
        };
        let not_iso = |reason| IsoError::NotIso {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(io)?;
        let mut iso = Iso {
            path: path.to_path_buf(),
            file,
            root: Entry {
                extent: 0,
                size: 0,
                is_dir: true,
                multi_extent: false,
                name: String::new(),
            },
            names: Names::Plain,
            susp_skip: 0,
        };

        let mut primary = None;
        let mut joliet = None;
        for index in 16..64 {
            let mut sector = vec![0u8; SECTOR as usize];
            if iso.read_at(index * SECTOR, &mut sector).is_err() {
                break;
            }
            if &sector[1..6] != b"CD001" {
                break;
            }
            let root = parse_record(&sector[156..190]);
            match sector[0] {
                1 => primary = root,
                // Joliet's escape sequences: `%/@`, `%/C` or `%/E`.
                2 if &sector[88..90] == b"%/" && matches!(sector[90], b'@' | b'C' | b'E') => {
                    joliet = root;
                }
                255 => break,
                _ => {}
            }
        }
        let primary = primary.ok_or_else(|| not_iso("no primary volume descriptor"))?;

        // Rock Ridge announces itself in the root's `.` record.
        iso.root = primary.clone();
        let first = iso.first_record(&primary).map_err(io)?;
        let rock_ridge = first
            .as_ref()
            .and_then(|record| system_use(record, 0))
            .is_some_and(|area| area.starts_with(b"SP"));
        if rock_ridge {
            iso.names = Names::RockRidge;
            iso.susp_skip = first
                .as_ref()
                .and_then(|record| system_use(record, 0))
                .and_then(|area| area.get(6).copied())
                .map_or(0, usize::from);
        } else if let Some(joliet) = joliet {
            iso.root = joliet;
            iso.names = Names::Joliet;
        }
        Ok(iso)
    }

    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(buffer)
    }

    fn first_record(&mut self, dir: &Entry) -> std::io::Result<Option<Vec<u8>>> {
        let mut sector = vec![0u8; SECTOR as usize];
        self.read_at(u64::from(dir.extent) * SECTOR, &mut sector)?;
        let length = usize::from(sector[0]);
        Ok((length >= 34).then(|| sector[..length].to_vec()))
    }

    /// The entries of a folder, `.` and `..` left out.
    fn list(&mut self, dir: &Entry) -> Result<Vec<Entry>, IsoError> {
        let mut data = vec![0u8; dir.size as usize];
        let path = self.path.clone();
        self.read_at(u64::from(dir.extent) * SECTOR, &mut data)
            .map_err(|source| IsoError::Io { path, source })?;
        let mut entries = Vec::new();
        let mut at = 0usize;
        while at < data.len() {
            let length = usize::from(data[at]);
            if length == 0 {
                // Records do not cross sectors: the rest of this one is padding.
                at = (at / SECTOR as usize + 1) * SECTOR as usize;
                continue;
            }
            let Some(record) = data.get(at..at + length) else {
                break;
            };
            at += length;
            let Some(mut entry) = parse_record(record) else {
                continue;
            };
            let raw = &record[33..33 + usize::from(record[32])];
            if raw == [0] || raw == [1] {
                continue;
            }
            entry.name = match self.names {
                Names::RockRidge => {
                    rock_ridge_name(record, self.susp_skip).unwrap_or_else(|| plain_name(raw))
                }
                Names::Joliet => joliet_name(raw),
                Names::Plain => plain_name(raw),
            };
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The file or folder at `path` (`/`-separated, relative to the root).
    pub fn find(&mut self, path: &str) -> Result<Option<Entry>, IsoError> {
        let mut current = self.root.clone();
        for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
            if !current.is_dir {
                return Ok(None);
            }
            let entries = self.list(&current)?;
            // Plain names are upper case; Joliet keeps case, but the user
            // may not have.
            let found = entries
                .iter()
                .find(|e| e.name == part)
                .or_else(|| entries.iter().find(|e| e.name.eq_ignore_ascii_case(part)));
            match found {
                Some(entry) => current = entry.clone(),
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// Copies a file's bytes to `out`.
    pub fn copy(&mut self, entry: &Entry, out: &mut dyn Write) -> Result<(), IsoError> {
        let path = self.path.clone();
        if entry.multi_extent {
            return Err(IsoError::MultiExtent {
                path,
                name: entry.name.clone(),
            });
        }
        let io = |source| IsoError::Io {
            path: path.clone(),
            source,
        };
        self.file
            .seek(SeekFrom::Start(u64::from(entry.extent) * SECTOR))
            .map_err(io)?;
        let mut reader = (&mut self.file).take(u64::from(entry.size));
        let copied = std::io::copy(&mut reader, out).map_err(io)?;
        if copied != u64::from(entry.size) {
            return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }
}

/// A directory record's extent, size and flags; `None` when too short.
fn parse_record(record: &[u8]) -> Option<Entry> {
    if record.len() < 34 || usize::from(record[0]) < 34 {
        return None;
    }
    let le = |at: usize| {
        u32::from_le_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
    };
    let name_length = usize::from(record[32]);
    if 33 + name_length > record.len() {
        return None;
    }
    Some(Entry {
        extent: le(2),
        size: le(10),
        is_dir: record[25] & 0x02 != 0,
        multi_extent: record[25] & 0x80 != 0,
        name: String::new(),
    })
}

/// The system use area of a record, after `skip` bytes.
fn system_use(record: &[u8], skip: usize) -> Option<&[u8]> {
    let name_length = usize::from(record[32]);
    let mut start = 33 + name_length;
    if name_length % 2 == 0 {
        start += 1;
    }
    record.get(start + skip..)
}

/// The `NM` entries' name, if the record has one.
fn rock_ridge_name(record: &[u8], skip: usize) -> Option<String> {
    let mut area = system_use(record, skip)?;
    let mut name = Vec::new();
    let mut found = false;
    while area.len() >= 4 {
        let length = usize::from(area[2]);
        if length < 4 || length > area.len() {
            break;
        }
        if &area[..2] == b"NM" && length >= 5 {
            // Flags: 2 is `.`, 4 is `..`; 1 says the name continues.
            name.extend_from_slice(&area[5..length]);
            found = true;
        }
        if &area[..2] == b"ST" {
            break;
        }
        area = &area[length..];
    }
    found.then(|| String::from_utf8_lossy(&name).into_owned())
}

fn joliet_name(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    strip_version(&String::from_utf16_lossy(&units))
}

fn plain_name(raw: &[u8]) -> String {
    strip_version(&String::from_utf8_lossy(raw))
}

/// `VMLINUZ.;1` → `VMLINUZ`, `INITRD.GZ;1` → `INITRD.GZ`.
fn strip_version(name: &str) -> String {
    let name = name.split(';').next().unwrap_or(name);
    name.strip_suffix('.').unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(plain_name(b"INITRD.GZ;1"), "INITRD.GZ");
        assert_eq!(plain_name(b"VMLINUZ.;1"), "VMLINUZ");
        let joliet: Vec<u8> = "initrd.gz;1"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(joliet_name(&joliet), "initrd.gz");
    }

    #[test]
    fn not_an_iso() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("zero.iso");
        std::fs::write(&path, vec![0u8; 64 << 10]).expect("write");
        let error = Iso::open(&path).err().expect("refused");
        assert!(
            error.to_string().contains("not an ISO 9660 image"),
            "{error}"
        );
    }
}
