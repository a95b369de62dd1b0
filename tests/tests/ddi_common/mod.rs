//! Helpers of the DDI tests: a hawkBit DDI client (what a device sends) beside the Span
//! client that sets targets and reads actions.

#![allow(dead_code)]

use fwrepo_e2e::{http, validate};
use serde_json::{json, Value};

/// A controller speaking DDI to one tenant with one `Authorization` value.
pub struct Ddi {
    pub url: String,
    pub tenant: String,
    pub authorization: Option<String>,
    pub http: reqwest::Client,
}

impl Ddi {
    pub fn target(url: &str, tenant: &str, token: &str) -> Ddi {
        Ddi::with(url, tenant, Some(format!("TargetToken {token}")))
    }
    pub fn gateway(url: &str, tenant: &str, token: &str) -> Ddi {
        Ddi::with(url, tenant, Some(format!("GatewayToken {token}")))
    }
    pub fn with(url: &str, tenant: &str, authorization: Option<String>) -> Ddi {
        Ddi {
            url: url.to_string(),
            tenant: tenant.to_string(),
            authorization,
            http: http(),
        }
    }

    pub fn base(&self, controller: &str) -> String {
        format!("{}/{}/controller/v1/{controller}", self.url, self.tenant)
    }

    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        }
    }

    /// The base poll: asserts 200 and the schema.
    pub async fn poll(&self, controller: &str) -> Value {
        self.get_json(&self.base(controller), "DdiControllerBase")
            .await
    }

    pub async fn poll_status(&self, controller: &str) -> u16 {
        self.request(reqwest::Method::GET, &self.base(controller))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn get_json(&self, url: &str, schema: &str) -> Value {
        let response = self
            .request(reqwest::Method::GET, url)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "GET {url}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        validate(schema, &body);
        body
    }

    /// Posts feedback to `url`; answers the status.
    pub async fn feedback(&self, url: &str, body: &Value) -> u16 {
        self.request(reqwest::Method::POST, url)
            .json(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn download(&self, url: &str, range: Option<&str>) -> (u16, Vec<u8>) {
        let mut request = self.request(reqwest::Method::GET, url);
        if let Some(range) = range {
            request = request.header("range", range);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }
}

/// A feedback body as hawkBit documents it.
pub fn status(execution: &str, finished: &str, details: &[&str]) -> Value {
    json!({
        "status": {
            "execution": execution,
            "result": {"finished": finished},
            "details": details,
        }
    })
}

/// The `href` of a `_links` member, if present.
pub fn link<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body["_links"][name]["href"].as_str()
}

/// The action id at the end of a deploymentBase/cancelAction link.
pub fn action_id(href: &str) -> String {
    href.rsplit('/').next().unwrap().to_string()
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(bytes))
}

pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}
