//! Users, groups, project members and personal tokens.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::{T0, project};

on_both_backends!(
    users_round_trip,
    members_and_groups,
    personal_tokens,
    tokens_with_their_users,
    a_first_password_is_set_once
);

fn new_user(login: &str, admin: bool) -> NewUser {
    NewUser {
        login: login.into(),
        name: format!("{login} person"),
        admin,
        password_hash: None,
    }
}

async fn users_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let ada = store.create_user(new_user("ada", true), T0).await.unwrap();
    let bob = store.create_user(new_user("bob", false), T0).await.unwrap();
    assert!(matches!(
        store.create_user(new_user("ada", false), T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.user(&ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(store.user_by_login("bob").await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_login("eve").await.unwrap(), None);
    assert_eq!(store.users().await.unwrap(), vec![ada.clone(), bob.clone()]);
    assert!(
        store
            .set_user_password(&bob.id, Some("$argon2id$x"))
            .await
            .unwrap()
    );
    assert!(!store.set_user_password(&"nope".into(), None).await.unwrap());
    let bob = store.user(&bob.id).await.unwrap().unwrap();
    assert_eq!(bob.password_hash.as_deref(), Some("$argon2id$x"));
    assert!(!bob.admin && ada.admin);
}

async fn members_and_groups(db: &TestStore) {
    let store: &dyn Store = &**db;
    let a = project(store, "gh/acme/a").await;
    let b = project(store, "gh/acme/b").await;
    let bob = store.create_user(new_user("bob", false), T0).await.unwrap();
    store.add_project_member(&b.id, &bob.id).await.unwrap();
    store.add_project_member(&b.id, &bob.id).await.unwrap();
    store.add_project_member(&a.id, &bob.id).await.unwrap();
    assert!(store.is_project_member(&a.id, &bob.id).await.unwrap());
    assert_eq!(
        store.projects_of_user(&bob.id).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert!(store.remove_project_member(&a.id, &bob.id).await.unwrap());
    assert!(!store.remove_project_member(&a.id, &bob.id).await.unwrap());
    assert!(!store.is_project_member(&a.id, &bob.id).await.unwrap());
    assert!(matches!(
        store.add_project_member(&"nope".into(), &bob.id).await,
        Err(StoreError::NotFound(_))
    ));

    let ops = store.create_group("ops", T0).await.unwrap();
    let dev = store.create_group("dev", T0).await.unwrap();
    assert!(matches!(
        store.create_group("ops", T0).await,
        Err(StoreError::Conflict(_))
    ));
    store.add_group_member(&ops.id, &bob.id).await.unwrap();
    store.add_group_member(&ops.id, &bob.id).await.unwrap();
    assert_eq!(store.groups().await.unwrap(), vec![ops.clone(), dev]);
    assert_eq!(store.groups_of_user(&bob.id).await.unwrap(), vec![ops]);
}

async fn personal_tokens(db: &TestStore) {
    let store: &dyn Store = &**db;
    let bob = store.create_user(new_user("bob", false), T0).await.unwrap();
    let token = store
        .create_token(
            NewToken {
                kind: TokenKind::User,
                name: "laptop".into(),
                resource_class: None,
                hash: "h1".into(),
                user_id: Some(bob.id.clone()),
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(token.user_id.as_deref(), Some(bob.id.as_str()));
    assert_eq!(
        store.token_by_hash("h1").await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(store.tokens_of_user(&bob.id).await.unwrap(), vec![token]);
    let orphan = store
        .create_token(
            NewToken {
                kind: TokenKind::User,
                name: "ghost".into(),
                resource_class: None,
                hash: "h2".into(),
                user_id: Some("nobody".into()),
            },
            T0,
        )
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))), "{orphan:?}");
}

async fn tokens_with_their_users(db: &TestStore) {
    let store: &dyn Store = &**db;
    let bob = store.create_user(new_user("bob", false), T0).await.unwrap();
    let new = |kind, hash: &str, user_id: Option<&str>| NewToken {
        kind,
        name: hash.into(),
        resource_class: (kind == TokenKind::Runner).then(|| "default".into()),
        hash: hash.into(),
        user_id: user_id.map(UserId::from),
    };
    let personal = store
        .create_token(new(TokenKind::User, "h1", Some(&bob.id)), T0)
        .await
        .unwrap();
    let runner = store
        .create_token(new(TokenKind::Runner, "h2", None), T0)
        .await
        .unwrap();
    assert_eq!(store.token_with_user("h9").await.unwrap(), None);
    assert_eq!(
        store.token_with_user("h1").await.unwrap(),
        Some(TokenOwner {
            token: personal.clone(),
            user: Some(bob.clone()),
        })
    );
    assert_eq!(
        store.token_with_user("h2").await.unwrap(),
        Some(TokenOwner {
            token: runner.clone(),
            user: None,
        })
    );
    // Read twice: the second answer may come from the cache and must be the same.
    assert_eq!(
        store.token_with_user("h1").await.unwrap(),
        Some(TokenOwner {
            token: personal.clone(),
            user: Some(bob.clone()),
        })
    );

    // A token made after a miss is found at once.
    assert_eq!(store.token_with_user("h3").await.unwrap(), None);
    let late = store
        .create_token(new(TokenKind::User, "h3", Some(&bob.id)), T0)
        .await
        .unwrap();
    assert_eq!(
        store.token_with_user("h3").await.unwrap(),
        Some(TokenOwner {
            token: late,
            user: Some(bob.clone()),
        })
    );

    // A revoke and a user's change are seen by the very next read.
    assert!(store.revoke_token(&personal.id).await.unwrap());
    let TokenOwner { token, .. } = store.token_with_user("h1").await.unwrap().unwrap();
    assert!(token.revoked);
    assert!(store.revoke_token(&runner.id).await.unwrap());
    assert!(
        store
            .token_with_user("h2")
            .await
            .unwrap()
            .unwrap()
            .token
            .revoked
    );
    assert!(
        store
            .set_user_password(&bob.id, Some("$argon2id$y"))
            .await
            .unwrap()
    );
    let TokenOwner { user, .. } = store.token_with_user("h3").await.unwrap().unwrap();
    assert_eq!(user.unwrap().password_hash.as_deref(), Some("$argon2id$y"));
}

/// Replicas starting at once each make the admin's first password: one of them sets it.
async fn a_first_password_is_set_once(db: &TestStore) {
    let store: &dyn Store = &**db;
    let user = store
        .create_user(new_user("first", true), T0)
        .await
        .unwrap();
    assert!(store.set_first_password(&user.id, "hash-a").await.unwrap());
    assert!(!store.set_first_password(&user.id, "hash-b").await.unwrap());
    let stored = store.user_by_login("first").await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("hash-a"));
    assert!(
        !store
            .set_first_password(&"no-such-user".into(), "hash-c")
            .await
            .unwrap()
    );
}
