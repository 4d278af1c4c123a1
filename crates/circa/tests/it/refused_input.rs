//! Input the API refuses, naming the field, rather than storing something that breaks later:
//! an environment value with a NUL byte, a slug that names an existing project in other case,
//! a schedule firing more often than the server allows.

use serde_json::{Value, json};

use crate::server_harness::{Api, Repo, ServerProc};

const CONFIG: &str = "version: 2.1\njobs:\n  build: {machine: true, steps: [{run: echo hi}]}\n";

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_slugs_and_schedules_are_refused_naming_the_field() {
    let data = tempfile::tempdir().unwrap();
    // The server's own default floor: one minute.
    let server = ServerProc::start_with_env(
        data.path(),
        30,
        &[("CIRCA_MIN_SCHEDULE_INTERVAL_SECS", "60")],
    );
    let api = server.client();
    let repo = Repo::new(CONFIG);
    api.add_project("gh/acme/app", repo.path(), json!({})).await;
    nul_values_are_refused(&api).await;
    slugs_differing_in_case_are_one_project(&api, &repo).await;
    schedules_firing_too_often_are_refused(&api).await;
}

async fn nul_values_are_refused(api: &Api) {
    let (status, body) = api
        .post(
            "/api/v2/project/gh/acme/app/envvar",
            json!({ "name": "WITH_NUL", "value": "a\u{0}b" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("value: "), "{body}");
    assert!(message(&body).contains("NUL"), "{body}");
    let (status, body) = api.get("/api/v2/project/gh/acme/app/envvar").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]), "nothing was stored");

    let (status, context) = api
        .post(
            "/api/v2/context",
            json!({ "name": "nul", "owner": { "slug": "gh/acme", "type": "organization" } }),
        )
        .await;
    assert_eq!(status, 200, "{context}");
    let id = context["id"].as_str().unwrap();
    let (status, body) = api
        .http_put(
            &format!("/api/v2/context/{id}/environment-variable/WITH_NUL"),
            json!({ "value": "\u{0}" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("value: "), "{body}");
}

async fn slugs_differing_in_case_are_one_project(api: &Api, repo: &Repo) {
    for other in ["GH/Acme/App", "github/acme/APP", "gh/acme/app"] {
        let (status, body) = api
            .post(
                "/api/circa/projects",
                json!({ "slug": other, "repo": repo.path(), "default_branch": "main" }),
            )
            .await;
        assert_eq!(status, 409, "{other}: {body}");
    }
    let (_, list) = api.get("/api/circa/projects").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    for path in ["GH/acme/app", "GitHub/acme/app", "gh/Acme/APP"] {
        let (status, body) = api.get(&format!("/api/v2/project/{path}")).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["slug"], "gh/acme/app", "{path}");
    }
    let (status, _) = api.get("/api/v2/project/gh/acme/other").await;
    assert_eq!(status, 404);
    // A new project keeps the case of its organisation and repository.
    let (status, body) = api
        .post(
            "/api/circa/projects",
            json!({ "slug": "GitHub/Acme/Second", "repo": repo.path(), "default_branch": "main" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["slug"], "gh/Acme/Second");
}

async fn schedules_firing_too_often_are_refused(api: &Api) {
    let schedule = |cron: &str| {
        json!({
            "name": "often",
            "timetable": { "cron": cron, "timezone": "UTC" },
            "attribution-actor": "current",
            "parameters": { "branch": "main" },
        })
    };
    for cron in ["* * * * * *", "*/30 * * * * *"] {
        let (status, body) = api
            .post("/api/v2/project/gh/acme/app/schedule", schedule(cron))
            .await;
        assert_eq!(status, 400, "{cron}: {body}");
        assert!(message(&body).starts_with("timetable.cron: "), "{body}");
        assert!(message(&body).contains("60s"), "{body}");
    }
    let (status, created) = api
        .post(
            "/api/v2/project/gh/acme/app/schedule",
            schedule("* * * * *"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            "PATCH",
            &format!("/api/v2/schedule/{id}"),
            json!({ "timetable": { "cron": "*/10 * * * * *" } }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("timetable.cron: "), "{body}");
}
