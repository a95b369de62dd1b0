//! `fwrepo-bench`: the load generators and the crash harness behind `bench/run.sh` and
//! `bench/crash.sh`. Each subcommand prints human lines on stderr and one JSON line of
//! figures on stdout, so the scripts can put them in a table.

mod client;
mod crash;
mod ddi;
mod meta;
mod post_load;
mod soak;
mod storm;
mod ui;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use client::{Api, Creds};

#[derive(Parser)]
#[command(
    name = "fwrepo-bench",
    about = "fwrepo benchmarks and reliability harness"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Clone)]
struct Target {
    /// Base URL of a running fwrepo-server.
    #[arg(long)]
    url: String,
    /// File holding `fwrepo-server client create --json` output.
    #[arg(long)]
    creds: PathBuf,
}

impl Target {
    fn creds(&self) -> anyhow::Result<Creds> {
        Creds::from_json(
            &std::fs::read_to_string(&self.creds)
                .with_context(|| format!("read {}", self.creds.display()))?,
        )
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Concurrent publishers (token → upload → move → record).
    Storm {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 64)]
        publishers: usize,
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        #[arg(long, default_value_t = 1 << 20)]
        size: usize,
    },
    /// Publishes `builds` builds of which only `unique` have new bytes.
    Dedup {
        #[command(flatten)]
        target: Target,
        /// The server's data directory (to measure the bytes on disk).
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 100)]
        builds: usize,
        #[arg(long, default_value_t = 10)]
        unique: usize,
        #[arg(long, default_value_t = 1 << 20)]
        size: usize,
    },
    /// Loads generated pool records into a stopped server's data dir and writes the same rows
    /// as CSV for PostgreSQL.
    LoadMeta {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value = "acme")]
        partner: String,
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// SHA-256 of a binary already moved to the partner's repository.
        #[arg(long)]
        sha256: String,
        /// Its repository URL.
        #[arg(long)]
        url: String,
        #[arg(long)]
        csv: PathBuf,
    },
    /// Loads generated pool records through the HTTP API (POST pool), to time it; then
    /// checks that every type's version numbers are gap-free.
    LoadApi {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 2)]
        seed: u64,
        #[arg(long)]
        binary_url: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Writes the sampled queries (queries.json and pg_q1..4.sql) into a directory.
    Samples {
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1000)]
        per_query: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Runs the sampled queries against the server; p50/p99 per query.
    Query {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        samples: PathBuf,
        #[arg(long, default_value_t = 100)]
        warmup: usize,
    },
    /// Mixed load at a fixed rate (80 % reads, 15 % downloads, 5 % publishes), RSS sampled.
    Soak {
        #[command(flatten)]
        target: Target,
        /// Process id of the server (for its RSS).
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 200)]
        rate: u64,
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Samples before this are warm-up (RocksDB's memtables filling to their budget, the
        /// allocator's arenas growing to the load): the flatness figure starts after it.
        #[arg(long, default_value_t = 60)]
        warmup_seconds: u64,
        /// Records the pool holds before the clock starts: more than RocksDB's default memory
        /// budget holds, so its cache reaches that budget as a long-running server's does.
        #[arg(long, default_value_t = 100_000)]
        seed_records: u64,
    },
    /// hawkBit DDI: `devices` controllers (registered by a gateway token), each with an open
    /// deployment, polling (base poll + deploymentBase) at `rate` turns/s; p50/p99, RSS.
    DdiPoll {
        #[command(flatten)]
        target: Target,
        /// Process id of the server (for its RSS).
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 10_000)]
        devices: u64,
        #[arg(long, default_value_t = 500)]
        rate: u64,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// A web UI page's server time next to the same query through the JSON API
    /// (interleaved, time to the last byte), and the page's weight with its assets.
    UiPage {
        #[command(flatten)]
        target: Target,
        /// A person's account (made with `fwrepo-server user create`).
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        /// The page, e.g. `/ui/pool?tags=branch:main&size=50`.
        #[arg(long)]
        page: String,
        /// The same query under the partner's API, e.g. `/pool?tags=branch:main&size=50`.
        #[arg(long)]
        json: String,
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long, default_value_t = 200)]
        warmup: usize,
    },
    /// SIGKILL the server under a publish storm, restart, verify; then fsck.
    Crash {
        /// The fwrepo-server binary.
        #[arg(long)]
        server_bin: PathBuf,
        /// Where the data dir and server log go (a fresh temp dir by default).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        #[arg(long, default_value_t = 50)]
        cycles: usize,
        #[arg(long, default_value_t = 8)]
        workers: usize,
        #[arg(long, default_value_t = 150)]
        min_ms: u64,
        #[arg(long, default_value_t = 1500)]
        max_ms: u64,
        #[arg(long)]
        seed: Option<u64>,
    },
}

fn ms(us: f64) -> String {
    format!("{:.3}", us / 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Storm {
            target,
            publishers,
            rounds,
            size,
        } => {
            let r =
                storm::storm(&target.url, &target.creds()?, publishers, rounds, size, 140).await?;
            let secs = r.wall.as_secs_f64();
            let ok = r.latency.0.len();
            eprintln!(
                "storm: {} publishes ({publishers} concurrent × {rounds}) of {size} B in {secs:.2} s: {:.1} publishes/s, {:.1} MiB/s; latency p50 {} ms p99 {} ms; {} errors; {} distinct version numbers",
                r.publishes,
                ok as f64 / secs,
                (ok * size) as f64 / secs / 1048576.0,
                ms(r.latency.quantile(0.5)),
                ms(r.latency.quantile(0.99)),
                r.errors.len(),
                r.distinct_version_numbers
            );
            for e in r.errors.iter().take(10) {
                eprintln!("  error: {e}");
            }
            println!(
                "{}",
                json!({"publishes": r.publishes, "ok": ok, "seconds": secs, "publishes_per_s": ok as f64 / secs,
                       "mib_per_s": (ok * size) as f64 / secs / 1048576.0, "p50_ms": r.latency.quantile(0.5) / 1000.0,
                       "p99_ms": r.latency.quantile(0.99) / 1000.0, "errors": r.errors.len(),
                       "distinct_version_numbers": r.distinct_version_numbers})
            );
            anyhow::ensure!(r.errors.is_empty(), "{} publishes failed", r.errors.len());
            anyhow::ensure!(
                r.distinct_version_numbers == r.publishes,
                "version numbers were not distinct"
            );
        }
        Cmd::Dedup {
            target,
            data_dir,
            builds,
            unique,
            size,
        } => {
            let r = storm::dedup(
                &target.url,
                &target.creds()?,
                &data_dir,
                builds,
                unique,
                size,
            )
            .await?;
            let stored = r.bytes_on_disk_after - r.bytes_on_disk_before;
            eprintln!(
                "dedup: {} builds ({unique} distinct) uploaded {} B; blob bytes on disk grew by {stored} B in {} files: {:.3} of uploaded",
                r.builds,
                r.bytes_uploaded,
                r.blob_files_added,
                stored as f64 / r.bytes_uploaded as f64
            );
            println!(
                "{}",
                json!({"builds": r.builds, "unique": unique, "bytes_uploaded": r.bytes_uploaded, "bytes_stored": stored,
                       "blob_files_added": r.blob_files_added, "ratio": stored as f64 / r.bytes_uploaded as f64})
            );
        }
        Cmd::LoadMeta {
            data_dir,
            partner,
            records,
            seed,
            sha256,
            url,
            csv,
        } => {
            let elapsed =
                meta::load_offline(&data_dir, &partner, records, seed, &sha256, &url, &csv)?;
            let secs = elapsed.as_secs_f64();
            eprintln!(
                "load-meta: {records} records in {secs:.1} s ({:.0}/s)",
                records as f64 / secs
            );
            println!(
                "{}",
                json!({"records": records, "seconds": secs, "records_per_s": records as f64 / secs})
            );
        }
        Cmd::LoadApi {
            target,
            records,
            seed,
            binary_url,
            concurrency,
        } => {
            let creds = target.creds()?;
            // The writers run on one event loop: the load generator shares the machine with
            // the server it measures, and this way takes the least CPU from it.
            let load = std::thread::spawn(move || -> anyhow::Result<_> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let api = Api::connect(&target.url, &creds).await?;
                    let (ok, elapsed) =
                        meta::load_api(&api, records, seed, &binary_url, concurrency).await?;
                    // After the clock: not part of the rate.
                    let checked = meta::check_version_numbers_gap_free(&api).await?;
                    anyhow::Ok((ok, elapsed, checked))
                })
            });
            let (ok, elapsed, checked) = load
                .join()
                .map_err(|_| anyhow::anyhow!("the load thread panicked"))??;
            let secs = elapsed.as_secs_f64();
            eprintln!(
                "load-api: {ok}/{records} records through POST pool in {secs:.1} s ({:.0}/s)",
                ok as f64 / secs
            );
            println!(
                "{}",
                json!({"records": records, "ok": ok, "errors": records - ok, "seconds": secs, "records_per_s": ok as f64 / secs, "version_numbers_checked": checked})
            );
        }
        Cmd::Samples {
            records,
            seed,
            per_query,
            out,
        } => {
            std::fs::create_dir_all(&out)?;
            meta::write_samples(records, seed, per_query, &out)?;
        }
        Cmd::Query {
            target,
            samples,
            warmup,
        } => {
            let api = Api::connect(&target.url, &target.creds()?).await?;
            let samples: serde_json::Value = serde_json::from_slice(&std::fs::read(&samples)?)?;
            let results = meta::run_queries(&api, &samples, warmup).await?;
            let mut figures = Vec::new();
            for (name, (latency, matched)) in meta::QUERY_NAMES.iter().zip(results) {
                eprintln!(
                    "{name}: p50 {} ms, p99 {} ms, mean {} ms over {} queries ({matched} non-empty)",
                    ms(latency.quantile(0.5)),
                    ms(latency.quantile(0.99)),
                    ms(latency.mean()),
                    latency.0.len()
                );
                figures.push(json!({"query": name, "p50_ms": latency.quantile(0.5) / 1000.0, "p99_ms": latency.quantile(0.99) / 1000.0,
                                    "mean_ms": latency.mean() / 1000.0, "n": latency.0.len(), "non_empty": matched}));
            }
            println!("{}", serde_json::Value::Array(figures));
        }
        Cmd::Soak {
            target,
            pid,
            rate,
            seconds,
            warmup_seconds,
            seed_records,
        } => {
            let load = soak::Load {
                rate,
                seconds,
                warmup_seconds,
                seed_records,
            };
            let report = soak::soak(&target.url, &target.creds()?, pid, load).await?;
            for class in report["classes"].as_array().into_iter().flatten() {
                eprintln!(
                    "soak {}: {} requests, {} errors, p50 {:.2} ms, p99 {:.2} ms",
                    class["class"].as_str().unwrap_or(""),
                    class["requests"],
                    class["errors"],
                    class["p50_ms"].as_f64().unwrap_or(f64::NAN),
                    class["p99_ms"].as_f64().unwrap_or(f64::NAN)
                );
            }
            eprintln!(
                "soak RSS: min {} KiB, max {} KiB; after {warmup_seconds} s of warm-up: min {} KiB, max {} KiB, spread {:.1} %",
                report["rss_min_kib"],
                report["rss_max_kib"],
                report["after_warmup"]["rss_min_kib"],
                report["after_warmup"]["rss_max_kib"],
                report["after_warmup"]["rss_spread"].as_f64().unwrap_or(f64::NAN) * 100.0
            );
            println!("{report}");
        }
        Cmd::DdiPoll {
            target,
            pid,
            devices,
            rate,
            seconds,
        } => {
            let r =
                ddi::ddi_poll(&target.url, &target.creds()?, pid, devices, rate, seconds).await?;
            eprintln!(
                "ddi-poll: {devices} devices, {} turns at {rate}/s: {:.0} requests/s, poll p50 {:.2} ms p99 {:.2} ms, deploymentBase p50 {:.2} ms p99 {:.2} ms, {} errors, RSS {} → {} KiB",
                r["turns"],
                r["requests_per_s"].as_f64().unwrap_or(f64::NAN),
                r["poll_p50_ms"].as_f64().unwrap_or(f64::NAN),
                r["poll_p99_ms"].as_f64().unwrap_or(f64::NAN),
                r["deployment_p50_ms"].as_f64().unwrap_or(f64::NAN),
                r["deployment_p99_ms"].as_f64().unwrap_or(f64::NAN),
                r["errors"],
                r["rss_before_kib"],
                r["rss_max_kib"]
            );
            println!("{r}");
            anyhow::ensure!(r["errors"] == 0, "{} DDI requests failed", r["errors"]);
        }
        Cmd::UiPage {
            target,
            username,
            password,
            page,
            json,
            requests,
            warmup,
        } => {
            let api = Api::connect(&target.url, &target.creds()?).await?;
            let session = ui::Session::sign_in(&target.url, &username, &password).await?;
            let t = ui::interleaved(&session, &api, &page, &json, requests, warmup).await?;
            let weight = ui::weight(&session, &page).await?;
            let total: usize = weight.iter().map(|(_, b)| b).sum();
            let (p50, p99) = (t.page.quantile(0.5), t.page.quantile(0.99));
            let (j50, j99) = (t.json.quantile(0.5), t.json.quantile(0.99));
            eprintln!(
                "ui-page {page}: p50 {} ms p99 {} ms ({} B, {} <tr>); JSON {json}: p50 {} ms p99 {} ms ({} B, {} rows); page/JSON p50 {:.2}, p99 {:.2}; {requests} each",
                ms(p50), ms(p99), t.page_bytes, t.page_rows, ms(j50), ms(j99), t.json_bytes, t.json_rows,
                p50 / j50, p99 / j99
            );
            for (path, bytes) in &weight {
                eprintln!("  weight {path}: {bytes} B");
            }
            eprintln!("  weight total: {total} B");
            println!(
                "{}",
                json!({"page": page, "json": json, "requests": requests,
                       "page_p50_ms": p50 / 1000.0, "page_p99_ms": p99 / 1000.0,
                       "json_p50_ms": j50 / 1000.0, "json_p99_ms": j99 / 1000.0,
                       "ratio_p50": p50 / j50, "ratio_p99": p99 / j99,
                       "page_bytes": t.page_bytes, "page_rows": t.page_rows,
                       "json_bytes": t.json_bytes, "json_rows": t.json_rows,
                       "weight_total_bytes": total,
                       "weight": weight.iter().map(|(p, b)| json!({"path": p, "bytes": b})).collect::<Vec<_>>()})
            );
        }
        Cmd::Crash {
            server_bin,
            work_dir,
            cycles,
            workers,
            min_ms,
            max_ms,
            seed,
        } => {
            let temp;
            let work_dir = match work_dir {
                Some(dir) => dir,
                None => {
                    temp =
                        std::env::temp_dir().join(format!("fwrepo-crash-{}", std::process::id()));
                    temp
                }
            };
            let seed = seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO)
                    .as_nanos() as u64
            });
            eprintln!(
                "crash harness: {cycles} cycles, {workers} publishers, seed {seed}, work dir {}",
                work_dir.display()
            );
            crash::run(crash::CrashOptions {
                server_bin,
                work_dir,
                cycles,
                workers,
                min_ms,
                max_ms,
                seed,
            })
            .await?;
        }
    }
    Ok(())
}
