//! `fwrepo stamp`: computes the build facts once and prints them for a build script
//! (`rustc-env`), CMake (`cmake`, `c-header`), shells (`env`) or tools (`json`).

use std::path::PathBuf;

use super::{gather_stamp, Context};
use crate::config::Layer;
use crate::error::{Error, Result};
use crate::ops::cargo;
use crate::ops::git::Untracked;
use crate::stamp::{parse_semver, StampFormat};

#[derive(Debug, Clone, clap::Args)]
pub struct StampArgs {
    #[arg(long, value_enum, default_value = "json")]
    pub format: StampFormat,
    /// The semver (default: the cargo package's version).
    #[arg(long = "version", value_name = "SEMVER")]
    pub version: Option<String>,
    #[arg(long, hide = true)]
    pub version_source: Option<String>,
    #[arg(short = 'p', long)]
    pub package: Option<String>,
    #[arg(long)]
    pub manifest_path: Option<PathBuf>,
    /// Directory whose git repository is stamped (default: the working directory).
    #[arg(long)]
    pub source_dir: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub untracked: Option<Untracked>,
    /// Write to this file (only when the content changed, so builds stay incremental).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: &StampArgs) -> Result<()> {
    let source_dir = args.source_dir.clone().unwrap_or_else(|| ctx.cwd.clone());
    let (semver, source, metadata) = match &args.version {
        Some(v) => {
            let source = args
                .version_source
                .clone()
                .unwrap_or_else(|| "--version".into());
            (parse_semver(v, &source)?, source, Layer::default())
        }
        None => {
            let manifest = args.manifest_path.clone().or_else(|| {
                let m = source_dir.join("Cargo.toml");
                m.is_file().then_some(m)
            });
            let manifest = manifest.ok_or_else(|| {
                Error::Config("no version: pass --version or run in a cargo package".into())
            })?;
            let package = cargo::load_package(Some(&manifest), args.package.as_deref())?;
            let metadata = Layer::from_metadata(&package.fwrepo_metadata, &package.name)?;
            (
                package.version.clone(),
                format!("Cargo.toml of {}", package.name),
                metadata,
            )
        }
    };
    let layer = ctx.layers(metadata, &source_dir)?;
    let untracked = args.untracked.or(layer.untracked).unwrap_or_default();
    let stamp = gather_stamp(ctx, &source_dir, semver, &source, untracked)?;
    let text = stamp.render(args.format);
    match &args.output {
        None => out!("{text}"),
        Some(path) => {
            if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
            }
        }
    }
    Ok(())
}
