//! Device check-in: what it answers under each management scope, rollback by explicit
//! target, Afero eligibility by device type without downgrades, Afero push as the device's
//! target, and usage lists before and after a device reports the new version.

mod span_common;

use fwrepo_e2e::{expect_problem, sha256_hex, Ota, TestServer};
use serde_json::{json, Value};
use span_common::{afero_catalogue, associate, bytes, Span};

fn offered(answer: &Value) -> &str {
    assert_eq!(answer["action"], "update", "expected an update: {answer}");
    answer["image"]["id"].as_str().unwrap()
}

fn assert_none(answer: &Value) {
    assert_eq!(answer["action"], "none", "expected nothing to do: {answer}");
    assert!(answer.get("image").is_none());
}

#[tokio::test]
async fn scopes_targets_rollback_and_usage() {
    let server = TestServer::start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let v1_bytes = bytes(10, 40_000);
    let v1 = span.image(&c, &v1_bytes, "1.0").await;
    let v2_bytes = bytes(11, 41_000);
    let v2 = span.image(&c, &v2_bytes, "2.0").await;
    span.device(&c, json!({"deviceId": "d1", "tags": {"site": "lab"}}))
        .await;
    span.device(&c, json!({"deviceId": "d2"})).await;

    // Device scope, no targets, no device type: nothing to do.
    let answer = span
        .checkin(&c, "d1", json!({"firmwareVersion": "1.0"}))
        .await;
    assert_none(&answer);
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/d1")),
            200,
            "Device",
        )
        .await;
    assert_eq!(device["firmware"]["currentFirmwareId"], v1.as_str());
    assert_eq!(device["firmware"]["state"], "current");
    assert!(device["lastCheckin"].as_u64().is_some());

    // The device's own target: offered, with a URL the device can resume with Range.
    span.patch_device(&c, "d1", json!({"firmware": {"targetFirmwareId": v2}}))
        .await;
    let usage = span.usage(&c, &v2).await;
    assert_eq!(
        usage,
        json!({"firmwareId": v2, "targetedDevices": ["d1"], "currentDevices": []})
    );
    let answer = span
        .checkin(&c, "d1", json!({"firmwareVersion": "1.0"}))
        .await;
    assert_eq!(offered(&answer), v2);
    let image = &answer["image"];
    assert_eq!(image["source"], "collection");
    assert_eq!(image["version"], "2.0");
    assert_eq!(image["sha256"], sha256_hex(&v2_bytes).as_str());
    assert_eq!(image["length"], 41_000);
    let url = image["url"].as_str().unwrap();
    let (status, head) = span.download(url, Some("bytes=0-19999")).await;
    assert_eq!((status, head.as_slice()), (206, &v2_bytes[..20_000]));
    let (status, tail) = span.download(url, Some("bytes=20000-")).await;
    assert_eq!(status, 206);
    assert_eq!([head, tail].concat(), v2_bytes);
    let (status, _) = span.download(url, Some("bytes=50000-")).await;
    assert_eq!(status, 416);
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/d1")),
            200,
            "Device",
        )
        .await;
    assert_eq!(device["firmware"]["state"], "pending");

    // The device installs it: usage moves it from targeted to current.
    let answer = span
        .checkin(&c, "d1", json!({"currentFirmwareId": v2}))
        .await;
    assert_none(&answer);
    let usage = span.usage(&c, &v2).await;
    assert_eq!(
        usage,
        json!({"firmwareId": v2, "targetedDevices": [], "currentDevices": ["d1"]})
    );
    assert_eq!(
        span.usage(&c, &v1).await["currentDevices"],
        json!([]),
        "d1 left 1.0"
    );

    // Collection scope: the collection's target rules, even older (a rollback); the device's
    // own target is ignored but kept.
    let collection = span
        .patch_collection(
            &c,
            json!({"firmware": {"management": "collection", "targetFirmwareId": v1}}),
        )
        .await;
    assert_eq!(collection["firmware"]["targetFirmwareId"], v1.as_str());
    let answer = span
        .checkin(&c, "d1", json!({"firmwareVersion": "2.0"}))
        .await;
    assert_eq!(offered(&answer), v1, "rollback to an older explicit target");
    let answer = span
        .checkin(&c, "d2", json!({"firmwareVersion": "1.0"}))
        .await;
    assert_none(&answer);
    let usage = span.usage(&c, &v1).await;
    assert_eq!(usage["targetedDevices"], json!(["d1"]));
    assert_eq!(usage["currentDevices"], json!(["d2"]));
    span.checkin(&c, "d1", json!({"firmwareVersion": "1.0"}))
        .await;
    let collection = span
        .json(span.get(&format!("/collections/{c}")), 200, "Collection")
        .await;
    assert_eq!(
        collection["firmware"]["currentFirmwareId"],
        v1.as_str(),
        "every device runs 1.0"
    );

    // Disabled: nothing is offered whatever the targets say.
    span.patch_collection(&c, json!({"firmware": {"management": "disabled"}}))
        .await;
    let answer = span
        .checkin(&c, "d1", json!({"firmwareVersion": "1.0"}))
        .await;
    assert_none(&answer);
    assert_eq!(
        span.usage(&c, &v2).await["targetedDevices"],
        json!([]),
        "no target is in effect when disabled"
    );
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/d1")),
            200,
            "Device",
        )
        .await;
    assert_eq!(device["firmware"]["state"], "unmanaged");

    // Back to device scope: d1's own target (2.0) applies again.
    span.patch_collection(&c, json!({"firmware": {"management": "device"}}))
        .await;
    let answer = span
        .checkin(&c, "d1", json!({"firmwareVersion": "1.0"}))
        .await;
    assert_eq!(offered(&answer), v2);

    // An image a device targets cannot be deleted; the device list shows both devices.
    let response = span
        .delete(&format!("/collections/{c}/firmware/{v2}"))
        .send()
        .await
        .unwrap();
    expect_problem(response, 409, "in-use").await;
    let list = span
        .json(
            span.get(&format!("/collections/{c}/devices")),
            200,
            "DeviceList",
        )
        .await;
    let ids: Vec<&str> = list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deviceId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["d1", "d2"]);
    assert_eq!(list["devices"][0]["tags"], json!({"site": "lab"}));

    // Bad reports and unknown devices.
    let response = span
        .post(&format!("/collections/{c}/devices/d1/checkin"))
        .json(&json!({"versions": {"101": "1"}}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "validation-failed").await;
    let response = span
        .post(&format!("/collections/{c}/devices/d1/checkin"))
        .json(&json!({"currentFirmwareId": "424242"}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 400, "validation-failed").await;
    let response = span
        .post(&format!("/collections/{c}/devices/ghost/checkin"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 404, "not-found").await;
    let response = span
        .post(&format!("/collections/{c}/devices"))
        .json(&json!({"deviceId": "d1"}))
        .send()
        .await
        .unwrap();
    expect_problem(response, 409, "already-exists").await;
}

#[tokio::test]
async fn device_type_eligibility_never_downgrades() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    let records = afero_catalogue(&ota, "mcu", 3).await;
    let image1 = associate(&ota, "thermo", &records[0]).await;
    let image2 = associate(&ota, "thermo", &records[1]).await;
    let c = span.collection("collection").await;
    span.device(&c, json!({"deviceId": "t1", "deviceTypeId": "thermo"}))
        .await;

    // Installed 1 → the newest associated (2), with the pool record's repository URL.
    let answer = span
        .checkin(&c, "t1", json!({"versions": {"2101": "1"}}))
        .await;
    assert_eq!(offered(&answer), image2["id"].as_str().unwrap());
    let image = &answer["image"];
    assert_eq!(image["source"], "deviceType");
    assert_eq!(image["type"], 101);
    assert_eq!(image["versionNumber"], "2");
    assert_eq!(image["versionAttributeId"], 2101);
    assert_eq!(image["version"], "1.1.0");
    assert_eq!(image["url"], records[1]["url"]);
    assert_eq!(image["sha256"], records[1]["sha256"]);
    let (status, part) = span
        .download(image["url"].as_str().unwrap(), Some("bytes=10-19"))
        .await;
    assert_eq!((status, part.as_slice()), (206, &bytes(21, 3000)[10..20]));

    // Installed 2 → nothing; installed 3 (newer than anything associated) → never a downgrade.
    assert_none(
        &span
            .checkin(&c, "t1", json!({"versions": {"2101": "2"}}))
            .await,
    );
    assert_none(
        &span
            .checkin(&c, "t1", json!({"versions": {"2101": "3"}}))
            .await,
    );
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/t1")),
            200,
            "Device",
        )
        .await;
    assert_eq!(device["versions"], json!({"2101": "3"}));

    // A newer association is offered to a device on 2; a type it does not report is not.
    let image3 = associate(&ota, "thermo", &records[2]).await;
    let answer = span
        .checkin(&c, "t1", json!({"versions": {"2101": "2"}}))
        .await;
    assert_eq!(offered(&answer), image3["id"].as_str().unwrap());
    span.device(&c, json!({"deviceId": "t2", "deviceTypeId": "thermo"}))
        .await;
    assert_none(
        &span
            .checkin(&c, "t2", json!({"versions": {"2102": "1"}}))
            .await,
    );
    // A device without a device type has no eligibility.
    span.device(&c, json!({"deviceId": "t3"})).await;
    assert_none(
        &span
            .checkin(&c, "t3", json!({"versions": {"2101": "1"}}))
            .await,
    );
    // Disabled ignores the versions altogether.
    span.patch_collection(&c, json!({"firmware": {"management": "disabled"}}))
        .await;
    assert_none(
        &span
            .checkin(&c, "t1", json!({"versions": {"2101": "1"}}))
            .await,
    );
    let _ = image1;
}

#[tokio::test]
async fn afero_push_is_the_devices_target() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    let span = Span::new(&server, 0).await;
    let records = afero_catalogue(&ota, "mcu", 2).await;
    let old = associate(&ota, "thermo", &records[0]).await;
    associate(&ota, "thermo", &records[1]).await;
    let c = span.collection("device").await;
    span.device(&c, json!({"deviceId": "p1", "deviceTypeId": "thermo"}))
        .await;
    assert_none(
        &span
            .checkin(&c, "p1", json!({"versions": {"2101": "2"}}))
            .await,
    );

    // Push the older image: it is the device's explicit target, so it is offered (rollback).
    let old_id = old["id"].as_str().unwrap();
    let response = ota
        .put(&format!("/deviceTypes/thermo/firmwareImages/{old_id}/push"))
        .json(&json!({"value": "p1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let device = span
        .json(
            span.get(&format!("/collections/{c}/devices/p1")),
            200,
            "Device",
        )
        .await;
    assert_eq!(device["firmware"]["targetFirmwareId"], old_id);
    let answer = span
        .checkin(&c, "p1", json!({"versions": {"2101": "2"}}))
        .await;
    assert_eq!(offered(&answer), old_id);
    assert_eq!(answer["image"]["versionNumber"], "1");
    assert!(answer["reason"].as_str().unwrap().contains("push"));
    assert_none(
        &span
            .checkin(&c, "p1", json!({"versions": {"2101": "1"}}))
            .await,
    );

    // In collection scope a push is not in effect; the collection's target is.
    let image = span.image(&c, &bytes(30, 500), "coll-1").await;
    span.patch_collection(
        &c,
        json!({"firmware": {"management": "collection", "targetFirmwareId": image}}),
    )
    .await;
    let answer = span
        .checkin(&c, "p1", json!({"versions": {"2101": "1"}}))
        .await;
    assert_eq!(offered(&answer), image);

    // Back in device scope, a later device PATCH supersedes the push.
    span.patch_collection(&c, json!({"firmware": {"management": "device"}}))
        .await;
    let device = span
        .patch_device(&c, "p1", json!({"firmware": {"targetFirmwareId": image}}))
        .await;
    assert_eq!(device["firmware"]["targetFirmwareId"], image.as_str());
    let answer = span
        .checkin(&c, "p1", json!({"versions": {"2101": "1"}}))
        .await;
    assert_eq!(offered(&answer), image);

    // Clearing the device target leaves no explicit target: device-type eligibility again.
    let device = span
        .patch_device(&c, "p1", json!({"firmware": {"targetFirmwareId": ""}}))
        .await;
    assert!(device["firmware"].get("targetFirmwareId").is_none());
    let answer = span
        .checkin(&c, "p1", json!({"versions": {"2101": "1"}}))
        .await;
    assert_eq!(answer["image"]["versionNumber"], "2");

    // A push to a device registered later is honoured too.
    let response = ota
        .put(&format!("/deviceTypes/thermo/firmwareImages/{old_id}/push"))
        .json(&json!({"value": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    span.device(&c, json!({"deviceId": "late", "deviceTypeId": "thermo"}))
        .await;
    let answer = span
        .checkin(&c, "late", json!({"versions": {"2101": "2"}}))
        .await;
    assert_eq!(offered(&answer), old_id);
}

/// Issue 11 item 6: a check-in reads the device, decides, then records the report. A PATCH
/// landing in between must survive: the check-in may not write back the current image it
/// read before the PATCH. Many rounds of one PATCH racing several check-ins that report
/// nothing about the current image; after each round the PATCH's value must be the one kept.
#[tokio::test]
async fn checkin_never_overwrites_a_concurrent_patch() {
    let server = TestServer::start();
    let span = std::sync::Arc::new(Span::new(&server, 0).await);
    let c = span.collection("device").await;
    let images = [
        span.image(&c, &bytes(20, 30_000), "1.0").await,
        span.image(&c, &bytes(21, 30_000), "2.0").await,
    ];
    span.device(&c, json!({"deviceId": "racer"})).await;
    for round in 0..40 {
        let wanted = images[round % 2].clone();
        let checkins: Vec<_> = (0..4)
            .map(|_| {
                let (span, c) = (span.clone(), c.clone());
                tokio::spawn(async move { span.checkin(&c, "racer", json!({})).await })
            })
            .collect();
        let patch = {
            let (span, c, wanted) = (span.clone(), c.clone(), wanted.clone());
            tokio::spawn(async move {
                span.patch_device(
                    &c,
                    "racer",
                    json!({"firmware": {"currentFirmwareId": wanted}}),
                )
                .await
            })
        };
        for checkin in checkins {
            checkin.await.unwrap();
        }
        let patched = patch.await.unwrap();
        assert_eq!(patched["firmware"]["currentFirmwareId"], wanted.as_str());
        let device = span
            .json(
                span.get(&format!("/collections/{c}/devices/racer")),
                200,
                "Device",
            )
            .await;
        assert_eq!(
            device["firmware"]["currentFirmwareId"],
            wanted.as_str(),
            "round {round}: a check-in overwrote the PATCH"
        );
    }
}
