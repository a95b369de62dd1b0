//! `fwrepo list` / `fwrepo query`: pages through matching pool records; table or `--json`.

use fwrepo_schemas::PoolRecord;

use super::Context;
use crate::config::Layer;
use crate::error::Result;
use crate::ops::http::PoolQuery;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct QueryArgs {
    /// Firmware type number.
    #[arg(long = "type", value_name = "N")]
    pub fw_type: Option<i64>,
    /// Only records carrying this tag (repeatable; all must match).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Exact record name.
    #[arg(long)]
    pub name: Option<String>,
    /// Exact version string.
    #[arg(long = "version", value_name = "VERSION")]
    pub version: Option<String>,
    /// Semver requirement, e.g. '^1.2' (records whose version is not semver are left out).
    #[arg(long, value_name = "REQ")]
    pub version_req: Option<String>,
    /// Only the newest record by semver precedence (ties: the higher versionNumber).
    #[arg(long)]
    pub latest: bool,
    /// Records built from a commit (hex prefix of at least 7 digits).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
}

impl QueryArgs {
    pub fn to_query(&self) -> PoolQuery {
        PoolQuery {
            fw_type: self.fw_type,
            tags: self.tags.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            version_req: self.version_req.clone(),
            latest: self.latest,
            commit: self.commit.clone(),
            sort: None,
        }
    }
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Sort, `field,asc|desc` (id, createdTimestamp, updatedTimestamp, versionNumber, name, version, type).
    #[arg(long, default_value = "createdTimestamp,desc")]
    pub sort: String,
    /// Stop after this many records.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Records per request (the server allows up to 1000).
    #[arg(long, default_value_t = 200)]
    pub page_size: u32,
    /// Print a JSON array of pool records.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: &ListArgs) -> Result<()> {
    let layer = ctx.layers(Layer::default(), &ctx.cwd)?;
    let api = ctx.api(&layer)?;
    let mut query = args.query.to_query();
    query.sort = Some(args.sort.clone());
    let records = api
        .pool_all(
            &query,
            args.page_size.clamp(1, fwrepo_schemas::MAX_PAGE_SIZE),
            args.limit,
        )
        .await?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&records).expect("records serialize")
        );
    } else {
        out!("{}", table(&records));
    }
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A plain-text table: one line per record, tags last (shortened).
pub fn table(records: &[PoolRecord]) -> String {
    let header = ["TYPE", "VN", "NAME", "VERSION", "SIZE", "SHA256", "TAGS"];
    let rows: Vec<[String; 7]> = records
        .iter()
        .map(|r| {
            [
                r.fw_type.to_string(),
                r.version_number.clone(),
                truncate(&r.name, 32),
                truncate(&r.version, 40),
                r.length.to_string(),
                r.sha256.chars().take(12).collect(),
                truncate(&r.tags.join(" "), 80),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    if records.is_empty() {
        out.push_str("(no records)\n");
    }
    out
}
