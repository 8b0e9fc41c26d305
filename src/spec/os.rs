//! `--osinfo` / `--os-variant`: which OS the guest runs, by name, by
//! detection from the install media, or generic, with virt-install's
//! requirement rules; and the memory, vCPU and disk defaults the OS gives.
//!
//! The OS database is handed in ([`OsDb`]); reading the ISO's volume
//! descriptor for detection is the one read of an input file this layer
//! does, as virt-install does it while it validates the options.

use std::path::Path;

use super::{Install, SpecEnv, SpecError};
use crate::osinfo::{OsDb, OsInfo, OsinfoError};
use crate::subopt;

/// What `--osinfo` asked for.
#[derive(Debug, Default)]
struct OsRequest {
    name: Option<String>,
    detect: bool,
    /// `None` is virt-install's `auto`: required for full virtualization.
    require: Option<bool>,
}

/// Reads `--osinfo` as virt-install does: a bare name, `none`, `auto`, a
/// full id (anything with `://`), or sub-options, where an unset `detect`
/// is off and an unset `require` is `auto`.
fn request(raw: Option<&str>) -> Result<OsRequest, SpecError> {
    let Some(raw) = raw else {
        return Ok(OsRequest {
            name: None,
            detect: true,
            require: None,
        });
    };
    if raw == "auto" {
        return request(None);
    }
    if raw == "none" {
        return Ok(OsRequest {
            name: Some("generic".into()),
            ..OsRequest::default()
        });
    }
    if !raw.contains('=') {
        return Ok(OsRequest {
            name: Some(raw.to_string()),
            ..OsRequest::default()
        });
    }
    let mut opts = subopt::parse("osinfo", raw)?;
    let name = opts
        .take("name")
        .or_else(|| opts.take("short-id"))
        .or_else(|| opts.take("id"));
    let detect = opts.take_bool("detect")?.unwrap_or(false);
    let require = opts.take_bool("require")?;
    opts.finish()?;
    Ok(OsRequest {
        name,
        detect,
        // An unset require stays virt-install's `auto`.
        require,
    })
}

/// The install media qvirt can look into.
fn media(install: &Install) -> Option<&Path> {
    match install {
        Install::Cdrom(path) => Some(path),
        // A `--location` ISO has the same volume descriptor to match.
        Install::Location(location) if location.path.is_file() => Some(&location.path),
        _ => None,
    }
}

/// Picks the guest's OS: the name given, what the media say when detection
/// is on, or generic where virt-install's rules allow it.
pub fn select(
    raw: Option<&str>,
    install: &Install,
    env: &SpecEnv,
    db: &OsDb,
    warnings: &mut Vec<String>,
) -> Result<OsInfo, SpecError> {
    let request = request(raw)?;

    let named = match &request.name {
        Some(name) => {
            let resolved = db.resolve(name).map_err(unknown)?;
            warnings.extend(resolved.warnings);
            Some(resolved.os)
        }
        None => None,
    };
    let detected = match (request.detect, media(install)) {
        (true, Some(path)) if path.exists() => match db.detect_media(path) {
            // Media that is not ISO 9660 (a disk image, a device) just
            // names no OS, as libosinfo finds none in it.
            Err(OsinfoError::NotIso9660 { .. }) => None,
            other => other.map_err(unreadable)?,
        },
        _ => None,
    };
    let detected = match (detected, request.detect, install) {
        (None, true, Install::Location(location)) if location.path.is_dir() => {
            detect_tree(&location.path, db, warnings)
        }
        (None, true, Install::Location(location)) if location.path.is_file() => {
            detect_iso_tree(&location.path, db, warnings)
        }
        (detected, ..) => detected,
    };
    if let Some(os) = detected {
        warnings.push(format!("Detected OS '{}' from the install media", os.id));
        return Ok(generic_warning(os, warnings));
    }
    if let Some(os) = named {
        if request.detect && media(install).is_some() {
            warnings.push(format!(
                "Failed to detect osinfo OS name from install media, using fallback name '{}'.",
                os.id
            ));
        }
        return Ok(generic_warning(os, warnings));
    }

    // Nothing named or detected: required unless the user said otherwise,
    // and VIRTINSTALL_OSINFO_DISABLE_REQUIRE turns the error into warnings.
    match request.require {
        Some(false) => {}
        Some(true) => return Err(SpecError::Invalid(required_message(install, db))),
        None if env.osinfo_require_disabled => {
            warnings.push(OS_REQUIRED.replace('\n', " "));
            warnings.push("Skipping fatal error due to VIRTINSTALL_OSINFO_DISABLE_REQUIRE".into());
        }
        None => return Err(SpecError::Invalid(required_message(install, db))),
    }
    Ok(generic_warning(OsInfo::generic(), warnings))
}

fn generic_warning(os: OsInfo, warnings: &mut Vec<String>) -> OsInfo {
    if os.is_generic() {
        warnings.push(
            "Using --osinfo generic, VM performance may suffer. \
             Specify an accurate OS for optimal results."
                .into(),
        );
    }
    os
}

fn unknown(error: OsinfoError) -> SpecError {
    SpecError::Invalid(error.to_string())
}

fn unreadable(error: OsinfoError) -> SpecError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    SpecError::Invalid(format!("Validating install media failed: {text}"))
}

const OS_REQUIRED: &str =
    "--osinfo/--os-variant OS name is required, but no value was\nset or detected.";

/// virt-install's fatal message, in its words, with our program's name.
fn required_message(install: &Install, db: &OsDb) -> String {
    let mut text = format!(
        "{OS_REQUIRED}\n\n\
         This is now a fatal error. Specifying an OS name is required\n\
         for modern, performant, and secure virtual machine defaults.\n"
    );
    if media(install).is_some() {
        text.push_str(
            "\nIf you expected virt-install to detect an OS name from the\n\
             install media, you can set a fallback OS name with:\n\n  \
             --osinfo detect=on,name=OSNAME\n",
        );
    }
    text.push_str(
        "\nYou can see a full list of possible OS name values with:\n\n   \
         qvirt-install --osinfo list\n",
    );
    let mut generic = db.generic_linux_names();
    generic.sort_by(|a, b| b.cmp(a));
    if !generic.is_empty() {
        text.push_str(&format!(
            "\nIf your Linux distro is not listed, try one of generic values\n\
             such as: {}\n",
            generic.join(", ")
        ));
    }
    text.push_str(
        "\nIf you just need to get the old behavior back, you can use:\n\n  \
         --osinfo detect=on,require=off\n\n\
         Or export VIRTINSTALL_OSINFO_DISABLE_REQUIRE=1",
    );
    text
}

/// The OS of an install tree, from its `.treeinfo` (Fedora, RHEL, CentOS,
/// openSUSE) or its `.disk/info` (Debian, Ubuntu), as virt-install reads
/// them; the name found is resolved like a given one.
pub fn detect_tree(tree: &Path, db: &OsDb, warnings: &mut Vec<String>) -> Option<OsInfo> {
    detect_from(
        |file| std::fs::read_to_string(tree.join(file)).ok(),
        db,
        warnings,
    )
}

/// The same for an install tree inside an ISO, read natively.
fn detect_iso_tree(iso: &Path, db: &OsDb, warnings: &mut Vec<String>) -> Option<OsInfo> {
    let mut image = crate::media::iso9660::Iso::open(iso).ok()?;
    let mut read = |file: &str| {
        let entry = image.find(file).ok()??;
        let mut bytes = Vec::new();
        image.copy(&entry, &mut bytes).ok()?;
        String::from_utf8(bytes).ok()
    };
    let files: Vec<(&str, Option<String>)> = [".treeinfo", "treeinfo", ".disk/info"]
        .into_iter()
        .map(|file| (file, read(file)))
        .collect();
    detect_from(
        |file| {
            files
                .iter()
                .find(|(name, _)| *name == file)
                .and_then(|(_, text)| text.clone())
        },
        db,
        warnings,
    )
}

/// Names the OS from the tree's files, read by `read`, and resolves it.
fn detect_from(
    read: impl Fn(&str) -> Option<String>,
    db: &OsDb,
    warnings: &mut Vec<String>,
) -> Option<OsInfo> {
    let treeinfo = read(".treeinfo").or_else(|| read("treeinfo"));
    let name = treeinfo
        .as_deref()
        .and_then(treeinfo_name)
        .or_else(|| read(".disk/info").as_deref().and_then(disk_info_name))?;
    let resolved = db.resolve(&name).ok()?;
    warnings.extend(resolved.warnings);
    Some(resolved.os)
}

/// `family` and `version` of `[general]` (or `name`/`version` of
/// `[release]`), as an osinfo short id.
fn treeinfo_name(text: &str) -> Option<String> {
    let mut section = String::new();
    let (mut family, mut version) = (None, None);
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim().to_string());
        match (section.as_str(), key) {
            ("general", "family") | ("release", "name") => family = Some(value),
            ("general", "version") | ("release", "version") => version = Some(value),
            _ => {}
        }
    }
    let (family, version) = (family?, version?);
    const FAMILIES: &[(&str, &str)] = &[
        ("Red Hat Enterprise Linux", "rhel"),
        ("RHEL", "rhel"),
        ("CentOS Stream", "centos-stream"),
        ("CentOS", "centos"),
        ("Fedora", "fedora"),
        ("openSUSE Leap", "opensuse"),
    ];
    let prefix = FAMILIES.iter().find(|(name, _)| family.contains(name))?.1;
    Some(format!("{prefix}{version}"))
}

/// `Debian GNU/Linux 11.5.0 ...` or `Ubuntu 22.04.1 LTS ...`, the first
/// line of `.disk/info`, as an osinfo short id.
fn disk_info_name(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let version = line
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let parts: Vec<&str> = version.split('.').collect();
    if line.starts_with("Debian") {
        return Some(format!("debian{}", parts.first()?));
    }
    if line.starts_with("Ubuntu") {
        return Some(format!("ubuntu{}.{}", parts.first()?, parts.get(1)?));
    }
    None
}

/// Fills memory, vCPUs and a disk from the OS where the user gave none,
/// saying so in virt-install's words.
pub struct Defaults {
    /// `--memory`, in MiB.
    pub memory_mib: Option<u64>,
    /// `--vcpus`.
    pub vcpus: Option<u32>,
    /// `--disk size=`, in GiB, when no storage was given at all.
    pub disk_gib: Option<u64>,
}

/// The defaults the OS gives for what the user left out.
pub fn defaults(
    os: &OsInfo,
    memory_given: bool,
    vcpus_given: bool,
    storage_given: bool,
    warnings: &mut Vec<String>,
) -> Defaults {
    let name = &os.id;
    let memory_mib = os.memory_mib.filter(|_| !memory_given);
    if let Some(mib) = memory_mib {
        warnings.push(format!("Using {name} default --memory {mib}"));
    }
    let vcpus = os.vcpus.filter(|_| !vcpus_given);
    let disk_gib = os.storage_gib.filter(|_| !storage_given);
    if let Some(gib) = disk_gib {
        warnings.push(format!("Using {name} default --disk size={gib}"));
    }
    Defaults {
        memory_mib,
        vcpus,
        disk_gib,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_trees_name_their_os() {
        let cases: [(&str, &str, Option<&str>); 5] = [
            (
                ".treeinfo",
                "[general]\nfamily = Fedora\nversion = 17\narch = x86_64\n",
                Some("fedora17"),
            ),
            (
                ".treeinfo",
                "[release]\nname = Red Hat Enterprise Linux\nversion = 9.4\n",
                Some("rhel9.4"),
            ),
            (
                ".disk/info",
                "Debian GNU/Linux 11.5.0 \"Bullseye\" - Official amd64 NETINST",
                Some("debian11"),
            ),
            (
                ".disk/info",
                "Ubuntu-Server 22.04.1 LTS \"Jammy Jellyfish\"",
                Some("ubuntu22.04"),
            ),
            (
                ".disk/info",
                "Ubuntu 22.04.1 LTS \"Jammy Jellyfish\" - Release amd64",
                Some("ubuntu22.04"),
            ),
        ];
        for (file, text, want) in cases {
            let name = match file {
                ".treeinfo" => treeinfo_name(text),
                _ => disk_info_name(text),
            };
            assert_eq!(name.as_deref(), want, "{text}");
        }
    }
}
