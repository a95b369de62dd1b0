//! Server configuration: one typed struct, layered file < environment < flags. Secrets never
//! live here (clients are created with the admin CLI and stored hashed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::SessionConfig;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Holds `meta/` (RocksDB) and `blobs/` (the content-addressed files).
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Base URL clients reach the server at; defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Emit JSON log lines instead of human-readable ones.
    pub log_json: bool,
    /// Largest binary accepted by `POST binaries` (413 beyond).
    pub max_upload_bytes: u64,
    /// Seconds an upload may wait for moveToRepository before it is swept.
    pub pending_upload_ttl_secs: u64,
    /// Seconds between housekeeping sweeps.
    pub sweep_interval_secs: u64,
    /// Seconds a blob stays after its last upload even if nothing holds it.
    pub sweep_grace_secs: u64,
    /// Lifetime of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// A person's session ends after this many seconds unused.
    pub session_idle_secs: u64,
    /// A person's session ends this many seconds after sign-in, however much it is used.
    pub session_max_secs: u64,
    /// fsync RocksDB's WAL on every commit (survive power loss, not only crashes).
    pub sync_writes: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./fwrepo-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            log_json: false,
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
            pending_upload_ttl_secs: 24 * 3600,
            sweep_interval_secs: 60,
            sweep_grace_secs: 600,
            token_lifetime_secs: 3600,
            session_idle_secs: 2 * 3600,
            session_max_secs: 12 * 3600,
            sync_writes: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid public URL '{0}': it must start with http:// or https://")]
    PublicUrl(String),
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })
    }

    pub fn public_url(&self) -> Result<String, ConfigError> {
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::PublicUrl(url));
        }
        Ok(url.trim_end_matches('/').to_string())
    }

    pub fn meta_dir(&self) -> PathBuf {
        self.data_dir.join("meta")
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    pub fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Session lifetimes and cookie flags (the cookie is `Secure` behind an https URL).
    pub fn sessions(&self) -> Result<SessionConfig, ConfigError> {
        Ok(SessionConfig {
            idle: Config::secs(self.session_idle_secs.max(1)),
            absolute: Config::secs(self.session_max_secs.max(1)),
            secure_cookie: self.public_url()?.starts_with("https://"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_unknown_keys_fail() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("fwrepo-server.example.toml");
        let config = Config::from_file(&example).unwrap();
        assert_eq!(config.listen.port(), 8080);
        assert!(toml::from_str::<Config>("listen_adress = \"127.0.0.1:1\"").is_err());
    }

    #[test]
    fn public_url_defaults_to_listen_address() {
        assert_eq!(
            Config::default().public_url().unwrap(),
            "http://127.0.0.1:8080"
        );
        let config = Config {
            public_url: Some("ftp://x".into()),
            ..Config::default()
        };
        assert!(config.public_url().is_err());
    }

    #[test]
    fn session_cookies_are_secure_behind_https() {
        let config = Config {
            public_url: Some("https://firmware.example.com".into()),
            session_idle_secs: 60,
            ..Config::default()
        };
        let sessions = config.sessions().unwrap();
        assert!(sessions.secure_cookie);
        assert_eq!(sessions.idle, Duration::from_secs(60));
        assert_eq!(sessions.absolute, Duration::from_secs(12 * 3600));
        assert!(!Config::default().sessions().unwrap().secure_cookie);
    }
}
