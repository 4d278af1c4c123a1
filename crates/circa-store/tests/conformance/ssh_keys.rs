//! Projects' additional SSH keys: stored sealed, per hostname, deleted by either fingerprint.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(ssh_keys_round_trip);

fn new_key(project: &Project, n: u32, hostname: &str) -> NewSshKey {
    NewSshKey {
        project_id: project.id.clone(),
        hostname: hostname.to_string(),
        fingerprint: format!("SHA256:fingerprint{n}"),
        md5: format!("00:11:{n:02x}"),
        public_key: format!("ssh-ed25519 AAAA{n}"),
        private_key: SealedValue {
            key_id: "k1".into(),
            sealed: format!("v1:sealed{n}"),
        },
    }
}

async fn ssh_keys_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let a = project(store, "gh/acme/a").await;
    let b = project(store, "gh/acme/b").await;

    let first = store
        .add_ssh_key(new_key(&a, 1, "git.example.com"), T0)
        .await
        .unwrap();
    assert_eq!(first.hostname, "git.example.com");
    assert_eq!(first.private_key.sealed, "v1:sealed1");
    assert_eq!(first.created_at, T0);
    // The same key for every host is a row of its own; twice for one host conflicts.
    let everywhere = store.add_ssh_key(new_key(&a, 1, ""), T0 + 1).await.unwrap();
    let e = store
        .add_ssh_key(new_key(&a, 1, "git.example.com"), T0 + 2)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    let second = store
        .add_ssh_key(new_key(&a, 2, "deploy.example.com"), T0 + 3)
        .await
        .unwrap();
    let other = store.add_ssh_key(new_key(&b, 1, ""), T0).await.unwrap();
    let e = store
        .add_ssh_key(
            NewSshKey {
                project_id: "no-such-project".into(),
                ..new_key(&a, 3, "")
            },
            T0,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");

    // Oldest first, only the project's own.
    let listed = store.ssh_keys(&a.id).await.unwrap();
    assert_eq!(
        listed,
        vec![first.clone(), everywhere.clone(), second.clone()]
    );
    assert_eq!(store.ssh_keys(&b.id).await.unwrap(), vec![other.clone()]);

    // Resealing replaces the sealed private key only while it is the one read.
    let to = SealedValue {
        key_id: "k2".into(),
        sealed: "v1:resealed1".into(),
    };
    assert_eq!(store.all_ssh_keys().await.unwrap().len(), 4);
    assert!(store.reseal_ssh_key(&first, &to).await.unwrap());
    assert!(!store.reseal_ssh_key(&first, &to).await.unwrap(), "stale");
    let ids = store.env_var_key_ids().await.unwrap();
    assert_eq!(
        ids,
        vec!["k1".to_string(), "k2".to_string()],
        "SSH keys' key ids count"
    );

    // Deleted by MD5 for one host, or by SHA256 for every host; never another project's.
    let gone = store
        .delete_ssh_key(&a.id, "00:11:01", Some("git.example.com"))
        .await
        .unwrap();
    assert_eq!(gone, 1);
    let left = store.ssh_keys(&a.id).await.unwrap();
    assert_eq!(left, vec![everywhere.clone(), second.clone()]);
    let gone = store
        .delete_ssh_key(&a.id, "SHA256:fingerprint2", None)
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert_eq!(
        store
            .delete_ssh_key(&a.id, "SHA256:fingerprint2", None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.ssh_keys(&a.id).await.unwrap(), vec![everywhere]);
    assert_eq!(store.ssh_keys(&b.id).await.unwrap(), vec![other]);
}
