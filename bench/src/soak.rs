//! Soak: mixed load at a fixed rate (80 % pool reads, 15 % downloads, 5 % publishes) for a
//! fixed time, open loop (requests start on schedule whether or not earlier ones finished),
//! against a pool seeded beforehand with more records than RocksDB's memory budget holds (a
//! repository in service has a history, and QA rigs read any of it: half the reads fetch a
//! record chosen at random), with the server's resident set sampled every 10 s, beside what
//! RocksDB's block cache and memtables hold then and what the allocator has handed out (from
//! `/metrics`): the caches grow to their budgets as data is added, so RSS minus them is what
//! tells a leak or fragmentation from a cache warming up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::client::{Api, Creds, Rng, Samples};

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The load: requests per second, for how long, how much of it is warm-up, and how many
/// records the pool holds before it starts.
pub struct Load {
    pub rate: u64,
    pub seconds: u64,
    pub warmup_seconds: u64,
    pub seed_records: u64,
}

/// The soak's firmware type: every record it seeds or publishes is of it.
const SOAK_TYPE: u16 = 101;

/// Records `count` records of the soak's type naming the binary at `binary_url`, through the
/// lean POST client on 64 connections, before the clock starts.
async fn seed_pool(api: &Api, count: u64, seed: u64, binary_url: &str) -> anyhow::Result<()> {
    let bodies = (0..count)
        .map(|i| {
            let version = format!("{}.2.{i}", seed % 100_000);
            let body = json!({"name": "soak-history", "type": SOAK_TYPE, "version": version,
                              "url": binary_url, "tags": ["history"]});
            serde_json::to_vec(&body).map(Into::into)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (created, _) = crate::post_load::create_records(api, bodies, 64).await?;
    anyhow::ensure!(
        created == count,
        "seeding: {created} of {count} records created"
    );
    Ok(())
}

/// The server's gauges a sample records, in KiB: RocksDB's block cache (memtables included),
/// its table readers, and the bytes the allocator has handed out.
struct Gauges {
    rocksdb_caches_kib: Option<u64>,
    table_readers_kib: Option<u64>,
    allocated_kib: Option<u64>,
}

async fn gauges(http: &reqwest::Client, url: &str) -> Gauges {
    let text = match http.get(format!("{url}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    // The memtables are charged to the block cache: its usage is both.
    let caches = gauge("fwrepo_rocksdb_block_cache_bytes ");
    Gauges {
        rocksdb_caches_kib: caches.map(|bytes| bytes as u64 / 1024),
        table_readers_kib: gauge("fwrepo_rocksdb_table_readers_bytes ")
            .map(|bytes| bytes as u64 / 1024),
        allocated_kib: gauge("fwrepo_allocator_allocated_bytes ").map(|bytes| bytes as u64 / 1024),
    }
}

/// (time, `field`) of every sample taken from `from_s` on that has the field.
fn after<'a>(
    samples: &'a [Value],
    field: &'a str,
    from_s: u64,
) -> impl Iterator<Item = (u64, u64)> + 'a {
    samples
        .iter()
        .filter_map(move |s| Some((s["t_s"].as_u64()?, s[field].as_u64()?)))
        .filter(move |(t, _)| *t >= from_s)
}

/// Smallest and largest value of `field` in the samples taken from `from_s` on, and the
/// largest relative difference between them.
fn range_after(samples: &[Value], field: &str, from_s: u64) -> Value {
    let settled: Vec<u64> = after(samples, field, from_s).map(|(_, v)| v).collect();
    let (lo, hi) = (settled.iter().min().copied(), settled.iter().max().copied());
    let spread = match (lo, hi) {
        (Some(lo), Some(hi)) if lo > 0 => (hi - lo) as f64 / lo as f64,
        _ => f64::NAN,
    };
    json!({"min_kib": lo, "max_kib": hi, "spread": spread})
}

/// Two views of RSS after warm-up that a single 10-s sample cannot sway: the spread of its
/// one-minute means, and its least-squares slope in KiB per 10 minutes (a leak is a slope).
fn rss_trend_after(samples: &[Value], from_s: u64) -> Value {
    let settled: Vec<(f64, f64)> = after(samples, "rss_kib", from_s)
        .map(|(t, rss)| (t as f64, rss as f64))
        .collect();
    let mut minutes: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for (t, rss) in &settled {
        minutes.entry(*t as u64 / 60).or_default().push(*rss);
    }
    // Whole minutes only: the last, cut short by the end of the run, is left out.
    let means: Vec<f64> = minutes
        .values()
        .filter(|rss| rss.len() >= 6)
        .map(|rss| rss.iter().sum::<f64>() / rss.len() as f64)
        .collect();
    let (lo, hi) = means.iter().fold((f64::INFINITY, 0f64), |(lo, hi), m| {
        (lo.min(*m), hi.max(*m))
    });
    let n = settled.len() as f64;
    let (mean_t, mean_rss) = settled
        .iter()
        .fold((0.0, 0.0), |(a, b), (t, r)| (a + t / n, b + r / n));
    let (covariance, variance) = settled.iter().fold((0.0, 0.0), |(c, v), (t, r)| {
        (
            c + (t - mean_t) * (r - mean_rss),
            v + (t - mean_t) * (t - mean_t),
        )
    });
    // Fewer than two whole minutes have no spread (null in the JSON).
    let spread = if means.len() >= 2 {
        (hi - lo) / lo
    } else {
        f64::NAN
    };
    json!({"minute_means_spread": spread, "slope_kib_per_10_min": covariance / variance * 600.0})
}

#[derive(Default)]
struct Class {
    latency: Samples,
    errors: u64,
}

/// One sample: RSS, RocksDB's caches, RSS without them, and the allocator's live bytes.
async fn sample(t_s: u64, pid: u32, http: &reqwest::Client, url: &str) -> Value {
    let rss = rss_kib(pid);
    let gauges = gauges(http, url).await;
    let without = rss
        .zip(gauges.rocksdb_caches_kib)
        .map(|(r, c)| r.saturating_sub(c));
    json!({"t_s": t_s, "rss_kib": rss, "rocksdb_caches_kib": gauges.rocksdb_caches_kib,
           "rss_without_caches_kib": without, "allocated_kib": gauges.allocated_kib,
           "table_readers_kib": gauges.table_readers_kib})
}

/// How often the soak takes a fresh access token, well inside the server's default lifetime.
const TOKEN_RENEWAL: Duration = Duration::from_secs(20 * 60);

pub async fn soak(url: &str, creds: &Creds, pid: u32, load: Load) -> anyhow::Result<Value> {
    let Load {
        rate,
        seconds,
        warmup_seconds,
        seed_records,
    } = load;
    let mut api = Api::connect(url, creds).await?;
    let mut token_taken = Instant::now();
    api.ensure_type(SOAK_TYPE).await?;
    let seed = Instant::now().elapsed().as_nanos() as u64 ^ ((std::process::id() as u64) << 16);
    let mut rng = Rng::new(seed);
    let mut urls = Vec::new();
    let mut first_version = None;
    for i in 0..5 {
        let mut bytes = vec![0u8; 1 << 20];
        rng.fill(&mut bytes);
        let record = api
            .publish(
                SOAK_TYPE,
                "soak-base",
                &format!("{}.0.{i}", seed % 100_000),
                &["soak".to_string()],
                bytes,
            )
            .await
            .map_err(|f| anyhow::anyhow!("{f}"))?;
        urls.push(record["url"].as_str().unwrap_or_default().to_string());
        first_version.get_or_insert(
            crate::client::version_number(&record).context("a record without a version number")?,
        );
    }
    seed_pool(&api, seed_records, seed, &urls[0]).await?;
    // Version numbers are gap-free: the records above, then the seeded ones.
    let first = first_version.context("no record published")?;
    let versions = first..first + urls.len() as u64 + seed_records;
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
        if token_taken.elapsed() >= TOKEN_RENEWAL {
            // Access tokens expire (an hour by default): a soak outlives one.
            api = Api::connect(url, creds).await?;
            token_taken = Instant::now();
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            skipped += 1; // more than 512 in flight: the server is not keeping up
            continue;
        };
        let roll = rng.below(100);
        let (api, classes, counter) = (api.clone(), classes.clone(), counter.clone());
        let download = urls[rng.below(urls.len() as u64) as usize].clone();
        let any_record = versions.start + rng.below(versions.end - versions.start);
        let mut bytes = Vec::new();
        if roll >= 95 {
            bytes = vec![0u8; 64 << 10];
            rng.fill(&mut bytes);
        }
        tokio::spawn(async move {
            let begun = Instant::now();
            let (class, ok) = if roll < 80 {
                let path = match roll % 4 {
                    0 => format!("/pool/types/{SOAK_TYPE}?tags=soak&size=20"),
                    1 => "/pool?size=20&sort=createdTimestamp,desc".to_string(),
                    _ => format!("/pool/types/{SOAK_TYPE}/versionNumbers/{any_record}"),
                };
                (0, api.get_json(&path).await.is_ok())
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
                    api.publish(SOAK_TYPE, "soak", &version, &["soak".to_string()], bytes)
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
    let whole = range_after(&rss, "rss_kib", 0);
    let settled = range_after(&rss, "rss_kib", warmup_seconds);
    Ok(json!({
        "rate_per_s": rate, "seconds": seconds, "warmup_seconds": warmup_seconds,
        "skipped_over_512_in_flight": skipped,
        "classes": per_class,
        "rss_min_kib": whole["min_kib"], "rss_max_kib": whole["max_kib"],
        "after_warmup": {
            "rss_min_kib": settled["min_kib"],
            "rss_max_kib": settled["max_kib"],
            "rss_spread": settled["spread"],
            "rss_without_rocksdb_caches_spread": range_after(&rss, "rss_without_caches_kib", warmup_seconds)["spread"],
            "allocated_spread": range_after(&rss, "allocated_kib", warmup_seconds)["spread"],
            "rss_trend": rss_trend_after(&rss, warmup_seconds),
        },
        "rss_samples": rss,
    }))
}
