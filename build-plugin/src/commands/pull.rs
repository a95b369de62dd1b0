//! `fwrepo pull`: the newest matching record (or an exact version number), served from the
//! local content-addressed cache when present, else downloaded with Range resume and verified.

use std::path::{Path, PathBuf};

use fwrepo_schemas::PoolRecord;
use serde::Serialize;

use super::list::QueryArgs;
use super::{print_record, Context};
use crate::config::{self, Layer};
use crate::error::{Error, Result};
use crate::ops::cache::{copy_atomic, Cache};
use crate::ops::http::{Api, PoolQuery};
use crate::ops::progress::Progress;
use crate::ops::sign::{verify_file, TrustedKey};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Exact record: its version number within --type.
    #[arg(long, value_name = "N", requires = "fw_type")]
    pub version_number: Option<String>,
    /// Where to write the binary.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Neither read nor fill the local cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
    /// Refuse the binary (nothing written to --output) unless one of its signatures
    /// verifies with a --trusted-key.
    #[arg(long, requires = "trusted_keys")]
    pub verify: bool,
    /// A minisign public key to trust: a .pub file or the base64 key (repeatable).
    #[arg(long = "trusted-key", value_name = "KEY")]
    pub trusted_keys: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PullOutcome {
    pub record: PoolRecord,
    pub path: PathBuf,
    /// Served from the local cache without a download.
    pub cached: bool,
    /// Byte offset an interrupted download was resumed from (0: from the start).
    pub resumed_from: u64,
    /// With --verify: the trusted key whose signature verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
}

/// What `--verify` checks a binary against: its signatures and the keys trusted.
struct Verification {
    signatures: Vec<String>,
    keys: Vec<TrustedKey>,
}

impl Verification {
    /// Loads the keys and fetches the record's signatures, before any download: an
    /// unsigned binary is refused without being fetched.
    async fn prepare(api: &Api, args: &PullArgs, record: &PoolRecord) -> Result<Option<Self>> {
        if !args.verify {
            return Ok(None);
        }
        let keys = args
            .trusted_keys
            .iter()
            .map(|k| TrustedKey::load(k))
            .collect::<Result<Vec<_>>>()?;
        let signatures: Vec<String> = api
            .signatures(&record.sha256)
            .await?
            .into_iter()
            .map(|s| s.signature)
            .collect();
        if signatures.is_empty() {
            return Err(Error::Signature(format!(
                "{} {} (sha256 {}) has no signature: refused (--verify)",
                record.name, record.version, record.sha256
            )));
        }
        Ok(Some(Verification { signatures, keys }))
    }

    /// The trusted key that verifies the file at `path`; a refusal naming the record.
    fn check(&self, path: &Path, record: &PoolRecord) -> Result<String> {
        verify_file(path, &self.signatures, &self.keys).map_err(|e| match e {
            Error::Signature(why) => Error::Signature(format!(
                "{} {} (sha256 {}) refused: {why}",
                record.name, record.version, record.sha256
            )),
            other => other,
        })
    }
}

/// Finds the record with version number `n` of `fw_type` by paging the type's records.
pub async fn by_version_number(api: &Api, fw_type: i64, n: &str) -> Result<PoolRecord> {
    let query = PoolQuery {
        fw_type: Some(fw_type),
        sort: Some("versionNumber,desc".into()),
        ..PoolQuery::default()
    };
    let mut page = 0;
    loop {
        let answer = api
            .pool_page(&query, page, fwrepo_schemas::MAX_PAGE_SIZE)
            .await?;
        if let Some(record) = answer.content.iter().find(|r| r.version_number == n) {
            return Ok(record.clone());
        }
        if answer.content.is_empty() || u64::from(page) + 1 >= answer.total_pages {
            return Err(Error::NotFound(format!(
                "no record with versionNumber {n} of type {fw_type}"
            )));
        }
        page += 1;
    }
}

pub async fn resolve(
    api: &Api,
    query: &QueryArgs,
    version_number: Option<&str>,
) -> Result<PoolRecord> {
    if let (Some(n), Some(t)) = (version_number, query.fw_type) {
        return by_version_number(api, t, n).await;
    }
    let mut q = query.to_query();
    q.latest = true;
    let page = api.pool_page(&q, 0, 1).await?;
    page.content
        .into_iter()
        .next()
        .ok_or_else(|| Error::NotFound(format!("no record matches {}", describe(query))))
}

fn describe(q: &QueryArgs) -> String {
    let mut parts = Vec::new();
    if let Some(t) = q.fw_type {
        parts.push(format!("type {t}"));
    }
    for t in &q.tags {
        parts.push(format!("tag {t}"));
    }
    if let Some(n) = &q.name {
        parts.push(format!("name {n}"));
    }
    if let Some(r) = &q.version_req {
        parts.push(format!("version {r}"));
    }
    if let Some(c) = &q.commit {
        parts.push(format!("commit {c}"));
    }
    if parts.is_empty() {
        "the query".into()
    } else {
        parts.join(", ")
    }
}

pub async fn run(ctx: &Context, args: &PullArgs) -> Result<()> {
    let layer = ctx.layers(Layer::default(), &ctx.cwd)?;
    let api = ctx.api(&layer)?;
    let record = resolve(&api, &args.query, args.version_number.as_deref()).await?;
    let cache = Cache::new(config::cache_dir(&layer, &ctx.env));
    let outcome = pull(ctx, &api, &cache, record, args).await?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&outcome).expect("outcome serializes")
        );
    } else {
        let how = if outcome.cached {
            "from cache".to_string()
        } else if outcome.resumed_from > 0 {
            format!("downloaded, resumed at byte {}", outcome.resumed_from)
        } else {
            "downloaded".to_string()
        };
        print_record(
            &format!("pulled ({how}) to {}", outcome.path.display()),
            &outcome.record,
        );
    }
    Ok(())
}

async fn pull(
    ctx: &Context,
    api: &Api,
    cache: &Cache,
    record: PoolRecord,
    args: &PullArgs,
) -> Result<PullOutcome> {
    let sha = record.sha256.to_ascii_lowercase();
    let verification = Verification::prepare(api, args, &record).await?;
    let check = |path: &Path| -> Result<Option<String>> {
        let Some(verification) = &verification else {
            return Ok(None);
        };
        let key = verification.check(path, &record)?;
        ctx.note(&format!("signature verified with trusted key {key}"));
        Ok(Some(key))
    };
    if !args.no_cache {
        if let Some(blob) = cache.get(&sha)? {
            let verified_by = check(&blob)?;
            copy_atomic(&blob, &args.output)?;
            return Ok(PullOutcome {
                record,
                path: args.output.clone(),
                cached: true,
                resumed_from: 0,
                verified_by,
            });
        }
    }
    let part = if args.no_cache {
        let mut p = args.output.clone().into_os_string();
        p.push(".part");
        PathBuf::from(p)
    } else {
        cache.part(&sha)?
    };
    let progress = Progress::start(
        ctx.progress_mode(),
        &format!("downloading {} {}", record.name, record.version),
        record.length,
    );
    let resumed_from = api
        .download(&record.url, &part, &sha, record.length, &progress)
        .await?;
    progress.finish();
    let verified_by = if args.no_cache {
        // A refused download is not left behind.
        let verified_by = check(&part).inspect_err(|_| {
            let _ = std::fs::remove_file(&part);
        })?;
        std::fs::rename(&part, &args.output).map_err(|e| Error::io(&args.output, e))?;
        verified_by
    } else {
        let blob = cache.insert_verified(&sha, &part)?;
        let verified_by = check(&blob)?;
        copy_atomic(&blob, &args.output)?;
        verified_by
    };
    Ok(PullOutcome {
        record,
        path: args.output.clone(),
        cached: false,
        resumed_from,
        verified_by,
    })
}
