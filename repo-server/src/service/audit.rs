//! The audit log seen from the service: a partner's page of entries, and the entry of a
//! request that no commit carried (written once the request is answered).

use super::{Service, ServiceResult};
use crate::domain::audit::AuditFilter;
use crate::meta::audit::{AuditPage, AuditScope};

impl Service {
    /// Up to `limit` of the partner's entries that `filter` keeps, newest first, before
    /// `cursor` (a previous page's last entry).
    pub async fn audit_page(
        &self,
        partner: &str,
        filter: AuditFilter,
        cursor: Option<(u64, u64)>,
        limit: usize,
    ) -> ServiceResult<AuditPage> {
        let owner = partner.to_string();
        self.meta_call(move |m| m.audit_page(&owner, &filter, cursor, limit))
            .await
    }

    /// Records how an attributed request ended when none of its commits carried its entry
    /// (a refused or failed request, or one that changed nothing stored). A failure to write
    /// is logged: the answer has already been decided.
    pub async fn record_answered(&self, scope: &AuditScope, status: u16) {
        let Some(entry) = scope.entry_when_answered(status) else {
            return;
        };
        let written = self.meta_write(move |m| m.append_audit(&entry)).await;
        if let Err(error) = written {
            tracing::error!(%error, "could not write an audit entry");
        }
    }
}
