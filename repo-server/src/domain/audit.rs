//! The audit log's model: one entry per state-changing request or server-made change (who,
//! what, when, from where, outcome), and the filter a listing applies. No I/O.

use serde::{Deserialize, Serialize};

/// Who made a change: `client:<id>`, `user:<name>`, `device:<controllerId>`,
/// `gateway:<tokenId>` or `server:<task>`. Never a secret.
pub type ActorId = String;

/// What became of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// The change was committed (this entry was written in the same batch as the change).
    Applied,
    /// Refused with a client error (4xx): nothing changed.
    Refused,
    /// Failed with a server error (5xx): nothing changed.
    Failed,
}

impl AuditOutcome {
    /// The outcome of a request that changed nothing, from its status.
    /// `applied`, `refused` or `failed`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "applied" => Some(AuditOutcome::Applied),
            "refused" => Some(AuditOutcome::Refused),
            "failed" => Some(AuditOutcome::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Applied => "applied",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Failed => "failed",
        }
    }

    pub fn of_unapplied(status: u16) -> Self {
        match status {
            500.. => AuditOutcome::Failed,
            400.. => AuditOutcome::Refused,
            _ => AuditOutcome::Applied,
        }
    }
}

/// One entry as stored; its key is (partner, `at_ms`, `seq`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub partner: String,
    pub at_ms: u64,
    /// Orders entries of one millisecond; unique for the life of the data directory.
    pub seq: u64,
    pub actor: ActorId,
    /// `METHOD /route/{template}` (a server task names its own operation).
    pub operation: String,
    /// The concrete path the operation acted on (never the query string): the record ids.
    pub target: String,
    /// The peer address, absent for the server's own changes.
    pub remote: Option<String>,
    pub request_id: Option<String>,
    /// The record the request created, named like its path (`pool/types/3/versionNumbers/17`).
    pub created: Option<String>,
    pub outcome: AuditOutcome,
    /// The answer's status when it is known (always for refused and failed requests).
    pub status: Option<u16>,
}

impl AuditEntry {
    /// The entry's id in listings and cursors: `<at_ms>-<seq>`, ordered like the log.
    pub fn id(&self) -> String {
        entry_id((self.at_ms, self.seq))
    }
}

/// The id of the entry at (at_ms, seq): also a listing's cursor.
pub fn entry_id((at_ms, seq): (u64, u64)) -> String {
    format!("{at_ms}-{seq}")
}

/// Parses an entry id (a listing's cursor) back into (at_ms, seq).
pub fn parse_entry_id(id: &str) -> Option<(u64, u64)> {
    let (at, seq) = id.split_once('-')?;
    Some((at.parse().ok()?, seq.parse().ok()?))
}

/// A filter's time: milliseconds since the epoch, or RFC 3339 (`2026-11-30T08:00:00Z`).
pub fn parse_time(text: &str) -> Option<u64> {
    if let Ok(ms) = text.parse::<u64>() {
        return Some(ms);
    }
    let at = humantime::parse_rfc3339_weak(text).ok()?;
    at.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

/// Largest page of entries one listing answers.
pub const MAX_AUDIT_PAGE: usize = 1000;
/// Entries a listing examines at most before answering (with a cursor to continue): a
/// filter that matches rarely never turns one request into a scan of the whole log.
pub const MAX_AUDIT_SCAN: usize = 20_000;

/// What a listing keeps; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// Matches the operation exactly, or its method alone (`DELETE`).
    pub operation: Option<String>,
    /// A substring of the target path or of the created record's name, e.g.
    /// `pool/types/3/versionNumbers/17`.
    pub record: Option<String>,
    pub outcome: Option<AuditOutcome>,
    /// Inclusive bounds, milliseconds since the epoch.
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
}

impl AuditFilter {
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == entry.actor)
            && self.operation.as_ref().is_none_or(|op| {
                *op == entry.operation || entry.operation.split(' ').next() == Some(op.as_str())
            })
            && self.record.as_ref().is_none_or(|r| {
                entry.target.contains(r.as_str())
                    || entry
                        .created
                        .as_ref()
                        .is_some_and(|c| c.contains(r.as_str()))
            })
            && self.outcome.is_none_or(|o| o == entry.outcome)
            && self.since_ms.is_none_or(|t| entry.at_ms >= t)
            && self.until_ms.is_none_or(|t| entry.at_ms <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            partner: "acme".into(),
            at_ms: 1_000,
            seq: 7,
            actor: "client:ci".into(),
            operation: "DELETE /v1/ota/partners/{partnerId}/pool/types/{type}/versionNumbers/{versionNumber}".into(),
            target: "/v1/ota/partners/acme/pool/types/3/versionNumbers/17".into(),
            remote: Some("127.0.0.1:5000".into()),
            request_id: Some("9".into()),
            created: None,
            outcome: AuditOutcome::Applied,
            status: None,
        }
    }

    #[test]
    fn every_filter_field_narrows() {
        let e = entry();
        assert!(AuditFilter::default().matches(&e));
        let by = |f: AuditFilter| f.matches(&e);
        assert!(by(AuditFilter {
            actor: Some("client:ci".into()),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            actor: Some("client:c".into()),
            ..Default::default()
        }));
        assert!(by(AuditFilter {
            operation: Some("DELETE".into()),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            operation: Some("POST".into()),
            ..Default::default()
        }));
        assert!(by(AuditFilter {
            operation: Some(e.operation.clone()),
            ..Default::default()
        }));
        assert!(by(AuditFilter {
            record: Some("/versionNumbers/17".into()),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            record: Some("/versionNumbers/18".into()),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            outcome: Some(AuditOutcome::Refused),
            ..Default::default()
        }));
        assert!(by(AuditFilter {
            since_ms: Some(1_000),
            until_ms: Some(1_000),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            since_ms: Some(1_001),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            until_ms: Some(999),
            ..Default::default()
        }));
    }

    #[test]
    fn ids_round_trip_and_outcomes_follow_status() {
        assert_eq!(parse_entry_id(&entry().id()), Some((1_000, 7)));
        assert_eq!(parse_entry_id("x-1"), None);
        assert_eq!(AuditOutcome::of_unapplied(409), AuditOutcome::Refused);
        assert_eq!(AuditOutcome::of_unapplied(503), AuditOutcome::Failed);
        assert_eq!(AuditOutcome::of_unapplied(204), AuditOutcome::Applied);
        assert_eq!(AuditOutcome::parse("refused"), Some(AuditOutcome::Refused));
        assert_eq!(AuditOutcome::parse("maybe"), None);
        assert_eq!(parse_time("1500"), Some(1500));
        assert_eq!(parse_time("1970-01-01T00:00:02Z"), Some(2000));
        assert_eq!(parse_time("yesterday"), None);
    }
}
