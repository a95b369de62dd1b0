//! Signatures and provenance of a repository binary: attach (write scope) and fetch; the
//! partner's trusted keys and signing policy (admin scope).

use fwrepo_schemas::{
    Provenance, ProvenanceCreate, Signature, SigningPolicy, TrustedKey, TrustedKeyCreate,
};
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

/// The partner's trusted keys and signing policy (scope `admin`).
impl Api {
    pub async fn add_trusted_key(&self, body: &TrustedKeyCreate) -> Result<TrustedKey> {
        let url = self.partner_url("admin/trustedKeys");
        let response = self
            .authed("trust a key", || Ok(self.http.post(&url).json(body)))
            .await?;
        Self::json_ok(response, "trust a key").await
    }

    pub async fn trusted_keys(&self) -> Result<Vec<TrustedKey>> {
        let url = self.partner_url("admin/trustedKeys");
        let response = self
            .authed("list trusted keys", || Ok(self.http.get(&url)))
            .await?;
        Self::json_ok(response, "list trusted keys").await
    }

    pub async fn remove_trusted_key(&self, key_id: &str) -> Result<()> {
        let url = self.partner_url(&format!("admin/trustedKeys/{key_id}"));
        let response = self
            .authed("remove a trusted key", || Ok(self.http.delete(&url)))
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(super::error_from(response, "remove a trusted key").await)
        }
    }

    pub async fn signing_policy(&self) -> Result<SigningPolicy> {
        let url = self.partner_url("admin/signingPolicy");
        let response = self
            .authed("read the signing policy", || Ok(self.http.get(&url)))
            .await?;
        Self::json_ok(response, "read the signing policy").await
    }

    pub async fn set_signing_policy(&self, body: &SigningPolicy) -> Result<SigningPolicy> {
        let url = self.partner_url("admin/signingPolicy");
        let response = self
            .authed("set the signing policy", || {
                Ok(self.http.put(&url).json(body))
            })
            .await?;
        Self::json_ok(response, "set the signing policy").await
    }
}
