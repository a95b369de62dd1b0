//! `fwrepo-server fsck`: verifies a stopped server's data directory — blobs against their
//! names, the metadata against the blobs — and with `--repair` fixes what is safe to fix.
//! Offline only: RocksDB's lock keeps it from opening a data dir a server is serving.
//!
//! Checks: every blob file hashes to its name (SHA-256) and matches its record (BLAKE3,
//! length); every blob record has a file; every file has a record (a crash between the
//! rename and the metadata commit leaves an orphan); refcounts equal the holds (pending
//! uploads + repository entries); every pool record's repository entry and blob exist and
//! agree; no temp file and no stray file under the blob root.
//!
//! Repairs (only what loses nothing): recount refcounts; delete orphan files nothing holds or
//! references; drop the record of a blob whose bytes are gone only when nothing holds or
//! references it; delete temp files. Everything else is reported for a human.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use futures_util::StreamExt;
use serde::Serialize;

use crate::config::Config;
use crate::domain::{PageRequest, PoolQuery, PoolRecordData, Sha256Digest};
use crate::meta::MetaStore;
use crate::store::hashing::rehash;
use crate::store::{BlobStore, StrayKind};

#[derive(Args, Debug)]
pub struct FsckArgs {
    /// The stopped server's config file (for its data dir and `[store]`).
    #[arg(long, env = "FWREPO_CONFIG")]
    pub config: Option<PathBuf>,
    /// The data directory of a stopped server (default: the config's, else ./fwrepo-data).
    #[arg(long, env = "FWREPO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub store: crate::cli::StoreArgs,
    /// Fix what is safe to fix (see the module documentation); report the rest.
    #[arg(long)]
    pub repair: bool,
    /// One JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// One thing fsck found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// Stable kind, e.g. `orphan-blob-file`, `refcount-mismatch`.
    pub kind: &'static str,
    /// What it is about: a sha256, a pool record id, a path.
    pub subject: String,
    pub detail: String,
    pub repaired: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct FsckReport {
    pub data_dir: String,
    pub repair: bool,
    pub blob_files: u64,
    pub blob_bytes: u64,
    pub blob_records: u64,
    pub pool_records: u64,
    /// Blobs nothing holds, left for the sweeper (not a problem).
    pub unreferenced_blobs: u64,
    pub findings: Vec<Finding>,
    pub unrepaired: u64,
    pub clean: bool,
}

impl FsckReport {
    fn found(
        &mut self,
        kind: &'static str,
        subject: impl ToString,
        detail: impl Into<String>,
        repaired: bool,
    ) {
        self.findings.push(Finding {
            kind,
            subject: subject.to_string(),
            detail: detail.into(),
            repaired,
        });
    }
}

impl FsckArgs {
    /// File values, overridden by environment and flags.
    pub fn resolve(self) -> anyhow::Result<Config> {
        let mut config = crate::cli::load_config(self.config.as_deref())?;
        config.data_dir = self.data_dir.unwrap_or(config.data_dir);
        self.store.apply(&mut config.store);
        Ok(config)
    }
}

/// Runs every check on the data dir of `config` (which no server may be serving) and its
/// blob store. The blobs are read through the `BlobStore` trait, as the server reads them.
pub async fn check(config: &Config, repair: bool) -> anyhow::Result<FsckReport> {
    let data_dir = config.data_dir.as_path();
    anyhow::ensure!(
        data_dir.is_dir(),
        "{} is not a data directory",
        data_dir.display()
    );
    let meta = MetaStore::open(&config.meta_dir(), true).with_context(|| {
        format!(
            "cannot open metadata in {} (is a server running on it?)",
            config.meta_dir().display()
        )
    })?;
    let store = crate::store::inspect(config)
        .await
        .context("cannot open the blob store")?;
    let store: &dyn BlobStore = &*store;
    let mut report = FsckReport {
        data_dir: data_dir.display().to_string(),
        repair,
        ..FsckReport::default()
    };

    // Temp data: a crash mid-upload leaves it (the server clears it at start); anything
    // else that is not a blob at its place is for a human.
    let mut strays = store.strays();
    while let Some(stray) = strays.next().await {
        let stray = stray?;
        match stray.kind {
            StrayKind::Temp => {
                let removed = repair && store.remove_stray(&stray).await.is_ok();
                report.found(
                    "stray-temp-file",
                    &stray.name,
                    "a temp file of an upload that never finished",
                    removed,
                );
            }
            StrayKind::Misplaced => report.found(
                "stray-file",
                &stray.name,
                "a file that is not a blob at its place in the store",
                false,
            ),
        }
    }
    drop(strays);

    let records: BTreeMap<Sha256Digest, crate::domain::BlobRecord> =
        meta.all_blob_records()?.into_iter().collect();
    let holds = meta.counted_holds()?;
    report.blob_records = records.len() as u64;

    // Blobs: hashing to their name, matching their record.
    let mut on_disk = BTreeSet::new();
    let mut corrupt = BTreeSet::new();
    let mut listing = store.list();
    while let Some(sha) = listing.next().await {
        let sha = sha?;
        report.blob_files += 1;
        let digests = rehash(store, &sha)
            .await
            .with_context(|| format!("read blob {sha}"))?;
        let (actual, blake3, length) = (digests.sha256, digests.blake3, digests.length);
        report.blob_bytes += length;
        if actual != sha {
            report.found(
                "blob-hash-mismatch",
                sha,
                format!("the file's bytes hash to {actual}: the blob is corrupt"),
                false,
            );
            corrupt.insert(sha);
            continue;
        }
        on_disk.insert(sha);
        if let Some(record) = records.get(&sha) {
            if record.blake3 != blake3 || record.length != length {
                report.found(
                    "blob-record-mismatch",
                    sha,
                    format!("record says {} bytes, BLAKE3 {}; the file has {length} bytes, BLAKE3 {blake3}", record.length, record.blake3),
                    false,
                );
            }
        }
    }

    // Pool records: reached through the sha256 index of every digest we know of; a partner
    // whose count does not add up is listed in full to find records of unknown digests.
    let mut known: BTreeSet<Sha256Digest> = records.keys().copied().collect();
    known.extend(on_disk.iter().copied());
    known.extend(holds.keys().copied());
    let mut referenced: BTreeSet<Sha256Digest> = BTreeSet::new();
    let mut seen_per_partner: BTreeMap<String, u64> = BTreeMap::new();
    let mut pool_records: Vec<PoolRecordData> = Vec::new();
    for sha in &known {
        for id in meta.pool_ids_by_sha(sha)? {
            match meta.pool_record(id)? {
                Some(record) => {
                    *seen_per_partner.entry(record.partner.clone()).or_insert(0) += 1;
                    pool_records.push(record);
                }
                None => report.found(
                    "dangling-sha256-index",
                    format!("pool record {id}"),
                    format!("the sha256 index names {sha} for a record that does not exist"),
                    false,
                ),
            }
        }
    }
    let partners: BTreeSet<String> = meta
        .list_clients()?
        .into_iter()
        .map(|c| c.partner)
        .collect();
    for partner in &partners {
        let total = meta.list_pool(partner, &all_records_page(0))?.total;
        if total == seen_per_partner.get(partner).copied().unwrap_or(0) {
            continue;
        }
        let mut page = 0;
        loop {
            let chunk = meta.list_pool(partner, &all_records_page(page))?;
            if chunk.records.is_empty() {
                break;
            }
            for record in chunk.records {
                if !known.contains(&record.sha256) {
                    pool_records.push(record);
                }
            }
            page += 1;
        }
    }
    report.pool_records = pool_records.len() as u64;
    for record in &pool_records {
        referenced.insert(record.sha256);
        let subject = format!(
            "pool record {} ({} type {} {} {})",
            record.id, record.partner, record.fw_type, record.name, record.version
        );
        if meta
            .repository_entry(&record.partner, &record.sha256)?
            .is_none()
        {
            report.found(
                "pool-record-without-repository-entry",
                &subject,
                format!("{} is not in the partner's repository", record.sha256),
                false,
            );
        }
        match records.get(&record.sha256) {
            None => report.found(
                "pool-record-without-blob",
                &subject,
                format!("no blob record for {}", record.sha256),
                false,
            ),
            Some(blob) if blob.blake3 != record.blake3 || blob.length != record.length => report
                .found(
                    "pool-record-digest-mismatch",
                    &subject,
                    format!(
                        "the record says {} bytes, BLAKE3 {}; the blob {} bytes, BLAKE3 {}",
                        record.length, record.blake3, blob.length, blob.blake3
                    ),
                    false,
                ),
            Some(_) => {}
        }
    }

    // Blob records against files and holds.
    for (sha, record) in &records {
        let counted = holds.get(sha).copied().unwrap_or(0);
        let mut refcount = record.refcount;
        if refcount != counted {
            let fixed = repair && meta.set_refcount(sha, counted).is_ok();
            if fixed {
                refcount = counted;
            }
            report.found(
                "refcount-mismatch",
                sha,
                format!(
                    "refcount {} but {counted} holds (pending uploads, repository entries, collection images)",
                    record.refcount
                ),
                fixed,
            );
        }
        if corrupt.contains(sha) {
            continue; // reported above; its bytes are there, but wrong
        }
        if !on_disk.contains(sha) {
            let unreferenced = counted == 0 && !referenced.contains(sha);
            let dropped =
                repair && unreferenced && refcount == 0 && meta.forget_unreferenced_blob(sha)?;
            let detail = if unreferenced {
                "the blob's bytes are gone; nothing holds or references it".to_string()
            } else {
                format!("the blob's bytes are gone but {counted} holds and {} pool records reference it: restore the file", pool_records.iter().filter(|r| r.sha256 == *sha).count())
            };
            report.found("missing-blob-file", sha, detail, dropped);
        } else if counted == 0 && !referenced.contains(sha) {
            report.unreferenced_blobs += 1;
        }
    }
    for sha in holds.keys().filter(|sha| !records.contains_key(*sha)) {
        report.found(
            "hold-without-blob-record",
            sha,
            format!("{} holds on a blob with no record", holds[sha]),
            false,
        );
    }

    // Blobs with no record: a crash between the rename and the metadata commit.
    for sha in on_disk.iter().filter(|sha| !records.contains_key(*sha)) {
        let unreferenced = !holds.contains_key(sha) && !referenced.contains(sha);
        let removed = repair && unreferenced && store.delete(sha).await.is_ok();
        let detail = if unreferenced {
            "a blob file with no record (a crash between the rename and the metadata commit)"
        } else {
            "a blob file with no record, yet held or referenced"
        };
        report.found("orphan-blob-file", sha, detail, removed);
    }

    report.unrepaired = report.findings.iter().filter(|f| !f.repaired).count() as u64;
    report.clean = report.unrepaired == 0;
    Ok(report)
}

/// A page of a partner's records in id order, 1,000 at a time.
fn all_records_page(page: u32) -> PoolQuery {
    PoolQuery {
        page: PageRequest {
            page,
            size: 1000,
            ..PageRequest::default()
        },
        ..PoolQuery::default()
    }
}

/// The `fsck` subcommand: prints the report; exits 1 when problems remain unrepaired.
pub async fn run_command(args: FsckArgs) -> anyhow::Result<()> {
    let (repair, json) = (args.repair, args.json);
    let report = check(&args.resolve()?, repair).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "fsck {}: {} blob files ({} bytes), {} blob records, {} pool records, {} unreferenced blobs awaiting the sweeper",
            report.data_dir, report.blob_files, report.blob_bytes, report.blob_records, report.pool_records, report.unreferenced_blobs
        );
        for f in &report.findings {
            let state = if f.repaired { "repaired" } else { "PROBLEM" };
            println!("{state}\t{}\t{}\t{}", f.kind, f.subject, f.detail);
        }
        println!(
            "{}",
            if report.clean {
                "clean"
            } else {
                "problems remain"
            }
        );
    }
    if !report.clean {
        std::process::exit(1);
    }
    Ok(())
}
