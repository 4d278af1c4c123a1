//! Schedules: create, list by page, update, delete, the once-per-tick claim, and the config
//! schedules a branch's config defines.

use std::sync::Arc;

use circa_store::*;
use serde_json::json;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::{T0, project};

on_both_backends!(
    schedules_round_trip,
    schedule_pages_and_names,
    a_tick_is_claimed_once,
    racing_claims_fire_each_tick_once,
    config_schedules_are_replaced_per_branch,
);

fn api_schedule(project_id: &str, name: &str) -> NewSchedule {
    let mut parameters = serde_json::Map::new();
    parameters.insert("branch".into(), json!("main"));
    parameters.insert("deploy".into(), json!(true));
    NewSchedule {
        project_id: project_id.into(),
        origin: ScheduleOrigin::Api,
        name: name.into(),
        description: Some("nightly build".into()),
        timetable: json!({ "per-hour": 1, "hours-of-day": [3], "days-of-week": ["MON"] }),
        cron: "0 3 * * 1".into(),
        timezone: "UTC".into(),
        parameters,
        actor_id: None,
        branch: None,
    }
}

fn config_schedule(workflow: &str, cron: &str) -> NewSchedule {
    NewSchedule {
        origin: ScheduleOrigin::Config,
        timetable: json!({ "cron": cron, "timezone": "UTC" }),
        cron: cron.into(),
        parameters: serde_json::Map::new(),
        description: None,
        ..api_schedule("", workflow)
    }
}

async fn schedules_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let user = store
        .create_user(
            NewUser {
                login: "ada".into(),
                name: "Ada".into(),
                admin: false,
                password_hash: None,
            },
            T0,
        )
        .await
        .unwrap();
    let made = store
        .create_schedule(
            NewSchedule {
                actor_id: Some(user.id.clone()),
                ..api_schedule(&p.id, "nightly")
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        made.last_tick, T0,
        "a new schedule fires from its next tick"
    );
    assert_eq!(made.created_at, T0);
    assert_eq!(made.parameters["deploy"], json!(true));
    assert_eq!(store.schedule(&made.id).await.unwrap(), Some(made.clone()));
    assert_eq!(store.schedule(&"nope".into()).await.unwrap(), None);
    assert!(matches!(
        store
            .create_schedule(api_schedule("no-such-project", "x"), T0)
            .await,
        Err(StoreError::NotFound(_))
    ));

    // An update that keeps the cron line keeps the last tick; a new one passes over every tick
    // up to now.
    let same_cron = store
        .update_schedule(
            &made.id,
            NewSchedule {
                description: None,
                ..api_schedule(&p.id, "nightly-2")
            },
            T0 + 10,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same_cron.name, "nightly-2");
    assert_eq!(same_cron.description, None);
    assert_eq!(same_cron.last_tick, T0);
    assert_eq!(same_cron.updated_at, T0 + 10);
    assert_eq!(same_cron.created_at, T0);
    let new_cron = store
        .update_schedule(
            &made.id,
            NewSchedule {
                cron: "*/5 * * * *".into(),
                ..api_schedule(&p.id, "nightly-2")
            },
            T0 + 20,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new_cron.last_tick, T0 + 20);
    assert_eq!(new_cron.cron, "*/5 * * * *");
    assert_eq!(
        store
            .update_schedule(&"nope".into(), api_schedule(&p.id, "x"), T0)
            .await
            .unwrap(),
        None
    );

    assert!(store.delete_schedule(&made.id).await.unwrap());
    assert!(!store.delete_schedule(&made.id).await.unwrap());
    assert_eq!(store.schedule(&made.id).await.unwrap(), None);
}

async fn schedule_pages_and_names(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let q = project(store, "gh/acme/other").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let s = store
            .create_schedule(api_schedule(&p.id, &format!("s{i}")), T0 + i)
            .await
            .unwrap();
        ids.push(s.id);
    }
    store
        .create_schedule(api_schedule(&q.id, "s0"), T0)
        .await
        .unwrap();
    assert!(matches!(
        store.create_schedule(api_schedule(&p.id, "s1"), T0).await,
        Err(StoreError::Conflict(_))
    ));
    let first = store
        .schedules_of_project(&p.id, ScheduleOrigin::Api, None, 2)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        ids[..2]
    );
    let rest = store
        .schedules_of_project(&p.id, ScheduleOrigin::Api, Some(&ids[1]), 10)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        ids[2..]
    );
    assert!(
        store
            .schedules_of_project(&p.id, ScheduleOrigin::Config, None, 0)
            .await
            .unwrap()
            .is_empty()
    );
    // Renaming onto a taken name is a conflict.
    assert!(matches!(
        store
            .update_schedule(&ids[0], api_schedule(&p.id, "s2"), T0)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.all_schedules().await.unwrap().len(), 6);
}

async fn a_tick_is_claimed_once(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let s = store
        .create_schedule(api_schedule(&p.id, "nightly"), T0)
        .await
        .unwrap();
    // Ticks at or before the creation never fire.
    assert!(!store.claim_schedule_tick(&s.id, T0).await.unwrap());
    assert!(!store.claim_schedule_tick(&s.id, T0 - 60_000).await.unwrap());
    let tick = T0 + 60_000;
    assert!(store.claim_schedule_tick(&s.id, tick).await.unwrap());
    assert!(!store.claim_schedule_tick(&s.id, tick).await.unwrap());
    // An older tick, claimed late, does not fire after a newer one did.
    assert!(!store.claim_schedule_tick(&s.id, tick - 1).await.unwrap());
    assert_eq!(
        store.schedule(&s.id).await.unwrap().unwrap().last_tick,
        tick
    );
    assert!(
        store
            .claim_schedule_tick(&s.id, tick + 60_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_schedule_tick(&"nope".into(), tick)
            .await
            .unwrap()
    );
}

async fn racing_claims_fire_each_tick_once(db: &TestStore) {
    let store: Arc<dyn Store> = Arc::clone(&db.store);
    let p = project(store.as_ref(), "gh/acme/app").await;
    let s = store
        .create_schedule(api_schedule(&p.id, "nightly"), T0)
        .await
        .unwrap();
    // Eight claimers (as from several servers) race for each of ten ticks.
    for n in 1..=10i64 {
        let tick = T0 + n * 60_000;
        let claims: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                let id = s.id.clone();
                tokio::spawn(async move { store.claim_schedule_tick(&id, tick).await.unwrap() })
            })
            .collect();
        let mut won = 0;
        for claim in claims {
            if claim.await.unwrap() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "tick {n} was fired {won} times");
    }
}

async fn config_schedules_are_replaced_per_branch(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let made = store
        .replace_config_schedules(
            &p.id,
            "main",
            vec![
                config_schedule("nightly", "0 0 * * *"),
                config_schedule("hourly", "0 * * * *"),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(made.len(), 2);
    assert!(made.iter().all(|s| s.origin == ScheduleOrigin::Config
        && s.branch.as_deref() == Some("main")
        && s.project_id == p.id
        && s.last_tick == T0));
    let dev = store
        .replace_config_schedules(
            &p.id,
            "dev",
            vec![config_schedule("nightly", "0 0 * * *")],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(dev.len(), 1);
    let nightly = made.iter().find(|s| s.name == "nightly").unwrap();
    assert!(
        store
            .claim_schedule_tick(&nightly.id, T0 + 1000)
            .await
            .unwrap()
    );

    // Re-reading main: `nightly` is kept with its last tick, `hourly` goes, `weekly` comes.
    let again = store
        .replace_config_schedules(
            &p.id,
            "main",
            vec![
                config_schedule("nightly", "0 0 * * *"),
                config_schedule("weekly", "0 0 * * 0"),
            ],
            T0 + 5000,
        )
        .await
        .unwrap();
    let kept = again.iter().find(|s| s.name == "nightly").unwrap();
    assert_eq!(kept.id, nightly.id);
    assert_eq!(kept.last_tick, T0 + 1000);
    let weekly = again.iter().find(|s| s.name == "weekly").unwrap();
    assert_eq!(weekly.last_tick, T0 + 5000);
    assert_eq!(again.len(), 2);
    let all = store.all_schedules().await.unwrap();
    assert_eq!(all.len(), 3, "main's two and dev's one");
    assert!(!all.iter().any(|s| s.name == "hourly"));

    // A config without triggers leaves the branch with none; other branches keep theirs.
    assert!(
        store
            .replace_config_schedules(&p.id, "main", Vec::new(), T0)
            .await
            .unwrap()
            .is_empty()
    );
    let left = store.all_schedules().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].branch.as_deref(), Some("dev"));
    // Config schedules are not API schedules.
    assert!(
        store
            .schedules_of_project(&p.id, ScheduleOrigin::Api, None, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .schedules_of_project(&p.id, ScheduleOrigin::Config, None, 0)
            .await
            .unwrap()
            .len(),
        1
    );
}
