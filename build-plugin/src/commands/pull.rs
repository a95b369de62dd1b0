//! `fwrepo pull`: the newest matching record (or an exact version number), served from the
//! local content-addressed cache when present, else downloaded with Range resume and verified.

use std::path::PathBuf;

use fwrepo_schemas::PoolRecord;
use serde::Serialize;

use super::list::QueryArgs;
use super::{print_record, Context};
use crate::config::{self, Layer};
use crate::error::{Error, Result};
use crate::ops::cache::{copy_atomic, Cache};
use crate::ops::http::{Api, PoolQuery};
use crate::ops::progress::Progress;

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
}

#[derive(Debug, Serialize)]
pub struct PullOutcome {
    pub record: PoolRecord,
    pub path: PathBuf,
    /// Served from the local cache without a download.
    pub cached: bool,
    /// Byte offset an interrupted download was resumed from (0: from the start).
    pub resumed_from: u64,
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
    if !args.no_cache {
        if let Some(blob) = cache.get(&sha)? {
            copy_atomic(&blob, &args.output)?;
            return Ok(PullOutcome {
                record,
                path: args.output.clone(),
                cached: true,
                resumed_from: 0,
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
    if args.no_cache {
        std::fs::rename(&part, &args.output).map_err(|e| Error::io(&args.output, e))?;
    } else {
        let blob = cache.insert_verified(&sha, &part)?;
        copy_atomic(&blob, &args.output)?;
    }
    Ok(PullOutcome {
        record,
        path: args.output.clone(),
        cached: false,
        resumed_from,
    })
}
