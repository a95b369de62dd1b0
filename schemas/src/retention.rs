//! Retention: a partner's policy, the dry run's plan, and the record of each run.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::RecordUse;

/// A partner's retention policy (`PUT .../retention/policy`); at least `keepNewest` or one
/// `expire` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Keep this many newest records (by creation) per (type, name, `branch:` tag), 1-100000;
    /// older ones are deleted. Records without a `branch:` tag are not counted or touched
    /// by this rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_newest: Option<u32>,
    /// Records carrying one of these tags are never deleted by retention (at most 64).
    #[serde(default)]
    pub protected_tags: Vec<String>,
    /// Records carrying a matching tag are deleted once older than `afterDays` (at most 64).
    #[serde(default)]
    pub expire: Vec<ExpireRule>,
}

/// An expiry rule: exactly one of `tag` (exact) and `tagPrefix`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpireRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix: Option<String>,
    /// 0-36500 days after the record's creation.
    pub after_days: u32,
}

/// The pool record a plan entry is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub fw_type: i64,
    pub version_number: String,
    pub name: String,
    pub version: String,
    pub tags: Vec<String>,
    pub sha256: String,
    pub length: u64,
    pub created_timestamp: u64,
}

/// A record the run would delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedDeletion {
    pub record: PlannedRecord,
    /// `expired` or `beyond-newest`.
    pub reason: String,
    /// The rule, for a human (`tag dirty older than 7 days`, `rank 5 of branch main, keep 3`).
    pub detail: String,
    /// Bytes freed by deleting it: its blob's size when it is the last record of the plan
    /// holding the blob and nothing else holds it, else 0.
    pub frees_bytes: u64,
}

/// A record a rule matched that stays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedKeep {
    pub record: PlannedRecord,
    /// `protected`, `among-newest`, `not-yet-expired` or `in-use`.
    pub reason: String,
    pub detail: String,
    /// For `in-use`: what uses it (at most 100) and how many uses there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<RecordUse>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by_total: Option<u64>,
}

/// A dry run (`POST .../retention/plan`): nothing is deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPlan {
    /// When the plan was computed (ms since the epoch).
    pub generated_timestamp: u64,
    /// Most entries each list holds (the totals count them all).
    pub limit: u64,
    pub deletions_total: u64,
    pub kept_total: u64,
    /// Sum of `freesBytes` over every deletion (listed or not).
    pub bytes_freed: u64,
    pub deletions: Vec<PlannedDeletion>,
    pub kept: Vec<PlannedKeep>,
}

/// The outcome of one retention run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionRun {
    pub run_id: u64,
    /// `scheduled` or `manual`.
    pub trigger: String,
    pub started_timestamp: u64,
    /// 0 while the run is going on.
    pub finished_timestamp: u64,
    pub deleted: u64,
    /// Records a rule matched that stay, `keptInUse` of them because something uses them.
    pub kept: u64,
    pub kept_in_use: u64,
    /// Bytes of the blobs left without any hold; the sweeper removes them after the grace.
    pub bytes_freed: u64,
    pub errors: Vec<String>,
}
