//! Parsing of one osinfo-db XML document into raw, not yet inherited, OS
//! definitions (`<libosinfo><os id=...>...</os></libosinfo>`).
//!
//! Only the parts qvirt uses are read: short ids, name, family/distro/version,
//! dates and release status, the `<derives-from>`, `<clones>` and `<upgrades>`
//! relations, `<devices>` links (with `supported="false"`), `<firmware>`,
//! `<resources>` (minimum/recommended/maximum/network-install, `inherit`) and
//! `<media>` with their `<iso>` match rules, kernel, initrd and `live` flag. Translated
//! elements (`xml:lang`) and everything else (variants, trees, images,
//! installers, drivers) are skipped.

use quick_xml::XmlVersion;
use quick_xml::errors::IllFormedError;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::model::is_false;

/// One `<os>` element as written in one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RawOs {
    pub(crate) id: String,
    pub(crate) short_ids: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) family: Option<String>,
    pub(crate) distro: Option<String>,
    pub(crate) release_date: Option<String>,
    pub(crate) eol_date: Option<String>,
    pub(crate) release_status: Option<String>,
    pub(crate) derives_from: Vec<String>,
    pub(crate) clones: Vec<String>,
    pub(crate) upgrades: Vec<String>,
    pub(crate) devices: Vec<DeviceLink>,
    pub(crate) firmware: Vec<RawFirmware>,
    pub(crate) resources: Vec<RawResources>,
    pub(crate) media: Vec<RawMedia>,
}

/// `<device id=".." supported="..">` inside `<devices>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceLink {
    pub(crate) id: String,
    pub(crate) supported: bool,
}

/// `<firmware arch=".." type=".." supported="..">`, with an optional
/// `<feature name="secure-boot">` child (not in osinfo-db 2022, read if present).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RawFirmware {
    pub(crate) arch: String,
    pub(crate) kind: String,
    pub(crate) supported: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) secure_boot: Option<bool>,
}

/// Which block of a `<resources>` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ResKind {
    Minimum,
    Recommended,
    Maximum,
    NetworkInstall,
}

impl ResKind {
    const ALL: [ResKind; 4] = [
        ResKind::Minimum,
        ResKind::Recommended,
        ResKind::Maximum,
        ResKind::NetworkInstall,
    ];

    fn from_tag(tag: &str) -> Option<ResKind> {
        ResKind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    fn tag(self) -> &'static str {
        match self {
            ResKind::Minimum => "minimum",
            ResKind::Recommended => "recommended",
            ResKind::Maximum => "maximum",
            ResKind::NetworkInstall => "network-install",
        }
    }
}

/// One block (`<minimum>` etc.) of a `<resources arch="..">` element.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RawResources {
    pub(crate) arch: String,
    pub(crate) kind: ResKind,
    #[serde(skip)]
    pub(crate) inherit: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) n_cpus: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ram: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) storage: Option<u64>,
}

/// One `<media arch="..">` with its `<iso>` rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(crate) struct RawMedia {
    pub(crate) arch: String,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) live: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) volume_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) system_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) publisher_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) application_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) volume_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kernel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) initrd: Option<String>,
}

/// Parses an osinfo-db document and returns its `<os>` definitions.
pub(crate) fn parse(text: &str) -> Result<Vec<RawOs>, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut st = State::default();
    loop {
        match reader.read_event()? {
            Event::Start(e) => st.open(&e, false),
            Event::Empty(e) => st.open(&e, true),
            Event::End(_) => st.close(),
            Event::Text(t) => st.text.push_str(&t.xml_content(XmlVersion::Implicit1_0)),
            Event::CData(t) => st.text.push_str(&t.xml_content(XmlVersion::Implicit1_0)),
            Event::GeneralRef(r) => st.text.push_str(&resolve_ref(&r)?),
            Event::Eof => return st.finish(),
            _ => {}
        }
    }
}

fn resolve_ref(r: &BytesRef<'_>) -> Result<String, quick_xml::Error> {
    if let Some(c) = r.resolve_char_ref()? {
        return Ok(c.to_string());
    }
    let name = r.xml_content(XmlVersion::Implicit1_0);
    let text = quick_xml::escape::resolve_predefined_entity(&name);
    Ok(text.map_or_else(|| format!("&{name};"), str::to_owned))
}

#[derive(Default)]
struct State {
    stack: Vec<String>,
    text: String,
    translated: bool,
    os: Option<RawOs>,
    res: Option<ResCtx>,
    media: Option<RawMedia>,
    done: Vec<RawOs>,
}

struct ResCtx {
    arch: String,
    inherit: bool,
    seen: Vec<ResKind>,
    cur: Option<RawResources>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let a = e.try_get_attribute(name).ok()??;
    a.normalized_value(XmlVersion::Implicit1_0)
        .ok()
        .map(|v| v.into_owned())
}

fn attr_bool(e: &BytesStart<'_>, name: &str, default: bool) -> bool {
    attr(e, name).map_or(default, |v| v.trim() == "true")
}

impl State {
    fn finish(self) -> Result<Vec<RawOs>, quick_xml::Error> {
        match self.stack.last() {
            Some(tag) => Err(IllFormedError::MissingEndTag(tag.clone()).into()),
            None => Ok(self.done),
        }
    }

    fn open(&mut self, e: &BytesStart<'_>, empty: bool) {
        let tag = e.local_name().as_ref().to_owned();
        self.stack.push(tag);
        self.text.clear();
        self.translated = attr(e, "xml:lang").is_some();
        self.open_element(e);
        if empty {
            self.close();
        }
    }

    fn path(&self) -> Vec<&str> {
        self.stack.iter().map(String::as_str).collect()
    }

    fn open_element(&mut self, e: &BytesStart<'_>) {
        let path = self.path();
        let Some(os_path) = path.strip_prefix(&["libosinfo", "os"]) else {
            return;
        };
        match os_path {
            [] => {
                self.os = attr(e, "id").map(|id| RawOs {
                    id,
                    ..RawOs::default()
                })
            }
            [rel @ ("derives-from" | "clones" | "upgrades")] => {
                let rel = (*rel).to_owned();
                self.relation(&rel, attr(e, "id"));
            }
            ["devices", "device"] => self.device(e),
            ["firmware"] => self.firmware(e),
            ["firmware", "feature"] => self.firmware_feature(e),
            ["resources"] => self.res = Some(resources_ctx(e)),
            ["resources", kind] => {
                let kind = ResKind::from_tag(kind);
                self.resources_block(kind);
            }
            ["media"] => self.media = Some(media_start(e)),
            _ => {}
        }
    }

    fn close(&mut self) {
        let text = std::mem::take(&mut self.text);
        self.close_element(&text);
        self.stack.pop();
    }

    fn close_element(&mut self, text: &str) {
        let path = self.path();
        let Some(os_path) = path.strip_prefix(&["libosinfo", "os"]) else {
            return;
        };
        match os_path {
            [] => self.done.extend(self.os.take()),
            ["resources"] => self.resources_end(),
            ["media"] => self.media_end(),
            [field] => {
                let field = (*field).to_owned();
                self.os_field(&field, text);
            }
            ["resources", _] => self.resources_block_end(),
            ["resources", _, field] => {
                let field = (*field).to_owned();
                self.resources_field(&field, text);
            }
            ["media", field] => {
                let field = (*field).to_owned();
                self.media_field(&field, text);
            }
            ["media", "iso", field] => {
                let field = (*field).to_owned();
                self.iso_field(&field, text);
            }
            _ => {}
        }
    }

    fn os_field(&mut self, field: &str, text: &str) {
        let translated = self.translated;
        let Some(os) = self.os.as_mut() else { return };
        let value = Some(text.trim().to_owned()).filter(|v| !v.is_empty());
        match field {
            "short-id" => os.short_ids.extend(value),
            "name" if !translated && os.name.is_none() => os.name = value,
            "version" => os.version = value,
            "family" => os.family = value,
            "distro" => os.distro = value,
            "release-date" => os.release_date = value,
            "eol-date" => os.eol_date = value,
            "release-status" => os.release_status = value,
            _ => {}
        }
    }

    fn relation(&mut self, rel: &str, id: Option<String>) {
        let (Some(os), Some(id)) = (self.os.as_mut(), id) else {
            return;
        };
        match rel {
            "derives-from" => os.derives_from.push(id),
            "clones" => os.clones.push(id),
            _ => os.upgrades.push(id),
        }
    }

    fn device(&mut self, e: &BytesStart<'_>) {
        let (Some(os), Some(id)) = (self.os.as_mut(), attr(e, "id")) else {
            return;
        };
        os.devices.push(DeviceLink {
            id,
            supported: attr_bool(e, "supported", true),
        });
    }

    fn firmware(&mut self, e: &BytesStart<'_>) {
        let Some(os) = self.os.as_mut() else { return };
        let (Some(arch), Some(kind)) = (attr(e, "arch"), attr(e, "type")) else {
            return;
        };
        let supported = attr_bool(e, "supported", true);
        os.firmware.push(RawFirmware {
            arch,
            kind,
            supported,
            secure_boot: None,
        });
    }

    fn firmware_feature(&mut self, e: &BytesStart<'_>) {
        let Some(fw) = self.os.as_mut().and_then(|os| os.firmware.last_mut()) else {
            return;
        };
        if attr(e, "name").as_deref() == Some("secure-boot") {
            fw.secure_boot = Some(attr_bool(e, "supported", true));
        }
    }

    fn resources_block(&mut self, kind: Option<ResKind>) {
        let Some(ctx) = self.res.as_mut() else { return };
        ctx.cur = kind.map(|kind| empty_resources(&ctx.arch, kind, ctx.inherit));
    }

    fn resources_field(&mut self, field: &str, text: &str) {
        let Some(cur) = self.res.as_mut().and_then(|ctx| ctx.cur.as_mut()) else {
            return;
        };
        let value = text.trim().parse::<u64>().ok();
        match field {
            "n-cpus" => cur.n_cpus = value,
            "ram" => cur.ram = value,
            "storage" => cur.storage = value,
            _ => {}
        }
    }

    fn resources_block_end(&mut self) {
        let Some(ctx) = self.res.as_mut() else { return };
        let Some(cur) = ctx.cur.take() else { return };
        ctx.seen.push(cur.kind);
        if let Some(os) = self.os.as_mut() {
            os.resources.push(cur);
        }
    }

    /// `<resources inherit="true"/>` yields an empty inheriting block of every
    /// kind it does not spell out, as libosinfo's loader does.
    fn resources_end(&mut self) {
        let (Some(ctx), Some(os)) = (self.res.take(), self.os.as_mut()) else {
            return;
        };
        if !ctx.inherit {
            return;
        }
        let missing = ResKind::ALL.into_iter().filter(|k| !ctx.seen.contains(k));
        os.resources
            .extend(missing.map(|k| empty_resources(&ctx.arch, k, true)));
    }

    fn media_field(&mut self, field: &str, text: &str) {
        let Some(media) = self.media.as_mut() else {
            return;
        };
        let value = Some(text.trim().to_owned()).filter(|v| !v.is_empty());
        match field {
            "kernel" => media.kernel = value,
            "initrd" => media.initrd = value,
            _ => {}
        }
    }

    /// Match rules keep their exact text: spaces can be significant.
    fn iso_field(&mut self, field: &str, text: &str) {
        let Some(media) = self.media.as_mut() else {
            return;
        };
        let value = Some(text.to_owned()).filter(|v| !v.is_empty());
        match field {
            "volume-id" => media.volume_id = value,
            "system-id" => media.system_id = value,
            "publisher-id" => media.publisher_id = value,
            "application-id" => media.application_id = value,
            "volume-size" => media.volume_size = text.trim().parse().ok(),
            _ => {}
        }
    }

    fn media_end(&mut self) {
        if let (Some(media), Some(os)) = (self.media.take(), self.os.as_mut()) {
            os.media.push(media);
        }
    }
}

fn resources_ctx(e: &BytesStart<'_>) -> ResCtx {
    ResCtx {
        arch: attr(e, "arch").unwrap_or_else(|| "all".to_owned()),
        inherit: attr_bool(e, "inherit", false),
        seen: Vec::new(),
        cur: None,
    }
}

fn empty_resources(arch: &str, kind: ResKind, inherit: bool) -> RawResources {
    RawResources {
        arch: arch.to_owned(),
        kind,
        inherit,
        n_cpus: None,
        ram: None,
        storage: None,
    }
}

fn media_start(e: &BytesStart<'_>) -> RawMedia {
    RawMedia {
        arch: attr(e, "arch").unwrap_or_else(|| "all".to_owned()),
        live: attr_bool(e, "live", false),
        ..RawMedia::default()
    }
}

#[cfg(test)]
mod tests {
    use super::{DeviceLink, ResKind, parse};

    const SAMPLE: &str = r#"<?xml version="1.0"?>
<libosinfo version="0.0.1">
  <os id="http://example.org/demo/1">
    <short-id>demo1</short-id>
    <short-id>demoone</short-id>
    <name>Demo 1</name>
    <name xml:lang="de">Demo Eins</name>
    <version>1</version>
    <family>linux</family>
    <distro>demo</distro>
    <derives-from id="http://example.org/demo/0"/>
    <upgrades id="http://example.org/demo/0"/>
    <release-status>prerelease</release-status>
    <eol-date>2030-01-01</eol-date>
    <firmware arch="x86_64" type="efi"/>
    <firmware arch="x86_64" type="bios" supported="false"/>
    <devices>
      <device id="http://pcisig.com/pci/1af4/1041"/>
      <device id="http://pcisig.com/pci/1af4/1050" supported="false"/>
    </devices>
    <resources arch="all">
      <minimum><n-cpus>1</n-cpus><ram>1073741824</ram></minimum>
      <recommended><ram>2147483648</ram><storage>21474836480</storage></recommended>
    </resources>
    <resources arch="x86_64" inherit="true"/>
    <media arch="x86_64" live="true">
      <variant id="x"/>
      <iso>
        <volume-id>Demo &lt;1&gt; \d+ </volume-id>
        <publisher-id>D&#xE9;MO</publisher-id>
      </iso>
      <kernel>boot/vmlinuz</kernel>
      <initrd>boot/initrd</initrd>
    </media>
    <driver arch="x86_64"><device id="http://pcisig.com/pci/dead/beef"/></driver>
  </os>
  <deployment id="x"><os id="http://example.org/not-an-os"/></deployment>
</libosinfo>"#;

    #[test]
    fn parses_the_fields_qvirt_uses() {
        let oses = parse(SAMPLE).expect("sample parses");
        assert_eq!(oses.len(), 1);
        let os = &oses[0];
        let table: &[(&str, Option<&str>)] = &[
            ("name", os.name.as_deref()),
            ("version", os.version.as_deref()),
            ("family", os.family.as_deref()),
            ("distro", os.distro.as_deref()),
            ("release-status", os.release_status.as_deref()),
            ("eol-date", os.eol_date.as_deref()),
        ];
        let want = ["Demo 1", "1", "linux", "demo", "prerelease", "2030-01-01"];
        for ((field, got), want) in table.iter().zip(want) {
            assert_eq!(*got, Some(want), "{field}");
        }
        assert_eq!(os.short_ids, ["demo1", "demoone"]);
        assert_eq!(os.derives_from, ["http://example.org/demo/0"]);
        assert_eq!(os.upgrades, ["http://example.org/demo/0"]);
        assert_eq!(
            os.devices,
            [
                DeviceLink {
                    id: "http://pcisig.com/pci/1af4/1041".into(),
                    supported: true
                },
                DeviceLink {
                    id: "http://pcisig.com/pci/1af4/1050".into(),
                    supported: false
                },
            ]
        );
        assert_eq!(os.firmware.len(), 2);
        assert!(!os.firmware[1].supported);
    }

    #[test]
    fn parses_resources_and_inherit_blocks() {
        let oses = parse(SAMPLE).expect("sample parses");
        let res = &oses[0].resources;
        let min = res
            .iter()
            .find(|r| r.kind == ResKind::Minimum && r.arch == "all");
        let min = min.expect("minimum block");
        assert_eq!(
            (min.n_cpus, min.ram, min.storage),
            (Some(1), Some(1 << 30), None)
        );
        let inheriting: Vec<_> = res.iter().filter(|r| r.arch == "x86_64").collect();
        assert_eq!(inheriting.len(), 4);
        assert!(inheriting.iter().all(|r| r.inherit && r.ram.is_none()));
    }

    #[test]
    fn parses_media_rules_verbatim() {
        let oses = parse(SAMPLE).expect("sample parses");
        let media = &oses[0].media[0];
        assert_eq!(media.volume_id.as_deref(), Some("Demo <1> \\d+ "));
        assert_eq!(media.publisher_id.as_deref(), Some("DéMO"));
        assert_eq!(media.kernel.as_deref(), Some("boot/vmlinuz"));
        assert!(media.live);
    }

    #[test]
    fn rejects_malformed_documents() {
        for doc in [
            "<libosinfo><os id='x'></libosinfo>",
            "<libosinfo><os id='x'>",
            "<a></b>",
        ] {
            assert!(parse(doc).is_err(), "{doc}");
        }
    }
}
