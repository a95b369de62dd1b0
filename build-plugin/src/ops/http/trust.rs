//! Signatures and provenance of a repository binary: attach (write scope) and fetch.

use fwrepo_schemas::{Provenance, ProvenanceCreate, Signature};
use reqwest::header;

use super::Api;
use crate::error::Result;

impl Api {
    fn binary_path(&self, sha256: &str, rest: &str) -> String {
        self.partner_url(&format!("repository/sha256/{sha256}/{rest}"))
    }

    /// Attaches a `.minisig` text to a binary of the partner's repository.
    pub async fn add_signature(&self, sha256: &str, signature: &str) -> Result<Signature> {
        let url = self.binary_path(sha256, "signatures");
        let response = self
            .authed("attach signature", || {
                Ok(self
                    .http
                    .post(&url)
                    .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .body(signature.to_string()))
            })
            .await?;
        Self::json_ok(response, "attach signature").await
    }

    /// The binary's signatures (none is an empty list).
    pub async fn signatures(&self, sha256: &str) -> Result<Vec<Signature>> {
        let url = self.binary_path(sha256, "signatures");
        let response = self
            .authed("list signatures", || Ok(self.http.get(&url)))
            .await?;
        Self::json_ok(response, "list signatures").await
    }

    pub async fn add_provenance(
        &self,
        sha256: &str,
        body: &ProvenanceCreate,
    ) -> Result<Provenance> {
        let url = self.binary_path(sha256, "provenance");
        let response = self
            .authed("attach provenance", || Ok(self.http.post(&url).json(body)))
            .await?;
        Self::json_ok(response, "attach provenance").await
    }

    pub async fn provenance(&self, sha256: &str) -> Result<Provenance> {
        let url = self.binary_path(sha256, "provenance");
        let response = self
            .authed("get provenance", || Ok(self.http.get(&url)))
            .await?;
        Self::json_ok(response, "get provenance").await
    }
}
