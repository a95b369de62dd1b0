//! Configuration layering: `[package.metadata.fwrepo]` < `fwrepo.toml` < environment < flags.
//! Each layer is a [`Layer`]; [`Layer::over`] lets the higher one win field by field.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::ops::env::Env;
use crate::ops::git::Untracked;

/// Name of the config file searched from the working directory upwards.
pub const CONFIG_FILE: &str = "fwrepo.toml";

/// One layer of settings; every field optional so layers can be merged.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Layer {
    /// Server base URL, e.g. `https://fw.example.com`.
    pub url: Option<String>,
    /// Partner id the API paths are under.
    pub partner: Option<String>,
    pub client_id: Option<String>,
    /// Only from `fwrepo.toml`, the environment or a flag; refused in Cargo.toml metadata.
    pub client_secret: Option<String>,
    /// Firmware type number.
    #[serde(rename = "type")]
    pub fw_type: Option<i64>,
    /// Record name (default: package / target name).
    pub name: Option<String>,
    pub description: Option<String>,
    /// Extra tags added to every publish.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Device type ids to associate a published record with.
    #[serde(default)]
    pub device_types: Vec<String>,
    /// `bin` or `elf` (cargo) — the artifact format to publish.
    pub format: Option<String>,
    /// Whether untracked files make the tree dirty.
    pub untracked: Option<Untracked>,
    /// Create the firmware type when it does not exist (needs the `admin` scope).
    pub create_type: Option<bool>,
    /// objcopy to use for `--format bin`.
    pub objcopy: Option<String>,
    /// Retries of transient failures.
    pub retries: Option<u32>,
    /// Local content-addressed cache.
    pub cache_dir: Option<PathBuf>,
}

impl Layer {
    /// `self` over `lower`: fields set here win; tag and device-type lists accumulate.
    pub fn over(self, lower: Layer) -> Layer {
        let mut tags = lower.tags;
        tags.extend(self.tags);
        let mut device_types = lower.device_types;
        device_types.extend(self.device_types);
        device_types.dedup();
        Layer {
            url: self.url.or(lower.url),
            partner: self.partner.or(lower.partner),
            client_id: self.client_id.or(lower.client_id),
            client_secret: self.client_secret.or(lower.client_secret),
            fw_type: self.fw_type.or(lower.fw_type),
            name: self.name.or(lower.name),
            description: self.description.or(lower.description),
            tags,
            device_types,
            format: self.format.or(lower.format),
            untracked: self.untracked.or(lower.untracked),
            create_type: self.create_type.or(lower.create_type),
            objcopy: self.objcopy.or(lower.objcopy),
            retries: self.retries.or(lower.retries),
            cache_dir: self.cache_dir.or(lower.cache_dir),
        }
    }

    /// The environment layer: `FWREPO_*` variables.
    pub fn from_env(env: &Env) -> Result<Layer> {
        let fw_type = match env.get("FWREPO_TYPE") {
            Some(t) => Some(
                t.parse()
                    .map_err(|_| Error::Config(format!("FWREPO_TYPE={t:?} is not a number")))?,
            ),
            None => None,
        };
        let untracked = match env.get("FWREPO_UNTRACKED").as_deref() {
            None => None,
            Some("ignore") => Some(Untracked::Ignore),
            Some("dirty") => Some(Untracked::Dirty),
            Some(other) => {
                return Err(Error::Config(format!(
                    "FWREPO_UNTRACKED={other:?}: expected ignore or dirty"
                )))
            }
        };
        Ok(Layer {
            url: env.get("FWREPO_URL"),
            partner: env.get("FWREPO_PARTNER"),
            client_id: env.get("FWREPO_CLIENT_ID"),
            client_secret: env.get("FWREPO_CLIENT_SECRET"),
            fw_type,
            untracked,
            cache_dir: env.get("FWREPO_CACHE_DIR").map(PathBuf::from),
            ..Layer::default()
        })
    }

    /// Parses `[package.metadata.fwrepo]`; secrets do not belong in a committed manifest.
    pub fn from_metadata(value: &serde_json::Value, package: &str) -> Result<Layer> {
        if value.is_null() {
            return Ok(Layer::default());
        }
        let layer: Layer = serde_json::from_value(value.clone())
            .map_err(|e| Error::Config(format!("[package.metadata.fwrepo] of {package}: {e}")))?;
        if layer.client_secret.is_some() {
            return Err(Error::Config(format!(
                "[package.metadata.fwrepo] of {package} holds client-secret: keep secrets in FWREPO_CLIENT_SECRET or fwrepo.toml"
            )));
        }
        Ok(layer)
    }

    pub fn from_file(path: &Path) -> Result<Layer> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }
}

/// Finds `fwrepo.toml`: `explicit` (`--config` / `FWREPO_CONFIG`), else the nearest one from
/// `start` upwards.
pub fn find_file(explicit: Option<&Path>, start: &Path) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// The settings a server connection needs, resolved from a merged [`Layer`].
#[derive(Clone)]
pub struct Connection {
    pub url: String,
    pub partner: String,
    pub client_id: String,
    pub client_secret: String,
    pub retries: u32,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, even in debug output.
        f.debug_struct("Connection")
            .field("url", &self.url)
            .field("partner", &self.partner)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn from_layer(layer: &Layer) -> Result<Connection> {
        let missing = |what: &str, env: &str, flag: &str| {
            Error::Config(format!(
                "no {what}: set {env}, pass {flag}, or add it to {CONFIG_FILE}"
            ))
        };
        let url = layer
            .url
            .clone()
            .ok_or_else(|| missing("server URL", "FWREPO_URL", "--url"))?;
        Ok(Connection {
            url: url.trim_end_matches('/').to_string(),
            partner: layer
                .partner
                .clone()
                .ok_or_else(|| missing("partner id", "FWREPO_PARTNER", "--partner"))?,
            client_id: layer
                .client_id
                .clone()
                .ok_or_else(|| missing("client id", "FWREPO_CLIENT_ID", "--client-id"))?,
            client_secret: layer.client_secret.clone().ok_or_else(|| {
                missing("client secret", "FWREPO_CLIENT_SECRET", "--client-secret")
            })?,
            retries: layer.retries.unwrap_or(4),
        })
    }
}

/// The cache directory: config/`FWREPO_CACHE_DIR`, else `$XDG_CACHE_HOME/fwrepo`, else
/// `~/.cache/fwrepo`.
pub fn cache_dir(layer: &Layer, env: &Env) -> PathBuf {
    if let Some(dir) = &layer.cache_dir {
        return dir.clone();
    }
    if let Some(xdg) = env.get("XDG_CACHE_HOME") {
        return PathBuf::from(xdg).join("fwrepo");
    }
    match env.get("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("fwrepo"),
        None => std::env::temp_dir().join("fwrepo-cache"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_metadata_file_env_flags() {
        let metadata = Layer::from_metadata(
            &serde_json::json!({"url": "http://meta", "type": 101, "name": "meta-name", "tags": ["m"]}),
            "pkg",
        )
        .unwrap();
        let file: Layer = toml::from_str("url = \"http://file\"\npartner = \"acme\"\nclient-secret = \"filesecret\"\ntags = [\"f\"]\n").unwrap();
        let env = Layer::from_env(&Env::from_pairs([
            ("FWREPO_URL", "http://env"),
            ("FWREPO_CLIENT_ID", "envid"),
        ]))
        .unwrap();
        let flags = Layer {
            client_id: Some("flagid".into()),
            ..Layer::default()
        };
        let merged = flags.over(env.over(file.over(metadata)));
        assert_eq!(merged.url.as_deref(), Some("http://env"));
        assert_eq!(merged.client_id.as_deref(), Some("flagid"));
        assert_eq!(merged.client_secret.as_deref(), Some("filesecret"));
        assert_eq!(merged.partner.as_deref(), Some("acme"));
        assert_eq!(merged.fw_type, Some(101));
        assert_eq!(merged.name.as_deref(), Some("meta-name"));
        assert_eq!(merged.tags, vec!["m", "f"]);
        let conn = Connection::from_layer(&merged).unwrap();
        assert!(!format!("{conn:?}").contains("filesecret"));
    }

    #[test]
    fn secrets_are_refused_in_metadata_and_unknown_keys_rejected() {
        let err =
            Layer::from_metadata(&serde_json::json!({"client-secret": "x"}), "pkg").unwrap_err();
        assert!(err.to_string().contains("FWREPO_CLIENT_SECRET"));
        assert!(Layer::from_metadata(&serde_json::json!({"urll": "x"}), "pkg").is_err());
    }

    #[test]
    fn missing_url_says_how_to_set_it() {
        let err = Connection::from_layer(&Layer::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("FWREPO_URL"), "{err}");
    }

    #[test]
    fn config_file_found_upwards() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "url = \"http://x\"\n").unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let found = find_file(None, &sub).unwrap();
        assert_eq!(
            Layer::from_file(&found).unwrap().url.as_deref(),
            Some("http://x")
        );
    }

    #[test]
    fn cache_dir_resolution() {
        let env = Env::from_pairs([("HOME", "/home/me")]);
        assert_eq!(
            cache_dir(&Layer::default(), &env),
            PathBuf::from("/home/me/.cache/fwrepo")
        );
        let env = Env::from_pairs([("HOME", "/home/me"), ("FWREPO_CACHE_DIR", "/c")]);
        assert_eq!(
            cache_dir(&Layer::from_env(&env).unwrap(), &env),
            PathBuf::from("/c")
        );
    }
}
