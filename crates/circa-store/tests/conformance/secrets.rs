//! Sealed environment variables, contexts and context restrictions.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::{T0, project};

on_both_backends!(env_vars_round_trip, contexts_and_restrictions, resealing);

fn sealed(key: &str, text: &str) -> SealedValue {
    SealedValue {
        key_id: key.into(),
        sealed: text.into(),
    }
}

async fn env_vars_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/a").await;
    let owner = EnvOwner::Project(p.id.clone());
    let b = store
        .put_env_var(&owner, "B", &sealed("k1", "sb"), T0)
        .await
        .unwrap();
    assert_eq!(b.owner, owner);
    assert_eq!((b.created_at, b.updated_at), (T0, T0));
    store
        .put_env_var(&owner, "A", &sealed("k1", "sa"), T0)
        .await
        .unwrap();
    let replaced = store
        .put_env_var(&owner, "B", &sealed("k2", "sb2"), T0 + 5)
        .await
        .unwrap();
    assert_eq!(replaced.value, sealed("k2", "sb2"));
    assert_eq!((replaced.created_at, replaced.updated_at), (T0, T0 + 5));
    let names: Vec<String> = store
        .env_vars(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["A", "B"]);
    assert_eq!(store.env_var(&owner, "B").await.unwrap(), Some(replaced));
    assert_eq!(store.env_var(&owner, "C").await.unwrap(), None);
    // The same name under a context of the same id space is another variable.
    let ctx = store.create_context("deploy", T0).await.unwrap();
    let cowner = EnvOwner::Context(ctx.id.clone());
    assert!(store.env_vars(&cowner).await.unwrap().is_empty());
    assert!(matches!(
        store
            .put_env_var(
                &EnvOwner::Project("nope".into()),
                "A",
                &sealed("k", "s"),
                T0
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .put_env_var(
                &EnvOwner::Context("nope".into()),
                "A",
                &sealed("k", "s"),
                T0
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.delete_env_var(&owner, "A").await.unwrap());
    assert!(!store.delete_env_var(&owner, "A").await.unwrap());
    assert_eq!(store.env_vars(&owner).await.unwrap().len(), 1);
}

async fn contexts_and_restrictions(db: &TestStore) {
    let store: &dyn Store = &**db;
    let prod = store.create_context("prod", T0).await.unwrap();
    let dev = store.create_context("dev", T0 + 1).await.unwrap();
    assert!(matches!(
        store.create_context("prod", T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.contexts().await.unwrap(),
        vec![dev.clone(), prod.clone()]
    );
    assert_eq!(store.context(&prod.id).await.unwrap(), Some(prod.clone()));
    assert_eq!(
        store.context_by_name("dev").await.unwrap(),
        Some(dev.clone())
    );
    assert_eq!(store.context_by_name("qa").await.unwrap(), None);

    let group = store
        .add_context_restriction(
            NewRestriction {
                context_id: prod.id.clone(),
                kind: "group".into(),
                value: "g1".into(),
            },
            T0,
        )
        .await
        .unwrap();
    let expr = store
        .add_context_restriction(
            NewRestriction {
                context_id: prod.id.clone(),
                kind: "expression".into(),
                value: "pipeline.git.branch == \"main\"".into(),
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        store.context_restrictions(&prod.id).await.unwrap(),
        vec![group.clone(), expr.clone()]
    );
    assert!(
        store
            .context_restrictions(&dev.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store
            .add_context_restriction(
                NewRestriction {
                    context_id: "nope".into(),
                    kind: "group".into(),
                    value: "g".into(),
                },
                T0
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        !store
            .delete_context_restriction(&dev.id, &group.id)
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_context_restriction(&prod.id, &group.id)
            .await
            .unwrap()
    );
    assert_eq!(
        store.context_restrictions(&prod.id).await.unwrap(),
        vec![expr.clone()]
    );

    // Deleting a context takes its variables and restrictions with it.
    let owner = EnvOwner::Context(prod.id.clone());
    store
        .put_env_var(&owner, "TOKEN", &sealed("k1", "s"), T0)
        .await
        .unwrap();
    assert!(store.delete_context(&prod.id).await.unwrap());
    assert!(!store.delete_context(&prod.id).await.unwrap());
    assert_eq!(store.context(&prod.id).await.unwrap(), None);
    assert!(store.env_vars(&owner).await.unwrap().is_empty());
    assert!(
        store
            .context_restrictions(&prod.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.contexts().await.unwrap(), vec![dev]);
}

async fn resealing(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/a").await;
    let ctx = store.create_context("deploy", T0).await.unwrap();
    let powner = EnvOwner::Project(p.id.clone());
    let cowner = EnvOwner::Context(ctx.id.clone());
    store
        .put_env_var(&powner, "P", &sealed("old", "p1"), T0)
        .await
        .unwrap();
    store
        .put_env_var(&cowner, "C", &sealed("old", "c1"), T0)
        .await
        .unwrap();
    assert_eq!(store.env_var_key_ids().await.unwrap(), ["old"]);
    let all = store.all_env_vars().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|v| v.owner == powner && v.name == "P"));
    assert!(all.iter().any(|v| v.owner == cowner && v.name == "C"));
    let p_var = all.iter().find(|v| v.name == "P").unwrap();
    assert!(
        store
            .reseal_env_var(p_var, &sealed("new", "p2"))
            .await
            .unwrap()
    );
    // A second reseal from the stale read loses: the value changed meanwhile.
    assert!(
        !store
            .reseal_env_var(p_var, &sealed("new", "p3"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.env_var(&powner, "P").await.unwrap().unwrap().value,
        sealed("new", "p2")
    );
    assert_eq!(store.env_var_key_ids().await.unwrap(), ["new", "old"]);
    let c_var = all.iter().find(|v| v.name == "C").unwrap();
    assert!(
        store
            .reseal_env_var(c_var, &sealed("new", "c2"))
            .await
            .unwrap()
    );
    assert_eq!(store.env_var_key_ids().await.unwrap(), ["new"]);
}
