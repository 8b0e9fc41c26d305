//! Where the OS database and the index cache live, from the environment.
//!
//! Database directories, in libosinfo's order (later ones override earlier):
//! the system db (`$OSINFO_SYSTEM_DIR`, else the older `$OSINFO_DATA_DIR`,
//! else `/usr/share/osinfo`), the local db (`$OSINFO_LOCAL_DIR`, else
//! `/etc/osinfo`) and the user db (`$OSINFO_USER_DIR`, else
//! `$XDG_CONFIG_HOME/osinfo`, else `~/.config/osinfo`).
//!
//! Index cache: `$QVIRT_ROOT/cache/osinfo-index.json` when `QVIRT_ROOT` is set,
//! else `$XDG_CACHE_HOME/qvirt/osinfo-index.json`, else
//! `~/.cache/qvirt/osinfo-index.json`.

use std::path::{Path, PathBuf};

/// File name of the index cache.
pub const INDEX_FILE: &str = "osinfo-index.json";

/// The database directories, in load order, for an environment lookup.
pub(crate) fn db_dirs(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    vec![system_dir(env), local_dir(env), user_dir(env)]
        .into_iter()
        .flatten()
        .collect()
}

/// The index cache file for an environment lookup, if a home can be found.
pub(crate) fn cache_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(root) = var(env, "QVIRT_ROOT") {
        return Some(root.join("cache").join(INDEX_FILE));
    }
    let base = absolute_var(env, "XDG_CACHE_HOME").or_else(|| home(env).map(|h| h.join(".cache")));
    base.map(|b| b.join("qvirt").join(INDEX_FILE))
}

/// Looks variables up in the process environment.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<PathBuf> {
    env(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// XDG base-directory variables only count when absolute.
fn absolute_var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<PathBuf> {
    var(env, name).filter(|p| p.is_absolute())
}

fn home(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    var(env, "HOME")
}

fn system_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = var(env, "OSINFO_SYSTEM_DIR") {
        return Some(dir);
    }
    match var(env, "OSINFO_DATA_DIR") {
        Some(data) => Some(legacy_data_dir(&data)),
        None => Some(PathBuf::from("/usr/share/osinfo")),
    }
}

/// Old libosinfo read `$OSINFO_DATA_DIR/db`; accept the directory itself too.
fn legacy_data_dir(data: &Path) -> PathBuf {
    let db = data.join("db");
    if db.is_dir() { db } else { data.to_path_buf() }
}

fn local_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    var(env, "OSINFO_LOCAL_DIR").or_else(|| Some(PathBuf::from("/etc/osinfo")))
}

fn user_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = var(env, "OSINFO_USER_DIR") {
        return Some(dir);
    }
    let config =
        absolute_var(env, "XDG_CONFIG_HOME").or_else(|| home(env).map(|h| h.join(".config")));
    config.map(|c| c.join("osinfo"))
}

#[cfg(test)]
mod tests {
    use super::{cache_file, db_dirs};
    use std::path::PathBuf;

    type Vars<'a> = &'a [(&'a str, &'a str)];

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn database_dirs_table() {
        let cases: &[(Vars<'_>, &[&str])] = &[
            (
                &[("HOME", "/h")],
                &["/usr/share/osinfo", "/etc/osinfo", "/h/.config/osinfo"],
            ),
            (
                &[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")],
                &["/usr/share/osinfo", "/etc/osinfo", "/x/osinfo"],
            ),
            (
                &[("HOME", "/h"), ("XDG_CONFIG_HOME", "relative")],
                &["/usr/share/osinfo", "/etc/osinfo", "/h/.config/osinfo"],
            ),
            (
                &[
                    ("OSINFO_SYSTEM_DIR", "/s"),
                    ("OSINFO_LOCAL_DIR", "/l"),
                    ("OSINFO_USER_DIR", "/u"),
                ],
                &["/s", "/l", "/u"],
            ),
            (
                &[("OSINFO_DATA_DIR", "/nonexistent-d")],
                &["/nonexistent-d", "/etc/osinfo"],
            ),
            (
                &[("OSINFO_DATA_DIR", "/d"), ("OSINFO_SYSTEM_DIR", "/s")],
                &["/s", "/etc/osinfo"],
            ),
        ];
        for (vars, want) in cases {
            assert_eq!(db_dirs(&env_of(vars)), paths(want), "{vars:?}");
        }
    }

    #[test]
    fn cache_file_table() {
        let cases: &[(Vars<'_>, Option<&str>)] = &[
            (&[("HOME", "/h")], Some("/h/.cache/qvirt/osinfo-index.json")),
            (
                &[("HOME", "/h"), ("XDG_CACHE_HOME", "/c")],
                Some("/c/qvirt/osinfo-index.json"),
            ),
            (
                &[("HOME", "/h"), ("QVIRT_ROOT", "/q")],
                Some("/q/cache/osinfo-index.json"),
            ),
            (&[], None),
        ];
        for (vars, want) in cases {
            assert_eq!(
                cache_file(&env_of(vars)),
                want.map(PathBuf::from),
                "{vars:?}"
            );
        }
    }
}
