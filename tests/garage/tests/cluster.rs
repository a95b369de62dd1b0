//! The harness itself against the real binary: the cluster stores through any node, survives
//! one node's death (replication factor 3, write quorum 2) and is unreachable when all are down.

use bytes::Bytes;
use fwrepo_garage::GarageCluster;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_keeps_serving_with_one_node_down() {
    let mut cluster = tokio::task::spawn_blocking(GarageCluster::start)
        .await
        .unwrap();
    let s3 = cluster.s3_client();
    put(&s3, "before", b"stored by three").await;
    assert_eq!(cluster.object_keys().await, vec!["before".to_string()]);

    cluster.kill_node(2);
    put(&s3, "degraded", b"stored by two").await;
    assert_eq!(get(&s3, "before").await, &b"stored by three"[..]);

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.restart_node(2);
        cluster
    })
    .await
    .unwrap();
    assert_eq!(get(&s3, "degraded").await, &b"stored by two"[..]);

    cluster.stop_all();
    let unreachable = s3
        .put(&Path::from("down"), PutPayload::from_static(b"x"))
        .await;
    assert!(unreachable.is_err(), "a stopped cluster accepted a write");

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start_all();
        cluster
    })
    .await
    .unwrap();
    let mut keys = cluster.object_keys().await;
    keys.sort();
    assert_eq!(keys, vec!["before".to_string(), "degraded".to_string()]);
}

async fn put(s3: &impl ObjectStore, key: &str, bytes: &'static [u8]) {
    s3.put(&Path::from(key), PutPayload::from_static(bytes))
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"));
}

async fn get(s3: &impl ObjectStore, key: &str) -> Bytes {
    s3.get(&Path::from(key))
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e}"))
        .bytes()
        .await
        .unwrap()
}
