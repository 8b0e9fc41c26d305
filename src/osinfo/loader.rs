//! Building the index records from the database files with libosinfo's
//! semantics.
//!
//! * File selection: files are keyed by their path relative to the database
//!   directory (`os/debian.org/debian-11.xml` and the fragments in
//!   `os/debian.org/debian-11.d/`). A later directory's main file replaces the
//!   earlier main file *and* its fragments; later fragments are added.
//! * Several definitions of one `<os id>` are merged, later ones taking
//!   precedence (libosinfo leaves that order unspecified).
//! * Inheritance walks the OS itself, then what it `<derives-from>`, then what
//!   it `<clones>`, depth first. Device links: the nearest link for a device
//!   wins, so `supported="false"` removes an inherited device and a nearer
//!   `supported="true"` restores it. Firmware: nearest entry per (arch, type).
//!   Resources: only blocks marked `inherit="true"` take missing values from
//!   the ancestors' blocks of the same kind and arch. `<upgrades>` is not
//!   inherited from (it only counts for "is related to" checks).

use std::collections::{HashMap, HashSet};
use std::fs;

use super::OsinfoError;
use super::index::DbFile;
use super::model::{Caps, Family, OsRecord};
use super::xml::{self, RawFirmware, RawMedia, RawOs, RawResources, ResKind};

const WIN11: &str = "http://microsoft.com/win/11";

/// Device ids virt-install checks (`virtinst/osdict.py`).
mod dev {
    pub(super) const VIRTIO_DISK: [&str; 2] = [
        "http://pcisig.com/pci/1af4/1001",
        "http://pcisig.com/pci/1af4/1042",
    ];
    pub(super) const VIRTIO_NET: [&str; 2] = [
        "http://pcisig.com/pci/1af4/1000",
        "http://pcisig.com/pci/1af4/1041",
    ];
    pub(super) const VIRTIO1_NET: [&str; 1] = ["http://pcisig.com/pci/1af4/1041"];
    pub(super) const VIRTIO_RNG: [&str; 2] = [
        "http://pcisig.com/pci/1af4/1005",
        "http://pcisig.com/pci/1af4/1044",
    ];
    pub(super) const VIRTIO_BALLOON: [&str; 2] = [
        "http://pcisig.com/pci/1af4/1002",
        "http://pcisig.com/pci/1af4/1045",
    ];
    pub(super) const VIRTIO_GPU: [&str; 1] = ["http://pcisig.com/pci/1af4/1050"];
    pub(super) const VIRTIO_SCSI: [&str; 2] = [
        "http://pcisig.com/pci/1af4/1004",
        "http://pcisig.com/pci/1af4/1048",
    ];
    pub(super) const VIRTIO_SERIAL: [&str; 2] = [
        "http://pcisig.com/pci/1af4/1003",
        "http://pcisig.com/pci/1af4/1043",
    ];
    pub(super) const VIRTIO_INPUT: [&str; 1] = ["http://pcisig.com/pci/1af4/1052"];
    pub(super) const QEMU_XHCI: [&str; 1] = ["http://pcisig.com/pci/1b36/0004"];
    pub(super) const Q35: [&str; 1] = ["http://qemu.org/chipset/x86/q35"];
    /// NIC models in virt-install's order of preference without virtio.
    pub(super) const NICS: [(&str, &str); 5] = [
        ("e1000e", "http://pcisig.com/pci/8086/10d3"),
        ("e1000", "http://pcisig.com/pci/8086/100e"),
        ("rtl8139", "http://pcisig.com/pci/10ec/8139"),
        ("ne2k_pci", "http://pcisig.com/pci/10ec/8029"),
        ("pcnet", "http://pcisig.com/pci/1022/2000"),
    ];
}

/// A media rule and the index of its record.
pub(crate) type MediaRule = (usize, RawMedia);

/// Records built from a set of files, their media rules, and a warning per
/// unreadable file.
#[derive(Debug, Default)]
pub(crate) struct Built {
    pub(crate) records: Vec<OsRecord>,
    pub(crate) media: Vec<MediaRule>,
    pub(crate) warnings: Vec<String>,
}

/// Parses `files` (as listed by the scan) and resolves inheritance.
pub(crate) fn build(files: &[DbFile]) -> Built {
    let mut built = Built::default();
    let mut db = Merged::default();
    for file in select(files) {
        match read_file(file) {
            Ok(oses) => oses.into_iter().for_each(|os| db.add(os)),
            Err(e) => built.warnings.push(format!("skipping {}", error_chain(&e))),
        }
    }
    for (i, os) in db.oses.iter().enumerate() {
        let Some(record) = db.record(i) else { continue };
        let index = built.records.len();
        built
            .media
            .extend(os.media.iter().map(|m| (index, m.clone())));
        built.records.push(record);
    }
    built
}

/// `error: cause: cause` on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(cause) = cur {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        cur = cause.source();
    }
    out
}

fn read_file(file: &DbFile) -> Result<Vec<RawOs>, OsinfoError> {
    let path = file.path.clone();
    let text = fs::read_to_string(&file.path).map_err(|source| OsinfoError::DbRead {
        path: path.clone(),
        source,
    })?;
    xml::parse(&text).map_err(|source| OsinfoError::DbParse { path, source })
}

/// libosinfo's entity key: `os/x/y.xml` and `os/x/y.d/*.xml` share `os/x/y`.
fn entity_key(rel: &str) -> (String, bool) {
    let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
    match dir.strip_suffix(".d") {
        Some(key) => (key.to_owned(), true),
        None => (rel.strip_suffix(".xml").unwrap_or(rel).to_owned(), false),
    }
}

#[derive(Default)]
struct Entity<'a> {
    main: Option<&'a DbFile>,
    fragments: Vec<&'a DbFile>,
}

/// The files to load, in load order, after directory overrides.
fn select(files: &[DbFile]) -> Vec<&DbFile> {
    let mut all: HashMap<String, Entity<'_>> = HashMap::new();
    let mut dirs: Vec<usize> = files.iter().map(|f| f.dir).collect();
    dirs.dedup();
    for dir in dirs {
        for (key, entity) in entities_of(files, dir) {
            match all.get_mut(&key) {
                Some(old) if entity.main.is_none() => old.fragments.extend(entity.fragments),
                _ => {
                    all.insert(key, entity);
                }
            }
        }
    }
    let mut order: Vec<(&String, &Entity<'_>)> = all.iter().collect();
    order.sort_by_key(|(key, e)| (e.main.map_or(usize::MAX, |m| m.dir), *key));
    order
        .into_iter()
        .flat_map(|(_, e)| e.main.into_iter().chain(e.fragments.iter().copied()))
        .collect()
}

fn entities_of(files: &[DbFile], dir: usize) -> HashMap<String, Entity<'_>> {
    let mut out: HashMap<String, Entity<'_>> = HashMap::new();
    for file in files.iter().filter(|f| f.dir == dir) {
        let (key, fragment) = entity_key(&file.rel);
        let entity = out.entry(key).or_default();
        if fragment {
            entity.fragments.push(file);
        } else {
            entity.main = Some(file);
        }
    }
    out
}

/// All `<os>` definitions, merged by id, in first-seen order.
#[derive(Default)]
struct Merged {
    oses: Vec<RawOs>,
    by_id: HashMap<String, usize>,
}

impl Merged {
    fn add(&mut self, os: RawOs) {
        match self.by_id.get(&os.id) {
            Some(&i) => merge(&mut self.oses[i], os),
            None => {
                self.by_id.insert(os.id.clone(), self.oses.len());
                self.oses.push(os);
            }
        }
    }

    fn get(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Pre-order depth-first walk from `start` over the chosen relations.
    fn walk(&self, start: usize, upgrades: bool) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        self.visit(start, upgrades, &mut seen, &mut out);
        out
    }

    fn visit(&self, i: usize, upgrades: bool, seen: &mut HashSet<usize>, out: &mut Vec<usize>) {
        if !seen.insert(i) {
            return;
        }
        out.push(i);
        let os = &self.oses[i];
        let ups = if upgrades {
            os.upgrades.as_slice()
        } else {
            &[]
        };
        let related = os.derives_from.iter().chain(ups).chain(&os.clones);
        for j in related.filter_map(|id| self.get(id)) {
            self.visit(j, upgrades, seen, out);
        }
    }

    fn record(&self, i: usize) -> Option<OsRecord> {
        let os = &self.oses[i];
        if os.short_ids.is_empty() {
            return None;
        }
        let lineage = self.walk(i, false);
        let related = self.walk(i, true);
        let is_related = |f: &dyn Fn(&RawOs) -> bool| related.iter().any(|&j| f(&self.oses[j]));
        let mut caps = caps(&self.supported_devices(&lineage));
        caps.virtio_serial |= is_related(&|o| o.short_ids.iter().any(|s| s == "rhel6.0"));
        Some(OsRecord {
            uri: Some(os.id.clone()),
            short_ids: os.short_ids.clone(),
            name: os.name.clone().unwrap_or_else(|| os.short_ids[0].clone()),
            family: Family::from_osinfo(os.family.as_deref()),
            distro: os.distro.clone(),
            version: os.version.clone(),
            release_date: os.release_date.clone(),
            eol_date: os.eol_date.clone(),
            release_status: os.release_status.clone(),
            caps,
            firmware: self.firmware(&lineage),
            resources: self.resources(&lineage),
            win11: is_related(&|o| o.id == WIN11),
        })
    }

    /// Nearest link per device wins; the devices whose winning link is supported.
    fn supported_devices(&self, lineage: &[usize]) -> HashSet<&str> {
        let mut first: HashMap<&str, bool> = HashMap::new();
        for link in lineage.iter().flat_map(|&j| &self.oses[j].devices) {
            first.entry(link.id.as_str()).or_insert(link.supported);
        }
        first
            .into_iter()
            .filter(|&(_, ok)| ok)
            .map(|(id, _)| id)
            .collect()
    }

    fn firmware(&self, lineage: &[usize]) -> Vec<RawFirmware> {
        let mut out: Vec<RawFirmware> = Vec::new();
        for fw in lineage.iter().flat_map(|&j| &self.oses[j].firmware) {
            if !out.iter().any(|o| o.arch == fw.arch && o.kind == fw.kind) {
                out.push(fw.clone());
            }
        }
        out
    }

    /// Only the minimum and recommended blocks are kept: qvirt uses no others.
    fn resources(&self, lineage: &[usize]) -> Vec<RawResources> {
        let Some((&own, ancestors)) = lineage.split_first() else {
            return Vec::new();
        };
        let used = |r: &&RawResources| matches!(r.kind, ResKind::Minimum | ResKind::Recommended);
        let mut out: Vec<RawResources> = self.oses[own]
            .resources
            .iter()
            .filter(used)
            .cloned()
            .collect();
        for block in out.iter_mut().filter(|b| b.inherit) {
            let (kind, arch) = (block.kind, block.arch.clone());
            let blocks = ancestors.iter().flat_map(|&j| &self.oses[j].resources);
            for from in blocks.filter(|r| r.kind == kind && r.arch == arch) {
                fill(block, from);
            }
        }
        out
    }
}

fn fill(block: &mut RawResources, from: &RawResources) {
    block.n_cpus = block.n_cpus.or(from.n_cpus);
    block.ram = block.ram.or(from.ram);
    block.storage = block.storage.or(from.storage);
}

fn caps(devices: &HashSet<&str>) -> Caps {
    let has = |ids: &[&str]| ids.iter().any(|id| devices.contains(id));
    let virtio_net = has(&dev::VIRTIO_NET);
    let legacy_only = virtio_net && !has(&dev::VIRTIO1_NET);
    let nic = dev::NICS.iter().find(|(_, id)| devices.contains(id));
    Caps {
        virtio_disk: has(&dev::VIRTIO_DISK),
        virtio_net,
        virtio_rng: has(&dev::VIRTIO_RNG),
        virtio_balloon: has(&dev::VIRTIO_BALLOON),
        virtio_gpu: has(&dev::VIRTIO_GPU),
        virtio_scsi: has(&dev::VIRTIO_SCSI),
        virtio_serial: has(&dev::VIRTIO_SERIAL),
        virtio_input: has(&dev::VIRTIO_INPUT),
        usb3: has(&dev::QEMU_XHCI),
        q35: !legacy_only && has(&dev::Q35),
        nic_fallback: nic.map(|(name, _)| (*name).to_owned()),
    }
}

/// Later definitions of the same OS take precedence.
fn merge(into: &mut RawOs, later: RawOs) {
    for id in later.short_ids {
        if !into.short_ids.contains(&id) {
            into.short_ids.push(id);
        }
    }
    let scalars = [
        (&mut into.name, later.name),
        (&mut into.version, later.version),
        (&mut into.family, later.family),
        (&mut into.distro, later.distro),
        (&mut into.release_date, later.release_date),
        (&mut into.eol_date, later.eol_date),
        (&mut into.release_status, later.release_status),
    ];
    for (slot, value) in scalars {
        if value.is_some() {
            *slot = value;
        }
    }
    union(&mut into.derives_from, later.derives_from, |a, b| a == b);
    union(&mut into.clones, later.clones, |a, b| a == b);
    union(&mut into.upgrades, later.upgrades, |a, b| a == b);
    replace_or_push(&mut into.devices, later.devices, |a, b| a.id == b.id);
    replace_or_push(&mut into.firmware, later.firmware, |a, b| {
        (&a.arch, &a.kind) == (&b.arch, &b.kind)
    });
    replace_or_push(&mut into.resources, later.resources, |a, b| {
        (a.kind, &a.arch) == (b.kind, &b.arch)
    });
    into.media.extend(later.media);
}

fn union<T>(into: &mut Vec<T>, later: Vec<T>, same: impl Fn(&T, &T) -> bool) {
    for item in later {
        if !into.iter().any(|old| same(old, &item)) {
            into.push(item);
        }
    }
}

fn replace_or_push<T>(into: &mut Vec<T>, later: Vec<T>, same: impl Fn(&T, &T) -> bool) {
    for item in later {
        match into.iter_mut().find(|old| same(old, &item)) {
            Some(old) => *old = item,
            None => into.push(item),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{build, entity_key, select};
    use crate::osinfo::index::{DbFile, scan};
    use std::fs;
    use std::path::Path;

    fn put(dir: &Path, rel: &str, body: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(
            path,
            format!("<libosinfo version=\"0.0.1\">{body}</libosinfo>"),
        )
        .expect("write");
    }

    fn file(dir: usize, rel: &str) -> DbFile {
        DbFile {
            dir,
            rel: rel.into(),
            path: rel.into(),
        }
    }

    #[test]
    fn entity_key_table() {
        let cases = [
            ("os/a.org/x-1.xml", ("os/a.org/x-1", false)),
            ("os/a.org/x-1.d/drivers.xml", ("os/a.org/x-1", true)),
            ("top.xml", ("top", false)),
        ];
        for (rel, (key, fragment)) in cases {
            assert_eq!(entity_key(rel), (key.to_owned(), fragment), "{rel}");
        }
    }

    #[test]
    fn later_main_file_replaces_main_and_fragments() {
        let files = [
            file(0, "os/a/x.xml"),
            file(0, "os/a/x.d/f.xml"),
            file(0, "os/a/y.xml"),
            file(1, "os/a/x.xml"),
            file(1, "os/a/y.d/g.xml"),
        ];
        let picked: Vec<(usize, &str)> = select(&files)
            .iter()
            .map(|f| (f.dir, f.rel.as_str()))
            .collect();
        assert_eq!(
            picked,
            [(0, "os/a/y.xml"), (1, "os/a/y.d/g.xml"), (1, "os/a/x.xml")]
        );
    }

    const PARENT: &str = r#"<os id="http://e.org/p"><short-id>p1</short-id><family>linux</family>
        <devices>
          <device id="http://pcisig.com/pci/1af4/1041"/>
          <device id="http://pcisig.com/pci/1af4/1042"/>
          <device id="http://pcisig.com/pci/1af4/1050"/>
          <device id="http://qemu.org/chipset/x86/q35"/>
          <device id="http://pcisig.com/pci/8086/100e"/>
        </devices>
        <firmware arch="x86_64" type="efi"/>
        <resources arch="all"><minimum><n-cpus>1</n-cpus><ram>1073741824</ram></minimum>
          <recommended><ram>2147483648</ram><storage>21474836480</storage></recommended></resources>
        </os>"#;

    const CHILD: &str = r#"<os id="http://e.org/c"><short-id>c1</short-id><family>linux</family>
        <derives-from id="http://e.org/p"/>
        <devices><device id="http://pcisig.com/pci/1af4/1050" supported="false"/></devices>
        <firmware arch="x86_64" type="bios" supported="false"/>
        <resources arch="all" inherit="true"><recommended><ram>4294967296</ram></recommended></resources>
        </os>"#;

    const GRANDCHILD: &str = r#"<os id="http://e.org/g"><short-id>g1</short-id><family>linux</family>
        <derives-from id="http://e.org/c"/>
        <devices><device id="http://pcisig.com/pci/1af4/1050" supported="true"/></devices>
        </os>"#;

    #[test]
    fn inheritance_follows_libosinfo() {
        let tmp = tempfile::tempdir().expect("tempdir");
        put(tmp.path(), "os/e.org/p.xml", PARENT);
        put(tmp.path(), "os/e.org/c.xml", CHILD);
        put(tmp.path(), "os/e.org/g.xml", GRANDCHILD);
        let built = build(&scan(&[tmp.path().to_path_buf()]).files);
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
        let get = |id: &str| {
            let rec = built.records.iter().find(|r| r.id() == id).expect(id);
            rec.info_for("x86_64")
        };
        let (p, c, g) = (get("p1"), get("c1"), get("g1"));
        let gpu = [p.virtio_gpu, c.virtio_gpu, g.virtio_gpu];
        assert_eq!(gpu, [true, false, true], "nearest device link wins");
        assert!(c.virtio_net && c.virtio_disk && c.q35 && g.q35);
        assert_eq!(c.nic_fallback.as_deref(), Some("e1000"));
        let uefi = [p.uefi, c.uefi, g.uefi].map(|u| format!("{u:?}"));
        assert_eq!(uefi, ["Supported", "Required", "Required"]);
        assert_eq!(
            (c.memory_mib, c.storage_gib, c.minimum_memory_mib),
            (Some(4096), Some(20), Some(1024))
        );
        assert_eq!(c.vcpus, Some(2), "inherited minimum n-cpus doubled");
        assert_eq!(
            (g.memory_mib, g.vcpus),
            (None, None),
            "no inherit block, no resources"
        );
    }

    #[test]
    fn broken_file_becomes_a_warning() {
        let tmp = tempfile::tempdir().expect("tempdir");
        put(tmp.path(), "os/e.org/p.xml", PARENT);
        fs::write(
            tmp.path().join("os/e.org/bad.xml"),
            "<libosinfo><os id='x'>",
        )
        .expect("write");
        let built = build(&scan(&[tmp.path().to_path_buf()]).files);
        assert_eq!(built.records.len(), 1);
        assert_eq!(built.warnings.len(), 1);
        assert!(
            built.warnings[0].contains("bad.xml"),
            "{:?}",
            built.warnings
        );
    }
}
