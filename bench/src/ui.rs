//! Web UI benchmark: the server time of one UI page (signed in with a session cookie) next to
//! the same query through the JSON API, interleaved on two keep-alive connections; and the
//! page's weight with the assets it references.

use std::time::Instant;

use anyhow::{bail, Context};

use crate::client::{Api, Samples};

/// A person's session, signed in through the login form.
pub struct Session {
    http: reqwest::Client,
    url: String,
    cookie: String,
}

/// `(name, value)` of every `<input type="hidden">` in a page (the login form's CSRF token).
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>')?];
            if !tag.contains("type=\"hidden\"") {
                return None;
            }
            Some((attribute(tag, "name")?, attribute(tag, "value")?))
        })
        .collect()
}

/// The value of `name="..."` in one tag's text (templates write attributes double-quoted).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].replace("&amp;", "&"))
}

impl Session {
    pub async fn sign_in(url: &str, username: &str, password: &str) -> anyhow::Result<Session> {
        // Redirects are not followed: the session cookie comes with the login's 303.
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let form_page = http.get(format!("{url}/ui/login")).send().await?;
        let pre_cookie = set_cookies(&form_page);
        let mut form = hidden_inputs(&form_page.text().await?);
        form.push(("username".into(), username.into()));
        form.push(("password".into(), password.into()));
        let answer = http
            .post(format!("{url}/ui/login"))
            .header("cookie", pre_cookie)
            .form(&form)
            .send()
            .await?;
        let cookie = set_cookies(&answer);
        if !cookie.contains("fwrepo_session=") {
            bail!(
                "sign-in as {username} answered {} without a session cookie",
                answer.status()
            );
        }
        Ok(Session {
            http,
            url: url.to_string(),
            cookie,
        })
    }

    /// GET a path of the server with the session; answers the status and the body.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await?.to_vec()))
    }
}

/// The `name=value` pairs of a response's Set-Cookie headers, as a Cookie header.
fn set_cookies(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

pub struct Timings {
    pub page: Samples,
    pub json: Samples,
    pub page_bytes: usize,
    pub json_bytes: usize,
    pub page_rows: usize,
    pub json_rows: usize,
}

/// `requests` rounds of (page, JSON) — the order alternating each round so neither always
/// runs on a warmer cache — after `warmup` uncounted rounds. Time is to the last byte.
pub async fn interleaved(
    session: &Session,
    api: &Api,
    page_path: &str,
    json_query: &str,
    requests: usize,
    warmup: usize,
) -> anyhow::Result<Timings> {
    let mut t = Timings {
        page: Samples::default(),
        json: Samples::default(),
        page_bytes: 0,
        json_bytes: 0,
        page_rows: 0,
        json_rows: 0,
    };
    for round in 0..requests + warmup {
        for which in [round % 2, 1 - round % 2] {
            let started = Instant::now();
            if which == 0 {
                let (status, body) = session.get(page_path).await?;
                let elapsed = started.elapsed();
                if status != 200 {
                    bail!("{page_path}: HTTP {status}");
                }
                if round >= warmup {
                    t.page.push(elapsed);
                }
                t.page_bytes = body.len();
                t.page_rows = String::from_utf8_lossy(&body).matches("<tr").count();
            } else {
                let response = api.get(json_query).send().await?;
                let status = response.status().as_u16();
                let body = response.bytes().await?;
                let elapsed = started.elapsed();
                if status != 200 {
                    bail!("{json_query}: HTTP {status}");
                }
                if round >= warmup {
                    t.json.push(elapsed);
                }
                t.json_bytes = body.len();
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                t.json_rows = v["content"].as_array().map_or(0, Vec::len);
            }
        }
    }
    Ok(t)
}

/// Same-origin assets a page references (`href="/…"` of stylesheets and icons, `src="/…"`).
fn asset_paths(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        let path = if tag.starts_with("script") || tag.starts_with("img") {
            attribute(tag, "src")
        } else if tag.starts_with("link") {
            attribute(tag, "href")
        } else {
            None
        };
        if let Some(p) = path.filter(|p| p.starts_with('/') && !p.starts_with("//")) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The page and every asset it references: `(path, bytes)` each, the page first.
pub async fn weight(session: &Session, page_path: &str) -> anyhow::Result<Vec<(String, usize)>> {
    let (status, page) = session.get(page_path).await?;
    if status != 200 {
        bail!("{page_path}: HTTP {status}");
    }
    let html = String::from_utf8(page.clone()).context("the page is not UTF-8")?;
    let mut out = vec![(page_path.to_string(), page.len())];
    for asset in asset_paths(&html) {
        let (status, body) = session.get(&asset).await?;
        if status != 200 {
            bail!("asset {asset}: HTTP {status}");
        }
        out.push((asset, body.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hidden_inputs_and_assets() {
        let html = r#"<form><input type="hidden" name="csrf" value="a&amp;b"><input name="username"></form>
<link rel="stylesheet" href="/ui/static/app.css"><script src="/ui/static/htmx.min.js" defer></script>
<a href="/ui/pool">x</a><img src="https://elsewhere/x.png">"#;
        assert_eq!(hidden_inputs(html), vec![("csrf".into(), "a&b".into())]);
        assert_eq!(
            asset_paths(html),
            vec!["/ui/static/app.css", "/ui/static/htmx.min.js"]
        );
    }
}
