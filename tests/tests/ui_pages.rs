//! The web UI end to end: the real server, a reqwest client with a cookie store acting as the
//! browser. Sign-in and its cookie, every page as HTML with the security headers, CSRF, the
//! viewer's missing controls and refused writes, escaping, partner isolation, the streamed
//! upload, the record and Span controls, access management, and sign-out.

use fwrepo_e2e::{blob_files, http, sha256_hex, Ota, TestServer};
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
const PASSWORD: &str = "correct horse battery staple";

/// A browser: a cookie store, redirects not followed (the tests look at them).
struct Browser {
    http: reqwest::Client,
    base: String,
}

struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The session's CSRF token, from the first `_csrf` field of the page.
    fn csrf(&self) -> String {
        let marker = r#"name="_csrf" value=""#;
        let start = self.body.find(marker).expect("page has a _csrf field") + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_string()
    }

    fn assert_html(&self) {
        let content_type = self.headers.get(CONTENT_TYPE).unwrap().to_str().unwrap();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(self.body.starts_with("<!doctype html>"), "{}", self.body);
    }
}

impl Browser {
    fn new(server: &TestServer) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .no_proxy()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: server.url.clone(),
        }
    }

    async fn read(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        Self::read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::read(
            self.http
                .post(format!("{}{path}", self.base))
                .form(fields)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A form POST carrying the session's CSRF token (read from `page`).
    async fn submit(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(page).await.csrf();
        let mut fields = fields.to_vec();
        fields.push(("_csrf", &csrf));
        self.post(path, &fields).await
    }

    async fn login(&self, username: &str, password: &str) -> Page {
        self.post(
            "/ui/login",
            &[
                ("username", username),
                ("password", password),
                ("next", "/ui/"),
            ],
        )
        .await
    }

    async fn signed_in(server: &TestServer, username: &str) -> Browser {
        let browser = Browser::new(server);
        let page = browser.login(username, PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        browser
    }
}

/// Creates a person through the admin API (the server is running, so not the offline CLI).
async fn add_user(admin: &Ota, username: &str, role: &str) {
    let response = admin
        .post("/admin/users")
        .json(&json!({"username": username, "role": role, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

/// A server with partner acme (client 0: every scope) and its admin person `ada`.
async fn start() -> (TestServer, Ota) {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    add_user(&ota, "ada", "admin").await;
    (server, ota)
}

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_a_wrong_password_shows_a_message() {
    let (server, _ota) = start().await;
    let browser = Browser::new(&server);
    let away = browser.get("/ui/").await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.location(), "/ui/login?next=/ui/");
    let form = browser.get("/ui/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form
        .body
        .contains(r#"<label for="password">Password</label>"#));

    let wrong = browser.login("ada", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    wrong.assert_html();
    assert!(wrong.body.contains("Wrong username or password."));
    assert!(wrong.headers.get(SET_COOKIE).is_none());

    let right = browser.login("ada", PASSWORD).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location(), "/ui/");
    let cookie = right.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cookie.starts_with("fwrepo_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag");
    let overview = browser.get("/ui/").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("<h1>Overview</h1>"));
    assert!(overview.body.contains("ada"));
}

#[tokio::test]
async fn throttled_sign_in_is_a_429_page_with_retry_after() {
    let (server, _ota) = start().await;
    let browser = Browser::new(&server);
    let mut throttled = None;
    for _ in 0..50 {
        let page = browser.login("ada", "wrong password!").await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(page);
            break;
        }
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let page = throttled.expect("failed sign-ins are throttled");
    page.assert_html();
    let retry: u64 = page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(page.body.contains("Too many failed sign-in attempts"));
}

/// Records, a collection with a device: something on every page.
async fn populate(ota: &Ota) -> (Value, String) {
    ota.create_type(101).await;
    let record = ota
        .publish(
            101,
            "app",
            "1.0.0",
            &[
                "branch:main",
                "git:0123456789abcdef0123456789abcdef01234567",
            ],
            b"firmware one".to_vec(),
        )
        .await;
    let collection: Value = ota
        .http
        .post(format!(
            "{}/collections",
            ota.base.split("/v1/").next().unwrap()
        ))
        .bearer_auth(&ota.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = collection["collectionId"].as_str().unwrap().to_string();
    (record, id)
}

#[tokio::test]
async fn every_page_is_html_with_the_security_headers() {
    let (server, ota) = start().await;
    let (_record, collection) = populate(&ota).await;
    let browser = Browser::signed_in(&server, "ada").await;
    let pages = [
        "/ui/",
        "/ui/types",
        "/ui/types/101",
        "/ui/pool",
        "/ui/pool?tags=branch:main&sort=name,asc",
        "/ui/pool?commit=0123456",
        "/ui/pool/101/1",
        "/ui/upload",
        "/ui/device-types",
        "/ui/collections",
        &format!("/ui/collections/{collection}"),
        "/ui/access",
        "/ui/audit",
        "/ui/retention",
    ];
    for path in pages {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        page.assert_html();
        assert_eq!(page.headers["content-security-policy"], CSP, "{path}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(page.headers["referrer-policy"], "same-origin", "{path}");
        assert!(!page.body.contains("<script>"), "{path}: no inline script");
        assert!(!page.body.contains(" style="), "{path}: no inline style");
    }
    let search = browser.get("/ui/pool?commit=0123456").await;
    // A plain navigation: a boosted link would swap only the results section.
    assert!(search
        .body
        .contains(r#"href="/ui/pool/101/1" hx-boost="false">app</a>"#));
    // Assets come from the binary, cached for a year, addressed by content hash.
    let overview = browser.get("/ui/").await;
    let start = overview.body.find("/ui/assets/htmx.min.js?v=").unwrap();
    let end = start + overview.body[start..].find('"').unwrap();
    let asset = browser
        .http
        .get(format!("{}{}", server.url, &overview.body[start..end]))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(asset.text().await.unwrap().contains("version:\"2.0.11\""));
}

#[tokio::test]
async fn root_redirects_and_unknown_pages_are_html_404() {
    let (server, _ota) = start().await;
    let browser = Browser::signed_in(&server, "ada").await;
    let root = browser.get("/").await;
    assert!(root.status.is_redirection());
    assert_eq!(root.location(), "/ui/");
    let missing = browser.get("/ui/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    missing.assert_html();
    assert!(missing.body.contains("Page not found"));
    assert_eq!(missing.headers["content-security-policy"], CSP);
    let wrong_method = browser.get("/ui/logout").await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    wrong_method.assert_html();
    let no_type = browser.get("/ui/types/150").await;
    assert_eq!(no_type.status, StatusCode::NOT_FOUND);
    no_type.assert_html();
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let (server, ota) = start().await;
    let browser = Browser::signed_in(&server, "ada").await;
    let fields = [("number", "120"), ("name", "mcu")];
    let missing = browser.post("/ui/types", &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    missing.assert_html();
    assert!(missing.body.contains("CSRF"));
    let wrong = browser
        .post(
            "/ui/types",
            &[("number", "120"), ("name", "mcu"), ("_csrf", "0000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let header = browser
        .http
        .post(format!("{}/ui/types", server.url))
        .header("x-csrf-token", "forged")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 403);
    let types: Value = ota.get_json("/types").await;
    assert_eq!(
        types.as_array().map_or(0, Vec::len),
        0,
        "nothing was created"
    );

    // The right token from another site's page (the Origin says so) is refused too.
    let csrf = browser.get("/ui/types").await.csrf();
    let cross_site = browser
        .http
        .post(format!("{}/ui/types", server.url))
        .header("origin", "https://evil.example")
        .form(&[("number", "120"), ("name", "mcu"), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let created = browser.submit("/ui/types", "/ui/types", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    assert_eq!(created.location(), "/ui/types?done=type-created");
    let listed = browser.get(created.location()).await;
    assert!(listed.body.contains("Firmware type created."));
    assert!(listed.body.contains("<td>120</td>"));
    assert_eq!(ota.get("/types/120").send().await.unwrap().status(), 200);
    // A bad number is a readable message, not JSON.
    let bad = browser
        .submit(
            "/ui/types",
            "/ui/types",
            &[("number", "4000"), ("name", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_html();
    assert!(bad.body.contains("out of range"));
}

#[tokio::test]
async fn a_viewer_sees_no_write_controls_and_a_forged_post_is_refused() {
    let (server, ota) = start().await;
    populate(&ota).await;
    add_user(&ota, "vic", "viewer").await;
    let viewer = Browser::signed_in(&server, "vic").await;
    for (path, control) in [
        ("/ui/types", "Create type"),
        ("/ui/pool/101/1", "Add tag"),
        ("/ui/pool/101/1", "Promote to released"),
        ("/ui/pool/101/1", "Associate device type"),
        ("/ui/", ">Upload<"),
        ("/ui/collections", "Create collection"),
    ] {
        let page = viewer.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.body.contains(control),
            "{path} shows '{control}' to a viewer"
        );
    }
    let admin = Browser::signed_in(&server, "ada").await;
    assert!(
        admin.get("/ui/pool/101/1").await.body.contains("Add tag"),
        "the check above can fail"
    );

    let forged = viewer
        .submit("/ui/", "/ui/pool/101/1/tags", &[("tag", "released")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    forged.assert_html();
    let forged_type = viewer
        .submit("/ui/", "/ui/types", &[("number", "130"), ("name", "x")])
        .await;
    assert_eq!(forged_type.status, StatusCode::FORBIDDEN);
    let record: Value = ota.get_json("/pool/types/101/versionNumbers/1").await;
    assert!(!record["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("released")));
    assert_eq!(ota.get("/types/130").send().await.unwrap().status(), 404);
    assert_eq!(viewer.get("/ui/access").await.status, StatusCode::FORBIDDEN);
    assert_eq!(viewer.get("/ui/audit").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_audit_page_shows_who_changed_what_with_filters_and_older_pages() {
    let (server, ota) = start().await;
    let admin = Browser::signed_in(&server, "ada").await;
    // A change made in the UI is logged with the person's name.
    let created = admin
        .submit(
            "/ui/types",
            "/ui/types",
            &[("number", "120"), ("name", "ui-made")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let page = admin.get("/ui/audit?actor=user:ada&method=POST").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_html();
    assert!(
        page.body.contains("<code>POST /ui/types</code>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("created types/120"),
        "the created record"
    );
    // A refused write shows its status; the outcome filter keeps only those.
    let refused = ota
        .post("/types")
        .json(&json!({"name": "again", "type": 120}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    let only_refused = admin.get("/ui/audit?outcome=refused").await;
    assert!(
        only_refused.body.contains("refused (409)"),
        "{}",
        only_refused.body
    );
    assert!(!only_refused.body.contains("<code>POST /ui/types</code>"));
    // More entries than a page: "Older entries" keeps the filters and goes on.
    for n in 130..190 {
        ota.create_type(n).await;
    }
    let first = admin.get("/ui/audit?method=POST&record=%2Ftypes").await;
    let marker = r#"<a href="/ui/audit?"#;
    let start = first.body.find(marker).expect("an older page") + r#"<a href=""#.len();
    let end = start + first.body[start..].find('"').unwrap();
    let older = first.body[start..end].replace("&amp;", "&");
    assert!(
        older.contains("record=%2Ftypes") && older.contains("cursor="),
        "{older}"
    );
    let second = admin.get(&older).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.contains("/v1/ota/partners/acme/types</code>"));
    let bad = admin.get("/ui/audit?outcome=maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_html();
}

#[tokio::test]
async fn names_and_tags_are_escaped_everywhere() {
    let (server, ota) = start().await;
    ota.create_type(101).await;
    ota.publish(
        101,
        "<b>bold</b>",
        "1.0.0",
        &["<script>x</script>"],
        b"evil".to_vec(),
    )
    .await;
    let browser = Browser::signed_in(&server, "ada").await;
    for path in ["/ui/pool/101/1", "/ui/pool", "/ui/"] {
        let page = browser.get(path).await;
        let raw = page.body.find("<script>x</script>");
        assert!(
            raw.is_none(),
            "{path}: {}",
            &page.body[raw.unwrap_or(0).saturating_sub(300)..raw.unwrap_or(0) + 20]
        );
        let raw = page.body.find("<b>bold</b>");
        assert!(
            raw.is_none(),
            "{path}: {}",
            &page.body[raw.unwrap_or(0).saturating_sub(200)..raw.unwrap_or(0) + 20]
        );
        assert!(shown_escaped(&page.body, "<b>bold</b>"), "{path}");
    }
    let record = browser.get("/ui/pool/101/1").await;
    assert!(shown_escaped(&record.body, "<script>x</script>"));
}

/// The text appears HTML-escaped (named or numeric character references).
fn shown_escaped(body: &str, text: &str) -> bool {
    let named = text.replace('<', "&lt;").replace('>', "&gt;");
    let numeric = text.replace('<', "&#60;").replace('>', "&#62;");
    body.contains(&named) || body.contains(&numeric)
}

#[tokio::test]
async fn another_partners_record_is_a_404_page() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("globex", &["ota:read", "ota:write", "admin"])
        .start();
    let acme = Ota::new(&server, 0).await;
    let globex = Ota::new(&server, 1).await;
    add_user(&acme, "ada", "admin").await;
    globex.create_type(101).await;
    globex
        .publish(101, "secret", "1.0.0", &[], b"globex bytes".to_vec())
        .await;
    let browser = Browser::signed_in(&server, "ada").await;
    for path in ["/ui/pool/101/1", "/ui/pool/101/1/download", "/ui/types/101"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        page.assert_html();
        assert!(!page.body.contains("secret"));
    }
    let search = browser.get("/ui/pool?name=secret").await;
    assert!(search.body.contains("0 records"));
}

#[tokio::test]
async fn upload_through_the_ui_shows_the_sha256_and_creates_the_record() {
    let (server, ota) = start().await;
    ota.create_type(101).await;
    let browser = Browser::signed_in(&server, "ada").await;
    let csrf = browser.get("/ui/upload").await.csrf();
    let bytes: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let sha = sha256_hex(&bytes);
    let upload = |body: Vec<u8>, token: &str| {
        browser
            .http
            .post(format!(
                "{}/ui/upload/binary?type=101&filename=app.bin",
                server.url
            ))
            .header("x-csrf-token", token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let refused = upload(b"small".to_vec(), "wrong").await.unwrap();
    assert_eq!(refused.status(), 403);
    let first = Browser::read(upload(bytes.clone(), &csrf).await.unwrap()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.body.contains(&sha));
    assert!(!first.body.contains("already stored"));
    assert!(
        first.body.contains(r#"value="app""#),
        "name suggested from the file"
    );
    let again = Browser::read(upload(bytes.clone(), &csrf).await.unwrap()).await;
    assert!(again.body.contains("already stored"));

    let created = browser
        .post(
            "/ui/upload/record",
            &[
                ("_csrf", &csrf),
                ("type", "101"),
                ("sha256", &sha),
                ("name", "app"),
                ("version", "2.0.0"),
                ("description", "from the browser"),
                ("tags", "released, branch:main"),
                ("device_types", "thermostat"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), "/ui/pool/101/1?done=record-created");
    let record: Value = ota.get_json("/pool/types/101/versionNumbers/1").await;
    assert_eq!(record["sha256"], sha);
    assert_eq!(record["tags"], json!(["released", "branch:main"]));
    let page = browser.get(created.location()).await;
    assert!(page.body.contains("Pool record created."));
    assert!(page.body.contains("thermostat"));
    let download = browser
        .http
        .get(format!("{}/ui/pool/101/1/download", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(sha256_hex(&download.bytes().await.unwrap()), sha);
    // Uploaded twice, stored once.
    let overview = browser.get("/ui/").await;
    assert!(
        overview.body.contains("<dt>Dedup ratio</dt><dd>2.00×</dd>"),
        "{}",
        overview.body
    );
    let error = Browser::read(
        browser
            .http
            .post(format!(
                "{}/ui/upload/binary?type=150&filename=x",
                server.url
            ))
            .header("x-csrf-token", &csrf)
            .body("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(error.status, StatusCode::NOT_FOUND);
    assert!(
        error.body.contains("role=\"alert\""),
        "a readable fragment: {}",
        error.body
    );
}

/// Without JavaScript the upload form posts itself as multipart: `_csrf` first (a wrong or
/// missing token stores nothing), then the type, then the file, streamed.
#[tokio::test]
async fn the_upload_form_works_as_a_plain_multipart_form() {
    use reqwest::multipart::{Form, Part};
    let (server, ota) = start().await;
    ota.create_type(101).await;
    let browser = Browser::signed_in(&server, "ada").await;
    let page = browser.get("/ui/upload").await;
    assert!(
        page.body
            .contains(r#"action="/ui/upload/form" enctype="multipart/form-data""#),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let bytes: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let sha = sha256_hex(&bytes);
    let form = |token: Option<&str>, path: &str, bytes: Vec<u8>| {
        let mut form = Form::new();
        if let Some(token) = token {
            form = form.text("_csrf", token.to_string());
        }
        let file = Part::bytes(bytes).file_name("plain.bin");
        let form = form.text("type", "101").part("file", file);
        browser
            .http
            .post(format!("{}{path}", server.url))
            .multipart(form)
            .send()
    };
    for (token, path) in [
        (Some("forged"), "/ui/upload/form"),
        (None, "/ui/upload/form"),
        // Another handler never takes a multipart form's token unread.
        (Some(csrf.as_str()), "/ui/types"),
        (Some(csrf.as_str()), "/ui/upload/binary?type=101&filename=x"),
    ] {
        // Small: a refusal is answered before the body is read.
        let refused = Browser::read(form(token, path, b"tiny".to_vec()).await.unwrap()).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
    }
    assert!(
        blob_files(&server.data_path()).is_empty(),
        "nothing was stored"
    );

    let stored = Browser::read(
        form(Some(&csrf), "/ui/upload/form", bytes.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    stored.assert_html();
    assert!(stored.body.contains(&sha), "{}", stored.body);
    assert!(stored.body.contains(r#"action="/ui/upload/record""#));
    assert!(
        stored.body.contains(r#"value="plain""#),
        "name from the file"
    );
    assert_eq!(blob_files(&server.data_path()).len(), 1);
}

#[tokio::test]
async fn a_record_page_shows_its_signatures_and_deletes_it_unless_in_use() {
    let (server, ota) = start().await;
    populate(&ota).await;
    ota.publish(101, "app", "1.1.0", &[], b"firmware two".to_vec())
        .await;
    let browser = Browser::signed_in(&server, "ada").await;
    let page = browser.get("/ui/pool/101/1").await;
    assert!(page.body.contains("Unsigned"), "{}", page.body);
    assert!(page.body.contains("Delete this record"));
    // Without the confirmation nothing goes.
    let unconfirmed = browser
        .submit("/ui/pool/101/2", "/ui/pool/101/2/delete", &[])
        .await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    unconfirmed.assert_html();
    // An associated record is refused with a page naming the use.
    let associated = browser
        .submit(
            "/ui/pool/101/1",
            "/ui/pool/101/1/associations",
            &[("device_type", "dt-delete-check")],
        )
        .await;
    assert_eq!(associated.status, StatusCode::SEE_OTHER);
    let refused = browser
        .submit(
            "/ui/pool/101/1",
            "/ui/pool/101/1/delete",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    refused.assert_html();
    assert!(refused.body.contains("dt-delete-check"), "{}", refused.body);
    assert_eq!(
        ota.get("/pool/types/101/versionNumbers/1")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A record nothing uses goes, and the pool page says so.
    let deleted = browser
        .submit(
            "/ui/pool/101/2",
            "/ui/pool/101/2/delete",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(deleted.location(), "/ui/pool?type=101&done=record-deleted");
    assert!(browser
        .get(deleted.location())
        .await
        .body
        .contains("Pool record deleted."));
    assert_eq!(
        ota.get("/pool/types/101/versionNumbers/2")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // A viewer sees no delete control, and a forged one is refused.
    add_user(&ota, "val", "viewer").await;
    let viewer = Browser::signed_in(&server, "val").await;
    assert!(!viewer
        .get("/ui/pool/101/1")
        .await
        .body
        .contains("Delete this record"));
    let forged = viewer
        .submit("/ui/", "/ui/pool/101/1/delete", &[("confirm", "yes")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_retention_page_shows_the_plan_and_runs_the_policy() {
    let (server, ota) = start().await;
    ota.create_type(101).await;
    for (n, version) in ["1.0.0", "1.1.0", "1.2.0"].iter().enumerate() {
        ota.publish(101, "app", version, &["branch:main"], vec![n as u8; 64])
            .await;
    }
    let admin = Browser::signed_in(&server, "ada").await;
    let empty = admin.get("/ui/retention").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("No retention policy"), "{}", empty.body);
    let set = ota
        .put("/retention/policy")
        .json(&json!({"keepNewest": 1, "protectedTags": ["released"], "expire": [{"tagPrefix": "pr:", "afterDays": 7}]}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success(), "{}", set.text().await.unwrap());
    let page = admin.get("/ui/retention").await;
    assert!(
        page.body.contains("2 records would be deleted"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"href="/ui/pool/101/1">app 1.0.0</a>"#));
    assert!(page.body.contains(r#"href="/ui/pool/101/2">app 1.1.0</a>"#));
    assert!(
        !page.body.contains(r#"href="/ui/pool/101/3">"#),
        "the newest stays"
    );
    assert!(page.body.contains("pr:* after 7 days"));
    let run = admin
        .submit("/ui/retention", "/ui/retention/run", &[])
        .await;
    assert_eq!(run.status, StatusCode::SEE_OTHER, "{}", run.body);
    let after = admin.get(run.location()).await;
    assert!(after.body.contains("Retention run finished"));
    assert!(
        after.body.contains("<td>manual</td><td>2</td>"),
        "{}",
        after.body
    );
    assert!(after.body.contains("0 records would be deleted"));
    assert_eq!(ota.all_records(101).await.len(), 1);
    add_user(&ota, "vera", "maintainer").await;
    let maintainer = Browser::signed_in(&server, "vera").await;
    assert_eq!(
        maintainer.get("/ui/retention").await.status,
        StatusCode::FORBIDDEN
    );
    let forged = maintainer.submit("/ui/", "/ui/retention/run", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn record_controls_promote_associate_and_push() {
    let (server, ota) = start().await;
    populate(&ota).await;
    let browser = Browser::signed_in(&server, "ada").await;
    let page = "/ui/pool/101/1";
    let promoted = browser
        .submit(page, "/ui/pool/101/1/tags", &[("tag", "released")])
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER);
    let record: Value = ota.get_json("/pool/types/101/versionNumbers/1").await;
    assert!(record["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("released")));
    let removed = browser
        .submit(
            page,
            "/ui/pool/101/1/tags/remove",
            &[("tag", "branch:main")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let record: Value = ota.get_json("/pool/types/101/versionNumbers/1").await;
    assert!(!record["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("branch:main")));

    let associated = browser
        .submit(
            page,
            "/ui/pool/101/1/associations",
            &[("device_type", "lamp")],
        )
        .await;
    assert_eq!(associated.status, StatusCode::SEE_OTHER);
    let images: Value = ota.get_json("/deviceTypes/lamp/firmwareImages").await;
    assert_eq!(images["totalElements"], 1);
    let twice = browser
        .submit(
            page,
            "/ui/pool/101/1/associations",
            &[("device_type", "lamp")],
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.body.contains("already associated"));
    let pushed = browser
        .submit(
            page,
            "/ui/pool/101/1/push",
            &[("device_type", "lamp"), ("devices", "d1, d2")],
        )
        .await;
    assert_eq!(pushed.status, StatusCode::SEE_OTHER, "{}", pushed.body);
    let dt = browser.get("/ui/device-types").await;
    assert!(dt.body.contains("Device type lamp"));
    let dissociated = browser
        .submit(
            "/ui/device-types",
            "/ui/device-types/lamp/dissociate",
            &[("type", "101"), ("version_number", "1")],
        )
        .await;
    assert_eq!(dissociated.status, StatusCode::SEE_OTHER);
    let images: Value = ota.get_json("/deviceTypes/lamp/firmwareImages").await;
    assert_eq!(images["totalElements"], 0);
}

#[tokio::test]
async fn collections_targets_and_the_rollback_notice() {
    let (server, ota) = start().await;
    ota.create_type(101).await;
    ota.publish(101, "app", "2.0.0", &[], b"two".to_vec()).await;
    ota.publish(101, "app", "1.0.0", &[], b"one".to_vec()).await;
    let browser = Browser::signed_in(&server, "ada").await;
    let created = browser
        .submit(
            "/ui/collections",
            "/ui/collections",
            &[("management", "device"), ("tags", "site=lab")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let path = created.location().split('?').next().unwrap().to_string();
    let collection = path.rsplit('/').next().unwrap().to_string();
    for vn in ["1", "2"] {
        let added = browser
            .submit(
                &path,
                &format!("{path}/images"),
                &[("type", "101"), ("version_number", vn)],
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    }
    let device = browser
        .submit(&path, &format!("{path}/devices"), &[("id", "rig-1")])
        .await;
    assert_eq!(device.status, StatusCode::SEE_OTHER);
    let root = server.url.clone();
    let images: Value = http()
        .get(format!("{root}/collections/{collection}/firmware"))
        .bearer_auth(&ota.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = images["images"].as_array().unwrap().clone();
    let id_of = |version: &str| {
        list.iter()
            .find(|i| i["version"] == version)
            .map(|i| i["imageId"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (newer, older) = (id_of("2.0.0"), id_of("1.0.0"));
    let patched = http()
        .patch(format!("{root}/collections/{collection}/devices/rig-1"))
        .bearer_auth(&ota.token)
        .json(&json!({"firmware": {"currentFirmwareId": newer}}))
        .send()
        .await
        .unwrap();
    assert!(
        patched.status().is_success(),
        "{}",
        patched.text().await.unwrap()
    );
    let page = browser.get(&path).await;
    assert!(page.body.contains("older than what it runs: rollback"));
    let target = browser
        .submit(
            &path,
            &format!("{path}/devices/rig-1/target"),
            &[("target", &older)],
        )
        .await;
    assert_eq!(target.location(), format!("{path}?done=target-rollback"));
    let shown = browser.get(target.location()).await;
    assert!(shown.body.contains("this is a rollback"));
    let record = browser.get("/ui/pool/101/2").await;
    assert!(
        record.body.contains("rig-1"),
        "the record page lists the targeting device"
    );
    let refused = browser
        .submit(&path, &format!("{path}/images/{older}/delete"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.body.contains("rig-1 targets it"),
        "{}",
        refused.body
    );
    let overview = browser.get("/ui/").await;
    assert!(overview.body.contains("<dt>Devices</dt><dd>1</dd>"));
}

#[tokio::test]
async fn admins_manage_clients_and_users() {
    let (server, _ota) = start().await;
    let browser = Browser::signed_in(&server, "ada").await;
    let created = browser
        .submit(
            "/ui/access",
            "/ui/access/clients",
            &[("read", "1"), ("write", "1")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let marker = r#"id="new-client-secret" class="secret" readonly value=""#;
    let start = created.body.find(marker).expect("secret shown once") + marker.len();
    let secret = &created.body[start..start + created.body[start..].find('"').unwrap()];
    let marker = r#"id="new-client-id" readonly value=""#;
    let start = created.body.find(marker).unwrap() + marker.len();
    let client_id = &created.body[start..start + created.body[start..].find('"').unwrap()];
    let token = |id: String, secret: String| {
        let url = format!("{}/oauth/token", server.url);
        async move {
            http()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(token(client_id.into(), secret.into()).await, 200);
    assert!(
        !browser.get("/ui/access").await.body.contains(secret),
        "shown only once"
    );
    let revoked = browser
        .submit(
            "/ui/access",
            &format!("/ui/access/clients/{client_id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(token(client_id.into(), secret.into()).await, 401);

    let user = browser
        .submit(
            "/ui/access",
            "/ui/access/users",
            &[
                ("username", "mia"),
                ("role", "maintainer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(user.status, StatusCode::SEE_OTHER, "{}", user.body);
    assert_eq!(
        Browser::new(&server).login("mia", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let short = browser
        .submit(
            "/ui/access",
            "/ui/access/users",
            &[
                ("username", "tim"),
                ("role", "viewer"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    short.assert_html();
    let disabled = browser
        .submit(
            "/ui/access",
            "/ui/access/users/mia/disabled",
            &[("disabled", "true")],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        Browser::new(&server).login("mia", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (server, _ota) = start().await;
    let browser = Browser::new(&server);
    let login = browser.login("ada", PASSWORD).await;
    let cookie = login.headers[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let without_csrf = browser.post("/ui/logout", &[]).await;
    assert_eq!(without_csrf.status, StatusCode::FORBIDDEN);
    let out = browser.submit("/ui/", "/ui/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/ui/login");
    assert!(out.headers[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(browser.get("/ui/").await.status, StatusCode::SEE_OTHER);
    // The old cookie, replayed by hand, no longer opens a session.
    let replay = http()
        .get(format!("{}/ui/", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert!(
        replay.url().path().starts_with("/ui/login"),
        "redirected to sign in"
    );
}

/// Issue 12: the web UI's "promote" goes through the same service rule as the API: a
/// protected tag needs a signature of the binary verified by a key the partner trusts.
#[tokio::test]
async fn promoting_to_a_protected_tag_in_the_ui_needs_a_trusted_signature() {
    let (server, ota) = start().await;
    let (record, _) = populate(&ota).await;
    let policy = ota
        .put("/admin/signingPolicy")
        .json(&json!({"protectedTags": ["released"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(policy.status(), 200);
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = (dir.path().join("k.key"), dir.path().join("k.pub"));
    let minisign = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new("minisign")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "minisign {args:?}: {out:?}");
    };
    minisign(&[
        "-G".as_ref(),
        "-W".as_ref(),
        "-p".as_ref(),
        public.as_os_str(),
        "-s".as_ref(),
        secret.as_os_str(),
    ]);
    let public_key = std::fs::read_to_string(&public).unwrap();
    let trusted = ota
        .post("/admin/trustedKeys")
        .json(&json!({"publicKey": public_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(trusted.status(), 201);

    let browser = Browser::signed_in(&server, "ada").await;
    let page = "/ui/pool/101/1";
    let refused = browser
        .submit(page, "/ui/pool/101/1/tags", &[("tag", "released")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    refused.assert_html();
    let sha = record["sha256"].as_str().unwrap();
    assert!(
        refused.body.contains("released") && refused.body.contains(sha),
        "{}",
        refused.body
    );
    let tags = |record: Value| record["tags"].as_array().unwrap().clone();
    let current: Value = ota.get_json("/pool/types/101/versionNumbers/1").await;
    assert!(!tags(current).contains(&json!("released")));

    let file = dir.path().join("app.bin");
    std::fs::write(&file, b"firmware one").unwrap();
    let sig = dir.path().join("app.minisig");
    minisign(&[
        "-S".as_ref(),
        "-s".as_ref(),
        secret.as_os_str(),
        "-m".as_ref(),
        file.as_os_str(),
        "-x".as_ref(),
        sig.as_os_str(),
    ]);
    let attached = ota
        .post(&format!("/repository/sha256/{sha}/signatures"))
        .body(std::fs::read_to_string(&sig).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), 201);
    let promoted = browser
        .submit(page, "/ui/pool/101/1/tags", &[("tag", "released")])
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.body);
    let current: Value = ota.get_json("/pool/types/101/versionNumbers/1").await;
    assert!(tags(current).contains(&json!("released")));
}
