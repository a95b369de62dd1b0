//! `fwrepo retention policy|plan|run|runs`: sets or prints the partner's retention policy,
//! prints its dry run, runs it, lists its runs; a line per entry or `--json`. Needs a client
//! with the `admin` scope.

use fwrepo_schemas::{ExpireRule, PlannedRecord, RetentionPolicy, RetentionRun};

use super::Context;
use crate::config::Layer;
use crate::error::{Error, Result};
use crate::ops::http::Api;

#[derive(Debug, Clone, clap::Args)]
pub struct RetentionArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Action {
    /// Print the policy, or set it when any option is given (the options replace it whole).
    Policy(PolicyArgs),
    /// What a run would delete and, for each record a rule matched, why it stays.
    Plan(JsonArg),
    /// Run the policy now and print the run's outcome.
    Run(JsonArg),
    /// The partner's runs, newest first.
    Runs(RunsArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct JsonArg {
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// Keep this many newest records per type, name and branch tag.
    #[arg(long)]
    pub keep_newest: Option<u32>,
    /// Never delete records carrying this tag (repeatable).
    #[arg(long = "protect", value_name = "TAG")]
    pub protect: Vec<String>,
    /// Delete records carrying TAG once DAYS old (repeatable).
    #[arg(long = "expire", value_name = "TAG=DAYS")]
    pub expire: Vec<String>,
    /// Delete records carrying a tag that starts with PREFIX once DAYS old (repeatable).
    #[arg(long = "expire-prefix", value_name = "PREFIX=DAYS")]
    pub expire_prefix: Vec<String>,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunsArgs {
    /// Stop after this many runs.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print a JSON array of runs.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: &RetentionArgs) -> Result<()> {
    let layer = ctx.layers(Layer::default(), &ctx.cwd)?;
    let api = ctx.api(&layer)?;
    match &args.action {
        Action::Policy(policy) => policy_command(&api, policy).await,
        Action::Plan(flags) => plan_command(&api, flags.json).await,
        Action::Run(flags) => {
            let run = api.retention_run().await?;
            print(flags.json, &run, || vec![run_line(&run)]);
            Ok(())
        }
        Action::Runs(runs) => runs_command(&api, runs).await,
    }
}

async fn policy_command(api: &Api, args: &PolicyArgs) -> Result<()> {
    let setting = args.keep_newest.is_some()
        || !args.protect.is_empty()
        || !args.expire.is_empty()
        || !args.expire_prefix.is_empty();
    let policy = if setting {
        let mut expire = Vec::new();
        for text in &args.expire {
            let (tag, after_days) = parse_rule(text)?;
            expire.push(ExpireRule {
                tag: Some(tag),
                tag_prefix: None,
                after_days,
            });
        }
        for text in &args.expire_prefix {
            let (prefix, after_days) = parse_rule(text)?;
            expire.push(ExpireRule {
                tag: None,
                tag_prefix: Some(prefix),
                after_days,
            });
        }
        let wanted = RetentionPolicy {
            keep_newest: args.keep_newest,
            protected_tags: args.protect.clone(),
            expire,
        };
        api.put_retention_policy(&wanted).await?
    } else {
        api.retention_policy().await?
    };
    print(args.json, &policy, || policy_lines(&policy));
    Ok(())
}

/// `TAG=DAYS` of `--expire` / `--expire-prefix`.
fn parse_rule(text: &str) -> Result<(String, u32)> {
    let (tag, days) = text
        .rsplit_once('=')
        .ok_or_else(|| Error::Config(format!("expire rule {text:?}: expected TAG=DAYS")))?;
    let days = days
        .parse()
        .map_err(|_| Error::Config(format!("expire rule {text:?}: DAYS must be a number")))?;
    Ok((tag.to_string(), days))
}

async fn plan_command(api: &Api, json: bool) -> Result<()> {
    let plan = api.retention_plan().await?;
    print(json, &plan, || {
        let mut lines = Vec::new();
        for deletion in &plan.deletions {
            lines.push(format!(
                "delete  {}  {}  frees {} B  {}: {}",
                record_words(&deletion.record),
                deletion.record.sha256,
                deletion.frees_bytes,
                deletion.reason,
                deletion.detail
            ));
        }
        for kept in &plan.kept {
            lines.push(format!(
                "keep    {}  {}: {}",
                record_words(&kept.record),
                kept.reason,
                kept.detail
            ));
        }
        lines.push(format!(
            "{} to delete, {} kept by a rule, {} bytes freed (lists show at most {} each)",
            plan.deletions_total, plan.kept_total, plan.bytes_freed, plan.limit
        ));
        lines
    });
    Ok(())
}

async fn runs_command(api: &Api, args: &RunsArgs) -> Result<()> {
    let mut runs = Vec::new();
    let size = args.limit.clamp(1, fwrepo_schemas::MAX_PAGE_SIZE);
    for page in 0.. {
        let found = api.retention_runs(page, size).await?;
        let last = found.content.len() < size as usize;
        runs.extend(found.content);
        if last || runs.len() >= args.limit as usize {
            break;
        }
    }
    runs.truncate(args.limit as usize);
    print(args.json, &runs, || runs.iter().map(run_line).collect());
    Ok(())
}

/// `type/versionNumber name version [tags]`
fn record_words(record: &PlannedRecord) -> String {
    format!(
        "{}/{} {} {} [{}]",
        record.fw_type,
        record.version_number,
        record.name,
        record.version,
        record.tags.join(",")
    )
}

/// `run N trigger: deleted D, kept K (I in use), B bytes freed[, errors]`
fn run_line(run: &RetentionRun) -> String {
    let errors = if run.errors.is_empty() {
        String::new()
    } else {
        format!("; errors: {}", run.errors.join("; "))
    };
    format!(
        "run {} {} started {}: deleted {}, kept {} ({} in use), {} bytes freed{errors}",
        run.run_id,
        run.trigger,
        run.started_timestamp,
        run.deleted,
        run.kept,
        run.kept_in_use,
        run.bytes_freed
    )
}

fn policy_lines(policy: &RetentionPolicy) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(n) = policy.keep_newest {
        lines.push(format!("keep newest {n} per type, name and branch"));
    }
    for tag in &policy.protected_tags {
        lines.push(format!("protect {tag}"));
    }
    for rule in &policy.expire {
        let pattern = match (&rule.tag, &rule.tag_prefix) {
            (Some(tag), _) => tag.clone(),
            (None, Some(prefix)) => format!("{prefix}*"),
            (None, None) => "?".into(),
        };
        lines.push(format!("expire {pattern} after {} days", rule.after_days));
    }
    lines
}

fn print<T: serde::Serialize>(json: bool, value: &T, lines: impl FnOnce() -> Vec<String>) {
    if json {
        let text = serde_json::to_string_pretty(value).expect("answers serialize");
        outln!("{text}");
    } else {
        for line in lines() {
            outln!("{line}");
        }
    }
}
