//! `fwrepo-server blobs migrate --to s3`: copies every blob a stopped server's metadata knows
//! from its filesystem store into the object store its `[store]` configures. Offline: it
//! takes the data dir's RocksDB lock, so no server serves meanwhile (a blob uploaded during
//! an online pass could be left behind). Each blob streams through the ingest path with its
//! digest and size, then is read back from the far side and hashed; a blob already there
//! with its size is skipped, so an interrupted run continues where it stopped.

use futures_util::{stream, StreamExt};
use serde::Serialize;

use crate::domain::Sha256Digest;
use crate::meta::MetaStore;
use crate::store::hashing::rehash;
use crate::store::transfer::{copy_blob, Transferred};
use crate::store::{BlobStore, StoreError};

/// Blob records read per step.
const PAGE: usize = 1000;
/// Blobs in flight at once (each a stream into the destination, then a read back).
const IN_FLIGHT: usize = 4;

/// What happened to one blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Moved {
    /// Copied and read back: the far side's bytes hash to the name.
    Copied { sha256: String, bytes: u64 },
    /// The destination had it with its size already (an earlier, interrupted run).
    Present { sha256: String },
    /// The source lacks it: reported (fsck's business), the run goes on.
    Missing { sha256: String },
}

#[derive(Debug, Default, Serialize)]
pub struct MigrateReport {
    pub blob_records: u64,
    pub copied: u64,
    pub present: u64,
    pub bytes_copied: u64,
    pub missing: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("metadata: {0}")]
    Meta(#[from] crate::meta::MetaError),
    #[error("blob {sha256}: {source}")]
    Blob {
        sha256: Sha256Digest,
        source: StoreError,
    },
    #[error("blob {sha256} reads back from the destination as {actual} ({length} bytes): removed; run again")]
    Verify {
        sha256: Sha256Digest,
        actual: Sha256Digest,
        length: u64,
    },
}

/// Copies every blob `meta` has a record of from `from` to `to`, calling `each` per blob.
pub async fn migrate(
    meta: &MetaStore,
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    mut each: impl FnMut(&Moved),
) -> Result<MigrateReport, MigrateError> {
    let mut report = MigrateReport::default();
    let mut after = None;
    loop {
        // A point-in-time page read; the store is offline, nothing changes under it.
        let page = meta.blob_records_after(after.as_ref(), PAGE)?;
        let mut moves = stream::iter(&page)
            .map(|(sha256, record)| move_one(from, to, *sha256, record.length))
            .buffer_unordered(IN_FLIGHT);
        while let Some(moved) = moves.next().await {
            let moved = moved?;
            report.blob_records += 1;
            match &moved {
                Moved::Copied { bytes, .. } => {
                    report.copied += 1;
                    report.bytes_copied += bytes;
                }
                Moved::Present { .. } => report.present += 1,
                Moved::Missing { sha256 } => report.missing.push(sha256.clone()),
            }
            each(&moved);
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE => after = Some(*last),
            _ => return Ok(report),
        }
    }
}

async fn move_one(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    sha256: Sha256Digest,
    length: u64,
) -> Result<Moved, MigrateError> {
    let failed = |source| MigrateError::Blob { sha256, source };
    match copy_blob(from, to, &sha256, length).await {
        Ok(Transferred::Present) => {
            return Ok(Moved::Present {
                sha256: sha256.to_hex(),
            })
        }
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => {
            return Ok(Moved::Missing {
                sha256: sha256.to_hex(),
            })
        }
        Err(error) => return Err(failed(error)),
    }
    // Ingest checked the bytes that left; reading back checks what the far side keeps.
    let digests = rehash(to, &sha256).await.map_err(failed)?;
    if digests.sha256 != sha256 || digests.length != length {
        to.delete(&sha256).await.map_err(failed)?;
        return Err(MigrateError::Verify {
            sha256,
            actual: digests.sha256,
            length: digests.length,
        });
    }
    Ok(Moved::Copied {
        sha256: sha256.to_hex(),
        bytes: length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Expected, FsBlobStore, Ingest};

    async fn put(store: &dyn BlobStore, bytes: Vec<u8>) -> Sha256Digest {
        let mut ingest = Ingest::begin(store, Expected::default()).await.unwrap();
        ingest.write(bytes.into()).await.unwrap();
        ingest.finish().await.unwrap().sha256
    }

    /// Every recorded blob arrives and reads back; a second run copies nothing; a blob
    /// whose source is gone is reported, not fatal.
    #[tokio::test]
    async fn a_migration_copies_each_blob_once_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let meta = MetaStore::open(&dir.path().join("meta"), false).unwrap();
        let from = FsBlobStore::open(dir.path().join("from")).unwrap();
        let to = FsBlobStore::open(dir.path().join("to")).unwrap();
        let mut digests = Vec::new();
        for i in 0..6u8 {
            let bytes = vec![i; 1000 + i as usize];
            let sha = put(&from, bytes.clone()).await;
            meta.add_pending("acme", &sha, bytes.len() as u64, "b3", 1, u64::MAX)
                .unwrap();
            digests.push(sha);
        }
        // An interrupted run got this far.
        copy_blob(&from, &to, &digests[0], 1000).await.unwrap();
        // And this blob's bytes are gone from the source.
        from.delete(&digests[5]).await.unwrap();

        let mut seen = Vec::new();
        let report = migrate(&meta, &from, &to, |m| seen.push(m.clone()))
            .await
            .unwrap();
        assert_eq!(
            (report.blob_records, report.copied, report.present),
            (6, 4, 1)
        );
        assert_eq!(report.missing, vec![digests[5].to_hex()]);
        assert_eq!(seen.len(), 6);
        for sha in &digests[..5] {
            assert_eq!(rehash(&to, sha).await.unwrap().sha256, *sha);
        }
        let again = migrate(&meta, &from, &to, |_| {}).await.unwrap();
        assert_eq!((again.copied, again.present), (0, 5));
    }
}

/// `fwrepo-server blobs ...`.
#[derive(clap::Subcommand, Debug)]
pub enum BlobsCommand {
    /// Copy every blob of a stopped server's filesystem store into the object store
    /// `[store]` configures; resumable (blobs already there with their size are skipped).
    Migrate(MigrateArgs),
}

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The destination backend (its settings come from `[store]` and the store flags).
    #[arg(long, value_enum)]
    pub to: crate::config::StoreKind,
    /// The stopped server's config file (its data dir and `[store]`).
    #[arg(long, env = "FWREPO_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// The data directory of the stopped server (default: the config's, else ./fwrepo-data).
    #[arg(long, env = "FWREPO_DATA_DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub store: crate::cli::StoreArgs,
    /// One JSON report on stdout instead of a line per blob.
    #[arg(long)]
    pub json: bool,
}

pub async fn run_command(command: BlobsCommand) -> anyhow::Result<()> {
    use anyhow::Context;
    let BlobsCommand::Migrate(args) = command;
    anyhow::ensure!(
        args.to == crate::config::StoreKind::S3,
        "blobs migrate copies from the filesystem store into an object store: --to s3"
    );
    let mut config = crate::cli::load_config(args.config.as_deref())?;
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    args.store.apply(&mut config.store);
    config.store.kind = args.to;
    // Read-write open: RocksDB's lock refuses a data dir a server is serving.
    let meta = crate::server::open_meta(&config)?;
    let from = crate::store::FsBlobStore::inspect(config.blob_dir());
    let to = crate::store::open(&config)
        .await
        .context("cannot open the destination store")?;
    let json = args.json;
    let report = migrate(&meta, &from, to.as_ref(), |moved| {
        if !json {
            match moved {
                Moved::Copied { sha256, bytes } => println!("copied\t{sha256}\t{bytes}"),
                Moved::Present { sha256 } => println!("present\t{sha256}"),
                Moved::Missing { sha256 } => println!("MISSING\t{sha256}"),
            }
        }
    })
    .await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "migrated {} blob records: {} copied ({} bytes), {} already there, {} missing from the source",
            report.blob_records,
            report.copied,
            report.bytes_copied,
            report.present,
            report.missing.len()
        );
    }
    anyhow::ensure!(
        report.missing.is_empty(),
        "{} blobs are missing from the filesystem store (run fsck)",
        report.missing.len()
    );
    Ok(())
}
