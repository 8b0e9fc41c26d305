//! `--cloud-init`: what goes into the NoCloud seed (virt-install.md §13.1).
//! The files named here are read when the seed is built, by
//! [`crate::cloudinit`]; this module only types the sub-options.

use std::path::PathBuf;

use super::SpecError;
use crate::subopt;

/// Where `user-data` comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UserData {
    /// The user's own file, used as it is.
    File(PathBuf),
    /// A `#cloud-config` written from the other sub-options.
    Generated,
}

/// The typed `--cloud-init` sub-options.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CloudInit {
    /// `user-data=`, or generated.
    pub user_data: UserData,
    /// `meta-data=`; empty when not given.
    pub meta_data: Option<PathBuf>,
    /// `network-config=`.
    pub network_config: Option<PathBuf>,
    /// `root-password-generate=on`: a random password, printed once.
    pub root_password_generate: bool,
    /// `root-password-file=`: its first line is root's password.
    pub root_password_file: Option<PathBuf>,
    /// `root-ssh-key=` (`ssh-key=`): a public key for root.
    pub root_ssh_key: Option<PathBuf>,
    /// `clouduser-ssh-key=`: a public key for the image's default user.
    pub clouduser_ssh_key: Option<PathBuf>,
    /// `disable=on`: cloud-init turns itself off after the first boot.
    pub disable: bool,
}

impl CloudInit {
    /// Every file the seed is made from, to check before anything is made.
    pub fn files(&self) -> Vec<&PathBuf> {
        let user = match &self.user_data {
            UserData::File(path) => Some(path),
            UserData::Generated => None,
        };
        [
            user,
            self.meta_data.as_ref(),
            self.network_config.as_ref(),
            self.root_password_file.as_ref(),
            self.root_ssh_key.as_ref(),
            self.clouduser_ssh_key.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Reads `--cloud-init`; `None` when absent or `none`.
pub(super) fn from_args(
    raw: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<Option<CloudInit>, SpecError> {
    let Some(raw) = raw else { return Ok(None) };
    if raw == "none" {
        return Ok(None);
    }
    if raw.is_empty() {
        warnings
            .push("Defaulting to --cloud-init root-password-generate=yes,disable=yes".to_string());
        return Ok(Some(CloudInit {
            user_data: UserData::Generated,
            meta_data: None,
            network_config: None,
            root_password_generate: true,
            root_password_file: None,
            root_ssh_key: None,
            clouduser_ssh_key: None,
            disable: true,
        }));
    }
    let mut opts = subopt::parse("cloud-init", raw)?;
    let file = |opts: &mut subopt::SubOpts, key: &str| -> Result<Option<PathBuf>, SpecError> {
        let Some(value) = opts.take(key) else {
            return Ok(None);
        };
        if value.contains("://") {
            return Err(SpecError::Unsupported {
                options: vec![format!("--cloud-init {key}={value} (a URL)")],
            });
        }
        Ok(Some(PathBuf::from(value)))
    };
    let user_data = file(&mut opts, "user-data")?;
    let meta_data = file(&mut opts, "meta-data")?;
    let network_config = file(&mut opts, "network-config")?;
    let root_password_file = file(&mut opts, "root-password-file")?;
    let root_ssh_key = file(&mut opts, "root-ssh-key")?;
    let clouduser_ssh_key = file(&mut opts, "clouduser-ssh-key")?;
    let root_password_generate = opts.take_bool("root-password-generate")?.unwrap_or(false);
    let disable = opts.take_bool("disable")?.unwrap_or(false);
    opts.finish()?;
    let generated = [
        ("root-password-generate", root_password_generate),
        ("root-password-file", root_password_file.is_some()),
        ("root-ssh-key", root_ssh_key.is_some()),
        ("clouduser-ssh-key", clouduser_ssh_key.is_some()),
        ("disable", disable),
    ];
    if user_data.is_some() {
        // As in virt-install, the user's own user-data is the whole of it.
        for (key, _) in generated.iter().filter(|(_, given)| *given) {
            warnings.push(format!(
                "--cloud-init {key} is not used: user-data= is used as it is"
            ));
        }
    }
    Ok(Some(CloudInit {
        user_data: user_data.map_or(UserData::Generated, UserData::File),
        meta_data,
        network_config,
        root_password_generate,
        root_password_file,
        root_ssh_key,
        clouduser_ssh_key,
        disable,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Option<CloudInit>, SpecError> {
        from_args(Some(raw), &mut Vec::new())
    }

    #[test]
    fn sub_options() {
        let seed = parse("user-data=u.yaml,meta-data=m.yaml,network-config=n.yaml")
            .expect("parses")
            .expect("a seed");
        assert_eq!(seed.user_data, UserData::File("u.yaml".into()));
        assert_eq!(seed.files().len(), 3);
        let seed = parse("ssh-key=k.pub,disable=on")
            .expect("parses")
            .expect("a seed");
        assert_eq!(seed.root_ssh_key, Some("k.pub".into()));
        assert!(seed.disable && seed.user_data == UserData::Generated);
        assert_eq!(parse("none").expect("a no-op"), None);
        let bare = parse("").expect("parses").expect("a seed");
        assert!(bare.root_password_generate && bare.disable);

        // The user's user-data leaves the generated keys unused, said.
        let mut warnings = Vec::new();
        from_args(Some("user-data=u.yaml,disable=on"), &mut warnings).expect("parses");
        assert_eq!(
            warnings,
            ["--cloud-init disable is not used: user-data= is used as it is"]
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse("user-data=https://example.com/u")
                .expect_err("a URL")
                .to_string(),
            "--cloud-init user-data=https://example.com/u (a URL) is not supported yet"
        );
        assert!(parse("frob=1").is_err());
    }
}
