//! virt-install's sub-option language: `--disk path=a.qcow2,size=20,bus=virtio`.
//!
//! One tokenizer serves every option. The value is split at commas with
//! shell rules (quotes and a backslash protect a comma, `,,` is just an
//! empty field), each field is `key=value` or a bare `key`, leading bare
//! fields fill the option's positional keys, and a comma-absorbing key
//! takes back the fields after it that are not keys themselves. Old key
//! spellings are rewritten to the current ones here, so the layers above
//! only ever see one name per key.
//!
//! The keys of every option are declared once, in [`table`]. A key the
//! option does not have is an error that names it; a key virt-install has
//! but the caller never took is refused as not supported yet, so nothing
//! the user wrote is silently ignored.

mod table;

use std::str::FromStr;

/// How a key's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Any text.
    Text,
    /// `yes`/`no` in any of virt-install's spellings.
    Bool,
    /// Text that absorbs the comma-separated fields after it that are not
    /// keys, as in `cpuset=1,3-5` or `cmdline=console=ttyS0,115200`.
    Comma,
}

/// Groups of keys that many options share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Common {
    /// `address.*`: where the device sits on its bus.
    Address,
    /// `alias.name`.
    Alias,
    /// `driver.{ats,iommu,packed,page_per_vq}` of virtio devices.
    Virtio,
    /// `xpathN.*`: raw edits of libvirt's XML.
    Xpath,
    /// `clearxml`.
    ClearXml,
}

const ADDRESS_KEYS: &str = "address.base address.bus address.controller address.cssid \
    address.devno address.domain address.function address.iobase address.irq \
    address.multifunction? address.port address.reg address.slot address.ssid address.target \
    address.type address.unit address.zpci.fid address.zpci.uid";

impl Common {
    fn keys(self) -> &'static str {
        match self {
            Common::Address => ADDRESS_KEYS,
            Common::Alias => "alias.name",
            Common::Virtio => "driver.ats? driver.iommu? driver.packed? driver.page_per_vq?",
            Common::Xpath => "xpathN.set xpathN.value xpathN.create xpathN.delete",
            Common::ClearXml => "clearxml?",
        }
    }
}

/// One option's declared keys.
#[derive(Debug)]
pub(crate) struct OptionTable {
    option: &'static str,
    positional: &'static [&'static str],
    keys: &'static str,
    aliases: &'static str,
    common: &'static [Common],
}

impl OptionTable {
    fn find(option: &str) -> Option<&'static OptionTable> {
        table::TABLE.iter().find(|t| t.option == option)
    }

    /// Every key, with its kind.
    fn keys(&self) -> impl Iterator<Item = (&'static str, KeyKind)> + '_ {
        let common = self.common.iter().flat_map(|c| c.keys().split_whitespace());
        self.keys.split_whitespace().chain(common).map(|key| {
            if let Some(key) = key.strip_suffix('?') {
                (key, KeyKind::Bool)
            } else if let Some(key) = key.strip_suffix('+') {
                (key, KeyKind::Comma)
            } else {
                (key, KeyKind::Text)
            }
        })
    }

    /// The current name and kind of `name`, which may be an old spelling
    /// or carry indices.
    fn resolve(&self, name: &str) -> Option<(String, KeyKind)> {
        for alias in self.aliases.split_whitespace() {
            let Some((old, current)) = alias.split_once('=') else {
                continue;
            };
            if let Some(indices) = match_template(old, name) {
                let kind = self.kind_of(current)?;
                return Some((fill_template(current, &indices), kind));
            }
        }
        self.keys().find_map(|(template, kind)| {
            match_template(template, name).map(|indices| (fill_template(template, &indices), kind))
        })
    }

    fn kind_of(&self, template: &str) -> Option<KeyKind> {
        self.keys()
            .find(|(key, _)| *key == template)
            .map(|(_, kind)| kind)
    }
}

/// Matches `name` against a key template whose index markers (`N` before a
/// `.` or at the end) stand for optional digits; returns the digits.
fn match_template(template: &str, name: &str) -> Option<Vec<String>> {
    let mut indices = Vec::new();
    let mut rest = name;
    for (literal, indexed) in template_parts(template) {
        rest = rest.strip_prefix(literal)?;
        if indexed {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            indices.push(rest[..digits].to_string());
            rest = &rest[digits..];
        }
    }
    rest.is_empty().then_some(indices)
}

/// Splits a template into literal pieces, each followed by an index marker
/// or not.
fn template_parts(template: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let bytes = template.as_bytes();
    for (at, byte) in bytes.iter().enumerate() {
        let ends_index = matches!(bytes.get(at + 1), None | Some(b'.'));
        if *byte == b'N' && ends_index && at > 0 && bytes[at - 1].is_ascii_lowercase() {
            pieces.push((&template[start..at], true));
            start = at + 1;
        }
    }
    pieces.push((&template[start..], false));
    pieces.into_iter()
}

/// Puts indices back into a template; a missing index is 0, as in
/// virt-install (`cell.id` is `cell0.id`).
fn fill_template(template: &str, indices: &[String]) -> String {
    let mut out = String::new();
    let mut indices = indices.iter();
    for (literal, indexed) in template_parts(template) {
        out.push_str(literal);
        if indexed {
            match indices.next().filter(|digits| !digits.is_empty()) {
                Some(digits) => out.push_str(digits),
                None => out.push('0'),
            }
        }
    }
    out
}

/// Why a sub-option string is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubOptError {
    /// Keys the option does not have, in virt-install's words.
    #[error("Unknown --{option} options: [{}]", quoted_list(.keys))]
    Unknown {
        /// The option, without dashes.
        option: String,
        /// The unknown keys as the user wrote them.
        keys: Vec<String>,
    },
    /// Keys virt-install has that qvirt does not handle yet.
    #[error("{} not supported yet", supported_list(.option, .keys))]
    Unsupported {
        /// The option, without dashes.
        option: String,
        /// The keys as the user wrote them.
        keys: Vec<String>,
    },
    /// A key that needs a value was given bare.
    #[error("--{option} {raw}: Option '{key}' had no value set.")]
    NoValue {
        /// The option, without dashes.
        option: String,
        /// The whole value of the option.
        raw: String,
        /// The key.
        key: String,
    },
    /// A value that is not what the key takes.
    #[error("--{option} {raw}: {reason}")]
    Value {
        /// The option, without dashes.
        option: String,
        /// The whole value of the option.
        raw: String,
        /// What is wrong, in virt-install's words where it has them.
        reason: String,
    },
    /// Quotes that do not close.
    #[error("--{option} {raw}: No closing quotation")]
    Unbalanced {
        /// The option, without dashes.
        option: String,
        /// The whole value of the option.
        raw: String,
    },
}

fn quoted_list(keys: &[String]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    quoted.join(", ")
}

fn supported_list(option: &str, keys: &[String]) -> String {
    let named: Vec<String> = keys.iter().map(|k| format!("--{option} {k}")).collect();
    let verb = if named.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", named.join(", "))
}

/// One field after tokenizing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    /// The current name (`target.bus`), or the name as typed when unknown.
    key: String,
    /// The name as the user typed it, for messages.
    typed: String,
    /// `None` for a bare key.
    value: Option<String>,
    /// Whether the option declares the key.
    known: bool,
    kind: KeyKind,
}

/// The parsed sub-options of one occurrence of an option. Callers `take`
/// the keys they understand, then call [`SubOpts::finish`], which refuses
/// whatever is left.
#[derive(Debug, Clone)]
pub struct SubOpts {
    option: &'static str,
    raw: String,
    fields: Vec<Field>,
    flags: Vec<String>,
}

/// Option values that ask for the list of sub-options instead.
pub fn is_help(value: &str) -> bool {
    value == "?" || value == "help"
}

/// The sorted list of `option`'s keys, as `--OPTION=?` prints it, with
/// index markers shown as `[0-9]*`.
pub fn help_keys(option: &str) -> Vec<String> {
    let Some(table) = OptionTable::find(option) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = table
        .keys()
        .map(|(key, _)| {
            template_parts(key)
                .map(|(literal, indexed)| {
                    if indexed {
                        format!("{literal}[0-9]*")
                    } else {
                        literal.to_string()
                    }
                })
                .collect()
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The options that take sub-options, by long name without dashes.
pub fn options() -> impl Iterator<Item = &'static str> {
    table::TABLE.iter().map(|t| t.option)
}

/// Parses `raw`, the value of one `--option`.
///
/// # Panics
///
/// Never for a `option` that is in the table; an option that takes no
/// sub-options is a bug in the caller and parses as if it had no keys.
pub fn parse(option: &'static str, raw: &str) -> Result<SubOpts, SubOptError> {
    let table = OptionTable::find(option);
    if option == "qemu-commandline" {
        return Ok(qemu_commandline(raw));
    }
    let tokens = split(raw).ok_or_else(|| SubOptError::Unbalanced {
        option: option.to_string(),
        raw: raw.to_string(),
    })?;

    let mut opts = SubOpts {
        option,
        raw: raw.to_string(),
        fields: Vec::new(),
        flags: Vec::new(),
    };
    let mut positional = table.map(|t| t.positional).unwrap_or_default().iter();
    let mut leading = true;
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let (name, value) = match token.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (token.clone(), None),
        };
        if value.is_none() && is_flag(option, &name) {
            opts.flags.push(name);
            leading = false;
            continue;
        }
        // Leading bare fields fill the positional keys, in order.
        let filled = match (leading, &value) {
            (true, None) => positional.next(),
            _ => None,
        };
        leading = filled.is_some();
        let (name, value) = match filled {
            Some(key) => (key.to_string(), Some(token)),
            None => (name, value),
        };

        let resolved = table.and_then(|t| t.resolve(&name));
        let (key, kind, known) = match resolved {
            Some((key, kind)) => (key, kind, true),
            None => (name.clone(), KeyKind::Text, false),
        };
        let mut value = value;
        if kind == KeyKind::Comma {
            // Glue back the following fields that are not keys.
            while let Some(next) = tokens.peek() {
                let next_name = next.split_once('=').map_or(next.as_str(), |(n, _)| n);
                if table.is_some_and(|t| t.resolve(next_name).is_some()) {
                    break;
                }
                let next = tokens.next().unwrap_or_default();
                let joined = value.get_or_insert_with(String::new);
                joined.push(',');
                joined.push_str(&next);
            }
        }
        if known && value.is_none() {
            return Err(SubOptError::NoValue {
                option: option.to_string(),
                raw: raw.to_string(),
                key: name,
            });
        }
        opts.fields.push(Field {
            key,
            typed: name,
            value,
            known,
            kind,
        });
    }
    Ok(opts)
}

/// Bare tokens that are not keys: `--boot` device names and `uefi`, and
/// `--cpu`'s `+feature`/`-feature`.
fn is_flag(option: &str, token: &str) -> bool {
    match option {
        "boot" => matches!(token, "hd" | "cdrom" | "fd" | "network" | "uefi"),
        "cpu" => token.len() > 1 && (token.starts_with('+') || token.starts_with('-')),
        _ => false,
    }
}

/// `--qemu-commandline` is not tokenized: the whole value is the QEMU
/// arguments unless it starts with one of its keys.
fn qemu_commandline(raw: &str) -> SubOpts {
    let (key, value) = ["env", "args", "clearxml"]
        .iter()
        .find_map(|key| {
            raw.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .map(|value| (*key, value))
        })
        .unwrap_or(("args", raw));
    let kind = if key == "clearxml" {
        KeyKind::Bool
    } else {
        KeyKind::Comma
    };
    SubOpts {
        option: "qemu-commandline",
        raw: raw.to_string(),
        fields: vec![Field {
            key: key.to_string(),
            typed: key.to_string(),
            value: Some(value.to_string()),
            known: true,
            kind,
        }],
        flags: Vec::new(),
    }
}

/// Splits at commas with POSIX shell quoting, as Python's `shlex` does with
/// the comma as its only whitespace. Empty fields vanish. `None` when a
/// quote is not closed.
fn split(raw: &str) -> Option<Vec<String>> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_token = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            ',' => {
                if in_token {
                    tokens.push(std::mem::take(&mut current));
                    in_token = false;
                }
            }
            '\\' => {
                in_token = true;
                if let Some(escaped) = chars.next() {
                    current.push(escaped);
                }
            }
            '\'' => {
                in_token = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => current.push(c),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        // Inside double quotes a backslash escapes only
                        // a double quote or a backslash.
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\') => current.push(c),
                            c => {
                                current.push('\\');
                                current.push(c);
                            }
                        },
                        c => current.push(c),
                    }
                }
            }
            c => {
                in_token = true;
                current.push(c);
            }
        }
    }
    if in_token {
        tokens.push(current);
    }
    Some(tokens.into_iter().filter(|t| !t.is_empty()).collect())
}

/// Reads a boolean in any of virt-install's spellings.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "1" | "true" | "t" | "on" => Some(true),
        "n" | "no" | "0" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

impl SubOpts {
    /// The option these came from, without dashes.
    pub fn option(&self) -> &'static str {
        self.option
    }

    /// The value as the user wrote it.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// True for the literal value `none`.
    pub fn is_none(&self) -> bool {
        self.raw == "none"
    }

    /// Removes `key` and returns its last value; an empty value (`key=`)
    /// counts as not given, as in virt-install.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.take_all(key).pop()
    }

    /// Removes every occurrence of `key` and returns the values in order.
    pub fn take_all(&mut self, key: &str) -> Vec<String> {
        let mut values = Vec::new();
        self.fields.retain(|field| {
            if field.key != key {
                return true;
            }
            if let Some(value) = field.value.clone().filter(|v| !v.is_empty()) {
                values.push(value);
            }
            false
        });
        values
    }

    /// Removes `key` and reads it as a boolean.
    pub fn take_bool(&mut self, key: &str) -> Result<Option<bool>, SubOptError> {
        let typed = self.typed_name(key);
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        parse_bool(&value)
            .map(Some)
            .ok_or_else(|| self.value_error(format!("{typed} must be 'yes' or 'no'")))
    }

    /// Removes `key` and reads it as an integer.
    pub fn take_parsed<T: FromStr>(&mut self, key: &str) -> Result<Option<T>, SubOptError> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        value.trim().parse::<T>().map(Some).map_err(|_| {
            self.value_error(format!("invalid literal for int() with base 10: '{value}'"))
        })
    }

    /// Removes the bare flags (`--boot hd,cdrom`, `--cpu +vmx`) in order.
    pub fn take_flags(&mut self) -> Vec<String> {
        std::mem::take(&mut self.flags)
    }

    /// Removes every key that starts with `prefix` and returns them with
    /// their values, in order.
    pub fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let mut taken = Vec::new();
        self.fields.retain(|field| {
            if !field.key.starts_with(prefix) {
                return true;
            }
            taken.push((field.key.clone(), field.value.clone().unwrap_or_default()));
            false
        });
        taken
    }

    /// An error about this option's value, in virt-install's shape.
    pub fn value_error(&self, reason: impl Into<String>) -> SubOptError {
        SubOptError::Value {
            option: self.option.to_string(),
            raw: self.raw.clone(),
            reason: reason.into(),
        }
    }

    fn typed_name(&self, key: &str) -> String {
        self.fields
            .iter()
            .rev()
            .find(|f| f.key == key)
            .map_or_else(|| key.to_string(), |f| f.typed.clone())
    }

    /// Refuses whatever was not taken: unknown keys by name, and keys
    /// virt-install has but the caller does not handle as not supported.
    pub fn finish(self) -> Result<(), SubOptError> {
        self.refuse_leftovers()
    }

    /// [`SubOpts::finish`] without giving the options up: for a caller
    /// whose own checks would otherwise speak first about keys it never
    /// looked at (`--disk vol=X` is not a disk without a path).
    pub fn refuse_leftovers(&self) -> Result<(), SubOptError> {
        let unknown: Vec<String> = self
            .fields
            .iter()
            .filter(|f| !f.known)
            .map(|f| f.typed.clone())
            .collect();
        if !unknown.is_empty() {
            return Err(SubOptError::Unknown {
                option: self.option.to_string(),
                keys: unknown,
            });
        }
        let mut unsupported: Vec<String> = self.fields.iter().map(|f| f.typed.clone()).collect();
        unsupported.extend(self.flags.iter().cloned());
        unsupported.dedup();
        if unsupported.is_empty() {
            return Ok(());
        }
        Err(SubOptError::Unsupported {
            option: self.option.to_string(),
            keys: unsupported,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(option: &'static str, raw: &str) -> Vec<(String, Option<String>)> {
        let opts = parse(option, raw).expect(raw);
        opts.fields.into_iter().map(|f| (f.key, f.value)).collect()
    }

    fn kv(key: &str, value: &str) -> (String, Option<String>) {
        (key.to_string(), Some(value.to_string()))
    }

    #[test]
    fn splitting() {
        let cases: [(&str, &[&str]); 7] = [
            ("a=1,b=2", &["a=1", "b=2"]),
            ("path='/tmp/a,b'", &["path=/tmp/a,b"]),
            ("\"path=/tmp/a,b\"", &["path=/tmp/a,b"]),
            ("path=/tmp/a\\,b", &["path=/tmp/a,b"]),
            ("scsi,,model=virtio-scsi", &["scsi", "model=virtio-scsi"]),
            ("title=My pretty title", &["title=My pretty title"]),
            ("", &[]),
        ];
        for (raw, want) in cases {
            assert_eq!(split(raw).expect(raw), want, "{raw}");
        }
        assert_eq!(split("path='/tmp"), None);
    }

    #[test]
    fn positional_and_aliases() {
        assert_eq!(
            pairs("disk", "/p.qcow2,size=20,bus=virtio,cache=none"),
            [
                kv("path", "/p.qcow2"),
                kv("size", "20"),
                kv("target.bus", "virtio"),
                kv("driver.cache", "none")
            ]
        );
        assert_eq!(
            pairs("filesystem", "/src,/dst"),
            [kv("source", "/src"), kv("target", "/dst")]
        );
        assert_eq!(
            pairs("network", "bridge,mac=52:54:00:00:00:01,model=virtio"),
            [
                kv("type", "bridge"),
                kv("mac.address", "52:54:00:00:00:01"),
                kv("model.type", "virtio")
            ]
        );
    }

    #[test]
    fn comma_absorbing_keys() {
        assert_eq!(
            pairs("vcpus", "4,cpuset=1,3-5,maxvcpus=8"),
            [kv("vcpu", "4"), kv("cpuset", "1,3-5"), kv("maxvcpus", "8")]
        );
        assert_eq!(
            pairs(
                "boot",
                "kernel=/k,cmdline=console=ttyS0,115200n8 quiet,initrd=/i"
            ),
            [
                kv("kernel", "/k"),
                kv("cmdline", "console=ttyS0,115200n8 quiet"),
                kv("initrd", "/i")
            ]
        );
    }

    #[test]
    fn indexed_keys() {
        assert_eq!(
            pairs("cpu", "cell0.memory=1024,cell.cpus=0-1,numa.cell1.id=1"),
            [
                kv("numa.cell0.memory", "1024"),
                kv("numa.cell0.cpus", "0-1"),
                kv("numa.cell1.id", "1")
            ]
        );
        assert_eq!(
            pairs("network", "passt,portForward0.range1.start=22"),
            [kv("type", "passt"), kv("portForward0.range1.start", "22")]
        );
        // `busNr` is a name, not an index marker.
        assert!(match_template("target.busNr", "target.busNr").is_some());
    }

    #[test]
    fn flags_and_bools() {
        let mut opts = parse("boot", "cdrom,hd,menu=on,uefi").expect("parses");
        assert_eq!(opts.take_flags(), ["cdrom", "hd", "uefi"]);
        assert_eq!(opts.take_bool("bootmenu.enable"), Ok(Some(true)));
        opts.finish().expect("all taken");

        let mut opts = parse("boot", "menu=maybe").expect("parses");
        let error = opts.take_bool("bootmenu.enable").expect_err("bad");
        assert_eq!(
            error.to_string(),
            "--boot menu=maybe: menu must be 'yes' or 'no'"
        );

        for spelling in ["y", "YES", "1", "true", "t", "On"] {
            assert_eq!(parse_bool(spelling), Some(true), "{spelling}");
        }
        let mut opts = parse("cpu", "Skylake,+vmx,-hle").expect("parses");
        assert_eq!(opts.take_flags(), ["+vmx", "-hle"]);
    }

    #[test]
    fn errors_name_the_option_and_keys() {
        let opts = parse("disk", "/a,foo=1,bar").expect("parses");
        assert_eq!(
            opts.finish().expect_err("unknown").to_string(),
            "Unknown --disk options: ['foo', 'bar']"
        );
        let error = parse("graphics", "vnc,keymap").expect_err("no value");
        assert_eq!(
            error.to_string(),
            "--graphics vnc,keymap: Option 'keymap' had no value set."
        );
        let mut opts = parse("disk", "/a,address.type=pci").expect("parses");
        assert_eq!(opts.take("path").as_deref(), Some("/a"));
        assert_eq!(
            opts.finish().expect_err("untaken").to_string(),
            "--disk address.type is not supported yet"
        );
    }

    #[test]
    fn qemu_commandline_is_one_string() {
        let mut opts = parse("qemu-commandline", "-display gtk,gl=on").expect("parses");
        assert_eq!(opts.take("args").as_deref(), Some("-display gtk,gl=on"));
        let mut opts = parse("qemu-commandline", "env=DISPLAY=:0").expect("parses");
        assert_eq!(opts.take("env").as_deref(), Some("DISPLAY=:0"));
    }

    #[test]
    fn help_lists_keys() {
        let keys = help_keys("cpu");
        assert!(
            keys.contains(&"numa.cell[0-9]*.memory".to_string()),
            "{keys:?}"
        );
        assert!(keys.windows(2).all(|w| w[0] <= w[1]));
        assert!(help_keys("disk").contains(&"address.type".to_string()));
    }
}
