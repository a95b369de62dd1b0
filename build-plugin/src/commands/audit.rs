//! `fwrepo audit`: prints the partner's audit log (who changed what, when, from where, how it
//! ended), newest first; a line per entry or `--json`. Needs a client with the `admin` scope.

use fwrepo_schemas::AuditEntry;

use super::Context;
use crate::config::Layer;
use crate::error::Result;
use crate::ops::http::AuditQuery;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuditArgs {
    /// Only this actor (`client:<id>`, `user:<name>`, `device:<id>`, `server:<task>`).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this operation (`METHOD /route/{template}`) or method (`DELETE`).
    #[arg(long)]
    pub operation: Option<String>,
    /// Only entries whose path or created record contains this, e.g. `pool/types/3/versionNumbers/17`.
    #[arg(long)]
    pub record: Option<String>,
    /// Only `applied`, `refused` or `failed` requests.
    #[arg(long)]
    pub outcome: Option<String>,
    /// From this time on (RFC 3339 or milliseconds since the epoch).
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this time (RFC 3339 or milliseconds since the epoch).
    #[arg(long)]
    pub until: Option<String>,
    /// Stop after this many entries.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print a JSON array of entries.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: &AuditArgs) -> Result<()> {
    let layer = ctx.layers(Layer::default(), &ctx.cwd)?;
    let api = ctx.api(&layer)?;
    let query = AuditQuery {
        actor: args.actor.clone(),
        operation: args.operation.clone(),
        record: args.record.clone(),
        outcome: args.outcome.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
    };
    let mut entries = Vec::new();
    let mut cursor = None;
    while entries.len() < args.limit {
        let wanted = (args.limit - entries.len()).min(fwrepo_schemas::MAX_PAGE_SIZE as usize);
        let page = api
            .audit_page(&query, wanted as u32, cursor.as_deref())
            .await?;
        entries.extend(page.entries);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    entries.truncate(args.limit);
    if args.json {
        let text = serde_json::to_string_pretty(&entries).expect("entries serialize");
        outln!("{text}");
    } else {
        for entry in &entries {
            outln!("{}", line(entry));
        }
    }
    Ok(())
}

/// `time  outcome[ status]  actor  operation  target[ -> created]  from remote`
fn line(entry: &AuditEntry) -> String {
    let outcome = match (&entry.outcome, entry.status) {
        (outcome, Some(status)) => format!("{} {status}", outcome_word(outcome)),
        (outcome, None) => outcome_word(outcome).to_string(),
    };
    let method = entry.operation.split(' ').next().unwrap_or_default();
    let created = entry
        .created
        .as_ref()
        .map(|c| format!(" -> {c}"))
        .unwrap_or_default();
    let remote = entry
        .remote
        .as_ref()
        .map(|r| format!("  from {r}"))
        .unwrap_or_default();
    format!(
        "{}  {outcome:<12}  {}  {method} {}{created}{remote}",
        entry.time, entry.actor, entry.target
    )
}

fn outcome_word(outcome: &fwrepo_schemas::AuditOutcome) -> &'static str {
    match outcome {
        fwrepo_schemas::AuditOutcome::Applied => "applied",
        fwrepo_schemas::AuditOutcome::Refused => "refused",
        fwrepo_schemas::AuditOutcome::Failed => "failed",
    }
}
