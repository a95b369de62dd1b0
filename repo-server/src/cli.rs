//! Command line of `fwrepo-server`: `serve`, the offline `client`, `user`, `fsck` and
//! `restore` commands, and `backup` of a running server.
//!
//! Its completions and man pages are committed in `dist/` (the Debian package installs them):
//! after changing a command or flag, `FWREPO_UPDATE_CLI_DOCS=1 cargo test --workspace --lib --
//! cli_docs` regenerates them (`cli_docs_are_current` fails until then).

mod backup;
mod users;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use fwrepo_schemas::ClientSummary;

pub use backup::{run_backup_command, BackupArgs};
pub use users::{run_user_command, UserCommand};

use crate::api::wire;
use crate::auth::Authenticator;
use crate::config::{Config, DownloadPolicy, StoreConfig, StoreKind};
use crate::domain::{validate_id, Scope};

#[derive(Parser)]
#[command(
    name = "fwrepo-server",
    version,
    about = "Firmware artifact repository server",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand: serve, with these options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API (the default with no subcommand).
    Serve(ServeArgs),
    /// Manage OAuth clients offline (the server must not be running on the data dir).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage people's accounts offline (the server must not be running on the data dir).
    #[command(subcommand)]
    User(UserCommand),
    /// Verify a stopped server's blobs and metadata; `--repair` fixes what is safe.
    Fsck(crate::fsck::FsckArgs),
    /// Write an online backup of the server running on the data dir (metadata checkpoint,
    /// and the blobs of a filesystem store).
    Backup(BackupArgs),
    /// Make a fresh data dir from a backup (the server must not be running on it).
    Restore(crate::restore::RestoreArgs),
    /// Blob store maintenance: `migrate --to s3` (server stopped).
    #[command(subcommand)]
    Blobs(crate::migrate::BlobsCommand),
}

#[derive(Args, Default)]
pub struct ServeArgs {
    /// TOML config file (see fwrepo-server.example.toml).
    #[arg(long, env = "FWREPO_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "FWREPO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long, env = "FWREPO_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    #[arg(long, env = "FWREPO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Threads that run HTTP connections (0: one per core).
    #[arg(long, env = "FWREPO_HTTP_THREADS")]
    pub http_threads: Option<usize>,
    /// JSON log lines.
    #[arg(long, env = "FWREPO_LOG_JSON")]
    pub log_json: bool,
    #[arg(long, env = "FWREPO_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    #[arg(long, env = "FWREPO_PENDING_UPLOAD_TTL_SECS")]
    pub pending_upload_ttl_secs: Option<u64>,
    #[arg(long, env = "FWREPO_SWEEP_INTERVAL_SECS")]
    pub sweep_interval_secs: Option<u64>,
    #[arg(long, env = "FWREPO_SWEEP_GRACE_SECS")]
    pub sweep_grace_secs: Option<u64>,
    #[arg(long, env = "FWREPO_RETENTION_INTERVAL_SECS")]
    pub retention_interval_secs: Option<u64>,
    #[arg(long, env = "FWREPO_TOKEN_LIFETIME_SECS")]
    pub token_lifetime_secs: Option<u64>,
    #[arg(long, env = "FWREPO_SESSION_IDLE_SECS")]
    pub session_idle_secs: Option<u64>,
    #[arg(long, env = "FWREPO_SESSION_MAX_SECS")]
    pub session_max_secs: Option<u64>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The `[store]` keys a flag or its `FWREPO_*` variable overrides. The S3 credentials are
/// deliberately absent: a flag shows in the process list.
#[derive(Args, Default, Debug)]
pub struct StoreArgs {
    /// Where blobs live: fs (under the data dir) or s3.
    #[arg(long = "store", env = "FWREPO_STORE", value_enum)]
    pub kind: Option<StoreKind>,
    #[arg(long, env = "FWREPO_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "FWREPO_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    #[arg(long, env = "FWREPO_S3_REGION")]
    pub s3_region: Option<String>,
    /// TOML file with access_key_id and secret_access_key.
    #[arg(long, env = "FWREPO_S3_CREDENTIALS_FILE")]
    pub s3_credentials_file: Option<PathBuf>,
    #[arg(long, env = "FWREPO_S3_PREFIX")]
    pub s3_prefix: Option<String>,
    #[arg(long, env = "FWREPO_S3_PART_SIZE_BYTES")]
    pub s3_part_size_bytes: Option<u64>,
    #[arg(long, env = "FWREPO_DOWNLOADS", value_enum)]
    pub downloads: Option<DownloadPolicy>,
    #[arg(long, env = "FWREPO_REDIRECT_MIN_BYTES")]
    pub redirect_min_bytes: Option<u64>,
    #[arg(long, env = "FWREPO_PRESIGN_TTL_SECS")]
    pub presign_ttl_secs: Option<u64>,
    #[arg(long, env = "FWREPO_STALE_TEMP_SECS")]
    pub stale_temp_secs: Option<u64>,
}

impl StoreArgs {
    /// Overrides the file's values with the ones given.
    pub fn apply(self, store: &mut StoreConfig) {
        store.kind = self.kind.unwrap_or(store.kind);
        store.endpoint = self.s3_endpoint.or(store.endpoint.take());
        store.bucket = self.s3_bucket.or(store.bucket.take());
        if let Some(region) = self.s3_region {
            store.region = region;
        }
        store.credentials_file = self.s3_credentials_file.or(store.credentials_file.take());
        if let Some(prefix) = self.s3_prefix {
            store.prefix = prefix;
        }
        store.part_size_bytes = self.s3_part_size_bytes.unwrap_or(store.part_size_bytes);
        store.downloads = self.downloads.or(store.downloads);
        store.redirect_min_bytes = self.redirect_min_bytes.unwrap_or(store.redirect_min_bytes);
        store.presign_ttl_secs = self.presign_ttl_secs.unwrap_or(store.presign_ttl_secs);
        store.stale_temp_secs = self.stale_temp_secs.unwrap_or(store.stale_temp_secs);
    }
}

/// The config file's values, or the defaults without one.
pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    })
}

impl ServeArgs {
    /// File values, overridden by environment and flags.
    pub fn resolve(self) -> anyhow::Result<Config> {
        let mut config = load_config(self.config.as_deref())?;
        config.data_dir = self.data_dir.unwrap_or(config.data_dir);
        config.listen = self.listen.unwrap_or(config.listen);
        config.public_url = self.public_url.or(config.public_url);
        config.http_threads = self.http_threads.unwrap_or(config.http_threads);
        config.log_json |= self.log_json;
        config.max_upload_bytes = self.max_upload_bytes.unwrap_or(config.max_upload_bytes);
        config.pending_upload_ttl_secs = self
            .pending_upload_ttl_secs
            .unwrap_or(config.pending_upload_ttl_secs);
        config.sweep_interval_secs = self
            .sweep_interval_secs
            .unwrap_or(config.sweep_interval_secs);
        config.sweep_grace_secs = self.sweep_grace_secs.unwrap_or(config.sweep_grace_secs);
        config.retention_interval_secs = self
            .retention_interval_secs
            .unwrap_or(config.retention_interval_secs);
        config.token_lifetime_secs = self
            .token_lifetime_secs
            .unwrap_or(config.token_lifetime_secs);
        config.session_idle_secs = self.session_idle_secs.unwrap_or(config.session_idle_secs);
        config.session_max_secs = self.session_max_secs.unwrap_or(config.session_max_secs);
        self.store.apply(&mut config.store);
        Ok(config)
    }
}

#[derive(Args)]
pub struct DataDirArg {
    #[arg(long, env = "FWREPO_DATA_DIR", default_value = "./fwrepo-data")]
    pub data_dir: PathBuf,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Create a client; prints its secret once.
    Create {
        #[command(flatten)]
        data: DataDirArg,
        #[arg(long)]
        partner: String,
        /// ota:read, ota:write or admin; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// List clients (never their secrets).
    List {
        #[command(flatten)]
        data: DataDirArg,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client: its tokens stop working.
    Revoke {
        #[command(flatten)]
        data: DataDirArg,
        client_id: String,
    },
}

fn offline_authenticator(
    data_dir: PathBuf,
) -> anyhow::Result<(Authenticator, std::sync::Arc<crate::meta::MetaStore>)> {
    let config = Config {
        data_dir,
        ..Config::default()
    };
    let meta = crate::server::open_meta(&config)?;
    Ok((
        Authenticator::new(
            std::sync::Arc::clone(&meta),
            Config::secs(config.token_lifetime_secs),
            config.sessions()?,
        ),
        meta,
    ))
}

pub fn run_client_command(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create {
            data,
            partner,
            scopes,
            json,
        } => {
            validate_id("partner", &partner)?;
            let scopes = scopes
                .iter()
                .map(|s| {
                    Scope::parse(s).with_context(|| {
                        format!("unknown scope '{s}' (ota:read, ota:write, admin)")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (auth, _) = offline_authenticator(data.data_dir)?;
            let (client, secret) = auth.create_client(&partner, scopes)?;
            let creds = wire::client_credentials(&client, secret);
            if json {
                println!("{}", serde_json::to_string(&creds)?);
            } else {
                println!(
                    "client_id:     {}\nclient_secret: {}\npartner_id:    {}\nscopes:        {}",
                    creds.client_id,
                    creds.client_secret,
                    creds.partner_id,
                    creds.scopes.join(" ")
                );
                eprintln!("The secret is shown only now; store it safely.");
            }
        }
        ClientCommand::List { data, json } => {
            let (_, meta) = offline_authenticator(data.data_dir)?;
            let clients: Vec<ClientSummary> = meta
                .list_clients()?
                .iter()
                .map(wire::client_summary)
                .collect();
            if json {
                println!("{}", serde_json::to_string(&clients)?);
            } else {
                for c in clients {
                    let state = if c.revoked { "revoked" } else { "active" };
                    println!(
                        "{}\t{}\t{}\t{state}",
                        c.client_id,
                        c.partner_id,
                        c.scopes.join(",")
                    );
                }
            }
        }
        ClientCommand::Revoke { data, client_id } => {
            let (_, meta) = offline_authenticator(data.data_dir)?;
            meta.revoke_client(&client_id)?;
            println!("revoked {client_id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// The completions and man pages the Debian package installs describe this command line.
    #[test]
    fn cli_docs_are_current() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
        fwrepo_clidoc::assert_current(super::Cli::command(), &dist);
    }
}
