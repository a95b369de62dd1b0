//! Server configuration: one typed struct, layered file < environment < flags. Secrets never
//! live here (clients are created with the admin CLI and stored hashed; an object store's
//! credentials are read from the environment or a file when the store opens).

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
    /// Threads that run HTTP connections (0: one per core).
    pub http_threads: usize,
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
    /// Seconds between scheduled retention runs of every partner with a policy (0: none).
    pub retention_interval_secs: u64,
    /// Lifetime of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// A person's session ends after this many seconds unused.
    pub session_idle_secs: u64,
    /// A person's session ends this many seconds after sign-in, however much it is used.
    pub session_max_secs: u64,
    /// fsync RocksDB's WAL on every commit (survive power loss, not only crashes).
    pub sync_writes: bool,
    /// MiB of RocksDB's block cache, shared by every column family, with the memtables
    /// charged to it: the metadata's memory grows with reads and writes until it reaches this.
    pub metadata_cache_mib: u64,
    /// Where blobs live: `blobs/` under the data dir (the default) or an S3 bucket.
    pub store: StoreConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./fwrepo-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            http_threads: 0,
            public_url: None,
            log_json: false,
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
            pending_upload_ttl_secs: 24 * 3600,
            sweep_interval_secs: 60,
            sweep_grace_secs: 600,
            retention_interval_secs: 3600,
            token_lifetime_secs: 3600,
            session_idle_secs: 2 * 3600,
            session_max_secs: 12 * 3600,
            sync_writes: true,
            metadata_cache_mib: crate::meta::DEFAULT_BLOCK_CACHE_MIB,
            store: StoreConfig::default(),
        }
    }
}

/// The `[store]` section. The S3 keys are read only when `kind = "s3"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub kind: StoreKind,
    /// Base URL of the S3 API, e.g. `http://127.0.0.1:3900` (path-style requests).
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    /// Must equal the store's own region name (Garage: its `s3_region`).
    pub region: String,
    /// A TOML file with `access_key_id` and `secret_access_key`; without it they come from
    /// `FWREPO_S3_ACCESS_KEY_ID` and `FWREPO_S3_SECRET_ACCESS_KEY`. Never a flag.
    pub credentials_file: Option<PathBuf>,
    /// Keys of this store start with it (several repositories may share a bucket).
    pub prefix: String,
    /// Bytes per part of a multipart upload (at least 5 MiB, S3's minimum); a body smaller
    /// than one part is one PUT. Each upload holds at most a few parts in memory.
    pub part_size_bytes: u64,
    /// How blob downloads are served; unset means `redirect` for s3, `proxy` for fs.
    pub downloads: Option<DownloadPolicy>,
    /// Smaller blobs are always proxied (a redirect costs the client a round trip).
    pub redirect_min_bytes: u64,
    /// Lifetime of a presigned download URL, in seconds.
    pub presign_ttl_secs: u64,
    /// A temporary key older than this many seconds belongs to no upload in progress (a
    /// crashed process left it): the sweeper deletes it.
    pub stale_temp_secs: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Fs,
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DownloadPolicy {
    /// Bytes go through fwrepo (with `Range`).
    Proxy,
    /// `307` to a short-lived presigned URL of the store, after fwrepo authorised the caller.
    Redirect,
}

/// S3's smallest part of a multipart upload (but the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: StoreKind::Fs,
            endpoint: None,
            bucket: None,
            region: "us-east-1".into(),
            credentials_file: None,
            prefix: String::new(),
            part_size_bytes: 8 * 1024 * 1024,
            downloads: None,
            redirect_min_bytes: 1024 * 1024,
            presign_ttl_secs: 300,
            stale_temp_secs: 24 * 3600,
        }
    }
}

impl StoreConfig {
    /// The download policy in effect (see [`StoreConfig::downloads`]).
    pub fn download_policy(&self) -> DownloadPolicy {
        self.downloads.unwrap_or(match self.kind {
            StoreKind::Fs => DownloadPolicy::Proxy,
            StoreKind::S3 => DownloadPolicy::Redirect,
        })
    }

    pub fn presign_ttl(&self) -> Duration {
        Duration::from_secs(self.presign_ttl_secs.max(1))
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
    #[error("invalid [store] configuration: {0}")]
    Store(String),
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
        assert_eq!(config.store, StoreConfig::default(), "fs is the default");
    }

    #[test]
    fn debian_package_config_parses_with_the_package_paths() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/fwrepo-server.toml");
        let config = Config::from_file(&path).unwrap();
        assert_eq!(config.data_dir, Path::new("/var/lib/fwrepo"));
        // Everything else is the default, as the file's comments say.
        let rest = Config {
            data_dir: Config::default().data_dir,
            ..config
        };
        assert_eq!(rest, Config::default());
    }

    #[test]
    fn store_section_parses_and_picks_the_download_policy() {
        let config: Config = toml::from_str(
            "[store]\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:3900\"\nbucket = \"fw\"\n\
             region = \"garage\"\npart_size_bytes = 6291456\n",
        )
        .unwrap();
        assert_eq!(config.store.kind, StoreKind::S3);
        assert_eq!(config.store.bucket.as_deref(), Some("fw"));
        assert_eq!(config.store.part_size_bytes, 6 * 1024 * 1024);
        assert_eq!(config.store.download_policy(), DownloadPolicy::Redirect);
        assert_eq!(
            StoreConfig::default().download_policy(),
            DownloadPolicy::Proxy
        );
        let proxied: Config =
            toml::from_str("[store]\nkind = \"s3\"\ndownloads = \"proxy\"\n").unwrap();
        assert_eq!(proxied.store.download_policy(), DownloadPolicy::Proxy);
        // Secrets have no key in the file: they come from the environment or a file.
        assert!(toml::from_str::<Config>("[store]\nsecret_access_key = \"x\"\n").is_err());
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
