//! Old spellings of virt-install's options, rewritten into current ones.
//!
//! virt-install still accepts options from its early releases (`--ram`,
//! `--file`, `--vnc`, `--bridge`, `-c` for `--cdrom` …) by turning them into
//! the current options before anything else looks at the command line.
//! This module does the same, in virt-install's order and with its errors
//! for mixing old and new forms. Spellings that do nothing any more are
//! kept, with a warning, never silently.

use super::InstallArgs;

/// Mixing an old spelling with the current option, in virt-install's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CompatError(pub String);

/// Rewrites the old spellings in `args` and returns the warnings to show.
pub fn apply(args: &mut InstallArgs) -> Result<Vec<String>, CompatError> {
    let mut warnings = Vec::new();
    cdrom(args)?;
    memory(args);
    network(args)?;
    graphics(args)?;
    disks(args)?;
    features(args);
    misc(args, &mut warnings);
    Ok(warnings)
}

fn fail(message: &str) -> CompatError {
    CompatError(message.to_string())
}

/// `-c ISO` is virt-install's hidden short form of `--cdrom`.
fn cdrom(args: &mut InstallArgs) -> Result<(), CompatError> {
    let install = &mut args.install;
    let Some(short) = install.cdrom_short.take() else {
        return Ok(());
    };
    if install.cdrom.is_some() {
        return Err(fail("Cannot use -c and --cdrom at the same time"));
    }
    if short.contains("://") {
        return Err(fail(
            "-c specified with what looks like a libvirt URI. Did you mean to use --connect? \
             If not, use --cdrom instead",
        ));
    }
    install.cdrom = Some(short);
    Ok(())
}

fn memory(args: &mut InstallArgs) {
    let general = &mut args.general;
    if let Some(ram) = general.ram.take() {
        if general.memory.is_empty() {
            general.memory.push(ram.to_string());
        }
    }
    let mut metadata = Vec::new();
    if let Some(uuid) = general.uuid.take() {
        metadata.push(format!("uuid={uuid}"));
    }
    if let Some(description) = general.description.take() {
        metadata.push(format!("description={}", quote(&description)));
    }
    if !metadata.is_empty() {
        general.metadata.push(metadata.join(","));
    }
}

/// Quotes a value for the sub-option tokenizer, so commas stay in it.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// `--bridge`, `--mac` and `--nonetworks`; and the `bridge:BR` and
/// `network:NAME` forms of `--network`.
fn network(args: &mut InstallArgs) -> Result<(), CompatError> {
    let devices = &mut args.devices;
    for value in &mut devices.network {
        for old in ["bridge", "network"] {
            if let Some(rest) = value.strip_prefix(&format!("{old}:")) {
                *value = format!("{old}={rest}");
            }
        }
    }
    let bridges = std::mem::take(&mut devices.bridge);
    let macs = std::mem::take(&mut devices.mac);
    if !bridges.is_empty() && !devices.network.is_empty() {
        return Err(fail("Cannot use --bridge and --network at the same time"));
    }
    if devices.nonetworks {
        if !devices.network.is_empty() || !bridges.is_empty() || !macs.is_empty() {
            return Err(fail(
                "Cannot use --nonetworks with --network, --bridge or --mac",
            ));
        }
        devices.network.push("none".into());
        return Ok(());
    }
    for bridge in bridges {
        devices.network.push(format!("bridge={bridge}"));
    }
    // Each --mac goes to the NIC in the same position, adding default NICs
    // as needed.
    for (index, mac) in macs.into_iter().enumerate() {
        while devices.network.len() <= index {
            devices.network.push("default".into());
        }
        devices.network[index].push_str(&format!(",mac={mac}"));
    }
    Ok(())
}

fn graphics(args: &mut InstallArgs) -> Result<(), CompatError> {
    let devices = &mut args.devices;
    let old_kinds = [devices.vnc, devices.sdl, devices.nographics];
    let chosen =
        old_kinds.iter().filter(|on| **on).count() + usize::from(!devices.graphics.is_empty());
    if chosen > 1 {
        return Err(fail(
            "Can't specify more than one of VNC, SDL, --graphics or --nographics",
        ));
    }
    let extras: Vec<String> = [
        devices.vncport.take().map(|port| format!("port={port}")),
        devices
            .vnclisten
            .take()
            .map(|listen| format!("listen={listen}")),
        devices
            .keymap
            .take()
            .map(|keymap| format!("keymap={keymap}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !devices.graphics.is_empty() {
        if !extras.is_empty() {
            return Err(fail(
                "Cannot mix --graphics and old style graphical options",
            ));
        }
        return Ok(());
    }
    let kind = if devices.nographics {
        Some("none")
    } else if devices.sdl {
        Some("sdl")
    } else if devices.vnc || !extras.is_empty() {
        Some("vnc")
    } else {
        None
    };
    if let Some(kind) = kind {
        let mut value = vec![kind.to_string()];
        if kind != "none" {
            value.extend(extras);
        }
        devices.graphics.push(value.join(","));
    }
    Ok(())
}

/// `--file`, `--file-size`, `--nonsparse` (paired by position) and
/// `--nodisks`.
fn disks(args: &mut InstallArgs) -> Result<(), CompatError> {
    let devices = &mut args.devices;
    let files = std::mem::take(&mut devices.file);
    let sizes = std::mem::take(&mut devices.file_size);
    let old = !files.is_empty() || !sizes.is_empty() || devices.nonsparse;
    if devices.nodisks {
        if old || !devices.disk.is_empty() {
            return Err(fail("Cannot specify storage and use --nodisks"));
        }
        devices.disk.push("none".into());
        return Ok(());
    }
    if !old {
        return Ok(());
    }
    if !devices.disk.is_empty() {
        return Err(fail(
            "Cannot mix --file, --nonsparse, or --file-size with --disk options. \
             Use --disk PATH[,size=SIZE][,sparse=yes|no]",
        ));
    }
    let count = files.len().max(sizes.len()).max(1);
    for index in 0..count {
        let mut parts = Vec::new();
        if let Some(path) = files.get(index) {
            parts.push(format!("path={}", quote(path)));
        }
        if let Some(size) = sizes.get(index) {
            parts.push(format!("size={size}"));
        }
        if devices.nonsparse {
            parts.push("sparse=no".into());
        }
        devices.disk.push(parts.join(","));
    }
    Ok(())
}

/// `--noacpi` and `--noapic`, used only when no `--features` is given.
fn features(args: &mut InstallArgs) {
    let guest = &mut args.guest;
    let (noacpi, noapic) = (
        std::mem::take(&mut guest.noacpi),
        std::mem::take(&mut guest.noapic),
    );
    if !guest.features.is_empty() {
        return;
    }
    let mut value = Vec::new();
    if noacpi {
        value.push("acpi=off");
    }
    if noapic {
        value.push("apic=off");
    }
    if !value.is_empty() {
        guest.features.push(value.join(","));
    }
}

fn misc(args: &mut InstallArgs, warnings: &mut Vec<String>) {
    if let Some(cpuset) = args.misc.cpuset.take() {
        match args.general.vcpus.last_mut() {
            Some(vcpus) => vcpus.push_str(&format!(",cpuset={cpuset}")),
            None => args.general.vcpus.push(format!("cpuset={cpuset}")),
        }
    }
    if let Some(init) = args.install.init.take() {
        args.install.boot.push(format!("init={}", quote(&init)));
    }
    if args.misc.wait == Some(0) {
        warnings.push("Treating --wait 0 as --noautoconsole".into());
        args.misc.wait = None;
        args.misc.noautoconsole = true;
    }
    if args.os.os_type.take().is_some() {
        warnings.push("--os-type is deprecated and does nothing. Please stop using it.".into());
    }
    if let Some(step) = args.misc.print_step.take() {
        args.misc.print_xml = Some(step);
    }
    if std::mem::take(&mut args.misc.force) && args.misc.check.is_empty() {
        args.misc.check.push("all=off".into());
    }
    if std::mem::take(&mut args.misc.prompt) {
        warnings.push("--prompt mode is no longer supported.".into());
    }
    if std::mem::take(&mut args.misc.check_cpu) {
        warnings.push("--check-cpu is deprecated and does nothing".into());
    }
    if std::mem::take(&mut args.virt.accelerate) {
        warnings.push("--accelerate is deprecated and does nothing: KVM is the default".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn rewrite(line: &[&str]) -> Result<(InstallArgs, Vec<String>), CompatError> {
        let argv = std::iter::once("qvirt-install").chain(line.iter().copied());
        let mut args = InstallArgs::try_parse_from(argv).expect("clap parses");
        let warnings = apply(&mut args)?;
        Ok((args, warnings))
    }

    #[test]
    fn old_storage_and_network_spellings() {
        let (args, _) = rewrite(&[
            "--file",
            "/a.img",
            "--file-size",
            "2",
            "--nonsparse",
            "--mac",
            "RANDOM",
        ])
        .expect("rewrites");
        assert_eq!(args.devices.disk, ["path='/a.img',size=2,sparse=no"]);
        assert_eq!(args.devices.network, ["default,mac=RANDOM"]);

        let (args, _) = rewrite(&["-b", "br0", "-m", "52:54:00:00:00:01"]).expect("rewrites");
        assert_eq!(args.devices.network, ["bridge=br0,mac=52:54:00:00:00:01"]);

        let (args, _) = rewrite(&["--network", "bridge:br1"]).expect("rewrites");
        assert_eq!(args.devices.network, ["bridge=br1"]);
    }

    #[test]
    fn old_graphics_spellings() {
        let (args, _) = rewrite(&["--vnc", "--vncport", "5910", "-k", "de"]).expect("rewrites");
        assert_eq!(args.devices.graphics, ["vnc,port=5910,keymap=de"]);
        let (args, _) = rewrite(&["--nographics"]).expect("rewrites");
        assert_eq!(args.devices.graphics, ["none"]);
    }

    #[test]
    fn mixing_is_refused_in_virt_install_words() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["--nodisks", "--disk", "size=1"],
                "Cannot specify storage and use --nodisks",
            ),
            (&["--file", "a", "--disk", "b"], "Cannot mix --file"),
            (
                &["--vnc", "--graphics", "spice"],
                "Can't specify more than one of VNC, SDL",
            ),
            (
                &["--vncport", "5901", "--graphics", "spice"],
                "Cannot mix --graphics and old",
            ),
            (
                &["-b", "br0", "--network", "user"],
                "Cannot use --bridge and --network",
            ),
            (
                &["-c", "a.iso", "--cdrom", "b.iso"],
                "Cannot use -c and --cdrom",
            ),
        ];
        for (line, want) in cases {
            let error = rewrite(line).expect_err(want).to_string();
            assert!(error.contains(want), "{line:?}: {error}");
        }
    }

    #[test]
    fn no_op_spellings_warn() {
        let (args, warnings) =
            rewrite(&["--os-type", "linux", "--wait", "0", "--ram", "512"]).expect("rewrites");
        assert!(args.misc.noautoconsole);
        assert_eq!(args.general.memory, ["512"]);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("--os-type is deprecated")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("Treating --wait 0")),
            "{warnings:?}"
        );
    }
}
