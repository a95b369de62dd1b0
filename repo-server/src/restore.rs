//! `fwrepo-server restore --from BACKUP --data-dir D`: makes a fresh data directory from a
//! backup written by `fwrepo-server backup`. Refuses a non-empty D; the metadata is staged
//! and renamed into place last, so a restore that fails never leaves a servable half.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::meta::MetaStore;
use crate::service::backup::{
    empty_dir, Manifest, StoreRef, BLOBS_DIR, MANIFEST_FILE, MANIFEST_FORMAT, META_DIR,
};
use crate::store::transfer::{link_or_copy, Transferred};
use crate::store::FsBlobStore;

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// A backup directory written by `fwrepo-server backup`.
    #[arg(long)]
    pub from: PathBuf,
    /// The data directory to create: absent or empty.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// One JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct RestoreReport {
    pub data_dir: String,
    pub manifest: Manifest,
    pub blobs_linked: u64,
    pub blobs_copied: u64,
}

/// Blob records read per step.
const PAGE: usize = 1000;

/// Where the restored metadata is written before it is renamed to `meta/`.
const STAGING: &str = "meta.restoring";

pub async fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<RestoreReport> {
    let manifest = read_manifest(from)?;
    match empty_dir(data_dir) {
        Ok(Some(true)) => {}
        Ok(Some(false)) => {
            bail!(
                "refusing to restore into {}: it is not empty",
                data_dir.display()
            )
        }
        Ok(None) => std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?,
        Err(e) => bail!("cannot read {}: {e}", data_dir.display()),
    }
    let outcome = fill(from, data_dir, &manifest).await;
    if outcome.is_err() {
        // Leave the directory empty, as it was found.
        for name in [STAGING, BLOBS_DIR] {
            let _ = std::fs::remove_dir_all(data_dir.join(name));
        }
    }
    let (blobs_linked, blobs_copied) = outcome?;
    Ok(RestoreReport {
        data_dir: data_dir.display().to_string(),
        manifest,
        blobs_linked,
        blobs_copied,
    })
}

fn read_manifest(from: &Path) -> anyhow::Result<Manifest> {
    let path = from.join(MANIFEST_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} is not a complete backup: it has no {MANIFEST_FILE} (a backup writes it last)",
            from.display()
        ),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a backup manifest", path.display()))?;
    if manifest.format != MANIFEST_FORMAT {
        bail!(
            "{} has format {}; this fwrepo-server reads format {MANIFEST_FORMAT}",
            path.display(),
            manifest.format
        );
    }
    Ok(manifest)
}

/// Copies the metadata into the staging directory, brings in the blobs it refers to (for a
/// filesystem backup), then renames the metadata into place. Answers (linked, copied).
async fn fill(from: &Path, data_dir: &Path, manifest: &Manifest) -> anyhow::Result<(u64, u64)> {
    let staging = data_dir.join(STAGING);
    let source_meta = from.join(META_DIR);
    tokio::task::spawn_blocking({
        let staging = staging.clone();
        move || copy_dir_durable(&source_meta, &staging)
    })
    .await??;
    let mut counts = (0, 0);
    if manifest.store == StoreRef::Fs {
        let source = Arc::new(FsBlobStore::inspect(from.join(BLOBS_DIR)));
        let target = Arc::new(FsBlobStore::open(
            Config {
                data_dir: data_dir.to_path_buf(),
                ..Config::default()
            }
            .blob_dir(),
        )?);
        let meta = Arc::new(MetaStore::open_read_only(&staging)?);
        let mut after = None;
        loop {
            let page = {
                let meta = Arc::clone(&meta);
                tokio::task::spawn_blocking(move || meta.blob_records_after(after.as_ref(), PAGE))
                    .await??
            };
            for (sha256, record) in &page {
                match link_or_copy(&source, &target, sha256, record.length)
                    .await
                    .with_context(|| format!("the backup lacks blob {sha256} or it is damaged"))?
                {
                    Transferred::Linked => counts.0 += 1,
                    _ => counts.1 += 1,
                }
            }
            match page.last() {
                Some((last, _)) if page.len() == PAGE => after = Some(*last),
                _ => break,
            }
        }
    }
    let meta_dir = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    }
    .meta_dir();
    std::fs::rename(&staging, &meta_dir)?;
    std::fs::File::open(data_dir)?.sync_all()?;
    Ok(counts)
}

/// Copies the files of a checkpoint directory (it has no subdirectories), each fsync'd.
fn copy_dir_durable(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries = std::fs::read_dir(from)
        .with_context(|| format!("the backup has no metadata at {}", from.display()))?;
    for entry in entries {
        let entry = entry?;
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target)
            .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        std::fs::File::open(&target)?.sync_all()?;
    }
    std::fs::File::open(to)?.sync_all()?;
    Ok(())
}

/// The `restore` subcommand.
pub async fn run_command(args: RestoreArgs) -> anyhow::Result<()> {
    let report = restore(&args.from, &args.data_dir).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "restored {} blob records into {} ({} blobs linked, {} copied); serve it with `fwrepo-server serve --data-dir {}`",
        report.manifest.blob_records,
        report.data_dir,
        report.blobs_linked,
        report.blobs_copied,
        report.data_dir
    );
    if let StoreRef::S3 {
        endpoint, bucket, ..
    } = &report.manifest.store
    {
        println!(
            "its records refer to blobs in bucket {bucket} at {endpoint}: configure [store] for it, then run `fwrepo-server fsck` before serving"
        );
    }
    Ok(())
}
