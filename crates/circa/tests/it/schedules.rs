//! Scheduled pipelines end to end: real `circa server` and `circa runner` processes, schedules
//! made through API v2 and read from a config's legacy `triggers: schedule`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, RunnerProc, ServerProc};

const LONG: Duration = Duration::from_secs(60);

/// Prints the schedule's name and the trigger source in the job's log.
const ECHO: &str = r#"
version: 2.1
jobs:
  hello:
    machine: true
    steps:
      - run: echo "source=<< pipeline.trigger_source >> schedule=<< pipeline.schedule.name >> type=<< pipeline.trigger.type >>"
workflows:
  main:
    jobs: [hello]
"#;

/// A workflow run on pushes and a legacy scheduled one (a fast cron: seconds, Circa's
/// extension).
const LEGACY: &str = r#"
version: 2.1
jobs:
  hello:
    machine: true
    steps:
      - run: echo "source=<< pipeline.trigger_source >> schedule=<< pipeline.schedule.name >>"
workflows:
  on-push:
    jobs: [hello]
  nightly:
    triggers:
      - schedule:
          cron: "*/3 * * * * *"
          filters:
            branches:
              only: [main]
    jobs: [hello]
"#;

fn ms(time: &Value) -> i64 {
    time.as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
        .unwrap_or_else(|| panic!("not a time: {time}"))
}

/// The project's pipelines, newest first.
async fn pipelines(api: &Api, slug: &str) -> Vec<Value> {
    let (status, body) = api.get(&format!("/api/v2/project/{slug}/pipeline")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// The project's scheduled pipelines, oldest first.
async fn scheduled(api: &Api, slug: &str) -> Vec<Value> {
    let mut list: Vec<Value> = pipelines(api, slug)
        .await
        .into_iter()
        .filter(|p| p["trigger"]["type"] == "scheduled_pipeline")
        .collect();
    list.reverse();
    list
}

/// The log of the first job of a pipeline's first workflow, once it has finished.
async fn first_job_log(api: &Api, pipeline: &str) -> String {
    let workflows = api.finished(pipeline, LONG).await;
    let workflow = workflows[0]["id"].as_str().unwrap();
    let jobs = api.jobs(workflow).await;
    api.job_log(jobs[0]["id"].as_str().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_made_listed_changed_and_deleted_through_api_v2() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let repo = Repo::new(ECHO);
    api.add_project("gh/acme/sched", repo.path(), json!({}))
        .await;
    let base = "/api/v2/project/gh/acme/sched/schedule";
    let body = json!({
        "name": "nightly",
        "description": "every night",
        "attribution-actor": "current",
        "parameters": { "branch": "main", "deploy": true },
        "timetable": { "per-hour": 2, "hours-of-day": [1, 13], "days-of-week": ["MON", "FRI"] },
    });
    let (status, made) = api.post(base, body.clone()).await;
    assert_eq!(status, 201, "{made}");
    for field in [
        "id",
        "name",
        "timetable",
        "description",
        "project-slug",
        "actor",
        "created-at",
        "updated-at",
        "parameters",
    ] {
        assert!(made.get(field).is_some(), "{field} missing from {made}");
    }
    assert_eq!(made["project-slug"], "gh/acme/sched");
    assert_eq!(made["actor"]["login"], "admin");
    assert_eq!(
        made["parameters"],
        json!({ "branch": "main", "deploy": true })
    );
    assert_eq!(made["timetable"]["per-hour"], 2);
    let id = made["id"].as_str().unwrap().to_string();

    // The same name again is a conflict; Circa's cron form is accepted beside CircleCI's.
    let (status, _) = api.post(base, body.clone()).await;
    assert_eq!(status, 409);
    let (status, cron) = api
        .post(
            base,
            json!({
                "name": "berlin", "attribution-actor": "system",
                "parameters": { "tag": "v1" },
                "timetable": { "cron": "30 2 * * *", "timezone": "Europe/Berlin" },
            }),
        )
        .await;
    assert_eq!(status, 201, "{cron}");
    assert_eq!(cron["actor"]["login"], "system");
    assert_eq!(cron["timetable"]["timezone"], "Europe/Berlin");

    // Bad bodies: 400 with a message naming the field.
    let bad = [
        (
            json!({ "timetable": body["timetable"], "attribution-actor": "current", "parameters": { "branch": "main" } }),
            "name",
        ),
        (
            json!({ "name": "x", "timetable": { "per-hour": 99, "hours-of-day": [1], "days-of-week": ["MON"] }, "attribution-actor": "current", "parameters": { "branch": "main" } }),
            "timetable.per-hour",
        ),
        (
            json!({ "name": "x", "timetable": { "per-hour": 1, "hours-of-day": [1] }, "attribution-actor": "current", "parameters": { "branch": "main" } }),
            "timetable.days-of-week",
        ),
        (
            json!({ "name": "x", "timetable": { "cron": "not cron" }, "attribution-actor": "current", "parameters": { "branch": "main" } }),
            "timetable.cron",
        ),
        (
            json!({ "name": "x", "timetable": { "cron": "0 * * * *", "timezone": "Nowhere/Land" }, "attribution-actor": "current", "parameters": { "branch": "main" } }),
            "timetable.timezone",
        ),
        (
            json!({ "name": "x", "timetable": body["timetable"], "attribution-actor": "someone", "parameters": { "branch": "main" } }),
            "attribution-actor",
        ),
        (
            json!({ "name": "x", "timetable": body["timetable"], "attribution-actor": "current", "parameters": { "deploy": true } }),
            "parameters.branch",
        ),
        (
            json!({ "name": "x", "timetable": body["timetable"], "attribution-actor": "current", "parameters": { "branch": "main", "tag": "v1" } }),
            "parameters.tag",
        ),
        (
            json!({ "name": "x", "timetable": body["timetable"], "attribution-actor": "current", "parameters": { "branch": "main", "list": [1] } }),
            "parameters.list",
        ),
        (
            json!({ "name": "x", "timetable": body["timetable"], "attribution-actor": "current", "parameters": { "branch": "main" }, "colour": "red" }),
            "colour",
        ),
    ];
    for (body, field) in bad {
        let (status, answer) = api.post(base, body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{body} → {message}");
    }

    // List (paginated), get, update, delete.
    let (status, list) = api.get(base).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nightly", "berlin"]);
    assert!(list.get("next_page_token").is_some());
    let (status, got) = api.get(&format!("/api/v2/schedule/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, made);
    let path = format!("/api/v2/schedule/{id}");
    let (status, changed) = api
        .call(
            "PATCH",
            &path,
            json!({ "name": "nightly-2", "attribution-actor": "system", "description": null }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "nightly-2");
    assert_eq!(changed["actor"]["login"], "system");
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["timetable"], made["timetable"]);
    let (status, answer) = api
        .call("PATCH", &path, json!({ "timetable": { "per-hour": 1 } }))
        .await;
    assert_eq!(status, 400, "{answer}");

    // A user who may not see the project gets 404 for it and for its schedules.
    let (status, _) = api
        .post("/api/circa/users", json!({ "login": "eve" }))
        .await;
    assert_eq!(status, 201);
    let (status, token) = api
        .post(
            "/api/circa/tokens",
            json!({ "kind": "user", "name": "eve", "user": "eve" }),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let mut eve = api.clone();
    eve.token = token["token"].as_str().unwrap().to_string();
    assert_eq!(eve.get(base).await.0, 404);
    assert_eq!(eve.get(&path).await.0, 404);
    assert_eq!(eve.post(base, body.clone()).await.0, 404);
    assert_eq!(eve.call("DELETE", &path, json!({})).await.0, 404);
    let mut no_token = api.clone();
    no_token.token = String::new();
    assert_eq!(no_token.get(base).await.0, 401);

    let (status, answer) = api.call("DELETE", &path, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["message"].is_string());
    assert_eq!(api.get(&path).await.0, 404);
    assert_eq!(api.call("DELETE", &path, json!({})).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_minute_schedule_fires_within_a_second_of_the_minute() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let runner_dir = tempfile::tempdir().unwrap();
    let token = api.runner_token("default").await;
    let _runner = RunnerProc::start(&server.url, &token, runner_dir.path(), 2);
    let repo = Repo::new(ECHO);
    api.add_project("gh/acme/minute", repo.path(), json!({}))
        .await;
    // CircleCI's own timetable for "every minute".
    let (status, made) = api
        .post(
            "/api/v2/project/gh/acme/minute/schedule",
            json!({
                "name": "every-minute",
                "attribution-actor": "current",
                "parameters": { "branch": "main" },
                "timetable": {
                    "per-hour": 60,
                    "hours-of-day": (0..24).collect::<Vec<_>>(),
                    "days-of-week": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
                },
            }),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let fired = api
        .until(Duration::from_secs(75), "the schedule to fire", || async {
            scheduled(&api, "gh/acme/minute").await.into_iter().next()
        })
        .await;
    let created = ms(&fired["created_at"]);
    let tick = created - created.rem_euclid(60_000);
    let delay = created - tick;
    println!("schedule_fire_delay_ms: {delay}");
    assert!(delay < 1000, "fired {delay} ms after the minute");
    assert_eq!(ms(&fired["trigger"]["received_at"]), tick);
    assert_eq!(fired["trigger"]["actor"]["login"], "admin");
    assert_eq!(fired["vcs"]["branch"], "main");
    let log = first_job_log(&api, fired["id"].as_str().unwrap()).await;
    assert!(
        log.contains("source=scheduled_pipeline schedule=every-minute type=schedule"),
        "{log}"
    );
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        api.call("DELETE", &format!("/api/v2/schedule/{id}"), json!({}))
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_across_two_ticks_fires_once_on_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let repo = Repo::new(ECHO);
    api.add_project("gh/acme/restart", repo.path(), json!({}))
        .await;
    // Every 4 seconds: Circa's cron form with a seconds field.
    let period = 4_000;
    let (status, made) = api
        .post(
            "/api/v2/project/gh/acme/restart/schedule",
            json!({
                "name": "fast",
                "attribution-actor": "system",
                "parameters": { "branch": "main" },
                "timetable": { "cron": "*/4 * * * * *", "timezone": "UTC" },
            }),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    api.until(Duration::from_secs(10), "a first firing", || async {
        scheduled(&api, "gh/acme/restart").await.into_iter().next()
    })
    .await;

    server.kill();
    let stopped = jiff::Timestamp::now().as_millisecond();
    tokio::time::sleep(Duration::from_millis(2 * period as u64 + 1_500)).await;
    let started = Instant::now();
    server.restart();
    let up_at = jiff::Timestamp::now().as_millisecond();
    let missed_ticks = (stopped / period + 1..=up_at / period).count();
    assert!(
        missed_ticks >= 2,
        "the server was down across {missed_ticks} ticks"
    );

    // The latest tick missed while the server was down fires once, soon after the start.
    let missed_fire = api
        .until(
            Duration::from_secs(10),
            "the missed tick to fire",
            || async {
                scheduled(&api, "gh/acme/restart")
                    .await
                    .into_iter()
                    .find(|p| ms(&p["trigger"]["received_at"]) > stopped)
            },
        )
        .await;
    let recovery = started.elapsed();
    let missed_tick = ms(&missed_fire["trigger"]["received_at"]);
    assert_eq!(
        missed_tick,
        up_at - up_at.rem_euclid(period),
        "the latest tick missed"
    );
    assert!(
        ms(&missed_fire["created_at"]) - up_at < 1_000,
        "the missed tick fired {} ms after the server was up",
        ms(&missed_fire["created_at"]) - up_at
    );
    // Let the next live tick fire too, then count.
    api.until(
        Duration::from_secs(10),
        "a live tick after the restart",
        || async {
            scheduled(&api, "gh/acme/restart")
                .await
                .into_iter()
                .find(|p| ms(&p["trigger"]["received_at"]) > up_at)
        },
    )
    .await;
    let all = scheduled(&api, "gh/acme/restart").await;
    let ticks: Vec<i64> = all
        .iter()
        .map(|p| ms(&p["trigger"]["received_at"]))
        .collect();
    let mut unique = ticks.clone();
    unique.dedup();
    assert_eq!(unique, ticks, "a tick fired twice: {ticks:?}");
    let while_down: Vec<i64> = ticks
        .iter()
        .copied()
        .filter(|t| *t > stopped && *t <= up_at)
        .collect();
    assert_eq!(
        while_down,
        [missed_tick],
        "{missed_ticks} ticks were missed; they fired {} times",
        while_down.len()
    );
    assert!(ticks.iter().all(|t| t % period == 0), "{ticks:?}");
    println!("schedule_recovery_after_start_ms: {}", recovery.as_millis());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_triggers_schedule_runs_only_its_workflow_on_its_branches() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), 30);
    let api = server.client();
    let runner_dir = tempfile::tempdir().unwrap();
    let token = api.runner_token("default").await;
    let _runner = RunnerProc::start(&server.url, &token, runner_dir.path(), 2);
    let repo = Repo::new(LEGACY);
    repo.git(&["checkout", "-q", "-b", "dev"]);
    repo.git(&["checkout", "-q", "main"]);
    let slug = "gh/acme/legacy";
    api.add_project(slug, repo.path(), json!({})).await;

    // A pipeline on a branch reads that branch's config: `dev` is not among the branches the
    // schedule builds, so it defines none.
    let on_dev = api.trigger(slug, json!({ "branch": "dev" })).await;
    let names: Vec<Value> = api
        .finished(&on_dev, LONG)
        .await
        .iter()
        .map(|w| w["name"].clone())
        .collect();
    assert_eq!(
        names,
        ["on-push"],
        "a workflow with triggers runs only on its schedule"
    );
    let on_main = api.trigger(slug, json!({ "branch": "main" })).await;
    api.finished(&on_main, LONG).await;

    let fired = api
        .until(
            Duration::from_secs(15),
            "the legacy schedule to fire",
            || async { scheduled(&api, slug).await.into_iter().next() },
        )
        .await;
    assert_eq!(fired["vcs"]["branch"], "main");
    assert_eq!(fired["trigger"]["actor"]["login"], "system");
    let id = fired["id"].as_str().unwrap();
    let workflows = api.finished(id, LONG).await;
    let names: Vec<&str> = workflows
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["nightly"],
        "a legacy firing runs only its own workflow"
    );
    let log = first_job_log(&api, id).await;
    assert!(
        log.contains("source=scheduled_pipeline schedule=nightly"),
        "{log}"
    );
    assert!(
        scheduled(&api, slug)
            .await
            .iter()
            .all(|p| p["vcs"]["branch"] == "main"),
        "only main is built on schedule"
    );
    // Config schedules are not API schedules.
    let (_, list) = api.get(&format!("/api/v2/project/{slug}/schedule")).await;
    assert_eq!(list["items"], json!([]));

    // A config without the trigger, pushed to main, removes the schedule.
    repo.commit(ECHO, "no more schedules");
    let after = api.trigger(slug, json!({ "branch": "main" })).await;
    api.finished(&after, LONG).await;
    let settle_deadline = Instant::now() + Duration::from_secs(5);
    let mut count = scheduled(&api, slug).await.len();
    loop {
        // Once the count holds across two periods, the schedule is gone.
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        let now = scheduled(&api, slug).await.len();
        if now == count {
            break;
        }
        count = now;
        assert!(
            Instant::now() < settle_deadline,
            "the schedule keeps firing"
        );
    }
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(scheduled(&api, slug).await.len(), count);
}
