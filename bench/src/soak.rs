//! Soak: mixed load at a fixed rate (80 % pool reads, 15 % downloads, 5 % publishes) for a
//! fixed time, open loop (requests start on schedule whether or not earlier ones finished),
//! with the server's resident set sampled every 10 s, beside what RocksDB's block cache and
//! memtables hold then (from `/metrics`): those grow to their budgets as data is added, so
//! RSS minus them is what tells a leak or fragmentation from a cache warming up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client::{Api, Creds, Rng, Samples};

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Block cache plus memtable bytes from the server's `/metrics`, in KiB.
async fn rocksdb_cache_kib(http: &reqwest::Client, url: &str) -> Option<u64> {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    let bytes =
        gauge("fwrepo_rocksdb_block_cache_bytes ")? + gauge("fwrepo_rocksdb_memtable_bytes ")?;
    Some(bytes as u64 / 1024)
}

/// Largest relative difference between samples taken after the first minute.
fn spread_after_60s(samples: &[Value], field: &str) -> f64 {
    let settled: Vec<u64> = samples
        .iter()
        .filter(|s| s["t_s"].as_u64().unwrap_or(0) >= 60)
        .filter_map(|s| s[field].as_u64())
        .collect();
    let (lo, hi) = (
        settled.iter().min().copied().unwrap_or(0),
        settled.iter().max().copied().unwrap_or(0),
    );
    if lo > 0 {
        (hi - lo) as f64 / lo as f64
    } else {
        f64::NAN
    }
}

#[derive(Default)]
struct Class {
    latency: Samples,
    errors: u64,
}

/// One sample: RSS, RocksDB's caches, and RSS without them.
async fn sample(t_s: u64, pid: u32, http: &reqwest::Client, url: &str) -> Value {
    let rss = rss_kib(pid);
    let caches = rocksdb_cache_kib(http, url).await;
    let without = rss.zip(caches).map(|(r, c)| r.saturating_sub(c));
    json!({"t_s": t_s, "rss_kib": rss, "rocksdb_caches_kib": caches, "rss_without_caches_kib": without})
}

pub async fn soak(
    url: &str,
    creds: &Creds,
    pid: u32,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Value> {
    let api = Api::connect(url, creds).await?;
    api.ensure_type(101).await?;
    let seed = Instant::now().elapsed().as_nanos() as u64 ^ ((std::process::id() as u64) << 16);
    let mut rng = Rng::new(seed);
    let mut urls = Vec::new();
    for i in 0..5 {
        let mut bytes = vec![0u8; 1 << 20];
        rng.fill(&mut bytes);
        let record = api
            .publish(
                101,
                "soak-base",
                &format!("{}.0.{i}", seed % 100_000),
                &["soak".to_string()],
                bytes,
            )
            .await
            .map_err(|f| anyhow::anyhow!("{f}"))?;
        urls.push(record["url"].as_str().unwrap_or_default().to_string());
    }
    let classes: Arc<Mutex<[Class; 3]>> = Arc::new(Mutex::new(Default::default()));
    let counter = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(512));
    let mut rss = Vec::new();
    let metrics_http = reqwest::Client::new();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    let mut next_sample = Duration::ZERO;
    let mut skipped = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        if started.elapsed() >= next_sample {
            rss.push(sample(next_sample.as_secs(), pid, &metrics_http, url).await);
            next_sample += Duration::from_secs(10);
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            skipped += 1; // more than 512 in flight: the server is not keeping up
            continue;
        };
        let roll = rng.below(100);
        let (api, classes, counter) = (api.clone(), classes.clone(), counter.clone());
        let download = urls[rng.below(urls.len() as u64) as usize].clone();
        let mut bytes = Vec::new();
        if roll >= 95 {
            bytes = vec![0u8; 64 << 10];
            rng.fill(&mut bytes);
        }
        tokio::spawn(async move {
            let begun = Instant::now();
            let (class, ok) = if roll < 80 {
                let path = if roll % 2 == 0 {
                    "/pool/types/101?tags=soak&size=20"
                } else {
                    "/pool?size=20&sort=createdTimestamp,desc"
                };
                (0, api.get_json(path).await.is_ok())
            } else if roll < 95 {
                let ok = match api.http.get(&download).bearer_auth(&api.token).send().await {
                    Ok(response) if response.status() == 200 => response
                        .bytes()
                        .await
                        .map(|b| b.len() == 1 << 20)
                        .unwrap_or(false),
                    _ => false,
                };
                (1, ok)
            } else {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let version = format!("{}.1.{n}", seed % 100_000);
                (
                    2,
                    api.publish(101, "soak", &version, &["soak".to_string()], bytes)
                        .await
                        .is_ok(),
                )
            };
            let mut classes = classes.lock().unwrap();
            classes[class].latency.push(begun.elapsed());
            classes[class].errors += u64::from(!ok);
            drop(permit);
        });
    }
    // Let the last requests finish.
    let _ = tokio::time::timeout(Duration::from_secs(60), in_flight.acquire_many(512)).await;
    rss.push(sample(started.elapsed().as_secs(), pid, &metrics_http, url).await);
    let classes = classes.lock().unwrap();
    let names = ["reads", "downloads", "publishes"];
    let per_class: Vec<Value> = classes
        .iter()
        .zip(names)
        .map(|(c, name)| {
            json!({"class": name, "requests": c.latency.0.len(), "errors": c.errors,
                   "p50_ms": c.latency.quantile(0.5) / 1000.0, "p99_ms": c.latency.quantile(0.99) / 1000.0})
        })
        .collect();
    let values: Vec<u64> = rss.iter().filter_map(|s| s["rss_kib"].as_u64()).collect();
    Ok(json!({
        "rate_per_s": rate, "seconds": seconds, "skipped_over_512_in_flight": skipped,
        "classes": per_class,
        "rss_min_kib": values.iter().min(), "rss_max_kib": values.iter().max(),
        // Flatness after the first minute (allocator and caches warm up).
        "rss_spread_after_60s": spread_after_60s(&rss, "rss_kib"),
        "rss_without_rocksdb_caches_spread_after_60s": spread_after_60s(&rss, "rss_without_caches_kib"),
        "rss_samples": rss,
    }))
}
