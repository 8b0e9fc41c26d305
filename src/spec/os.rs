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
    if matches!(install, Install::Location(_)) {
        // virt-install would also read the tree's .treeinfo or
        // .disk/info. TODO(#5): detect the OS from the install tree.
        text.push_str("\n\nDetecting the OS from a --location install tree is not supported yet.");
    }
    text
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
