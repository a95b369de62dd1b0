//! Retention policies and their one rule: what becomes of a pool record given its tags, its
//! age and its rank among its group's newest. No I/O; usage is the caller's concern.

use serde::{Deserialize, Serialize};

use super::{validate_tag, DomainError};

/// Tag a build's branch is stamped under (`branch:<name>`, see the CLI's stamp).
pub const BRANCH_TAG_PREFIX: &str = "branch:";
/// Highest `keepNewest`.
pub const MAX_KEEP_NEWEST: u32 = 100_000;
/// Most protected tags and most expiry rules a policy has (each).
pub const MAX_POLICY_ENTRIES: usize = 64;
/// Highest `afterDays` (100 years).
pub const MAX_AFTER_DAYS: u32 = 36_500;
const DAY_MS: u64 = 86_400_000;

/// A partner's retention policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Keep this many newest records per (type, name, branch); older ones go.
    pub keep_newest: Option<u32>,
    /// Records carrying one of these tags are never deleted by retention.
    pub protected_tags: Vec<String>,
    /// Records carrying a matching tag go once older than the rule's days.
    pub expire: Vec<ExpireRule>,
}

/// Which tags an expiry rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TagPattern {
    Exact(String),
    Prefix(String),
}

impl TagPattern {
    fn matches(&self, tag: &str) -> bool {
        match self {
            TagPattern::Exact(exact) => tag == exact,
            TagPattern::Prefix(prefix) => tag.starts_with(prefix.as_str()),
        }
    }

    /// The pattern as a person writes it: `dirty`, or `pr:*` for a prefix.
    pub fn describe(&self) -> String {
        match self {
            TagPattern::Exact(exact) => exact.clone(),
            TagPattern::Prefix(prefix) => format!("{prefix}*"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireRule {
    pub pattern: TagPattern,
    pub after_days: u32,
}

impl RetentionPolicy {
    /// Checks the limits; a policy without any rule is refused (it would do nothing).
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.keep_newest.is_none() && self.expire.is_empty() {
            return Err(DomainError::field(
                "policy",
                "give keepNewest or at least one expire rule",
            ));
        }
        if let Some(n) = self.keep_newest {
            if n == 0 || n > MAX_KEEP_NEWEST {
                return Err(DomainError::field(
                    "keepNewest",
                    format!("must be 1-{MAX_KEEP_NEWEST}"),
                ));
            }
        }
        if self.protected_tags.len() > MAX_POLICY_ENTRIES || self.expire.len() > MAX_POLICY_ENTRIES
        {
            return Err(DomainError::field(
                "policy",
                format!("at most {MAX_POLICY_ENTRIES} protected tags and {MAX_POLICY_ENTRIES} expire rules"),
            ));
        }
        for tag in &self.protected_tags {
            validate_tag(tag)?;
        }
        for rule in &self.expire {
            match &rule.pattern {
                TagPattern::Exact(tag) | TagPattern::Prefix(tag) => validate_tag(tag)?,
            }
            if rule.after_days > MAX_AFTER_DAYS {
                return Err(DomainError::field(
                    "expire.afterDays",
                    format!("must be 0-{MAX_AFTER_DAYS}"),
                ));
            }
        }
        Ok(())
    }
}

/// What started a retention run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    Scheduled,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual => "manual",
        }
    }
}

/// The recorded outcome of one retention run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRunRecord {
    pub id: u64,
    pub trigger: Trigger,
    pub started_ms: u64,
    pub finished_ms: u64,
    /// Records deleted.
    pub deleted: u64,
    /// Records a rule matched that stay (protected, among the newest, not yet due, in use).
    pub kept: u64,
    /// Of `kept`: records the rules would delete but something uses.
    pub kept_in_use: u64,
    /// Bytes of the blobs the deletions left without any hold (the sweeper removes them).
    pub bytes_freed: u64,
    /// What went wrong (the run stops at the first error).
    pub errors: Vec<String>,
}

/// The branch a record belongs to: its `branch:` tag (the smallest, should it have several).
pub fn branch_of(tags: &[String]) -> Option<&str> {
    tags.iter()
        .filter_map(|tag| tag.strip_prefix(BRANCH_TAG_PREFIX))
        .min()
}

/// Why a record goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteReason {
    /// It carries a tag an expiry rule matches and is older than the rule's days.
    Expired {
        tag: String,
        rule: String,
        after_days: u32,
    },
    /// Older than the newest `keep` of its (type, name, branch); `rank` 0 is the newest.
    BeyondNewest { keep: u32, rank: u64 },
}

impl DeleteReason {
    /// The reason's stable name and a sentence for people.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            DeleteReason::Expired {
                tag,
                rule,
                after_days,
            } => (
                "expired",
                format!("tag {tag} matches expire rule {rule}: older than {after_days} days"),
            ),
            DeleteReason::BeyondNewest { keep, rank } => (
                "beyond-newest",
                format!(
                    "number {} of its branch, newest first; keepNewest {keep}",
                    rank + 1
                ),
            ),
        }
    }
}

impl KeepReason {
    /// The reason's stable name and a sentence for people.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            KeepReason::Protected { tag } => ("protected", format!("protected tag {tag}")),
            KeepReason::AmongNewest { keep, rank } => (
                "among-newest",
                format!(
                    "number {} of its branch, newest first; keepNewest {keep}",
                    rank + 1
                ),
            ),
            KeepReason::NotYetExpired { tag, due_ms } => (
                "not-yet-expired",
                format!("tag {tag} expires at {due_ms} (ms since the epoch)"),
            ),
        }
    }
}

/// Why a record a rule matched stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepReason {
    Protected {
        tag: String,
    },
    AmongNewest {
        keep: u32,
        rank: u64,
    },
    /// An expiry rule matches it but its days have not passed (due at `due_ms`).
    NotYetExpired {
        tag: String,
        due_ms: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No rule matches the record: retention leaves it alone and does not report it.
    Untouched,
    Keep(KeepReason),
    /// Delete it, unless it is in use (checked by the caller, at delete time again).
    Delete(DeleteReason),
}

/// The facts of a record the rule reads.
pub struct RecordFacts<'a> {
    pub tags: &'a [String],
    pub created_ms: u64,
    /// Rank among its (type, name, branch) group, newest (highest id) first; `None` without
    /// a branch tag, which keep-newest then does not touch.
    pub rank: Option<u64>,
}

/// The rule, in this order: a protected tag keeps; a due expiry deletes; a rank at or past
/// `keepNewest` deletes; a rank below it keeps; an expiry not yet due keeps.
pub fn evaluate(policy: &RetentionPolicy, record: &RecordFacts, now_ms: u64) -> Verdict {
    let expiry = first_expiry(policy, record.tags, record.created_ms);
    let newest = match (policy.keep_newest, record.rank) {
        (Some(keep), Some(rank)) => Some((keep, rank)),
        _ => None,
    };
    if expiry.is_none() && newest.is_none() {
        return Verdict::Untouched;
    }
    if let Some(tag) = record
        .tags
        .iter()
        .find(|tag| policy.protected_tags.contains(tag))
    {
        return Verdict::Keep(KeepReason::Protected { tag: tag.clone() });
    }
    if let Some((rule, tag, due_ms)) = &expiry {
        if *due_ms <= now_ms {
            return Verdict::Delete(DeleteReason::Expired {
                tag: tag.to_string(),
                rule: rule.pattern.describe(),
                after_days: rule.after_days,
            });
        }
    }
    match (newest, expiry) {
        (Some((keep, rank)), _) if rank >= u64::from(keep) => {
            Verdict::Delete(DeleteReason::BeyondNewest { keep, rank })
        }
        (Some((keep, rank)), _) => Verdict::Keep(KeepReason::AmongNewest { keep, rank }),
        (None, Some((_, tag, due_ms))) => Verdict::Keep(KeepReason::NotYetExpired {
            tag: tag.to_string(),
            due_ms,
        }),
        (None, None) => Verdict::Untouched,
    }
}

/// The expiry rule that matches first (policy order, then tag order), with its tag and when
/// the record is due.
fn first_expiry<'p, 't>(
    policy: &'p RetentionPolicy,
    tags: &'t [String],
    created_ms: u64,
) -> Option<(&'p ExpireRule, &'t str, u64)> {
    policy.expire.iter().find_map(|rule| {
        tags.iter()
            .find(|tag| rule.pattern.matches(tag))
            .map(|tag| {
                let due = created_ms.saturating_add(u64::from(rule.after_days) * DAY_MS);
                (rule, tag.as_str(), due)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 100 * DAY_MS;

    fn policy() -> RetentionPolicy {
        RetentionPolicy {
            keep_newest: Some(3),
            protected_tags: vec!["released".into()],
            expire: vec![
                ExpireRule {
                    pattern: TagPattern::Exact("dirty".into()),
                    after_days: 2,
                },
                ExpireRule {
                    pattern: TagPattern::Prefix("pr:".into()),
                    after_days: 7,
                },
            ],
        }
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    fn verdict(list: &[&str], age_days: u64, rank: Option<u64>) -> Verdict {
        let tags = tags(list);
        let facts = RecordFacts {
            tags: &tags,
            created_ms: NOW - age_days * DAY_MS,
            rank,
        };
        evaluate(&policy(), &facts, NOW)
    }

    #[test]
    fn newest_n_per_branch_stay_and_older_ones_go() {
        assert_eq!(
            verdict(&["branch:main"], 50, Some(2)),
            Verdict::Keep(KeepReason::AmongNewest { keep: 3, rank: 2 })
        );
        assert_eq!(
            verdict(&["branch:main"], 50, Some(3)),
            Verdict::Delete(DeleteReason::BeyondNewest { keep: 3, rank: 3 })
        );
    }

    #[test]
    fn protected_tags_win_over_every_rule() {
        assert_eq!(
            verdict(&["branch:main", "released", "dirty"], 50, Some(9)),
            Verdict::Keep(KeepReason::Protected {
                tag: "released".into()
            })
        );
    }

    #[test]
    fn expiry_deletes_once_due_even_among_the_newest() {
        assert_eq!(
            verdict(&["branch:x", "pr:12"], 7, Some(0)),
            Verdict::Delete(DeleteReason::Expired {
                tag: "pr:12".into(),
                rule: "pr:*".into(),
                after_days: 7
            })
        );
        assert_eq!(
            verdict(&["branch:x", "pr:12"], 6, Some(0)),
            Verdict::Keep(KeepReason::AmongNewest { keep: 3, rank: 0 })
        );
        assert_eq!(
            verdict(&["dirty"], 1, None),
            Verdict::Keep(KeepReason::NotYetExpired {
                tag: "dirty".into(),
                due_ms: NOW + DAY_MS
            })
        );
        assert!(matches!(
            verdict(&["dirty"], 2, None),
            Verdict::Delete(DeleteReason::Expired { .. })
        ));
    }

    #[test]
    fn records_without_a_branch_or_a_matching_tag_are_untouched() {
        assert_eq!(verdict(&["git:abc"], 50, None), Verdict::Untouched);
        assert_eq!(verdict(&["released"], 50, None), Verdict::Untouched);
        assert_eq!(verdict(&["prx"], 50, None), Verdict::Untouched);
    }

    #[test]
    fn the_branch_is_the_smallest_branch_tag() {
        let list = tags(&["x", "branch:zeta", "branch:alpha"]);
        assert_eq!(branch_of(&list), Some("alpha"));
        assert_eq!(branch_of(&tags(&["branches"])), None);
    }

    #[test]
    fn policies_are_checked() {
        let mut bad = policy();
        bad.keep_newest = Some(0);
        assert!(bad.validate().is_err());
        let empty = RetentionPolicy {
            keep_newest: None,
            protected_tags: vec![],
            expire: vec![],
        };
        assert!(empty.validate().is_err());
        let mut bad = policy();
        bad.expire[0].after_days = MAX_AFTER_DAYS + 1;
        assert!(bad.validate().is_err());
        assert!(policy().validate().is_ok());
    }
}
