//! The OS database: what qvirt knows about guest operating systems, read from
//! libosinfo's osinfo-db (the Debian package `osinfo-db`) without libosinfo.
//!
//! [`OsDb::load`] reads the system, local and user database directories
//! (libosinfo's order and environment variables), resolves `<derives-from>` /
//! `<clones>` inheritance once and keeps the result in a fingerprinted index
//! cache, so a fresh process answers in a few milliseconds. [`OsDb::resolve`]
//! maps an `--osinfo` name to an [`OsInfo`] (device support, firmware, default
//! resources), with fallbacks and warnings for names the installed database
//! lacks. [`OsDb::detect_media`] identifies an install ISO from its volume
//! descriptor. Without any database a small built-in table is used.
//!
//! This module references no other qvirt module.

mod builtin;
mod db;
mod index;
mod loader;
mod media;
mod model;
mod paths;
mod regex;
mod resolve;
mod xml;

use std::path::PathBuf;

pub use db::{OsDb, Resolved};
pub use media::{MediaMatch, VolumeDescriptor};
pub use model::{DEFAULT_ARCH, Family, ListEntry, OsInfo, Uefi};
pub use paths::INDEX_FILE;

/// Errors of the OS database.
#[derive(Debug, thiserror::Error)]
pub enum OsinfoError {
    /// A name that matches no OS and no OS family (virt-install's words).
    #[error("Unknown OS name '{name}'. See `--osinfo list` for valid values.")]
    UnknownName {
        /// The name as given.
        name: String,
    },
    /// A full libosinfo id that is not in the database (virt-install's words).
    #[error("Unknown libosinfo ID '{id}'")]
    UnknownId {
        /// The id as given.
        id: String,
    },
    /// The install medium could not be read.
    #[error("cannot read install media {}", path.display())]
    MediaRead {
        /// The medium.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The install medium has no ISO 9660 primary volume descriptor.
    #[error("{} is not an ISO 9660 image: no primary volume descriptor at sector 16", path.display())]
    NotIso9660 {
        /// The medium.
        path: PathBuf,
    },
    /// A database file could not be read.
    #[error("cannot read OS database file {}", path.display())]
    DbRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A database file is not well-formed XML.
    #[error("cannot parse OS database file {}", path.display())]
    DbParse {
        /// The file.
        path: PathBuf,
        /// The XML error.
        #[source]
        source: quick_xml::Error,
    },
    /// The index cache could not be written.
    #[error("cannot write OS index cache {}", path.display())]
    CacheWrite {
        /// The cache file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The index could not be encoded.
    #[error("cannot encode OS index cache {}", path.display())]
    CacheEncode {
        /// The cache file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}
