//! A minimal HTTP client of the fwrepo API for load generation, plus the small statistics
//! and random helpers every benchmark shares.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// Credentials of one OAuth client, as `fwrepo-server client create --json` prints them.
#[derive(Clone, Debug)]
pub struct Creds {
    pub client_id: String,
    pub client_secret: String,
    pub partner: String,
}

impl Creds {
    pub fn from_json(text: &str) -> anyhow::Result<Creds> {
        let v: Value = serde_json::from_str(text).context("client credentials are not JSON")?;
        let field = |name: &str| {
            v[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("no {name} in credentials"))
        };
        Ok(Creds {
            client_id: field("client_id")?,
            client_secret: field("client_secret")?,
            partner: field("partner_id")?,
        })
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("reqwest client")
}

/// One partner's API with a token.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

/// What a step answered when it was not the expected status.
#[derive(Debug)]
pub struct Failure {
    pub step: &'static str,
    pub status: Option<u16>,
    pub body: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "{}: HTTP {s}: {}", self.step, self.body),
            None => write!(f, "{}: {}", self.step, self.body),
        }
    }
}

pub type StepResult<T> = Result<T, Failure>;

async fn expect_json(
    step: &'static str,
    sent: reqwest::Result<reqwest::Response>,
    status: u16,
) -> StepResult<Value> {
    let response = sent.map_err(|e| Failure {
        step,
        status: None,
        body: e.to_string(),
    })?;
    let got = response.status().as_u16();
    let text = response.text().await.map_err(|e| Failure {
        step,
        status: Some(got),
        body: e.to_string(),
    })?;
    if got != status {
        return Err(Failure {
            step,
            status: Some(got),
            body: text,
        });
    }
    serde_json::from_str(&text).map_err(|e| Failure {
        step,
        status: Some(got),
        body: format!("not JSON ({e}): {text}"),
    })
}

pub async fn token(http: &reqwest::Client, url: &str, creds: &Creds) -> StepResult<String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", creds.client_id.as_str()),
        ("client_secret", creds.client_secret.as_str()),
    ];
    let body = expect_json(
        "token",
        http.post(format!("{url}/oauth/token"))
            .form(&form)
            .send()
            .await,
        200,
    )
    .await?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or(Failure {
            step: "token",
            status: Some(200),
            body: body.to_string(),
        })
}

impl Api {
    pub async fn connect(url: &str, creds: &Creds) -> anyhow::Result<Api> {
        let http = http();
        let token = token(&http, url, creds)
            .await
            .map_err(|f| anyhow::anyhow!("{f}"))?;
        Ok(Api {
            base: format!("{url}/v1/ota/partners/{}", creds.partner),
            token,
            http,
        })
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Creates a firmware type; an existing one is fine.
    pub async fn ensure_type(&self, fw_type: u16) -> anyhow::Result<()> {
        let response = self
            .post("/types")
            .json(&json!({"name": format!("type-{fw_type}"), "type": fw_type}))
            .send()
            .await?;
        match response.status().as_u16() {
            201 | 409 => Ok(()),
            other => bail!(
                "POST types {fw_type}: HTTP {other}: {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }

    pub async fn upload(&self, bytes: Vec<u8>) -> StepResult<String> {
        let sent = self
            .post("/binaries")
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await;
        let body = expect_json("upload", sent, 200).await?;
        Ok(body["value"].as_str().unwrap_or_default().to_string())
    }

    pub async fn move_to_repository(&self, sha256: &str) -> StepResult<String> {
        let sent = self
            .post("/binaries/moveToRepository")
            .json(&json!({"value": sha256}))
            .send()
            .await;
        let body = expect_json("moveToRepository", sent, 200).await?;
        Ok(body["value"].as_str().unwrap_or_default().to_string())
    }

    pub async fn create_record(&self, record: &Value) -> StepResult<Value> {
        expect_json("pool", self.post("/pool").json(record).send().await, 201).await
    }

    /// Upload, move, record: one build's publish. Answers the record.
    pub async fn publish(
        &self,
        fw_type: u16,
        name: &str,
        version: &str,
        tags: &[String],
        bytes: Vec<u8>,
    ) -> StepResult<Value> {
        let sha = self.upload(bytes).await?;
        let url = self.move_to_repository(&sha).await?;
        self.create_record(
            &json!({"name": name, "type": fw_type, "version": version, "url": url, "tags": tags}),
        )
        .await
    }

    /// GET answering JSON with status 200.
    pub async fn get_json(&self, path: &str) -> StepResult<Value> {
        expect_json("get", self.get(path).send().await, 200).await
    }
}

/// Latency samples in microseconds.
#[derive(Default, Clone)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1e6);
    }

    /// The q-quantile (nearest rank), in microseconds.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut v = self.0.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }

    pub fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len().max(1) as f64
    }
}

/// SplitMix64: a small deterministic generator, so every run loads the same rows.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn fill(&mut self, buffer: &mut [u8]) {
        for chunk in buffer.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// A pool record's version number (the API writes it as a decimal string).
pub fn version_number(record: &Value) -> Option<u64> {
    record["versionNumber"].as_str()?.parse().ok()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Streaming SHA-256 of a file.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
