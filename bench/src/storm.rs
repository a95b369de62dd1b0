//! Publish storm (N concurrent publishers: token → upload → move → record) and dedup
//! (builds of which most are byte-identical to an earlier one).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::ensure;

use crate::client::{self, Api, Creds, Rng, Samples};

pub struct StormReport {
    pub publishes: usize,
    pub errors: Vec<String>,
    pub wall: Duration,
    pub latency: Samples,
    pub distinct_version_numbers: usize,
}

/// `rounds` waves of `publishers` concurrent publishes of `size` distinct bytes each. Every
/// publisher fetches its own token, as a CI job would.
pub async fn storm(
    url: &str,
    creds: &Creds,
    publishers: usize,
    rounds: usize,
    size: usize,
    fw_type: u16,
) -> anyhow::Result<StormReport> {
    let setup = Api::connect(url, creds).await?;
    setup.ensure_type(fw_type).await?;
    let run_id = std::process::id() as u64
        ^ client::Rng::new(Instant::now().elapsed().as_nanos() as u64).next_u64();
    let mut report = StormReport {
        publishes: 0,
        errors: Vec::new(),
        wall: Duration::ZERO,
        latency: Samples::default(),
        distinct_version_numbers: 0,
    };
    let mut numbers = BTreeSet::new();
    let started = Instant::now();
    for round in 0..rounds {
        let mut tasks = Vec::new();
        for p in 0..publishers {
            let url = url.to_string();
            let creds = creds.clone();
            let mut rng = Rng::new(
                run_id
                    .wrapping_mul(31)
                    .wrapping_add((round * publishers + p) as u64),
            );
            tasks.push(tokio::spawn(async move {
                let mut bytes = vec![0u8; size];
                rng.fill(&mut bytes);
                let begun = Instant::now();
                let http = client::http();
                let token = client::token(&http, &url, &creds).await?;
                let api = Api {
                    base: format!("{url}/v1/ota/partners/{}", creds.partner),
                    token,
                    http,
                };
                let version = format!("{}.{round}.{p}", run_id % 100_000);
                let tags = vec![format!("storm:{round}"), format!("publisher:{p}")];
                let record = api
                    .publish(fw_type, "storm", &version, &tags, bytes)
                    .await?;
                Ok::<_, client::Failure>((begun.elapsed(), record))
            }));
        }
        for task in tasks {
            report.publishes += 1;
            match task.await? {
                Ok((elapsed, record)) => {
                    report.latency.push(elapsed);
                    numbers.insert(
                        record["versionNumber"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
                Err(failure) => report.errors.push(failure.to_string()),
            }
        }
    }
    report.wall = started.elapsed();
    report.distinct_version_numbers = numbers.len();
    Ok(report)
}

pub struct DedupReport {
    pub builds: usize,
    pub bytes_uploaded: u64,
    pub bytes_on_disk_before: u64,
    pub bytes_on_disk_after: u64,
    pub blob_files_added: usize,
}

/// Sum of the sizes of the blob files (not RocksDB) under a data dir, and their count.
pub fn blob_bytes(data_dir: &Path) -> (u64, usize) {
    fn walk(dir: &Path, total: &mut (u64, usize)) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, total);
            } else if let Ok(meta) = entry.metadata() {
                total.0 += meta.len();
                total.1 += 1;
            }
        }
    }
    let mut total = (0, 0);
    walk(&data_dir.join("blobs/sha256"), &mut total);
    total
}

/// `builds` publishes of `size` bytes; all but `unique` of them repeat an earlier build's bytes.
pub async fn dedup(
    url: &str,
    creds: &Creds,
    data_dir: &Path,
    builds: usize,
    unique: usize,
    size: usize,
) -> anyhow::Result<DedupReport> {
    ensure!(
        unique >= 1 && unique <= builds,
        "unique must be in 1..=builds"
    );
    let api = Api::connect(url, creds).await?;
    api.ensure_type(150).await?;
    let seed = Instant::now().elapsed().as_nanos() as u64 ^ ((std::process::id() as u64) << 20);
    let mut rng = Rng::new(seed);
    let distinct: Vec<Vec<u8>> = (0..unique)
        .map(|_| {
            let mut bytes = vec![0u8; size];
            rng.fill(&mut bytes);
            bytes
        })
        .collect();
    let (before, files_before) = blob_bytes(data_dir);
    let mut uploaded = 0u64;
    for build in 0..builds {
        // The first `unique` builds are new; each later one repeats an earlier build.
        let bytes = if build < unique {
            distinct[build].clone()
        } else {
            distinct[rng.below(unique as u64) as usize].clone()
        };
        uploaded += bytes.len() as u64;
        let version = format!("{}.0.{build}", seed % 100_000);
        let tags = vec![format!("build:{build}")];
        api.publish(150, "dedup", &version, &tags, bytes)
            .await
            .map_err(|f| anyhow::anyhow!("build {build}: {f}"))?;
    }
    let (after, files_after) = blob_bytes(data_dir);
    Ok(DedupReport {
        builds,
        bytes_uploaded: uploaded,
        bytes_on_disk_before: before,
        bytes_on_disk_after: after,
        blob_files_added: files_after - files_before,
    })
}
