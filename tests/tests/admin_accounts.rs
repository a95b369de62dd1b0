//! The online admin API (clients and users of a partner, `admin` scope), its credential
//! matrix and partner isolation, the offline `user` CLI, and that only hashes of passwords
//! and secrets are ever stored.

use fwrepo_e2e::{create_user, expect_problem, http, user_command, validate, TestServer};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

fn all_scopes() -> &'static [&'static str] {
    &["ota:read", "ota:write", "admin"]
}

/// A bearer-authenticated request to `{partner_url}/admin{path}`.
fn admin(
    server: &TestServer,
    method: reqwest::Method,
    partner: &str,
    path: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = http().request(
        method,
        format!("{}/admin{path}", server.partner_url(partner)),
    );
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// Sends `request` and answers its JSON body, asserting success.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

async fn token_of(server: &TestServer, client_id: &str, secret: &str) -> reqwest::Response {
    http()
        .post(format!("{}/oauth/token", server.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_creates_a_client_online_that_works_until_revoked() {
    let server = TestServer::start();
    let token = server.token().await;
    let post = reqwest::Method::POST;
    let created = admin(&server, post, "acme", "/clients", Some(&token))
        .json(&json!({"scopes": ["ota:write"], "description": "nightly CI"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let creds: Value = created.json().await.unwrap();
    validate("ClientCredentials", &creds);
    assert_eq!(creds["partner_id"], "acme");
    assert_eq!(creds["scopes"], json!(["ota:write"]));
    let (id, secret) = (
        creds["client_id"].as_str().unwrap(),
        creds["client_secret"].as_str().unwrap(),
    );

    // The new client gets a token at once and can write (but not administer).
    let issued = token_of(&server, id, secret).await;
    assert_eq!(issued.status(), 200);
    let new_token = issued.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let types = format!("{}/types", server.partner_url("acme"));
    let read = http().get(&types).bearer_auth(&new_token).send().await;
    assert_eq!(read.unwrap().status(), 200);
    let listing = admin(
        &server,
        reqwest::Method::GET,
        "acme",
        "/clients",
        Some(&new_token),
    );
    expect_problem(listing.send().await.unwrap(), 403, "forbidden").await;

    // Listed, with its description, never with its secret.
    let listed = admin(
        &server,
        reqwest::Method::GET,
        "acme",
        "/clients",
        Some(&token),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(listed.status(), 200);
    let text = listed.text().await.unwrap();
    assert!(!text.contains(secret), "a listing never shows a secret");
    let page: Value = serde_json::from_str(&text).unwrap();
    validate("ClientPage", &page);
    assert_eq!(page["totalElements"], 2);
    let entry = page["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == id)
        .expect("the new client is listed");
    assert_eq!(entry["description"], "nightly CI");
    assert_eq!(entry["revoked"], false);
    assert!(entry.get("client_secret").is_none());

    // Revoked: its live token is refused on the next request, and no new token is issued.
    let path = format!("/clients/{id}");
    let revoked = admin(
        &server,
        reqwest::Method::DELETE,
        "acme",
        &path,
        Some(&token),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(revoked.status(), 204);
    let after = http().get(&types).bearer_auth(&new_token).send().await;
    expect_problem(after.unwrap(), 401, "unauthorized").await;
    expect_problem(token_of(&server, id, secret).await, 401, "invalid-client").await;
    let listed: Value = json_of(admin(
        &server,
        reqwest::Method::GET,
        "acme",
        "/clients",
        Some(&token),
    ))
    .await;
    assert!(listed["content"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["client_id"] == id && c["revoked"] == true));

    let unknown_scope = admin(
        &server,
        reqwest::Method::POST,
        "acme",
        "/clients",
        Some(&token),
    )
    .json(&json!({"scopes": ["root"]}))
    .send()
    .await
    .unwrap();
    expect_problem(unknown_scope, 400, "validation-failed").await;
    let no_scope = admin(
        &server,
        reqwest::Method::POST,
        "acme",
        "/clients",
        Some(&token),
    )
    .json(&json!({"scopes": []}))
    .send()
    .await
    .unwrap();
    expect_problem(no_scope, 400, "validation-failed").await;
    assert!(!server.log().contains(secret), "a secret is never logged");
}

#[tokio::test]
async fn admin_creates_lists_changes_and_disables_users_online() {
    let server = TestServer::start();
    let token = server.token().await;
    let create = |body: Value| {
        admin(
            &server,
            reqwest::Method::POST,
            "acme",
            "/users",
            Some(&token),
        )
        .json(&body)
    };
    let created = create(json!({"username": "alice", "role": "maintainer", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let text = created.text().await.unwrap();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "{text}"
    );
    let user: Value = serde_json::from_str(&text).unwrap();
    validate("User", &user);
    assert_eq!(
        (
            &user["username"],
            &user["role"],
            &user["disabled"],
            &user["partner_id"]
        ),
        (
            &json!("alice"),
            &json!("maintainer"),
            &json!(false),
            &json!("acme")
        )
    );

    // Bad input is a problem with a stable type; nothing is created.
    let weak = create(json!({"username": "bob", "role": "viewer", "password": "short"}));
    let problem = expect_problem(weak.send().await.unwrap(), 400, "validation-failed").await;
    assert!(problem["detail"].as_str().unwrap().contains("password"));
    let bad_name = create(json!({"username": "bob smith", "role": "viewer", "password": PASSWORD}));
    expect_problem(bad_name.send().await.unwrap(), 400, "validation-failed").await;
    let bad_role = create(json!({"username": "bob", "role": "root", "password": PASSWORD}));
    expect_problem(bad_role.send().await.unwrap(), 400, "invalid-body").await;
    let duplicate = create(json!({"username": "alice", "role": "viewer", "password": PASSWORD}));
    expect_problem(duplicate.send().await.unwrap(), 409, "already-exists").await;

    let list = || {
        admin(
            &server,
            reqwest::Method::GET,
            "acme",
            "/users",
            Some(&token),
        )
    };
    let text = list().send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("argon2"), "never a hash in a listing");
    let page: Value = serde_json::from_str(&text).unwrap();
    validate("UserPage", &page);
    assert_eq!(
        page["totalElements"], 1,
        "the refused users were not created"
    );

    let patch = |body: Value| {
        admin(
            &server,
            reqwest::Method::PATCH,
            "acme",
            "/users/alice",
            Some(&token),
        )
        .json(&body)
    };
    let demoted = json_of(patch(json!({"role": "viewer"}))).await;
    validate("User", &demoted);
    assert_eq!(
        (&demoted["role"], &demoted["disabled"]),
        (&json!("viewer"), &json!(false))
    );
    let disabled = patch(json!({"disabled": true})).send().await.unwrap();
    assert_eq!(disabled.status(), 200);
    let disabled: Value = disabled.json().await.unwrap();
    assert_eq!(
        (&disabled["role"], &disabled["disabled"]),
        (&json!("viewer"), &json!(true))
    );
    let page = json_of(list()).await;
    assert_eq!(page["content"][0]["disabled"], true);
    let missing = admin(
        &server,
        reqwest::Method::PATCH,
        "acme",
        "/users/nobody",
        Some(&token),
    )
    .json(&json!({"disabled": true}));
    expect_problem(missing.send().await.unwrap(), 404, "not-found").await;
    let unknown_field = patch(json!({"password": PASSWORD}));
    expect_problem(unknown_field.send().await.unwrap(), 400, "invalid-body").await;
}

#[tokio::test]
async fn admin_api_credential_matrix_and_partner_isolation() {
    let mut server = TestServer::builder()
        .client("acme", all_scopes())
        .client("acme", &["ota:read"])
        .client("acme", &["ota:write"])
        .client("bravo", &["admin"])
        .client("acme", &["admin"])
        .user("acme", "alice", "viewer", PASSWORD)
        .user("bravo", "bert", "viewer", PASSWORD)
        .start();
    let acme_admin = server.token_for(0).await;
    let reader = server.token_for(1).await;
    let writer = server.token_for(2).await;
    let bravo_admin = server.token_for(3).await;
    let doomed_admin = server.token_for(4).await;
    let acme_client = server.client(1).client_id.clone();

    use reqwest::Method;
    let client_path = format!("/clients/{acme_client}");
    let requests: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/clients", None),
        (
            Method::POST,
            "/clients",
            Some(json!({"scopes": ["ota:read"]})),
        ),
        (Method::DELETE, &client_path, None),
        (Method::GET, "/users", None),
        (
            Method::POST,
            "/users",
            Some(json!({"username": "mallory", "role": "admin", "password": PASSWORD})),
        ),
        (
            Method::PATCH,
            "/users/alice",
            Some(json!({"role": "admin"})),
        ),
    ];
    let send = |method: &Method, partner: &str, path: &str, body: &Option<Value>, token| {
        let request = admin(&server, method.clone(), partner, path, token);
        match body {
            Some(body) => request.json(body).send(),
            None => request.send(),
        }
    };
    for (method, path, body) in &requests {
        let case = format!("{method} {path}");
        let none = send(method, "acme", path, body, None).await.unwrap();
        assert_eq!(none.status(), 401, "{case} without a token");
        expect_problem(none, 401, "unauthorized").await;
        for token in [&reader, &writer] {
            let refused = send(method, "acme", path, body, Some(token.as_str()));
            expect_problem(refused.await.unwrap(), 403, "forbidden").await;
        }
        let stranger = send(method, "acme", path, body, Some(bravo_admin.as_str()));
        let stranger = stranger.await.unwrap();
        assert_eq!(stranger.status(), 404, "{case}: another partner's admin");
        expect_problem(stranger, 404, "not-found").await;
    }
    // Acme's ids through bravo's own path are not found either, and change nothing.
    let on_own_path = send(
        &Method::DELETE,
        "bravo",
        &client_path,
        &None,
        Some(&bravo_admin),
    );
    expect_problem(on_own_path.await.unwrap(), 404, "not-found").await;
    let alice = Some(json!({"disabled": true}));
    let on_own_path = send(
        &Method::PATCH,
        "bravo",
        "/users/alice",
        &alice,
        Some(&bravo_admin),
    );
    expect_problem(on_own_path.await.unwrap(), 404, "not-found").await;
    let bravo_users = json_of(admin(
        &server,
        Method::GET,
        "bravo",
        "/users",
        Some(&bravo_admin),
    ))
    .await;
    let names: Vec<&str> = bravo_users["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bert"]);
    let acme_users = json_of(admin(
        &server,
        Method::GET,
        "acme",
        "/users",
        Some(&acme_admin),
    ))
    .await;
    assert_eq!(acme_users["content"][0]["username"], "alice");
    assert_eq!(acme_users["content"][0]["disabled"], false);
    assert_eq!(acme_users["content"][0]["role"], "viewer");
    let reader_still_works = http()
        .get(format!("{}/types", server.partner_url("acme")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(reader_still_works.status(), 200, "nothing was revoked");

    // An admin client revoked by another admin is refused at once.
    let doomed = format!("/clients/{}", server.client(4).client_id);
    let revoke = send(&Method::DELETE, "acme", &doomed, &None, Some(&acme_admin));
    assert_eq!(revoke.await.unwrap().status(), 204);
    for (method, path, body) in &requests {
        let refused = send(method, "acme", path, body, Some(doomed_admin.as_str()));
        expect_problem(refused.await.unwrap(), 401, "unauthorized").await;
    }
    let log = server.log();
    server.terminate();
    assert!(!log.contains(PASSWORD), "no password in the log");
}

#[tokio::test]
async fn user_cli_creates_lists_disables_and_enables_with_the_password_on_stdin() {
    let mut server = TestServer::builder()
        .client("acme", all_scopes())
        .user("acme", "carol", "maintainer", PASSWORD)
        .start();
    let token = server.token().await;
    let online: Value = json_of(admin(
        &server,
        reqwest::Method::GET,
        "acme",
        "/users",
        Some(&token),
    ))
    .await;
    assert_eq!(
        online["content"][0]["username"], "carol",
        "created offline, seen online"
    );
    assert_eq!(online["content"][0]["role"], "maintainer");

    server.terminate();
    let data = server.data_path();
    let dave = create_user(&data, "bravo", "dave", "admin", PASSWORD);
    assert_eq!(
        (&dave["partner_id"], &dave["role"]),
        (&json!("bravo"), &json!("admin"))
    );
    for (args, stdin, why) in [
        (
            [
                "create",
                "--partner",
                "acme",
                "--username",
                "carol",
                "--role",
                "viewer",
            ],
            PASSWORD,
            "duplicate",
        ),
        (
            [
                "create",
                "--partner",
                "acme",
                "--username",
                "erin",
                "--role",
                "viewer",
            ],
            "short",
            "weak password",
        ),
        (
            [
                "create",
                "--partner",
                "acme",
                "--username",
                "erin",
                "--role",
                "root",
            ],
            PASSWORD,
            "unknown role",
        ),
    ] {
        let out = user_command(&data, &args, &format!("{stdin}\n"));
        assert!(!out.status.success(), "{why} must fail");
        assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
    }

    let list = |extra: &[&str]| -> Value {
        let mut args = vec!["list", "--json"];
        args.extend_from_slice(extra);
        let out = user_command(&data, &args, "");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("argon2"), "never a hash in a listing");
        serde_json::from_str(&text).unwrap()
    };
    let everyone = list(&[]);
    for user in everyone.as_array().unwrap() {
        validate("User", user);
    }
    assert_eq!(everyone.as_array().unwrap().len(), 2);
    assert_eq!(list(&["--partner", "bravo"]).as_array().unwrap().len(), 1);

    let out = user_command(&data, &["disable", "carol"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(list(&["--partner", "acme"])[0]["disabled"], true);
    assert!(!user_command(&data, &["disable", "nobody"], "")
        .status
        .success());

    server.restart();
    let token = server.token().await;
    let online: Value = json_of(admin(
        &server,
        reqwest::Method::GET,
        "acme",
        "/users",
        Some(&token),
    ))
    .await;
    assert_eq!(
        online["content"][0]["disabled"], true,
        "disabled offline, seen online"
    );
    server.terminate();
    assert!(user_command(&data, &["enable", "carol"], "")
        .status
        .success());
    assert_eq!(list(&["--partner", "acme"])[0]["disabled"], false);
}

/// Every byte the metadata store has written (SST files, write-ahead log, manifest).
fn stored_bytes(meta_dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(meta_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(path).unwrap());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn the_database_holds_only_hashes_of_passwords_and_secrets() {
    let online_password = "online password that is long";
    let mut server = TestServer::builder()
        .client("acme", all_scopes())
        .user("acme", "offline-user", "viewer", PASSWORD)
        .start();
    let token = server.token().await;
    let created = admin(
        &server,
        reqwest::Method::POST,
        "acme",
        "/users",
        Some(&token),
    )
    .json(&json!({"username": "online-user", "role": "admin", "password": online_password}))
    .send()
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let creds: Value = json_of(
        admin(
            &server,
            reqwest::Method::POST,
            "acme",
            "/clients",
            Some(&token),
        )
        .json(&json!({"scopes": ["ota:read"]})),
    )
    .await;
    let online_secret = creds["client_secret"].as_str().unwrap().to_string();
    let cli_secret = server.client(0).client_secret.clone();
    assert!(server.terminate().success());

    let stored = stored_bytes(&server.data_path().join("meta"));
    // The scan sees the records (so an absence below means something) ...
    for present in [
        "online-user",
        "offline-user",
        "$argon2id$",
        creds["client_id"].as_str().unwrap(),
    ] {
        assert!(contains(&stored, present), "{present} should be stored");
    }
    // ... and none of the secrets.
    for secret in [
        PASSWORD,
        online_password,
        &online_secret,
        &cli_secret,
        &token,
    ] {
        assert!(
            !contains(&stored, secret),
            "a secret is stored in plain text"
        );
    }
}
