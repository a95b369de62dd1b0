//! The partner's retention policy, dry run and runs (scope `admin`).

use fwrepo_schemas::{Page, RetentionPlan, RetentionPolicy, RetentionRun};

use super::Api;
use crate::error::Result;

impl Api {
    pub async fn retention_policy(&self) -> Result<RetentionPolicy> {
        let url = self.partner_url("retention/policy");
        let what = "read the retention policy";
        let response = self.authed(what, || Ok(self.http.get(&url))).await?;
        Self::json_ok(response, what).await
    }

    pub async fn put_retention_policy(&self, policy: &RetentionPolicy) -> Result<RetentionPolicy> {
        let url = self.partner_url("retention/policy");
        let what = "set the retention policy";
        let response = self
            .authed(what, || Ok(self.http.put(&url).json(policy)))
            .await?;
        Self::json_ok(response, what).await
    }

    pub async fn retention_plan(&self) -> Result<RetentionPlan> {
        let url = self.partner_url("retention/plan");
        let what = "plan retention";
        let response = self.authed(what, || Ok(self.http.post(&url))).await?;
        Self::json_ok(response, what).await
    }

    pub async fn retention_run(&self) -> Result<RetentionRun> {
        let url = self.partner_url("retention/runs");
        let what = "run retention";
        let response = self.authed(what, || Ok(self.http.post(&url))).await?;
        Self::json_ok(response, what).await
    }

    pub async fn retention_runs(&self, page: u32, size: u32) -> Result<Page<RetentionRun>> {
        let url = self.partner_url("retention/runs");
        let what = "list retention runs";
        let params = [("page", page.to_string()), ("size", size.to_string())];
        let response = self
            .authed(what, || Ok(self.http.get(&url).query(&params)))
            .await?;
        Self::json_ok(response, what).await
    }
}
