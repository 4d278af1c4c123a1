//! Blobs on a local folder, and on S3 through a real `moto_server` when `CIRCA_TEST_MOTO`
//! names its executable (skipped otherwise, unless `CI_REQUIRE_S3=1`).

use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use circa_store::{BlobError, Blobs, S3Config};
use futures_util::TryStreamExt;

use crate::moto::Moto;

#[tokio::test]
async fn blobs_in_a_local_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs/not/yet/there");
    let blobs = Blobs::local(&root).unwrap();
    assert!(root.is_dir());
    conformance(&blobs, dir.path()).await;
    // Deleting the last object of a folder removes the folder.
    assert!(!root.join("logs").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_in_an_s3_bucket() {
    let Some(moto) = std::env::var_os("CIRCA_TEST_MOTO") else {
        if std::env::var("CI_REQUIRE_S3").is_ok_and(|v| v == "1") {
            panic!("CI_REQUIRE_S3=1 but CIRCA_TEST_MOTO does not name a moto_server");
        }
        crate::backends::note("s3: skipped (set CIRCA_TEST_MOTO to a moto_server executable)");
        return;
    };
    let server = Moto::start(Path::new(&moto));
    crate::backends::note(&format!("s3: moto_server on 127.0.0.1:{}", server.port));
    let blobs = Blobs::s3(S3Config {
        endpoint: Some(format!("http://127.0.0.1:{}", server.port)),
        bucket: "circa".into(),
        region: "us-east-1".into(),
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
        allow_http: true,
    })
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    conformance(&blobs, scratch.path()).await;
}

/// What every Blobs backend does; `scratch` is a folder for files to upload.
async fn conformance(blobs: &Blobs, scratch: &Path) {
    // Keys that are not plain relative paths are refused before anything happens.
    for key in ["", "/etc/passwd", "../x", "a/../../b", "a//b", "a/"] {
        let refused = blobs.put(key, Bytes::from_static(b"x")).await;
        assert!(
            matches!(refused, Err(BlobError::InvalidKey(_))),
            "{key:?}: {refused:?}"
        );
        assert!(
            matches!(blobs.get(key).await, Err(BlobError::InvalidKey(_))),
            "{key:?}"
        );
    }

    assert_eq!(blobs.get("logs/t1/0.zst").await.unwrap(), None);
    assert!(blobs.get_stream("logs/t1/0.zst").await.unwrap().is_none());
    blobs
        .put("logs/t1/0.zst", Bytes::from_static(b"step zero"))
        .await
        .unwrap();
    blobs
        .put("logs/t1/1.zst", Bytes::from_static(b"step one!"))
        .await
        .unwrap();
    blobs
        .put("logs/t10/0.zst", Bytes::from_static(b"other"))
        .await
        .unwrap();
    blobs
        .put("artifacts/j/0/out.txt", Bytes::new())
        .await
        .unwrap();
    assert_eq!(
        blobs.get("logs/t1/0.zst").await.unwrap().as_deref(),
        Some(&b"step zero"[..])
    );
    blobs
        .put("logs/t1/0.zst", Bytes::from_static(b"replaced"))
        .await
        .unwrap();
    assert_eq!(
        blobs.get("logs/t1/0.zst").await.unwrap().as_deref(),
        Some(&b"replaced"[..])
    );
    assert_eq!(
        blobs.get("artifacts/j/0/out.txt").await.unwrap().as_deref(),
        Some(&b""[..])
    );

    assert_eq!(
        blobs.list("logs/t1").await.unwrap(),
        [
            ("logs/t1/0.zst".to_string(), 8),
            ("logs/t1/1.zst".to_string(), 9)
        ]
    );
    assert_eq!(blobs.list("logs/t1/").await.unwrap().len(), 2);
    assert_eq!(blobs.list("").await.unwrap().len(), 4);
    assert!(blobs.list("nothing/here").await.unwrap().is_empty());

    // A large file goes up in parts and comes back as a stream.
    let big: Vec<u8> = (0..20 * 1024 * 1024 + 12_345)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    let file = scratch.join("big.bin");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(&big)
        .unwrap();
    assert_eq!(
        blobs.put_file("workspaces/w/big.bin", &file).await.unwrap(),
        big.len() as u64
    );
    let (size, stream) = blobs
        .get_stream("workspaces/w/big.bin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(size, big.len() as u64);
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    assert!(chunks.concat() == big, "the big file reads back intact");

    let small = scratch.join("small.txt");
    std::fs::write(&small, b"tiny").unwrap();
    assert_eq!(
        blobs
            .put_file("workspaces/w/small.txt", &small)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        blobs
            .get("workspaces/w/small.txt")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"tiny"[..])
    );
    let missing = blobs
        .put_file("workspaces/w/none", &scratch.join("none"))
        .await;
    assert!(matches!(missing, Err(BlobError::Io { .. })), "{missing:?}");

    for key in [
        "logs/t1/0.zst",
        "logs/t1/1.zst",
        "logs/t10/0.zst",
        "workspaces/w/big.bin",
    ] {
        blobs.delete(key).await.unwrap();
    }
    blobs.delete("logs/t1/0.zst").await.unwrap();
    assert_eq!(blobs.get("logs/t1/0.zst").await.unwrap(), None);
    assert_eq!(
        blobs.list("").await.unwrap(),
        [
            ("artifacts/j/0/out.txt".to_string(), 0),
            ("workspaces/w/small.txt".to_string(), 4)
        ]
    );
}
