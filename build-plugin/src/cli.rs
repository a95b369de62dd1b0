//! The command line shared by `fwrepo` and `cargo fwrepo`: global flags become the highest
//! configuration layer; [`run`] dispatches and maps errors to the documented exit codes.
//!
//! Its completions and man pages are committed in `dist/` (the Debian package installs them):
//! after changing a command or flag, `FWREPO_UPDATE_CLI_DOCS=1 cargo test --workspace --lib --
//! cli_docs` regenerates them (`cli_docs_are_current` fails until then).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{
    audit, keygen, list, provenance, publish, pull, retention, stamp, trust, verify, Context,
};
use crate::config::Layer;
use crate::error::{exit, Result};
use crate::ops::env::Env;

#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Server base URL [env: FWREPO_URL]
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Partner id [env: FWREPO_PARTNER]
    #[arg(long, global = true)]
    pub partner: Option<String>,
    /// OAuth client id [env: FWREPO_CLIENT_ID]
    #[arg(long, global = true)]
    pub client_id: Option<String>,
    /// OAuth client secret; prefer FWREPO_CLIENT_SECRET (flags show in process lists)
    #[arg(long, global = true, hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Config file (default: the nearest fwrepo.toml) [env: FWREPO_CONFIG]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Local cache directory [env: FWREPO_CACHE_DIR; default ~/.cache/fwrepo]
    #[arg(long, global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Retries of transient network failures
    #[arg(long, global = true)]
    pub retries: Option<u32>,
    /// No progress output
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Stamp, upload and register an artifact (the cargo package's binary when no FILE is given).
    Publish(Box<publish::PublishArgs>),
    /// List pool records matching a query (alias: query).
    #[command(alias = "query")]
    List(list::ListArgs),
    /// Download the newest matching binary (or an exact version number), verified and cached.
    Pull(pull::PullArgs),
    /// Print the build's version, git and CI facts for a build script, CMake or a C header.
    Stamp(stamp::StampArgs),
    /// Check a binary against its pool record.
    Verify(verify::VerifyArgs),
    /// Print the partner's audit log, newest first (needs the admin scope).
    Audit(audit::AuditArgs),
    /// Print a binary's signed build provenance (in-toto statement, SLSA provenance v1).
    Provenance(provenance::ProvenanceArgs),
    /// Make a minisign key pair for `publish --sign-key`.
    Keygen(keygen::KeygenArgs),
    /// The partner's trusted signing keys and protected tags (needs the admin scope).
    Trust(trust::TrustArgs),
    /// The partner's retention policy, its dry run and its runs (needs the admin scope).
    Retention(retention::RetentionArgs),
}

/// `fwrepo ...`
#[derive(Debug, Parser)]
#[command(
    name = "fwrepo",
    version,
    about = "Stamp, publish, query and pull firmware artifacts"
)]
pub struct FwrepoCli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// `cargo fwrepo ...`: cargo passes the subcommand name as the first argument.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
pub enum CargoCli {
    /// Stamp, publish, query and pull firmware artifacts
    #[command(version)]
    Fwrepo(FwrepoCli),
}

impl GlobalArgs {
    fn context(&self) -> std::io::Result<Context> {
        Ok(Context {
            env: Env::from_process(),
            cwd: std::env::current_dir()?,
            config_file: self.config.clone(),
            flags: Layer {
                url: self.url.clone(),
                partner: self.partner.clone(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                cache_dir: self.cache_dir.clone(),
                retries: self.retries,
                ..Layer::default()
            },
            quiet: self.quiet,
        })
    }
}

async fn dispatch(ctx: &Context, command: &Command) -> Result<()> {
    match command {
        Command::Publish(args) => publish::run(ctx, args).await,
        Command::List(args) => list::run(ctx, args).await,
        Command::Pull(args) => pull::run(ctx, args).await,
        Command::Stamp(args) => stamp::run(ctx, args),
        Command::Verify(args) => verify::run(ctx, args).await,
        Command::Audit(args) => audit::run(ctx, args).await,
        Command::Provenance(args) => provenance::run(ctx, args).await,
        Command::Keygen(args) => keygen::run(ctx, args),
        Command::Trust(args) => trust::run(ctx, args).await,
        Command::Retention(args) => retention::run(ctx, args).await,
    }
}

/// Runs a parsed command line; answers the process exit code.
pub fn run(cli: FwrepoCli) -> i32 {
    let ctx = match cli.global.context() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("fwrepo: error: working directory: {e}");
            return exit::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fwrepo: error: starting runtime: {e}");
            return exit::FAILURE;
        }
    };
    match runtime.block_on(dispatch(&ctx, &cli.command)) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("fwrepo: error: {e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// The completions and man pages the Debian package installs describe this command line.
    #[test]
    fn cli_docs_are_current() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dist");
        fwrepo_clidoc::assert_current(super::FwrepoCli::command(), &dist);
    }
}
