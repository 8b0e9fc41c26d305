//! Install-media detection: reading the ISO 9660 Primary Volume Descriptor
//! natively and matching it against the database's `<media><iso>` rules.
//!
//! As in libosinfo (`osinfo_db_identify_media`), each rule field that is
//! present (`volume-id`, `system-id`, `publisher-id`, `application-id`) is a
//! regular expression searched (unanchored) in the image's field, an image
//! field that is empty never matches a present rule, and a positive
//! `volume-size` must equal the image's size. libosinfo takes the first match
//! in hash order; here the most specific matching rule wins (most fields, then
//! longest patterns), then the first in database order.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::OsinfoError;
use super::loader::MediaRule;
use super::model::{OsInfo, OsRecord};
use super::regex::Regex;
use super::xml::RawMedia;

const SECTOR: u64 = 2048;
const PVD_OFFSET: u64 = 16 * SECTOR;

/// The identification fields of an ISO 9660 Primary Volume Descriptor,
/// trailing spaces removed, empty fields as `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeDescriptor {
    /// System identifier (bytes 8..40), e.g. `LINUX`.
    pub system_id: Option<String>,
    /// Volume identifier (bytes 40..72), e.g. `Debian 12.5.0 amd64 n`.
    pub volume_id: Option<String>,
    /// Publisher identifier (bytes 318..446).
    pub publisher_id: Option<String>,
    /// Application identifier (bytes 574..702).
    pub application_id: Option<String>,
    /// Volume space size times logical block size, in bytes.
    pub volume_size: u64,
}

impl VolumeDescriptor {
    /// Reads the descriptor at sector 16 of `path`.
    pub fn read(path: &Path) -> Result<VolumeDescriptor, OsinfoError> {
        let io = |source| OsinfoError::MediaRead {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut sector = vec![0u8; 2048];
        file.seek(SeekFrom::Start(PVD_OFFSET)).map_err(io)?;
        let filled = read_up_to(&mut file, &mut sector).map_err(io)?;
        sector.truncate(filled);
        VolumeDescriptor::parse(&sector).ok_or_else(|| OsinfoError::NotIso9660 {
            path: path.to_path_buf(),
        })
    }

    /// Decodes a Primary Volume Descriptor sector (type 1, `CD001`, version 1).
    pub fn parse(sector: &[u8]) -> Option<VolumeDescriptor> {
        if sector.len() < 2048 || sector[0] != 1 || &sector[1..6] != b"CD001" || sector[6] != 1 {
            return None;
        }
        let le32 = u32::from_le_bytes([sector[80], sector[81], sector[82], sector[83]]);
        let block = u16::from_le_bytes([sector[128], sector[129]]);
        Some(VolumeDescriptor {
            system_id: text(&sector[8..40]),
            volume_id: text(&sector[40..72]),
            publisher_id: text(&sector[318..446]),
            application_id: text(&sector[574..702]),
            volume_size: u64::from(le32) * u64::from(block),
        })
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn text(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_end_matches([' ', '\0']);
    (!s.is_empty()).then(|| s.to_owned())
}

/// An identified install medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaMatch {
    /// The OS, with the facts for the medium's architecture.
    pub os: OsInfo,
    /// Architecture of the matching `<media arch=..>` rule.
    pub arch: String,
    /// Kernel path on the medium, from the rule.
    pub kernel: Option<String>,
    /// Initrd path on the medium, from the rule.
    pub initrd: Option<String>,
    /// A live medium.
    pub live: bool,
    /// What was read from the image.
    pub volume: VolumeDescriptor,
}

/// Whether one field rule accepts the image's field.
fn field_matches(rule: Option<&str>, value: Option<&str>) -> bool {
    let Some(pattern) = rule else { return true };
    let Some(value) = value else { return false };
    Regex::new(pattern).is_ok_and(|re| re.is_match(value))
}

fn fields(rule: &RawMedia) -> [Option<&str>; 4] {
    [
        rule.volume_id.as_deref(),
        rule.system_id.as_deref(),
        rule.publisher_id.as_deref(),
        rule.application_id.as_deref(),
    ]
}

/// Whether `rule` identifies the image described by `vd`; a rule without any
/// identifier (a `<media>` with only a URL) identifies nothing.
pub(crate) fn rule_matches(rule: &RawMedia, vd: &VolumeDescriptor) -> bool {
    if fields(rule).iter().all(Option::is_none) {
        return false;
    }
    let values = [
        &vd.volume_id,
        &vd.system_id,
        &vd.publisher_id,
        &vd.application_id,
    ];
    let size_ok = rule
        .volume_size
        .is_none_or(|s| s == 0 || s == vd.volume_size);
    size_ok
        && fields(rule)
            .iter()
            .zip(values)
            .all(|(r, v)| field_matches(*r, v.as_deref()))
}

/// Specificity: number of constrained fields, then total pattern length.
fn specificity(rule: &RawMedia) -> (usize, usize) {
    let present = fields(rule).iter().flatten().count() + usize::from(rule.volume_size.is_some());
    (
        present,
        fields(rule).iter().flatten().map(|p| p.len()).sum(),
    )
}

/// The best matching (record, media rule) pair for `vd`.
pub(crate) fn identify<'a>(
    records: &'a [OsRecord],
    rules: &'a [MediaRule],
    vd: &VolumeDescriptor,
) -> Option<(&'a OsRecord, &'a RawMedia)> {
    let mut best: Option<&MediaRule> = None;
    for rule in rules
        .iter()
        .filter(|(i, m)| *i < records.len() && rule_matches(m, vd))
    {
        if best.is_none_or(|(_, b)| specificity(&rule.1) > specificity(b)) {
            best = Some(rule);
        }
    }
    best.map(|(i, rule)| (&records[*i], rule))
}

/// Builds the public answer for a matching pair.
pub(crate) fn media_match(rec: &OsRecord, rule: &RawMedia, vd: VolumeDescriptor) -> MediaMatch {
    MediaMatch {
        os: rec.info_for(&rule.arch),
        arch: rule.arch.clone(),
        kernel: rule.kernel.clone(),
        initrd: rule.initrd.clone(),
        live: rule.live,
        volume: vd,
    }
}

#[cfg(test)]
mod tests {
    use super::{VolumeDescriptor, identify, rule_matches};
    use crate::osinfo::model::OsRecord;
    use crate::osinfo::xml::RawMedia;

    fn sector(volume: &str, system: &str, blocks: u32) -> Vec<u8> {
        let mut s = vec![b' '; 2048];
        s[0] = 1;
        s[1..6].copy_from_slice(b"CD001");
        s[6] = 1;
        s[8..8 + system.len()].copy_from_slice(system.as_bytes());
        s[40..40 + volume.len()].copy_from_slice(volume.as_bytes());
        s[80..84].copy_from_slice(&blocks.to_le_bytes());
        s[128..130].copy_from_slice(&2048u16.to_le_bytes());
        s
    }

    fn vd(volume: &str, system: &str) -> VolumeDescriptor {
        VolumeDescriptor::parse(&sector(volume, system, 10)).expect("valid sector")
    }

    fn rule(volume: Option<&str>, system: Option<&str>, size: Option<u64>) -> RawMedia {
        RawMedia {
            arch: "x86_64".into(),
            volume_id: volume.map(Into::into),
            system_id: system.map(Into::into),
            volume_size: size,
            ..RawMedia::default()
        }
    }

    #[test]
    fn parses_descriptor_fields() {
        let d = vd("Debian 11.5.0 amd64 n", "LINUX");
        assert_eq!(d.volume_id.as_deref(), Some("Debian 11.5.0 amd64 n"));
        assert_eq!(d.system_id.as_deref(), Some("LINUX"));
        assert_eq!((d.publisher_id, d.volume_size), (None, 20480));
        let mut bad = sector("X", "Y", 1);
        bad[1] = b'X';
        assert_eq!(VolumeDescriptor::parse(&bad), None);
        assert_eq!(VolumeDescriptor::parse(&[1, b'C']), None);
    }

    #[test]
    fn rule_table() {
        let d = vd("Fedora-S-dvd-x86_64-36", "LINUX");
        let cases = [
            (rule(Some("Fedora-S-dvd-x86_64-36"), None, None), true),
            (
                rule(Some("Fedora-S-dvd-x86_64-36"), Some("LINUX"), None),
                true,
            ),
            (
                rule(Some("Fedora-S-dvd-x86_64-36"), Some("WIN"), None),
                false,
            ),
            (rule(Some("^S-dvd"), None, None), false),
            (rule(Some("S-dvd"), None, Some(20480)), true),
            (rule(Some("S-dvd"), None, Some(4096)), false),
            (rule(None, None, None), false),
            (rule(Some("("), None, None), false),
        ];
        for (r, want) in cases {
            assert_eq!(rule_matches(&r, &d), want, "{r:?}");
        }
        let mut needs_publisher = rule(Some("Fedora"), None, None);
        needs_publisher.publisher_id = Some("ACME".into());
        assert!(
            !rule_matches(&needs_publisher, &d),
            "absent image field never matches"
        );
    }

    #[test]
    fn most_specific_rule_wins() {
        let record = |id: &str| OsRecord {
            short_ids: vec![id.into()],
            ..OsRecord::generic()
        };
        let records = [record("loose"), record("exact")];
        let rules = [
            (0, rule(Some("Fedora-S-dvd-x86_64-3"), None, None)),
            (1, rule(Some("Fedora-S-dvd-x86_64-36"), None, None)),
        ];
        let (rec, _) =
            identify(&records, &rules, &vd("Fedora-S-dvd-x86_64-36", "")).expect("match");
        assert_eq!(rec.id(), "exact");
        assert!(identify(&records, &rules, &vd("Ubuntu 22.04", "")).is_none());
    }
}
