//! Webhook delivery ids: recorded once, refused again within a day, forgotten after it.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    a_delivery_is_new_once_a_day,
    a_forgotten_delivery_is_new_again
);

async fn a_delivery_is_new_once_a_day(db: &TestStore) {
    let store: &dyn Store = &**db;
    let day = circa_store::store::DELIVERY_RETENTION_MS;
    let a = project(store, "gh/acme/a").await;
    let b = project(store, "gh/acme/b").await;
    assert!(store.record_delivery(&a.id, "d-1", T0).await.unwrap());
    assert!(!store.record_delivery(&a.id, "d-1", T0 + 1).await.unwrap());
    assert!(!store.record_delivery(&a.id, "d-1", T0 + day).await.unwrap());
    // Another project's delivery of the same id is its own.
    assert!(store.record_delivery(&b.id, "d-1", T0 + 2).await.unwrap());
    assert!(store.record_delivery(&a.id, "d-2", T0 + 3).await.unwrap());
    // Past a day, the first record is purged by the next call and the id is new again.
    assert!(
        store
            .record_delivery(&a.id, "d-1", T0 + day + 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_delivery(&a.id, "d-2", T0 + day + 2)
            .await
            .unwrap()
    );
    let e = store
        .record_delivery(&"no-such-project".into(), "d-3", T0)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
}

async fn a_forgotten_delivery_is_new_again(db: &TestStore) {
    let store: &dyn Store = &**db;
    let a = project(store, "gh/acme/a").await;
    let b = project(store, "gh/acme/b").await;
    assert!(store.record_delivery(&a.id, "d-1", T0).await.unwrap());
    assert!(store.record_delivery(&b.id, "d-1", T0).await.unwrap());
    assert!(store.forget_delivery(&a.id, "d-1").await.unwrap());
    assert!(!store.forget_delivery(&a.id, "d-1").await.unwrap());
    assert!(store.record_delivery(&a.id, "d-1", T0 + 1).await.unwrap());
    // Only that project's record was forgotten.
    assert!(!store.record_delivery(&b.id, "d-1", T0 + 1).await.unwrap());
}
