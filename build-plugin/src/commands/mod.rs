//! What users invoke: publish, list/query, pull, stamp, verify, audit, provenance, keygen,
//! trust. Each command resolves its configuration layers, gathers facts through `ops/`, and
//! prints table lines or JSON.

pub mod audit;
pub mod keygen;
pub mod list;
pub mod provenance;
pub mod publish;
pub mod pull;
pub mod retention;
pub mod stamp;
pub mod trust;
pub mod verify;

use std::path::{Path, PathBuf};

use fwrepo_schemas::PoolRecord;

use crate::config::{self, Connection, Layer};
use crate::error::Result;
use crate::ops::ci;
use crate::ops::env::Env;
use crate::ops::git::{self, Untracked};
use crate::ops::http::Api;
use crate::ops::progress;
use crate::stamp::Stamp;

/// Process-wide inputs every command reads: environment, working directory, global flags.
#[derive(Debug, Clone)]
pub struct Context {
    pub env: Env,
    pub cwd: PathBuf,
    /// `--config` / `FWREPO_CONFIG`.
    pub config_file: Option<PathBuf>,
    /// The flags layer (highest precedence).
    pub flags: Layer,
    pub quiet: bool,
}

impl Context {
    /// metadata < fwrepo.toml < env < flags.
    pub fn layers(&self, metadata: Layer, search_from: &Path) -> Result<Layer> {
        let explicit = self
            .config_file
            .clone()
            .or_else(|| self.env.get("FWREPO_CONFIG").map(PathBuf::from));
        let file = match config::find_file(explicit.as_deref(), search_from) {
            Some(path) => Layer::from_file(&path)?,
            None => Layer::default(),
        };
        let env = Layer::from_env(&self.env)?;
        Ok(self.flags.clone().over(env.over(file.over(metadata))))
    }

    pub fn api(&self, layer: &Layer) -> Result<Api> {
        let conn = Connection::from_layer(layer)?;
        let tokens = config::cache_dir(layer, &self.env).join("tokens");
        Api::new(conn, Some(&tokens))
    }

    pub fn progress_mode(&self) -> progress::Mode {
        progress::Mode::detect(self.quiet)
    }

    /// Prints a notice on stderr unless `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("fwrepo: {message}");
        }
    }
}

/// Gathers the stamp of the tree at `dir`: git facts (when it is a repository) and CI facts.
pub fn gather_stamp(
    ctx: &Context,
    dir: &Path,
    semver: semver::Version,
    version_source: &str,
    untracked: Untracked,
) -> Result<Stamp> {
    let ci = ci::detect(&ctx.env);
    // On pull-request builds the CI checks out a synthetic merge commit; stamp the PR head.
    let commit = ci
        .as_ref()
        .filter(|c| c.pull_request.is_some())
        .and_then(|c| c.commit.clone());
    let git = match git::open(dir)? {
        Some(repo) => {
            let facts = git::facts(&repo, commit.as_deref(), untracked)?;
            if facts.shallow && facts.describe.is_none() {
                ctx.note(
                    "shallow clone: no tag reachable, so no describe/distance tags. Fetch full history \
                     (actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`) to get them",
                );
            }
            Some(facts)
        }
        None => {
            ctx.note(&format!(
                "{} is not in a git repository: publishing without git tags",
                dir.display()
            ));
            None
        }
    };
    Ok(Stamp::new(semver, version_source, git, ci))
}

/// Human lines for one record.
pub fn print_record(heading: &str, record: &PoolRecord) {
    outln!(
        "{heading}: {} {} (type {}, versionNumber {}, id {})",
        record.name,
        record.version,
        record.fw_type,
        record.version_number,
        record.id
    );
    outln!("  url:    {}", record.url);
    outln!("  sha256: {}  ({} bytes)", record.sha256, record.length);
    outln!("  tags:   {}", record.tags.join(" "));
}
