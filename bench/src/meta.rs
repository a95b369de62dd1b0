//! Metadata-query benchmark: generates realistic pool records (≈200 types, 5 names each,
//! semver versions in publication order, 5 tags per record from a Zipf-distributed
//! vocabulary of 1,000), loads them into a stopped server's RocksDB through the server's own
//! metadata layer (or through the API), writes the same rows as CSV for PostgreSQL, and
//! samples the four queries so both systems answer exactly the same questions.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use fwrepo_server::domain::{PoolRecordFields, Sha256Digest};
use fwrepo_server::meta::MetaStore;
use serde_json::{json, Value};

use crate::client::{Api, Rng, Samples};

pub const NAMES_PER_TYPE: u64 = 5;
pub const VOCABULARY: usize = 1000;
pub const TAGS_PER_RECORD: usize = 5;
/// 2024-01-01T00:00:00Z; records are a minute apart.
const EPOCH_MS: u64 = 1_704_067_200_000;

/// Firmware types 1–200 that may hold pool records (type 4 never does).
pub fn pool_types() -> Vec<u16> {
    (1..=200u16).filter(|t| *t != 4).collect()
}

/// The tag vocabulary, most popular first.
pub fn vocabulary() -> Vec<String> {
    let kinds = [
        "branch",
        "board",
        "ci",
        "channel",
        "config",
        "feature",
        "hw",
        "sdk",
        "toolchain",
        "env",
    ];
    let mut words: Vec<String> = Vec::with_capacity(VOCABULARY);
    words.push("branch:main".into());
    words.push("ci:github".into());
    words.push("channel:stable".into());
    let mut i = 0;
    while words.len() < VOCABULARY {
        let kind = kinds[i % kinds.len()];
        words.push(format!("{kind}:{kind}-{}", i / kinds.len()));
        i += 1;
    }
    words
}

/// Zipf(1) sampler over ranks 0..n.
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect::<Vec<_>>();
        Zipf {
            cumulative: cumulative.iter().map(|c| c / total).collect(),
        }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cumulative
            .partition_point(|c| *c < u)
            .min(self.cumulative.len() - 1)
    }
}

/// One generated record (what both systems store).
pub struct Row {
    pub fw_type: u16,
    pub name: String,
    pub version: (u64, u64, u64),
    pub tags: Vec<String>,
}

impl Row {
    pub fn version_string(&self) -> String {
        format!("{}.{}.{}", self.version.0, self.version.1, self.version.2)
    }
}

/// The deterministic record stream: record `i` of a run with `seed`.
pub struct Generator {
    rng: Rng,
    types: Vec<u16>,
    vocabulary: Vec<String>,
    zipf: Zipf,
    /// Next version counter of each (type index, name index).
    counters: Vec<u64>,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let types = pool_types();
        let counters = vec![0; types.len() * NAMES_PER_TYPE as usize];
        Generator {
            rng: Rng::new(seed),
            types,
            vocabulary: vocabulary(),
            zipf: Zipf::new(VOCABULARY),
            counters,
        }
    }

    pub fn next_row(&mut self) -> Row {
        let t = self.rng.below(self.types.len() as u64) as usize;
        let n = self.rng.below(NAMES_PER_TYPE) as usize;
        let slot = t * NAMES_PER_TYPE as usize + n;
        let c = self.counters[slot];
        self.counters[slot] += 1;
        let mut tags: Vec<String> = Vec::with_capacity(TAGS_PER_RECORD);
        while tags.len() < TAGS_PER_RECORD {
            let tag = &self.vocabulary[self.zipf.sample(&mut self.rng)];
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        Row {
            fw_type: self.types[t],
            name: format!("fw-{}-{n}", self.types[t]),
            version: (c / 100, (c / 10) % 10, c % 10),
            tags,
        }
    }

    /// Highest version counter handed out per (type, name), for sampling existing versions.
    fn counter(&self, t: usize, n: usize) -> u64 {
        self.counters[t * NAMES_PER_TYPE as usize + n]
    }
}

fn pg_array(tags: &[String]) -> String {
    // Tags never hold commas, quotes, braces, backslashes or spaces here.
    format!("{{{}}}", tags.join(","))
}

/// Loads `records` rows into the (stopped) server's metadata store of `data_dir`, all
/// pointing at one binary already moved to the repository (`sha256`, `url`), and writes the
/// same rows to `csv` for PostgreSQL's COPY. Answers the load time.
pub fn load_offline(
    data_dir: &Path,
    partner: &str,
    records: u64,
    seed: u64,
    sha256: &str,
    url: &str,
    csv: &Path,
) -> anyhow::Result<Duration> {
    let meta = MetaStore::open(&data_dir.join("meta"), false)
        .context("open the metadata store (is the server stopped?)")?;
    let sha = Sha256Digest::parse_hex("sha256", sha256).map_err(|e| anyhow::anyhow!("{e}"))?;
    let blob = meta
        .blob_record(&sha)?
        .context("the binary is not in the metadata store")?;
    for t in pool_types() {
        // An existing type (created through the API) is fine.
        let _ = meta.create_type(partner, t, &format!("type-{t}"), None, EPOCH_MS);
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(csv)?);
    let mut generator = Generator::new(seed);
    let started = Instant::now();
    for i in 0..records {
        let row = generator.next_row();
        let fields = PoolRecordFields {
            fw_type: row.fw_type,
            name: row.name.clone(),
            description: None,
            version: row.version_string(),
            url: url.to_string(),
            tags: row.tags.clone(),
            sha256: sha,
        };
        let created = EPOCH_MS + i * 60_000;
        let record = meta.create_pool_record(partner, fields, created)?;
        writeln!(
            out,
            "{},{partner},{},{},{},{},{},{},{},{url},\"{}\",{sha256},{},{},{created},{created}",
            record.id,
            row.fw_type,
            record.version_number,
            row.name,
            row.version_string(),
            row.version.0,
            row.version.1,
            row.version.2,
            pg_array(&row.tags),
            blob.blake3,
            blob.length
        )?;
        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "  loaded {} records, {:.0}/s",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed();
    out.flush()?;
    drop(meta); // flushes and closes RocksDB before the server opens it again
    Ok(elapsed)
}

/// Loads rows through the HTTP API (one POST pool each, `concurrency` connections with one
/// request in flight each): the figure that shows why the offline loader exists. The bodies
/// are built before the clock starts. Answers (records created, time).
pub async fn load_api(
    api: &Api,
    records: u64,
    seed: u64,
    url: &str,
    concurrency: usize,
) -> anyhow::Result<(u64, Duration)> {
    for t in pool_types() {
        api.ensure_type(t).await?;
    }
    let mut generator = Generator::new(seed);
    let bodies = (0..records)
        .map(|_| {
            let row = generator.next_row();
            let body = json!({"name": row.name, "type": row.fw_type, "version": row.version_string(), "url": url, "tags": row.tags});
            serde_json::to_vec(&body).map(Into::into)
        })
        .collect::<Result<Vec<_>, _>>()?;
    crate::post_load::create_records(api, bodies, concurrency).await
}

/// Checks that every type's version numbers are 1..=n with none missing or repeated (the
/// issue 11 item 4 invariant under concurrent writers); answers how many records it read.
pub async fn check_version_numbers_gap_free(api: &Api) -> anyhow::Result<u64> {
    const PAGE: u32 = 1000; // the server's largest page
    let mut checked = 0;
    for fw_type in pool_types() {
        let mut numbers = Vec::new();
        for page in 0.. {
            let listed = api
                .get_json(&format!("/pool/types/{fw_type}?page={page}&size={PAGE}"))
                .await
                .map_err(|f| anyhow::anyhow!("listing type {fw_type}: {f}"))?;
            let content = listed["content"]
                .as_array()
                .context("a page without content")?;
            for record in content {
                numbers.push(
                    crate::client::version_number(record)
                        .context("a record without a version number")?,
                );
            }
            if content.len() < PAGE as usize {
                break;
            }
        }
        numbers.sort_unstable();
        anyhow::ensure!(
            numbers.iter().copied().eq(1..=numbers.len() as u64),
            "type {fw_type}: version numbers are not 1..={} without gaps or repeats",
            numbers.len()
        );
        checked += numbers.len() as u64;
    }
    Ok(checked)
}

/// Samples the four queries against the rows a run with `seed` and `records` loads, and
/// writes them as JSON (for ours) and as four psql scripts (for PostgreSQL).
pub fn write_samples(
    records: u64,
    seed: u64,
    per_query: usize,
    out_dir: &Path,
) -> anyhow::Result<()> {
    let mut generator = Generator::new(seed);
    for _ in 0..records {
        generator.next_row();
    }
    let types = pool_types();
    let vocabulary = vocabulary();
    let zipf = Zipf::new(VOCABULARY);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut q1 = Vec::new();
    let mut q2 = Vec::new();
    let mut q3 = Vec::new();
    let mut q4 = Vec::new();
    for _ in 0..per_query {
        let t = rng.below(types.len() as u64) as usize;
        q1.push(json!({"type": types[t], "tag": vocabulary[zipf.sample(&mut rng)]}));

        let a = zipf.sample(&mut rng);
        let mut b = zipf.sample(&mut rng);
        while b == a {
            b = zipf.sample(&mut rng);
        }
        q2.push(json!({"tags": [vocabulary[a], vocabulary[b]]}));

        let t = rng.below(types.len() as u64) as usize;
        let n = rng.below(NAMES_PER_TYPE) as usize;
        let count = generator.counter(t, n);
        // Half the checks ask for a version that exists, half for one that does not.
        let c = if rng.below(2) == 0 && count > 0 {
            rng.below(count)
        } else {
            count + rng.below(1000)
        };
        let version = format!("{}.{}.{}", c / 100, (c / 10) % 10, c % 10);
        q3.push(
            json!({"type": types[t], "name": format!("fw-{}-{n}", types[t]), "version": version}),
        );

        let t = rng.below(types.len() as u64) as usize;
        let n = rng.below(NAMES_PER_TYPE) as usize;
        let majors = generator.counter(t, n) / 100 + 1;
        let major = rng.below(majors);
        let minor = rng.below(10);
        q4.push(json!({"type": types[t], "name": format!("fw-{}-{n}", types[t]), "major": major, "minor": minor}));
    }
    let samples = json!({"q1": q1, "q2": q2, "q3": q3, "q4": q4});
    std::fs::write(
        out_dir.join("queries.json"),
        serde_json::to_vec_pretty(&samples)?,
    )?;

    let columns = "id, type, version_number, name, version, url, tags, sha256, blake3, length, created_ms, updated_ms";
    let scripts = [
        (
            "pg_q1.sql",
            format!("PREPARE q(int, text) AS SELECT {columns}, count(*) OVER () AS total FROM pool WHERE partner = 'acme' AND type = $1 AND tags @> ARRAY[$2] ORDER BY created_ms DESC LIMIT 50;"),
        ),
        (
            "pg_q2.sql",
            format!("PREPARE q(text, text) AS SELECT {columns}, count(*) OVER () AS total FROM pool WHERE partner = 'acme' AND tags @> ARRAY[$1, $2] ORDER BY id LIMIT 50;"),
        ),
        (
            "pg_q3.sql",
            "PREPARE q(int, text, text) AS SELECT EXISTS (SELECT 1 FROM pool WHERE partner = 'acme' AND type = $1 AND name = $2 AND version = $3);".to_string(),
        ),
        (
            // Caret semantics: ^M.m (M > 0) is major = M, minor >= m; ^0.m is major 0, minor m.
            "pg_q4.sql",
            format!("PREPARE q(int, text, int, int) AS SELECT {columns} FROM pool WHERE partner = 'acme' AND type = $1 AND name = $2 AND major = $3 AND (CASE WHEN $3 = 0 THEN minor = $4 ELSE minor >= $4 END) ORDER BY major DESC, minor DESC, patch DESC, version_number DESC LIMIT 1;"),
        ),
    ];
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    for (i, (file, prepare)) in scripts.iter().enumerate() {
        let mut sql = format!("{prepare}\n\\timing on\n");
        let list = samples[format!("q{}", i + 1)].as_array().unwrap();
        for s in list {
            let args = match i {
                0 => format!("{}, {}", s["type"], quote(s["tag"].as_str().unwrap())),
                1 => format!(
                    "{}, {}",
                    quote(s["tags"][0].as_str().unwrap()),
                    quote(s["tags"][1].as_str().unwrap())
                ),
                2 => format!(
                    "{}, {}, {}",
                    s["type"],
                    quote(s["name"].as_str().unwrap()),
                    quote(s["version"].as_str().unwrap())
                ),
                _ => format!(
                    "{}, {}, {}, {}",
                    s["type"],
                    quote(s["name"].as_str().unwrap()),
                    s["major"],
                    s["minor"]
                ),
            };
            sql.push_str(&format!("EXECUTE q({args});\n"));
        }
        std::fs::write(out_dir.join(file), sql)?;
    }
    Ok(())
}

pub const QUERY_NAMES: [&str; 4] = [
    "q1 newest 50 of a type having a tag",
    "q2 records having two given tags",
    "q3 exists check",
    "q4 newest matching a semver range",
];

/// Runs the sampled queries against our server, one at a time on one keep-alive connection
/// (as a client would); answers latency samples per query. `warmup` queries of each kind
/// run first and are not counted.
pub async fn run_queries(
    api: &Api,
    samples: &Value,
    warmup: usize,
) -> anyhow::Result<Vec<(Samples, u64)>> {
    let mut out = Vec::new();
    for (i, key) in ["q1", "q2", "q3", "q4"].iter().enumerate() {
        let list = samples[*key]
            .as_array()
            .context("samples file lacks a query")?;
        let mut latency = Samples::default();
        let mut matched = 0u64;
        for (k, s) in list.iter().cycle().take(list.len() + warmup).enumerate() {
            let request = match i {
                0 => api.get(&format!("/pool/types/{}", s["type"])).query(&[
                    ("tags", s["tag"].as_str().unwrap()),
                    ("sort", "createdTimestamp,desc"),
                    ("size", "50"),
                ]),
                1 => {
                    let tags = format!(
                        "{},{}",
                        s["tags"][0].as_str().unwrap(),
                        s["tags"][1].as_str().unwrap()
                    );
                    api.get("/pool")
                        .query(&[("tags", tags.as_str()), ("size", "50")])
                }
                2 => api.get(&format!(
                    "/pool/types/{}/names/{}/versions/{}/exists",
                    s["type"],
                    s["name"].as_str().unwrap(),
                    s["version"].as_str().unwrap()
                )),
                _ => {
                    let req = format!("^{}.{}", s["major"], s["minor"]);
                    api.get(&format!("/pool/types/{}", s["type"])).query(&[
                        ("name", s["name"].as_str().unwrap()),
                        ("versionReq", req.as_str()),
                        ("latest", "true"),
                    ])
                }
            };
            let begun = Instant::now();
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            let elapsed = begun.elapsed();
            anyhow::ensure!(
                status == 200,
                "{key} {s}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
            if k >= warmup {
                latency.push(elapsed);
                let v: Value = serde_json::from_slice(&body)?;
                let hit = match i {
                    2 => v["value"] == json!(true),
                    _ => v["totalElements"].as_u64().unwrap_or(0) > 0,
                };
                matched += hit as u64;
            }
        }
        out.push((latency, matched));
    }
    Ok(out)
}
