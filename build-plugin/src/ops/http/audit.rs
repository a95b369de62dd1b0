//! The partner's audit log (scope `admin`): one page at a time, newest first.

use fwrepo_schemas::AuditPage;

use super::Api;
use crate::error::Result;

/// What `GET .../audit` narrows by; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub operation: Option<String>,
    pub record: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl Api {
    /// One page of entries after `cursor` (a previous page's `nextCursor`).
    pub async fn audit_page(
        &self,
        query: &AuditQuery,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<AuditPage> {
        let url = self.partner_url("audit");
        let mut params = vec![("limit", limit.to_string())];
        for (key, value) in [
            ("actor", &query.actor),
            ("operation", &query.operation),
            ("record", &query.record),
            ("outcome", &query.outcome),
            ("since", &query.since),
            ("until", &query.until),
        ] {
            if let Some(v) = value {
                params.push((key, v.clone()));
            }
        }
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor.to_string()));
        }
        let response = self
            .authed("read the audit log", || {
                Ok(self.http.get(&url).query(&params))
            })
            .await?;
        Self::json_ok(response, "read the audit log").await
    }
}
