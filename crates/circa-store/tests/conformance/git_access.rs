//! Git access: host keys given, recorded only when none are, and a sealed HTTPS token.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(git_access_round_trip);

fn sealed(n: u32) -> SealedValue {
    SealedValue {
        key_id: "k1".into(),
        sealed: format!("v1:token{n}"),
    }
}

async fn git_access_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let a = project(store, "gh/acme/a").await;
    let b = project(store, "gh/acme/b").await;

    let empty = store.git_access(&a.id).await.unwrap();
    assert_eq!(empty.project_id, a.id);
    assert!(empty.known_hosts.is_empty() && empty.repo_token.is_none());

    // The first fetch records what it saw; a later one never replaces it.
    let seen = vec!["[h]:22 ssh-ed25519 AAAA1".to_string()];
    assert!(store.record_known_hosts(&a.id, &seen, T0).await.unwrap());
    let other = vec!["[h]:22 ssh-ed25519 AAAA2".to_string()];
    assert!(!store.record_known_hosts(&a.id, &other, T0).await.unwrap());
    assert_eq!(store.git_access(&a.id).await.unwrap().known_hosts, seen);

    // An admin replaces them.
    let given = vec![
        "h1 ssh-ed25519 AAAA3".to_string(),
        "h2 ssh-rsa AAAA4".to_string(),
    ];
    store.set_known_hosts(&a.id, &given, T0 + 1).await.unwrap();
    assert_eq!(store.git_access(&a.id).await.unwrap().known_hosts, given);
    assert!(
        store
            .git_access(&b.id)
            .await
            .unwrap()
            .known_hosts
            .is_empty()
    );

    // A token beside the host keys, sealed as given.
    let token = RepoToken {
        user: "x-access-token".into(),
        token: sealed(1),
    };
    store
        .set_repo_token(&a.id, Some(&token), T0 + 2)
        .await
        .unwrap();
    let read = store.git_access(&a.id).await.unwrap();
    assert_eq!(read.repo_token.as_ref(), Some(&token));
    assert_eq!(read.known_hosts, given, "the token leaves host keys alone");
    store.set_repo_token(&b.id, Some(&token), T0).await.unwrap();
    assert!(
        store
            .git_access(&b.id)
            .await
            .unwrap()
            .known_hosts
            .is_empty()
    );

    // Rotation reseals only what it read.
    let all = store.all_repo_tokens().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        store
            .reseal_repo_token(&a.id, &sealed(1), &sealed(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .reseal_repo_token(&a.id, &sealed(1), &sealed(3))
            .await
            .unwrap()
    );
    let read = store.git_access(&a.id).await.unwrap();
    assert_eq!(read.repo_token.unwrap().token, sealed(2));

    // Removed, and a project that does not exist is NotFound.
    store.set_repo_token(&a.id, None, T0 + 3).await.unwrap();
    assert!(store.git_access(&a.id).await.unwrap().repo_token.is_none());
    assert_eq!(store.all_repo_tokens().await.unwrap().len(), 1);
    let missing = ProjectId::from("no-such-project");
    let refused = [
        store.set_known_hosts(&missing, &given, T0).await,
        store.set_repo_token(&missing, Some(&token), T0).await,
    ];
    for result in refused {
        assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    }
}
