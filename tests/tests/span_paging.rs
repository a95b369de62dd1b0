//! Paged lists over HTTP: Span collections, a collection's images, devices and an image's
//! usage (`?page=&size=`, the whole list up to 1000 without them), and device-type images
//! (the Afero page object), against a real server.

mod span_common;

use fwrepo_e2e::{expect_problem, validate, Ota, TestServer};
use serde_json::{json, Value};
use span_common::{bytes, Span};

fn ids(list: &Value, field: &str, id: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry[id].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn span_lists_answer_pages_and_the_whole_small_list_by_default() {
    let server = TestServer::start();
    let span = Span::new(&server, 0).await;
    let c = span.collection("device").await;
    let image = span.image(&c, &bytes(1, 4096), "1.0.0").await;
    span.image(&c, &bytes(2, 4096), "1.1.0").await;
    span.image(&c, &bytes(3, 4096), "1.2.0").await;
    let mut device_ids = Vec::new();
    for i in 0..120 {
        let id = format!("dev-{i:03}");
        // Every third device targets the first image.
        let target = if i % 3 == 0 { image.as_str() } else { "" };
        span.device(
            &c,
            json!({"deviceId": id, "firmware": {"targetFirmwareId": target}}),
        )
        .await;
        device_ids.push(id);
    }

    // Without paging parameters: every device, as the unpaged Span API answers.
    let all = span
        .json(
            span.get(&format!("/collections/{c}/devices")),
            200,
            "DeviceList",
        )
        .await;
    assert_eq!(ids(&all, "devices", "deviceId"), device_ids);
    assert_eq!(
        all["page"],
        json!({"number": 0, "size": 1000, "totalPages": 1, "numberOfElements": 120,
               "totalElements": 120, "sort": "id,asc"})
    );

    // Pages of 50 partition the list in id order.
    let mut paged = Vec::new();
    for page in 0..3 {
        let body = span
            .json(
                span.get(&format!("/collections/{c}/devices?page={page}&size=50")),
                200,
                "DeviceList",
            )
            .await;
        assert_eq!(body["page"]["totalElements"], 120);
        assert_eq!(body["page"]["totalPages"], 3);
        paged.extend(ids(&body, "devices", "deviceId"));
    }
    assert_eq!(paged, device_ids);
    let past = span
        .json(
            span.get(&format!("/collections/{c}/devices?page=9&size=50")),
            200,
            "DeviceList",
        )
        .await;
    assert_eq!(
        (
            past["devices"].clone(),
            past["page"]["numberOfElements"].clone()
        ),
        (json!([]), json!(0))
    );

    // Images page the same way.
    let images = span
        .json(
            span.get(&format!("/collections/{c}/firmware?page=1&size=2")),
            200,
            "CollectionImageList",
        )
        .await;
    assert_eq!(images["images"].as_array().unwrap().len(), 1);
    assert_eq!(images["images"][0]["version"], "1.2.0");
    assert_eq!(images["page"]["totalElements"], 3);

    // Usage covers one page of the collection's devices; the pages together, all of them.
    let mut targeted = Vec::new();
    for page in 0..3 {
        let usage = span
            .json(
                span.get(&format!(
                    "/collections/{c}/firmware/{image}/usage?page={page}&size=50"
                )),
                200,
                "FirmwareUsage",
            )
            .await;
        assert_eq!(usage["page"]["totalElements"], 120);
        let on_page: Vec<String> =
            serde_json::from_value(usage["targetedDevices"].clone()).unwrap();
        assert!(
            on_page.len() <= 17,
            "a page names only its own devices: {on_page:?}"
        );
        targeted.extend(on_page);
    }
    let expected: Vec<String> = device_ids.iter().step_by(3).cloned().collect();
    assert_eq!(targeted, expected);

    // Collections: the partner's, paged.
    span.collection("collection").await;
    span.collection("disabled").await;
    let first = span
        .json(span.get("/collections?size=2"), 200, "CollectionList")
        .await;
    let second = span
        .json(
            span.get("/collections?size=2&page=1"),
            200,
            "CollectionList",
        )
        .await;
    assert_eq!(first["page"]["totalElements"], 3);
    assert_eq!(
        ids(&first, "collections", "collectionId").len()
            + ids(&second, "collections", "collectionId").len(),
        3
    );

    // Limits are the pool's: a problem for a size outside 1-1000 or a page that is no number.
    for query in ["size=0", "size=1001", "page=x", "page=-1"] {
        let response = span
            .get(&format!("/collections/{c}/devices?{query}"))
            .send()
            .await
            .unwrap();
        expect_problem(response, 400, "invalid-paging").await;
    }
    let response = span.get("/collections?size=1001").send().await.unwrap();
    expect_problem(response, 400, "invalid-paging").await;
}

#[tokio::test]
async fn device_type_images_come_a_page_at_a_time() {
    let server = TestServer::start();
    let ota = Ota::new(&server, 0).await;
    ota.create_type(101).await;
    ota.create_type(102).await;
    let mut image_ids = Vec::new();
    for i in 0..7u8 {
        let fw_type = if i < 5 { 101 } else { 102 };
        let record = ota
            .publish(fw_type, "app", &format!("1.{i}.0"), &["main"], vec![i; 64])
            .await;
        let created = ota
            .post("/deviceTypes/dt-1/firmwareImages")
            .json(&record)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let image: Value = created.json().await.unwrap();
        image_ids.push(image["id"].as_str().unwrap().to_string());
    }
    let page = |query: &str| {
        let request = ota.get(&format!("/deviceTypes/dt-1/firmwareImages?{query}"));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            validate("FirmwareImagePage", &body);
            body
        }
    };
    let content_ids = |body: &Value| ids(body, "content", "id");

    let first = page("size=3").await;
    assert_eq!(
        (first["totalElements"].clone(), first["totalPages"].clone()),
        (json!(7), json!(3))
    );
    assert_eq!(content_ids(&first), image_ids[..3]);
    let last = page("size=3&page=2").await;
    assert_eq!(content_ids(&last), image_ids[6..]);
    let newest = page("size=2&sort=id,desc").await;
    assert_eq!(
        content_ids(&newest),
        vec![image_ids[6].clone(), image_ids[5].clone()]
    );
    let by_number = page("size=2&sort=versionNumber,desc").await;
    assert_eq!(by_number["content"][0]["type"], 102);

    // One type: its own total.
    let response = ota
        .get("/deviceTypes/dt-1/firmwareImages/types/101?size=2&page=2")
        .send()
        .await
        .unwrap();
    let typed: Value = response.json().await.unwrap();
    assert_eq!(typed["totalElements"], 5);
    assert_eq!(content_ids(&typed), image_ids[4..5]);

    // A tag filter and a sort by a pool field page too.
    let tagged = page("tags=main&size=4&page=1&sort=version,desc").await;
    assert_eq!(tagged["totalElements"], 7);
    assert_eq!(tagged["content"][0]["version"], "1.2.0");

    // After a dissociation the totals follow.
    let gone = ota
        .delete("/deviceTypes/dt-1/firmwareImages/types/102/versionNumbers/1")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(page("size=3").await["totalElements"], 6);
}
