//! hawkBit DDI against the real server: poll → deployment → download (full, Range, HEAD,
//! MD5SUM) → feedback → current firmware; cancel on retarget; failure; no downgrade unless
//! targeted; configData; the token matrix; malformed feedback.

mod ddi_common;
mod span_common;

use ddi_common::{action_id, link, md5_hex, sha1_hex, status, Ddi};
use fwrepo_e2e::{expect_problem, http, sha256_hex, validate, Ota, TestServer};
use serde_json::{json, Value};
use span_common::{afero_catalogue, associate, bytes, Span};

/// A server, a Span client of partner `acme` and a collection in `device` scope.
async fn start() -> (TestServer, Span, String) {
    let server = TestServer::start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    (server, span, c)
}

/// Uploads an image with a file name and a version; answers its id.
async fn image(span: &Span, c: &str, data: &[u8], filename: &str, version: &str) -> String {
    let image = span.upload(c, data, filename).await;
    let id = image["imageId"].as_str().unwrap().to_string();
    span.json(
        span.patch(&format!("/collections/{c}/firmware/{id}"))
            .json(&json!({"version": version})),
        200,
        "CollectionImage",
    )
    .await;
    id
}

/// Issues a target token for a device.
async fn target_token(span: &Span, c: &str, device: &str) -> String {
    let body = span
        .json(
            span.post(&format!("/collections/{c}/devices/{device}/targetToken")),
            201,
            "DdiToken",
        )
        .await;
    assert_eq!(body["deviceId"], device);
    body["token"].as_str().unwrap().to_string()
}

async fn actions(span: &Span, c: &str, device: &str) -> Value {
    span.json(
        span.get(&format!("/collections/{c}/devices/{device}/actions")),
        200,
        "DdiActionPage",
    )
    .await
}

async fn action(span: &Span, c: &str, device: &str, id: &str) -> Value {
    span.json(
        span.get(&format!("/collections/{c}/devices/{device}/actions/{id}")),
        200,
        "DdiAction",
    )
    .await
}

async fn device(span: &Span, c: &str, device: &str) -> Value {
    span.json(
        span.get(&format!("/collections/{c}/devices/{device}")),
        200,
        "Device",
    )
    .await
}

#[tokio::test]
async fn deployment_download_feedback_and_success() {
    let (server, span, c) = start().await;
    let v1 = image(&span, &c, &bytes(1, 5000), "update-1.swu", "1.0").await;
    let v2_bytes = bytes(2, 70_000);
    let v2 = image(&span, &c, &v2_bytes, "update-2.swu", "2.0").await;
    span.device(
        &c,
        json!({"deviceId": "d1", "firmware": {"currentFirmwareId": v1, "targetFirmwareId": v2}}),
    )
    .await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d1").await);

    // The poll offers the deployment and asks for the attributes, with the default sleep.
    let base = ddi.poll("d1").await;
    assert_eq!(base["config"]["polling"]["sleep"], "00:05:00");
    assert!(link(&base, "configData").is_some());
    assert!(link(&base, "cancelAction").is_none());
    let deployment_url = link(&base, "deploymentBase").expect("deployment offered");
    let id = action_id(deployment_url);

    let deployment = ddi.get_json(deployment_url, "DdiDeploymentBase").await;
    assert_eq!(deployment["id"], id.as_str());
    assert_eq!(deployment["deployment"]["download"], "forced");
    assert_eq!(deployment["deployment"]["update"], "forced");
    let chunk = &deployment["deployment"]["chunks"][0];
    assert_eq!(chunk["version"], "2.0");
    let artifact = &chunk["artifacts"][0];
    assert_eq!(artifact["filename"], "update-2.swu");
    assert_eq!(artifact["size"], 70_000);
    assert_eq!(artifact["hashes"]["sha1"], sha1_hex(&v2_bytes).as_str());
    assert_eq!(artifact["hashes"]["md5"], md5_hex(&v2_bytes).as_str());
    assert_eq!(artifact["hashes"]["sha256"], sha256_hex(&v2_bytes).as_str());
    assert!(
        artifact["_links"].get("download").is_none(),
        "no https link on an http server"
    );
    let file_url = artifact["_links"]["download-http"]["href"]
        .as_str()
        .unwrap();
    assert_eq!(
        artifact["_links"]["md5sum-http"]["href"].as_str().unwrap(),
        format!("{file_url}.MD5SUM")
    );
    let listed = ddi
        .get_json(
            &format!("{}/softwaremodules/{id}/artifacts", ddi.base("d1")),
            "DdiArtifactList",
        )
        .await;
    assert_eq!(listed[0], *artifact);

    // Download: whole, resumed with Range, HEAD, the MD5SUM file.
    let (status_code, whole) = ddi.download(file_url, None).await;
    assert_eq!((status_code, whole.len()), (200, v2_bytes.len()));
    assert_eq!(whole, v2_bytes);
    let (status_code, part) = ddi.download(file_url, Some("bytes=60000-")).await;
    assert_eq!((status_code, part.as_slice()), (206, &v2_bytes[60_000..]));
    let head = ddi
        .request(reqwest::Method::HEAD, file_url)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "70000");
    let (status_code, md5sum) = ddi.download(&format!("{file_url}.MD5SUM"), None).await;
    assert_eq!(status_code, 200);
    assert_eq!(
        String::from_utf8(md5sum).unwrap(),
        format!("{}  update-2.swu\n", md5_hex(&v2_bytes))
    );
    let (status_code, _) = ddi
        .download(
            &format!(
                "{}/softwaremodules/{id}/artifacts/other.swu",
                ddi.base("d1")
            ),
            None,
        )
        .await;
    assert_eq!(status_code, 404);

    // Progress, then success.
    let feedback_url = format!("{deployment_url}/feedback");
    let mut progress = status("proceeding", "none", &["downloading"]);
    progress["status"]["result"]["progress"] = json!({"cnt": 1, "of": 2});
    assert_eq!(ddi.feedback(&feedback_url, &progress).await, 200);
    let seen = action(&span, &c, "d1", &id).await;
    assert_eq!(seen["status"], "proceeding");
    assert_eq!(
        device(&span, &c, "d1").await["firmware"]["currentFirmwareId"],
        v1.as_str()
    );
    assert_eq!(
        ddi.feedback(&feedback_url, &status("closed", "success", &["installed"]))
            .await,
        200
    );

    // The device runs v2 for every view: device, usage, check-in.
    let d1 = device(&span, &c, "d1").await;
    assert_eq!(d1["firmware"]["currentFirmwareId"], v2.as_str());
    assert_eq!(d1["firmware"]["state"], "current");
    assert_eq!(span.usage(&c, &v2).await["currentDevices"], json!(["d1"]));
    assert_eq!(span.checkin(&c, "d1", json!({})).await["action"], "none");

    // Nothing is offered any more; the installed base is the action.
    let base = ddi.poll("d1").await;
    assert!(link(&base, "deploymentBase").is_none(), "{base}");
    let installed = link(&base, "installedBase").expect("installed base");
    assert_eq!(action_id(installed), id);
    let installed = ddi.get_json(installed, "DdiDeploymentBase").await;
    assert_eq!(installed["actionHistory"]["status"], "success");
    assert_eq!(
        ddi.feedback(&feedback_url, &status("closed", "failure", &[]))
            .await,
        410,
        "a closed action takes no more feedback"
    );

    // Our API shows the action with its history and every message.
    let list = actions(&span, &c, "d1").await;
    assert_eq!(list["totalElements"], 1);
    let shown = &list["content"][0];
    assert_eq!(shown["actionId"], id.as_str());
    assert_eq!(shown["status"], "success");
    assert_eq!(shown["image"]["imageId"], v2.as_str());
    let statuses: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["scheduled", "proceeding", "success"]);
    let messages: Vec<String> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["messages"].as_array().unwrap().clone())
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    for expected in ["downloading", "progress 1 of 2", "installed"] {
        assert!(messages.iter().any(|m| m == expected), "{messages:?}");
    }
}

/// The web UI's collection page shows each device's open deployment.
#[tokio::test]
async fn the_collection_page_shows_a_devices_open_deployment() {
    const PASSWORD: &str = "a-long-passphrase-for-qa";
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .user("acme", "qa", "viewer", PASSWORD)
        .start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let v1 = image(&span, &c, &bytes(1, 3000), "update-1.swu", "1.0").await;
    let v2 = image(&span, &c, &bytes(2, 4000), "update-2.swu", "2.0").await;
    span.device(
        &c,
        json!({"deviceId": "d1", "firmware": {"currentFirmwareId": v1, "targetFirmwareId": v2}}),
    )
    .await;
    span.device(
        &c,
        json!({"deviceId": "d2", "firmware": {"currentFirmwareId": v1}}),
    )
    .await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d1").await);
    let base = ddi.poll("d1").await;
    let id = action_id(link(&base, "deploymentBase").expect("deployment offered"));

    let browser = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = browser
        .post(format!("{}/ui/login", server.url))
        .form(&[("username", "qa"), ("password", PASSWORD), ("next", "/ui/")])
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "signed in: {}", login.status());
    let page = browser
        .get(format!("{}/ui/collections/{c}", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let row = |device: &str| {
        let start = page
            .find(&format!(r#"<tr id="device-{device}">"#))
            .unwrap_or_else(|| panic!("{device} listed: {page}"));
        let end = start + page[start..].find("</tr>").unwrap();
        page[start..end].to_string()
    };
    assert!(
        row("d1").contains(&format!("action {id} · scheduled")),
        "{}",
        row("d1")
    );
    assert!(row("d2").contains("none open"), "{}", row("d2"));
}

#[tokio::test]
async fn retarget_cancels_the_open_action() {
    let (server, span, c) = start().await;
    let v2 = image(&span, &c, &bytes(2, 3000), "a.swu", "2.0").await;
    let v3 = image(&span, &c, &bytes(3, 3000), "b.swu", "3.0").await;
    span.device(
        &c,
        json!({"deviceId": "d1", "firmware": {"targetFirmwareId": v2}}),
    )
    .await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d1").await);
    let first = action_id(link(&ddi.poll("d1").await, "deploymentBase").unwrap());
    let deployment = format!("{}/deploymentBase/{first}", ddi.base("d1"));
    assert_eq!(
        ddi.feedback(
            &format!("{deployment}/feedback"),
            &status("proceeding", "none", &["downloading"])
        )
        .await,
        200
    );

    // A new target: the open action is to be canceled, nothing new until confirmed.
    span.patch_device(&c, "d1", json!({"firmware": {"targetFirmwareId": v3}}))
        .await;
    let base = ddi.poll("d1").await;
    assert!(link(&base, "deploymentBase").is_none(), "{base}");
    let cancel_url = link(&base, "cancelAction")
        .expect("cancel offered")
        .to_string();
    assert_eq!(action_id(&cancel_url), first);
    let cancel = ddi.get_json(&cancel_url, "DdiCancel").await;
    assert_eq!(cancel["cancelAction"]["stopId"], first.as_str());
    assert_eq!(action(&span, &c, "d1", &first).await["status"], "canceling");
    // Cancel feedback on an action that is not being canceled is unknown.
    assert_eq!(
        ddi.feedback(
            &format!("{}/cancelAction/999999/feedback", ddi.base("d1")),
            &status("closed", "success", &[])
        )
        .await,
        404
    );

    // The device confirms: the old action is canceled, the new target gets a new action.
    assert_eq!(
        ddi.feedback(
            &format!("{cancel_url}/feedback"),
            &status("closed", "success", &["stopped"])
        )
        .await,
        200
    );
    let base = ddi.poll("d1").await;
    assert!(link(&base, "cancelAction").is_none());
    let second = action_id(link(&base, "deploymentBase").expect("new deployment"));
    assert!(second.parse::<u64>().unwrap() > first.parse::<u64>().unwrap());
    let list = actions(&span, &c, "d1").await;
    let content = list["content"].as_array().unwrap();
    assert_eq!(content.len(), 2);
    assert_eq!(content[0]["status"], "canceled");
    assert_eq!(content[1]["actionId"], second.as_str());
    assert_eq!(content[1]["status"], "scheduled");
    assert_eq!(content[1]["image"]["imageId"], v3.as_str());
    assert_eq!(
        ddi.feedback(
            &format!("{deployment}/feedback"),
            &status("closed", "success", &[])
        )
        .await,
        410,
        "the canceled action is finished"
    );

    // Listing through our API evaluates too: a target set between polls shows at once.
    span.patch_device(&c, "d1", json!({"firmware": {"targetFirmwareId": v2}}))
        .await;
    let list = actions(&span, &c, "d1").await;
    assert_eq!(list["content"][1]["status"], "canceling");
}

#[tokio::test]
async fn failure_keeps_the_old_firmware_until_retargeted() {
    let (server, span, c) = start().await;
    let v1 = image(&span, &c, &bytes(1, 3000), "a.swu", "1.0").await;
    let v2 = image(&span, &c, &bytes(2, 3000), "b.swu", "2.0").await;
    span.device(
        &c,
        json!({"deviceId": "d1", "firmware": {"currentFirmwareId": v1, "targetFirmwareId": v2}}),
    )
    .await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d1").await);
    let url = link(&ddi.poll("d1").await, "deploymentBase")
        .unwrap()
        .to_string();
    assert_eq!(
        ddi.feedback(
            &format!("{url}/feedback"),
            &status("closed", "failure", &["flash write failed"])
        )
        .await,
        200
    );
    let d1 = device(&span, &c, "d1").await;
    assert_eq!(d1["firmware"]["currentFirmwareId"], v1.as_str());
    assert_eq!(span.usage(&c, &v2).await["currentDevices"], json!([]));
    let failed = action(&span, &c, "d1", &action_id(&url)).await;
    assert_eq!(failed["status"], "failure");
    assert!(failed["history"][1]["messages"]
        .as_array()
        .unwrap()
        .contains(&json!("flash write failed")));

    // Not sent again on every poll; setting the target again retries.
    let base = ddi.poll("d1").await;
    assert!(link(&base, "deploymentBase").is_none(), "{base}");
    assert!(link(&base, "installedBase").is_none());
    span.patch_device(&c, "d1", json!({"firmware": {"targetFirmwareId": v2}}))
        .await;
    let retry = link(&ddi.poll("d1").await, "deploymentBase")
        .expect("retried after a new target")
        .to_string();
    assert_ne!(action_id(&retry), action_id(&url));
}

/// Pool records of type 101 (versionNumbers 1..=n) associated with device type `thermo`.
async fn thermo_catalogue(ota: &Ota, versions: usize) -> Vec<Value> {
    let mut images = Vec::new();
    for record in afero_catalogue(ota, "thermo.swu", versions).await {
        images.push(associate(ota, "thermo", &record).await);
    }
    images
}

#[tokio::test]
async fn downgrade_only_when_targeted() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    let images = thermo_catalogue(&ota, 2).await;
    let c = span.collection("device").await;
    span.device(
        &c,
        json!({"deviceId": "t1", "deviceTypeId": "thermo", "versions": {"2101": "2"}}),
    )
    .await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "t1").await);
    // The device runs the newest (2): image 1 is older and not offered.
    assert!(link(&ddi.poll("t1").await, "deploymentBase").is_none());
    // It reports 1 (rolled back): the newer one is offered, an Afero image by device type.
    span.patch_device(&c, "t1", json!({"versions": {"2101": "1"}}))
        .await;
    let url = link(&ddi.poll("t1").await, "deploymentBase")
        .unwrap()
        .to_string();
    let deployment = ddi.get_json(&url, "DdiDeploymentBase").await;
    let chunk = &deployment["deployment"]["chunks"][0];
    assert_eq!(chunk["part"], "fw-101");
    assert_eq!(chunk["version"], "1.1.0");
    assert_eq!(chunk["artifacts"][0]["filename"], "thermo.swu");
    assert_eq!(
        ddi.feedback(
            &format!("{url}/feedback"),
            &status("closed", "success", &[])
        )
        .await,
        200
    );
    assert_eq!(
        device(&span, &c, "t1").await["versions"],
        json!({"2101": "2"})
    );
    assert!(link(&ddi.poll("t1").await, "deploymentBase").is_none());

    // An explicit target (a push of the old image) is a downgrade the device is sent.
    let old = images[0]["id"].as_str().unwrap();
    let response = ota
        .put(&format!("/deviceTypes/thermo/firmwareImages/{old}/push"))
        .json(&json!({"value": "t1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let url = link(&ddi.poll("t1").await, "deploymentBase")
        .expect("targeted downgrade offered")
        .to_string();
    let deployment = ddi.get_json(&url, "DdiDeploymentBase").await;
    assert_eq!(deployment["deployment"]["chunks"][0]["version"], "1.0.0");
}

#[tokio::test]
async fn config_data_is_stored_and_its_link_withdrawn() {
    let (server, span, c) = start().await;
    span.device(&c, json!({"deviceId": "d1"})).await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d1").await);
    let base = ddi.poll("d1").await;
    let config_url = link(&base, "configData")
        .expect("configData due")
        .to_string();
    assert!(link(&base, "deploymentBase").is_none());

    // Malformed: values must be strings; nothing is stored.
    let response = ddi
        .request(reqwest::Method::PUT, &config_url)
        .json(&json!({"data": {"hw": 2}}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "invalid-body").await;
    assert!(link(&ddi.poll("d1").await, "configData").is_some());

    // SWUpdate-style body (extra members) is accepted.
    let response = ddi
        .request(reqwest::Method::PUT, &config_url)
        .json(&json!({"id": "", "time": "20240101T000000", "status": {}, "data": {"hwRevision": "2", "VIN": "X1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(link(&ddi.poll("d1").await, "configData").is_none());
    let attributes = span
        .json(
            span.get(&format!("/collections/{c}/devices/d1/attributes")),
            200,
            "DdiAttributes",
        )
        .await;
    assert_eq!(
        attributes["attributes"],
        json!({"hwRevision": "2", "VIN": "X1"})
    );
    let response = ddi
        .request(reqwest::Method::PUT, &config_url)
        .json(&json!({"data": {"VIN": ""}, "mode": "remove"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let attributes = span
        .json(
            span.get(&format!("/collections/{c}/devices/d1/attributes")),
            200,
            "DdiAttributes",
        )
        .await;
    assert_eq!(attributes["attributes"], json!({"hwRevision": "2"}));
}

#[tokio::test]
async fn polling_interval_from_partner_and_collection() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    span.device(&c, json!({"deviceId": "d1"})).await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d1").await);
    let response = ota
        .put("/ddi/settings")
        .json(&json!({"pollingSleep": "00:00:30"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let settings: Value = response.json().await.unwrap();
    validate("DdiPartnerSettings", &settings);
    assert_eq!(
        ddi.poll("d1").await["config"]["polling"]["sleep"],
        "00:00:30"
    );
    span.patch_collection(&c, json!({"tags": {"ddi.pollingSleep": "01:00:00"}}))
        .await;
    assert_eq!(
        ddi.poll("d1").await["config"]["polling"]["sleep"],
        "01:00:00"
    );
    let response = ota
        .put("/ddi/settings")
        .json(&json!({"pollingSleep": "99:00"}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "validation-failed").await;
}

#[tokio::test]
async fn token_matrix() {
    let server = TestServer::builder()
        .client("acme", &["ota:read", "ota:write", "admin"])
        .client("other", &["ota:read", "ota:write", "admin"])
        .start();
    let span = Span::new(&server, 0).await;
    let ota = Ota::new(&server, 0).await;
    let other_ota = Ota::new(&server, 1).await;
    let c = span.collection("device").await;
    span.device(&c, json!({"deviceId": "d1"})).await;
    span.device(&c, json!({"deviceId": "d2"})).await;
    let d1_token = target_token(&span, &c, "d1").await;

    let poll = |auth: Option<String>, tenant: &str, controller: &str| {
        let ddi = Ddi::with(&server.url, tenant, auth);
        let controller = controller.to_string();
        async move { ddi.poll_status(&controller).await }
    };
    let target = |t: &str| Some(format!("TargetToken {t}"));
    let gateway = |t: &str| Some(format!("GatewayToken {t}"));

    assert_eq!(poll(target(&d1_token), "acme", "d1").await, 200);
    assert_eq!(poll(None, "acme", "d1").await, 401, "no token");
    assert_eq!(
        poll(target(&d1_token), "acme", "d2").await,
        401,
        "another device"
    );
    assert_eq!(poll(target("garbage"), "acme", "d1").await, 401);
    assert_eq!(
        poll(target(&d1_token), "other", "d1").await,
        401,
        "another tenant"
    );
    let bearer = server.token().await;
    assert_eq!(
        poll(Some(format!("Bearer {bearer}")), "acme", "d1").await,
        401,
        "OAuth tokens are not DDI credentials"
    );
    let response = Ddi::with(&server.url, "acme", None)
        .request(
            reqwest::Method::GET,
            &format!("{}/acme/controller/v1/d1", server.url),
        )
        .send()
        .await
        .unwrap();
    expect_problem(response, 401, "unauthorized").await;
    // A DDI token is not accepted on our API.
    let response = http()
        .get(format!("{}/collections/{c}", server.url))
        .header("authorization", format!("TargetToken {d1_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = http()
        .get(format!("{}/collections/{c}", server.url))
        .bearer_auth(&d1_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // Rotation: the old token stops working.
    let rotated = target_token(&span, &c, "d1").await;
    assert_eq!(poll(target(&d1_token), "acme", "d1").await, 401);
    assert_eq!(poll(target(&rotated), "acme", "d1").await, 200);
    let response = span
        .post(&format!("/collections/{c}/devices/nope/targetToken"))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;

    // Gateway tokens: admin scope, shown once, partner-bound.
    let response = ota.post("/ddi/gatewayTokens").send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    validate("DdiToken", &created);
    let gw = created["token"].as_str().unwrap().to_string();
    let listed: Value = ota.get_json("/ddi/gatewayTokens").await;
    validate("DdiGatewayTokenList", &listed);
    assert_eq!(listed["tokens"][0]["id"], created["id"]);
    assert!(!listed.to_string().contains(&gw), "never shown again");
    let response = other_ota
        .http
        .get(format!("{}/ddi/gatewayTokens", ota.base))
        .bearer_auth(&other_ota.token)
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
    assert_eq!(poll(gateway(&gw), "acme", "d1").await, 200);
    assert_eq!(poll(gateway(&gw), "acme", "d2").await, 200);
    assert_eq!(
        poll(gateway(&gw), "other", "d1").await,
        401,
        "another tenant"
    );

    // A gateway's first poll of an unknown controller registers it in the default collection.
    assert_eq!(poll(gateway(&gw), "acme", "fresh-1").await, 200);
    let settings: Value = ota.get_json("/ddi/settings").await;
    validate("DdiPartnerSettings", &settings);
    let default = settings["defaultCollectionId"]
        .as_str()
        .unwrap()
        .to_string();
    let fresh = device(&span, &default, "fresh-1").await;
    assert_eq!(fresh["collectionId"], default.as_str());
    let collection = span
        .json(
            span.get(&format!("/collections/{default}")),
            200,
            "Collection",
        )
        .await;
    assert_eq!(collection["tags"]["ddi-default"], "true");
    assert_eq!(poll(gateway(&gw), "acme", "fresh-2").await, 200);
    device(&span, &default, "fresh-2").await;
    // A target token never registers; the other partner does not see acme's devices.
    assert_eq!(poll(target(&rotated), "acme", "fresh-3").await, 401);
    let other_span = Span::new(&server, 1).await;
    let response = other_span
        .get(&format!("/collections/{default}/devices/fresh-1"))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;

    // A deleted device's target token stops working, also for a device registered later
    // under the same id.
    let d2_token = target_token(&span, &c, "d2").await;
    assert_eq!(poll(target(&d2_token), "acme", "d2").await, 200);
    let response = span
        .delete(&format!("/collections/{c}/devices/d2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(poll(target(&d2_token), "acme", "d2").await, 401);
    span.device(&c, json!({"deviceId": "d2"})).await;
    assert_eq!(poll(target(&d2_token), "acme", "d2").await, 401);

    // Deleted gateway tokens stop working.
    let id = created["id"].as_str().unwrap();
    let response = ota
        .delete(&format!("/ddi/gatewayTokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(poll(gateway(&gw), "acme", "d1").await, 401);
}

#[tokio::test]
async fn malformed_feedback_is_400_and_changes_nothing() {
    let (server, span, c) = start().await;
    let v1 = image(&span, &c, &bytes(1, 2000), "a.swu", "1.0").await;
    span.device(
        &c,
        json!({"deviceId": "d1", "firmware": {"targetFirmwareId": v1}}),
    )
    .await;
    span.device(&c, json!({"deviceId": "d2"})).await;
    let ddi = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d1").await);
    let url = link(&ddi.poll("d1").await, "deploymentBase")
        .unwrap()
        .to_string();
    let id = action_id(&url);
    let before = action(&span, &c, "d1", &id).await;

    let bodies = [
        json!({}),
        json!({"status": {"execution": "exploded", "result": {"finished": "success"}}}),
        json!({"status": {"execution": "closed"}}),
        json!({"status": {"execution": "closed", "result": {"finished": "maybe"}}}),
        json!({"status": {"execution": "closed", "result": {"finished": "success"}, "details": "x"}}),
        json!([1, 2]),
    ];
    for body in bodies {
        let response = ddi
            .request(reqwest::Method::POST, &format!("{url}/feedback"))
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_problem(response, 400, "invalid-body").await;
    }
    let response = ddi
        .request(reqwest::Method::POST, &format!("{url}/feedback"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "invalid-body").await;
    assert_eq!(
        action(&span, &c, "d1", &id).await,
        before,
        "nothing changed"
    );

    // Unknown actions and another device's action are not found.
    assert_eq!(
        ddi.feedback(
            &format!("{}/deploymentBase/987654/feedback", ddi.base("d1")),
            &status("closed", "success", &[])
        )
        .await,
        404
    );
    let d2 = Ddi::target(&server.url, "acme", &target_token(&span, &c, "d2").await);
    assert_eq!(
        d2.feedback(
            &format!("{}/deploymentBase/{id}/feedback", d2.base("d2")),
            &status("closed", "success", &[])
        )
        .await,
        404
    );
    let (code, _) = d2
        .download(&format!("{}/deploymentBase/{id}", d2.base("d2")), None)
        .await;
    assert_eq!(code, 404);
    assert_eq!(action(&span, &c, "d1", &id).await, before);
}

#[tokio::test]
async fn concurrent_first_polls_register_once_and_create_one_action() {
    let (server, span, c) = start().await;
    let ota = Ota::new(&server, 0).await;
    let v1 = image(&span, &c, &bytes(1, 2000), "a.swu", "1.0").await;
    span.device(
        &c,
        json!({"deviceId": "d1", "firmware": {"targetFirmwareId": v1}}),
    )
    .await;
    let token = target_token(&span, &c, "d1").await;
    let ddi = Ddi::target(&server.url, "acme", &token);
    let polls = (0..16).map(|_| ddi.poll("d1"));
    let answers = futures_util::future::join_all(polls).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| action_id(link(a, "deploymentBase").unwrap()))
        .collect();
    assert_eq!(ids.len(), 1, "one action for concurrent polls: {ids:?}");
    assert_eq!(actions(&span, &c, "d1").await["totalElements"], 1);

    // Concurrent first polls of new controllers through a gateway: one default collection.
    let created: Value = ota
        .post("/ddi/gatewayTokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gateway = Ddi::gateway(&server.url, "acme", created["token"].as_str().unwrap());
    let controllers: Vec<String> = (0..12).map(|i| format!("new-{i}")).collect();
    let polls = controllers.iter().map(|id| gateway.poll(id));
    futures_util::future::join_all(polls).await;
    let collections = span
        .json(span.get("/collections"), 200, "CollectionList")
        .await;
    let defaults: Vec<&Value> = collections["collections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tags"]["ddi-default"] == "true")
        .collect();
    assert_eq!(defaults.len(), 1, "{collections}");
    let default = defaults[0]["collectionId"].as_str().unwrap();
    let devices = span
        .json(
            span.get(&format!("/collections/{default}/devices")),
            200,
            "DeviceList",
        )
        .await;
    assert_eq!(
        devices["devices"].as_array().unwrap().len(),
        controllers.len()
    );
}
