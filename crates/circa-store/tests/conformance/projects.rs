//! Projects and tokens.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::{T0, project};

on_both_backends!(
    projects_round_trip,
    project_slugs_are_unique,
    slugs_are_found_ignoring_case,
    tokens_round_trip
);

async fn slugs_are_found_ignoring_case(db: &TestStore) {
    let store: &dyn Store = &**db;
    let app = project(store, "gh/Acme/App").await;
    project(store, "gh/acme/other").await;
    assert_eq!(
        store
            .projects_with_slug_ignoring_case("GH/ACME/app", 2)
            .await
            .unwrap(),
        vec![app.clone()]
    );
    assert!(
        store
            .projects_with_slug_ignoring_case("gh/acme/none", 2)
            .await
            .unwrap()
            .is_empty()
    );
    // Slugs that differ only in case from one another are both found, up to the limit.
    let twin = project(store, "gh/acme/APP").await;
    let both = store
        .projects_with_slug_ignoring_case("gh/acme/app", 2)
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert!(both.contains(&app) && both.contains(&twin));
    assert_eq!(
        store
            .projects_with_slug_ignoring_case("gh/acme/app", 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn projects_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let b = project(store, "gh/acme/b").await;
    let a = project(store, "gh/acme/a").await;
    assert_eq!(store.project(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.project_by_slug("gh/acme/b").await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.project(&"nope".into()).await.unwrap(), None);
    assert_eq!(store.project_by_slug("gh/acme/c").await.unwrap(), None);
    assert_eq!(store.projects().await.unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(
        store.project_by_slug("gh/acme/a").await.unwrap(),
        Some(a.clone())
    );

    let settings = ProjectSettings {
        auto_cancel_redundant: true,
        requeue_lost_tasks: true,
        ..ProjectSettings::default()
    };
    assert!(
        store
            .update_project_settings(&a.id, &settings)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_project_settings(&"nope".into(), &settings)
            .await
            .unwrap()
    );
    // Read by slug too: the slug lookup is cached, and the change must be seen at once.
    assert_eq!(
        store
            .project_by_slug("gh/acme/a")
            .await
            .unwrap()
            .unwrap()
            .settings,
        settings
    );
    let a = store.project(&a.id).await.unwrap().unwrap();
    assert_eq!(a.settings, settings);
    assert_eq!(a.created_at, T0);
    assert_eq!(a.repo_url, "https://example.com/gh/acme/a.git");
}

async fn project_slugs_are_unique(db: &TestStore) {
    let store: &dyn Store = &**db;
    project(store, "gh/acme/app").await;
    let again = store
        .create_project(
            NewProject {
                slug: "gh/acme/app".into(),
                repo_url: "/srv/other".into(),
                default_branch: "trunk".into(),
                webhook_secret: "x".into(),
                settings: ProjectSettings::default(),
            },
            T0,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.projects().await.unwrap().len(), 1);
}

async fn tokens_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let new = |kind, name: &str, hash: &str| NewToken {
        kind,
        name: name.into(),
        resource_class: (kind == TokenKind::Runner).then(|| "docker".into()),
        hash: hash.into(),
        user_id: None,
    };
    let admin = store
        .create_token(new(TokenKind::Admin, "root", "h1"), T0)
        .await
        .unwrap();
    let runner = store
        .create_token(new(TokenKind::Runner, "r1", "h2"), T0)
        .await
        .unwrap();
    let user = store
        .create_token(new(TokenKind::User, "bob", "h3"), T0 + 5)
        .await
        .unwrap();
    assert_eq!(runner.resource_class.as_deref(), Some("docker"));
    assert!(!runner.revoked);
    assert_eq!(
        store.token_by_hash("h2").await.unwrap(),
        Some(runner.clone())
    );
    assert_eq!(store.token_by_hash("h9").await.unwrap(), None);

    let duplicate = store
        .create_token(new(TokenKind::User, "eve", "h1"), T0)
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );

    assert!(store.revoke_token(&runner.id).await.unwrap());
    assert!(!store.revoke_token(&"nope".into()).await.unwrap());
    let revoked = store.token_by_hash("h2").await.unwrap().unwrap();
    assert!(revoked.revoked);
    let ids: Vec<_> = store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [admin.id, runner.id, user.id]);
}
