//! `--check`: the validation checks a user may turn off.

use super::{SpecError, parse_all};

/// Which of virt-install's optional checks are on. Each failed check
/// tells the user how to turn it off (`--check NAME=off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checks {
    /// `disk_size`: a new sparse image may outgrow the free space.
    pub disk_size: bool,
    /// `path_in_use`: another guest uses the same disk.
    pub path_in_use: bool,
    /// `mac_in_use`: another guest has the same MAC address.
    pub mac_in_use: bool,
    /// `path_exists`: a disk path that exists would be overwritten.
    pub path_exists: bool,
}

impl Default for Checks {
    fn default() -> Checks {
        Checks::all(true)
    }
}

impl Checks {
    fn all(on: bool) -> Checks {
        Checks {
            disk_size: on,
            path_in_use: on,
            mac_in_use: on,
            path_exists: on,
        }
    }

    /// Applies every `--check` in order; within one, `all=` comes first so
    /// that `all=off,disk_size=on` leaves only that check on.
    pub fn from_args(values: &[String]) -> Result<Checks, SpecError> {
        let mut checks = Checks::default();
        for mut opts in parse_all("check", values)? {
            if opts.is_none() {
                continue;
            }
            if let Some(on) = opts.take_bool("all")? {
                checks = Checks::all(on);
            }
            for (key, slot) in [
                ("disk_size", &mut checks.disk_size),
                ("path_in_use", &mut checks.path_in_use),
                ("mac_in_use", &mut checks.mac_in_use),
                ("path_exists", &mut checks.path_exists),
            ] {
                if let Some(on) = opts.take_bool(key)? {
                    *slot = on;
                }
            }
            opts.finish()?;
        }
        Ok(checks)
    }

    /// The hint virt-install adds to a failed optional check.
    pub fn hint(name: &str) -> String {
        format!(" (Use --check {name}=off or --check all=off to override)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(values: &[&str]) -> Result<Checks, SpecError> {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        Checks::from_args(&values)
    }

    #[test]
    fn all_then_single_checks() {
        assert_eq!(checks(&[]).expect("none"), Checks::default());
        let c = checks(&["disk_size=on,all=off"]).expect("parses");
        assert!(c.disk_size && !c.path_in_use && !c.mac_in_use && !c.path_exists);
        let c = checks(&["path_in_use=off", "mac_in_use=no"]).expect("parses");
        assert!(c.disk_size && !c.path_in_use && !c.mac_in_use && c.path_exists);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("all=maybe", "all must be 'yes' or 'no'"),
            ("foo=off", "Unknown --check options: ['foo']"),
        ];
        for (raw, want) in cases {
            let error = checks(&[raw]).expect_err(raw).to_string();
            assert!(error.contains(want), "{raw}: {error}");
        }
    }
}
