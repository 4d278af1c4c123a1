//! Checkout keys: stored sealed, found by either fingerprint, one preferred per project.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(checkout_keys_round_trip);

fn new_key(project: &Project, n: u32, kind: CheckoutKeyKind) -> NewCheckoutKey {
    NewCheckoutKey {
        project_id: project.id.clone(),
        fingerprint: format!("SHA256:fingerprint{n}"),
        md5: format!("00:11:{n:02x}"),
        public_key: format!("ssh-ed25519 AAAA{n} circa"),
        private_key: SealedValue {
            key_id: "k1".into(),
            sealed: format!("v1:sealed{n}"),
        },
        kind,
    }
}

async fn checkout_keys_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let a = project(store, "gh/acme/a").await;
    let b = project(store, "gh/acme/b").await;

    let first = store
        .add_checkout_key(new_key(&a, 1, CheckoutKeyKind::DeployKey), T0)
        .await
        .unwrap();
    assert!(first.preferred, "a project's first key is preferred");
    assert_eq!(first.private_key.sealed, "v1:sealed1");
    assert_eq!(first.kind, CheckoutKeyKind::DeployKey);
    assert_eq!(first.created_at, T0);
    let second = store
        .add_checkout_key(new_key(&a, 2, CheckoutKeyKind::UserKey), T0 + 1)
        .await
        .unwrap();
    assert!(!second.preferred);
    // The same fingerprint twice in a project conflicts; in another project it is its own.
    let e = store
        .add_checkout_key(new_key(&a, 1, CheckoutKeyKind::DeployKey), T0 + 2)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    let other = store
        .add_checkout_key(new_key(&b, 1, CheckoutKeyKind::DeployKey), T0 + 2)
        .await
        .unwrap();
    assert!(other.preferred);
    let e = store
        .add_checkout_key(
            NewCheckoutKey {
                project_id: "no-such-project".into(),
                ..new_key(&a, 3, CheckoutKeyKind::DeployKey)
            },
            T0,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");

    // Newest first; found by SHA256 or MD5 fingerprint, only in its own project.
    let listed = store.checkout_keys(&a.id).await.unwrap();
    assert_eq!(listed, vec![second.clone(), first.clone()]);
    let by_md5 = store.checkout_key(&a.id, "00:11:01").await.unwrap();
    assert_eq!(by_md5, Some(first.clone()));
    let by_sha = store
        .checkout_key(&a.id, "SHA256:fingerprint2")
        .await
        .unwrap();
    assert_eq!(by_sha, Some(second.clone()));
    assert_eq!(
        store
            .checkout_key(&b.id, "SHA256:fingerprint2")
            .await
            .unwrap(),
        None
    );

    // Resealing replaces the sealed private half only while it is the one read.
    let to = SealedValue {
        key_id: "k2".into(),
        sealed: "v1:resealed1".into(),
    };
    assert_eq!(store.all_checkout_keys().await.unwrap().len(), 3);
    assert!(store.reseal_checkout_key(&first, &to).await.unwrap());
    assert!(
        !store.reseal_checkout_key(&first, &to).await.unwrap(),
        "stale"
    );
    let first = store
        .checkout_key(&a.id, "00:11:01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.private_key, to);
    let ids = store.env_var_key_ids().await.unwrap();
    assert_eq!(
        ids,
        vec!["k1".to_string(), "k2".to_string()],
        "checkout keys' key ids count"
    );

    // Deleting the preferred key makes the newest remaining one preferred.
    assert!(store.delete_checkout_key(&a.id, "00:11:01").await.unwrap());
    assert!(!store.delete_checkout_key(&a.id, "00:11:01").await.unwrap());
    let left = store.checkout_keys(&a.id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].fingerprint, second.fingerprint);
    assert!(left[0].preferred);
    assert_eq!(store.checkout_keys(&b.id).await.unwrap(), vec![other]);
}
