//! What the web UI keeps: sessions, runners seen lately, a project's recent workflows.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::{T0, project};

on_both_backends!(sessions_expire_and_end, runners_seen_lately, project_source);

fn user(login: &str) -> NewUser {
    NewUser {
        login: login.into(),
        name: login.into(),
        admin: false,
        password_hash: None,
    }
}

fn session(hash: &str, user_id: &str, expires_at: Millis) -> Session {
    Session {
        id_hash: hash.into(),
        user_id: user_id.into(),
        created_at: T0,
        expires_at,
    }
}

async fn sessions_expire_and_end(db: &TestStore) {
    let store: &dyn Store = &**db;
    let ada = store.create_user(user("ada"), T0).await.unwrap();
    let bob = store.create_user(user("bob"), T0).await.unwrap();
    let s1 = session("h1", &ada.id, T0 + 1000);
    store.create_session(s1.clone()).await.unwrap();
    store
        .create_session(session("h2", &ada.id, T0 + 5000))
        .await
        .unwrap();
    store
        .create_session(session("h3", &bob.id, T0 + 5000))
        .await
        .unwrap();
    let orphan = store.create_session(session("h4", "nobody", T0 + 1)).await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");

    assert_eq!(store.session("h1", T0).await.unwrap(), Some(s1));
    assert_eq!(store.session("h1", T0 + 1000).await.unwrap(), None);
    assert_eq!(store.session("nope", T0).await.unwrap(), None);
    assert_eq!(store.delete_expired_sessions(T0 + 1000).await.unwrap(), 1);
    assert_eq!(store.delete_expired_sessions(T0 + 1000).await.unwrap(), 0);

    assert!(store.delete_session("h2").await.unwrap());
    assert!(!store.delete_session("h2").await.unwrap());
    assert_eq!(store.session("h2", T0).await.unwrap(), None);

    store
        .create_session(session("h5", &bob.id, T0 + 5000))
        .await
        .unwrap();
    assert_eq!(store.delete_user_sessions(&bob.id).await.unwrap(), 2);
    assert_eq!(store.session("h3", T0).await.unwrap(), None);
}

async fn runners_seen_lately(db: &TestStore) {
    let store: &dyn Store = &**db;
    store.runner_seen("old", "default", T0).await.unwrap();
    store.runner_seen("a", "default", T0 + 10).await.unwrap();
    store.runner_seen("b", "big", T0 + 20).await.unwrap();
    let seen = store.runners_since(T0 + 5).await.unwrap();
    let names: Vec<_> = seen
        .iter()
        .map(|r| (r.name.as_str(), r.resource_class.as_str(), r.last_seen))
        .collect();
    assert_eq!(
        names,
        vec![("b", "big", T0 + 20), ("a", "default", T0 + 10)]
    );
}

async fn project_source(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/src").await;
    // Read by slug first, so a cached copy exists that the change must replace.
    assert_eq!(
        store.project_by_slug("gh/acme/src").await.unwrap(),
        Some(p.clone())
    );
    assert!(
        store
            .set_project_source(&p.id, "/srv/git/src", "trunk")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_project_source(&"nope".into(), "x", "y")
            .await
            .unwrap()
    );
    let by_slug = store.project_by_slug("gh/acme/src").await.unwrap().unwrap();
    let p = store.project(&p.id).await.unwrap().unwrap();
    assert_eq!(
        (p.repo_url.as_str(), p.default_branch.as_str()),
        ("/srv/git/src", "trunk")
    );
    assert_eq!(by_slug, p);
}
