//! `fwrepo verify FILE`: checks a binary against its pool record — the one named by
//! `--type/--version-number`, or the one its embedded stamp (version + commit) points at.

use std::path::PathBuf;

use fwrepo_schemas::PoolRecord;
use serde::Serialize;

use super::{print_record, Context};
use crate::config::Layer;
use crate::error::{Error, Result};
use crate::ops::digest::sha256_file;
use crate::ops::http::PoolQuery;
use crate::stamp::{find_embedded, EmbeddedStamp};

#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    pub file: PathBuf,
    #[arg(long = "type", value_name = "N")]
    pub fw_type: Option<i64>,
    /// Compare against this exact record (needs --type).
    #[arg(long, value_name = "N", requires = "fw_type")]
    pub version_number: Option<String>,
    /// Only read the embedded stamp; do not ask the server.
    #[arg(long)]
    pub offline: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    file: PathBuf,
    sha256: String,
    length: u64,
    embedded: Option<EmbeddedStamp>,
    record: Option<PoolRecord>,
    verified: bool,
}

pub async fn run(ctx: &Context, args: &VerifyArgs) -> Result<()> {
    let (sha256, length) = sha256_file(&args.file)?;
    // Stamps sit in the first megabytes of a firmware image; scan the whole file anyway.
    let bytes = std::fs::read(&args.file).map_err(|e| Error::io(&args.file, e))?;
    let embedded = find_embedded(&bytes);
    drop(bytes);
    let mut report = Report {
        file: args.file.clone(),
        sha256: sha256.clone(),
        length,
        embedded,
        record: None,
        verified: false,
    };
    if args.offline {
        let found = report.embedded.is_some();
        print_report(&report, args.json);
        return if found {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "no fwrepo stamp in {}",
                args.file.display()
            )))
        };
    }
    let layer = ctx.layers(Layer::default(), &ctx.cwd)?;
    let api = ctx.api(&layer)?;
    let candidates: Vec<PoolRecord> = match (&args.version_number, args.fw_type, &report.embedded) {
        (Some(n), Some(t), _) => vec![super::pull::by_version_number(&api, t, n).await?],
        (_, _, Some(stamp)) => {
            let query = PoolQuery {
                fw_type: args.fw_type,
                version: stamp.version.clone(),
                commit: stamp.git.clone(),
                ..PoolQuery::default()
            };
            api.pool_all(&query, 100, Some(1000)).await?
        }
        _ => {
            return Err(Error::Config(format!(
                "{} has no embedded fwrepo stamp: pass --type and --version-number",
                args.file.display()
            )))
        }
    };
    if candidates.is_empty() {
        return Err(Error::NotFound(format!(
            "no record matches the stamp in {}",
            args.file.display()
        )));
    }
    let matching = candidates.iter().find(|r| r.sha256 == sha256).cloned();
    report.verified = matching.is_some();
    report.record = matching.or_else(|| candidates.first().cloned());
    print_report(&report, args.json);
    if report.verified {
        Ok(())
    } else {
        let expected = report
            .record
            .as_ref()
            .map(|r| r.sha256.clone())
            .unwrap_or_default();
        Err(Error::Verify {
            what: args.file.display().to_string(),
            expected,
            actual: sha256,
        })
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(report).expect("report serializes")
        );
        return;
    }
    outln!(
        "{}: sha256 {} ({} bytes)",
        report.file.display(),
        report.sha256,
        report.length
    );
    match &report.embedded {
        Some(s) => outln!(
            "  stamp:  version {} commit {}{}",
            s.version.as_deref().unwrap_or("?"),
            s.git.as_deref().unwrap_or("?"),
            if s.dirty == Some(true) {
                " (dirty)"
            } else {
                ""
            }
        ),
        None => outln!("  stamp:  none"),
    }
    if let Some(record) = &report.record {
        let heading = if report.verified {
            "  verified against"
        } else {
            "  DOES NOT MATCH"
        };
        print_record(heading, record);
    }
}
