//! Every served API v2 route × every kind of caller: no token, an unknown token, a revoked
//! token, the token of a user without the project, a runner token, a task token. Nobody but
//! a member gets in, a non-member learns nothing (404, as CircleCI answers), and no answer
//! carries the project's ids, names or data. Admin-only `/api/circa` routes refuse a plain
//! user with 403.

use serde_json::{Value, json};

use crate::api_fixture::{Fixture, SLUG};

/// What the matrix needs to name real things.
struct Ids {
    pipeline: String,
    number: i64,
    workflow: String,
    job: String,
    job_number: i64,
    user: String,
    context: String,
    restriction: String,
    schedule: String,
    fingerprint: String,
}

/// An additional SSH key for the project, made for this test only
/// (`ssh-keygen -t ed25519 -N ''`).
pub(crate) const MATRIX_SSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACAqFavtfxX6txEnnNGqZj/3PLZ64MSY/wwX/s2vlHiYzAAAAIgIbj01CG49
NQAAAAtzc2gtZWQyNTUxOQAAACAqFavtfxX6txEnnNGqZj/3PLZ64MSY/wwX/s2vlHiYzA
AAAEAaDVNgT92iZkMAanxNrVlE2vq0SSILkvDzvpt58OOe6yoVq+1/Ffq3ESec0apmP/c8
tnrgxJj/DBf+za+UeJjMAAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";

/// The concrete path of a served route (with `/api/v2`).
fn concrete(route: &str, ids: &Ids) -> String {
    let path = route
        .replace("{project-slug}", SLUG)
        .replace("{pipeline-number}", &ids.number.to_string())
        .replace("{pipeline-id}", &ids.pipeline)
        .replace("{job-number}", &ids.job_number.to_string())
        .replace("{job-id}", &ids.job)
        .replace("{context_id}", &ids.context)
        .replace("{env_var_name}", "TOKEN")
        .replace("{restriction_id}", &ids.restriction)
        .replace("{schedule-id}", &ids.schedule)
        .replace("{fingerprint}", &ids.fingerprint)
        .replace("{name}", "DEPLOY_KEY")
        .replace(
            "{approval_request_id}",
            "0b4d7a4e-3f52-4c1c-9d56-0f6f2f8a1e11",
        )
        .replace(
            "{id}",
            if route.starts_with("/user") {
                &ids.user
            } else {
                &ids.workflow
            },
        );
    let path = match route {
        "/pipeline" | "/context" => format!("{path}?org-slug=gh/acme&owner-slug=gh/acme"),
        _ => path,
    };
    format!("/api/v2{path}")
}

/// A body the route would accept from a member, so that what is tested is who may call it.
fn valid_body(route: &str) -> Value {
    match route {
        "/project/{project-slug}/envvar" => json!({ "name": "OTHER", "value": "matrix-other" }),
        "/project/{project-slug}/checkout-key" => json!({ "type": "deploy-key" }),
        "/context" => json!({ "name": "matrix-other" }),
        "/context/{context_id}/environment-variable/{env_var_name}" => {
            json!({ "value": "matrix-other" })
        }
        "/context/{context_id}/restrictions" => json!({
            "restriction_type": "expression",
            "restriction_value": "pipeline.git.branch == \"dev\"",
        }),
        "/project/{project-slug}/schedule" => json!({
            "name": "matrix-other",
            "attribution-actor": "current",
            "parameters": { "branch": "main" },
            "timetable": { "per-hour": 1, "hours-of-day": [4], "days-of-week": ["TUE"] },
        }),
        "/schedule/{schedule-id}" => json!({ "description": "changed" }),
        "/project/{project-slug}/pipeline" => json!({ "branch": "main" }),
        _ => json!({}),
    }
}

/// The git access routes of the project, each with a body an admin's call would carry.
fn git_access_routes() -> Vec<(&'static str, String, Value)> {
    let hosts = format!("/api/circa/projects/{SLUG}/known-hosts");
    let token = format!("/api/circa/projects/{SLUG}/repo-token");
    let line = "h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINIRALENFJ7rqqsgW8q9aVFPAlUs+lwwMbWVKwJnQ36W";
    vec![
        ("GET", hosts.clone(), json!({})),
        ("PUT", hosts, json!({ "known_hosts": line })),
        ("GET", token.clone(), json!({})),
        (
            "PUT",
            token.clone(),
            json!({ "token": "matrix-other-token" }),
        ),
        ("DELETE", token, json!({})),
    ]
}

/// A request with `token` sent as CircleCI clients send it.
async fn call(url: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    call_with(url, method, path, token, json!({})).await
}

/// A request with a JSON body (for POST).
async fn call_with(
    url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, String) {
    let http = reqwest::Client::new();
    let full = format!("{url}{path}");
    let mut request = match method {
        "GET" => http.get(&full),
        "DELETE" => http.delete(&full),
        "PUT" => http.put(&full).json(&body),
        "PATCH" => http.patch(&full).json(&body),
        _ => http.post(&full).json(&body),
    };
    if let Some(t) = token {
        request = request.header("Circle-Token", t);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn user_token(api: &crate::server_harness::Api, login: &str) -> (String, String) {
    let (status, body) = api
        .post("/api/circa/users", json!({ "login": login }))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .post(
            "/api/circa/tokens",
            json!({ "kind": "user", "name": login, "user": login }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["token"].as_str().unwrap().to_string(),
        body["id"].as_str().unwrap().to_string(),
    )
}

/// A task token: the `matrix` branch's job, for a class no runner serves, claimed here.
async fn task_token(f: &Fixture) -> String {
    let runner = f.api.runner_token("matrix").await;
    let (status, body) = f
        .api
        .post(
            &format!("/api/v2/project/{SLUG}/pipeline"),
            json!({ "branch": "matrix" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let r = reqwest::Client::new()
        .post(format!("{}/api/runner/v1/claims", f.api.url))
        .bearer_auth(&runner)
        .json(&json!({ "runner": "matrix", "wait_ms": 30000, "max_tasks": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["tasks"][0]["task_token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_every_caller_without_the_project_and_leaks_nothing() {
    let f = Fixture::start().await;
    let api = &f.api;
    let (status, created) = api
        .post(
            &format!("/api/v2/project/{SLUG}/pipeline"),
            json!({ "branch": "main" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let pipeline = created["id"].as_str().unwrap().to_string();
    let wf = f.first_workflow(&pipeline).await;
    let workflow = wf["id"].as_str().unwrap().to_string();
    let build = f.job_with_status(&workflow, "build", "success").await;
    let (_, me) = api.get("/api/v2/me").await;
    let (_, project) = api.get(&format!("/api/v2/project/{SLUG}")).await;
    // A project variable, a context with a variable and a restriction, and a schedule.
    let (status, _) = api
        .post(
            &format!("/api/v2/project/{SLUG}/envvar"),
            json!({ "name": "DEPLOY_KEY", "value": "matrix-project-secret" }),
        )
        .await;
    assert_eq!(status, 201);
    let (_, context) = api
        .post("/api/v2/context", json!({ "name": "matrix-ctx" }))
        .await;
    let context_id = context["id"].as_str().unwrap().to_string();
    let (status, _) = api
        .call(
            "PUT",
            &format!("/api/v2/context/{context_id}/environment-variable/TOKEN"),
            json!({ "value": "matrix-context-secret" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, restriction) = api
        .post(
            &format!("/api/v2/context/{context_id}/restrictions"),
            json!({
                "restriction_type": "expression",
                "restriction_value": "pipeline.git.branch == \"main\"",
            }),
        )
        .await;
    let (status, schedule) = api
        .post(
            &format!("/api/v2/project/{SLUG}/schedule"),
            json!({
                "name": "matrix-nightly",
                "attribution-actor": "current",
                "parameters": { "branch": "main" },
                "timetable": { "per-hour": 1, "hours-of-day": [3], "days-of-week": ["MON"] },
            }),
        )
        .await;
    assert_eq!(status, 201, "{schedule}");
    let (status, keys) = api
        .get(&format!("/api/v2/project/{SLUG}/checkout-key"))
        .await;
    assert_eq!(status, 200, "{keys}");
    let deploy_key = keys["items"][0].clone();
    let ssh_keys = format!("/api/v1.1/project/{SLUG}/ssh-key");
    let (status, ssh_key) = api
        .post(
            &ssh_keys,
            json!({ "hostname": "matrix.example.com", "private_key": MATRIX_SSH_KEY }),
        )
        .await;
    assert_eq!(status, 201, "{ssh_key}");
    let ids = Ids {
        pipeline: pipeline.clone(),
        number: created["number"].as_i64().unwrap(),
        workflow: workflow.clone(),
        job: build["id"].as_str().unwrap().to_string(),
        job_number: build["job_number"].as_i64().unwrap(),
        user: me["id"].as_str().unwrap().to_string(),
        context: context_id.clone(),
        restriction: restriction["id"].as_str().unwrap_or("none").to_string(),
        schedule: schedule["id"].as_str().unwrap().to_string(),
        fingerprint: deploy_key["fingerprint"].as_str().unwrap().to_string(),
    };
    let secrets = [
        project["id"].as_str().unwrap().to_string(),
        "acme/walk".to_string(),
        pipeline.clone(),
        workflow.clone(),
        ids.job.clone(),
        f.repo.path().display().to_string(),
        ids.schedule.clone(),
        "matrix-nightly".to_string(),
        "matrix-project-secret".to_string(),
        "matrix-context-secret".to_string(),
        deploy_key["public-key"].as_str().unwrap().to_string(),
        ids.fingerprint.clone(),
        ssh_key["public_key"].as_str().unwrap().to_string(),
        ssh_key["fingerprint"].as_str().unwrap().to_string(),
        "matrix.example.com".to_string(),
        "PRIVATE KEY".to_string(),
    ];

    let (outsider, _) = user_token(api, "eve").await;
    let (revoked, revoked_id) = user_token(api, "mallory").await;
    let r = reqwest::Client::new()
        .delete(format!("{}/api/circa/tokens/{revoked_id}", api.url))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let runner = api.runner_token("default").await;
    let task = task_token(&f).await;

    let callers: [(&str, Option<&str>); 6] = [
        ("no token", None),
        (
            "an unknown token",
            Some("circa_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
        ("a revoked token", Some(&revoked)),
        ("a user without the project", Some(&outsider)),
        ("a runner token", Some(&runner)),
        ("a task token", Some(&task)),
    ];
    for (method, route) in circa_server::api::SERVED_ROUTES {
        let path = concrete(route, &ids);
        for (who, token) in &callers {
            let (status, body) =
                call_with(&api.url, method, &path, *token, valid_body(route)).await;
            let allowed: &[u16] = match (*who, *route) {
                // Authorized by its continuation key alone: a wrong key is refused.
                (_, "/pipeline/continue") => &[400, 401, 403, 404, 409, 422],
                ("no token" | "an unknown token" | "a revoked token", _) => &[401],
                ("a runner token", _) => &[403],
                ("a task token", _) => &[401, 403],
                // The caller's own things, holding nothing of the project.
                (_, "/me" | "/me/collaborations" | "/pipeline") => &[200],
                // Contexts belong to the organisation, not the project: others may list and
                // read them (values stay masked), only admins change them.
                (_, r) if r.starts_with("/context") && *method == "GET" => &[200, 403, 404],
                (_, r) if r.starts_with("/context") => &[403, 404],
                _ => &[404],
            };
            assert!(
                allowed.contains(&status),
                "{method} {path} with {who}: {status} {body}"
            );
            let json: Value = serde_json::from_str(&body)
                .unwrap_or_else(|_| panic!("{method} {path} with {who}: not JSON: {body}"));
            if status >= 400 {
                assert!(json["message"].is_string(), "{method} {path}: {body}");
            }
            for secret in &secrets {
                assert!(
                    !body.contains(secret.as_str()),
                    "{method} {path} with {who} leaks {secret:?}: {body}"
                );
            }
        }
    }
    // Circa's own routes of a project's git access: the same refusals, and the token never
    // shows.
    let token_route = format!("/api/circa/projects/{SLUG}/repo-token");
    let (status, _) = api
        .call(
            "PUT",
            &token_route,
            json!({ "token": "matrix-repo-token-secret" }),
        )
        .await;
    assert_eq!(status, 200);
    for (method, path, body) in git_access_routes() {
        for (who, token) in &callers {
            let (status, answer) = call_with(&api.url, method, &path, *token, body.clone()).await;
            let allowed: &[u16] = match *who {
                "no token" | "an unknown token" | "a revoked token" => &[401],
                "a runner token" => &[403],
                "a task token" => &[401, 403],
                _ => &[404],
            };
            assert!(
                allowed.contains(&status),
                "{method} {path} with {who}: {status} {answer}"
            );
            assert!(!answer.contains("matrix-repo-token-secret"), "{answer}");
            for secret in &secrets {
                assert!(
                    !answer.contains(secret.as_str()),
                    "{method} {path}: {answer}"
                );
            }
        }
    }

    // CircleCI's v1.1 routes of a project's additional SSH keys: the same rules.
    for (method, body) in [
        ("GET", json!({})),
        (
            "POST",
            json!({ "hostname": "other.example.com", "private_key": MATRIX_SSH_KEY }),
        ),
        ("DELETE", json!({ "fingerprint": ssh_key["fingerprint"] })),
    ] {
        for (who, token) in &callers {
            let (status, text) = call_with(&api.url, method, &ssh_keys, *token, body.clone()).await;
            let allowed: &[u16] = match *who {
                "no token" | "an unknown token" | "a revoked token" => &[401],
                "a runner token" => &[403],
                "a task token" => &[401, 403],
                _ => &[404],
            };
            assert!(
                allowed.contains(&status),
                "{method} {ssh_keys} with {who}: {status} {text}"
            );
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{method} {ssh_keys} with {who} leaks {secret:?}: {text}"
                );
            }
        }
    }

    // `/metrics` on the main listener is served only with a metrics token, and this server
    // has none: every caller, the admin too, gets 404 and no metric (with a token, only that
    // token gets in: see `metrics.rs`).
    let admin = api.token.clone();
    for (who, token) in callers.iter().chain([&("the admin", Some(admin.as_str()))]) {
        let (status, text) = call(&api.url, "GET", "/metrics", *token).await;
        assert_eq!(status, 404, "/metrics with {who}: {text}");
        assert!(!text.contains("circa_"), "/metrics with {who}: {text}");
    }

    // A member who is not an admin reaches the project, but not the admin routes.
    let (member, _) = user_token(api, "bob").await;
    let (status, body) = api
        .post(
            &format!("/api/circa/projects/{SLUG}/members"),
            json!({ "login": "bob" }),
        )
        .await;
    assert!(
        status == 201 || status == 204 || status == 200,
        "{status} {body}"
    );
    let (status, _) = call(
        &api.url,
        "GET",
        &format!("/api/v2/project/{SLUG}"),
        Some(&member),
    )
    .await;
    assert_eq!(status, 200);
    // A member sees the project's checkout keys, but only admins make or delete them.
    let keys = format!("/api/v2/project/{SLUG}/checkout-key");
    let (status, body) = call(&api.url, "GET", &keys, Some(&member)).await;
    assert_eq!(status, 200, "{body}");
    let one = format!("{keys}/{}", ids.fingerprint);
    let (status, body) = call(&api.url, "GET", &one, Some(&member)).await;
    assert_eq!(status, 200, "{body}");
    // A member lists the project's additional SSH keys (never a private key), but only
    // admins add or remove them.
    let (status, body) = call(&api.url, "GET", &ssh_keys, Some(&member)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("matrix.example.com") && !body.contains("PRIVATE KEY"),
        "{body}"
    );
    for (method, path, body) in [
        ("POST", keys.clone(), json!({ "type": "deploy-key" })),
        ("DELETE", one.clone(), json!({})),
        (
            "POST",
            ssh_keys.clone(),
            json!({ "hostname": "member.example.com", "private_key": MATRIX_SSH_KEY }),
        ),
        (
            "DELETE",
            format!(
                "{ssh_keys}?fingerprint={}",
                ssh_key["fingerprint"].as_str().unwrap()
            ),
            json!({}),
        ),
    ] {
        let (status, body) = call_with(&api.url, method, &path, Some(&member), body).await;
        assert_eq!(status, 403, "{method} {path} as a member: {body}");
    }
    // A member reads the project's known hosts and whether it has a token; only admins
    // change them.
    for (method, path, body) in git_access_routes() {
        let (status, answer) = call_with(&api.url, method, &path, Some(&member), body).await;
        let expected = if method == "GET" { 200 } else { 403 };
        assert_eq!(status, expected, "{method} {path} as a member: {answer}");
    }
    for (method, path, body) in [
        (
            "POST",
            "/api/circa/users".to_string(),
            json!({ "login": "zed" }),
        ),
        ("GET", "/api/circa/users".to_string(), json!({})),
        (
            "POST",
            "/api/circa/groups".to_string(),
            json!({ "name": "ops" }),
        ),
        (
            "POST",
            "/api/circa/projects".to_string(),
            json!({ "slug": "gh/acme/other", "repo": "/tmp" }),
        ),
        (
            "POST",
            format!("/api/circa/projects/{SLUG}/members"),
            json!({ "login": "bob" }),
        ),
        (
            "POST",
            "/api/circa/tokens".to_string(),
            json!({ "kind": "runner", "name": "r", "resource_class": "default" }),
        ),
    ] {
        let (status, body) = call_with(&api.url, method, &path, Some(&member), body).await;
        assert_eq!(status, 403, "{method} {path} as a plain user: {body}");
    }
    forge_routes_need_membership_and_admin(&api.url, api, &member, &outsider).await;
}

/// The project's forge (`/api/circa/projects/SLUG/forge`): outsiders learn nothing (404), a
/// member reads the settings but never the token, only admins set or remove it.
async fn forge_routes_need_membership_and_admin(
    url: &str,
    api: &crate::server_harness::Api,
    member: &str,
    outsider: &str,
) {
    let forge = format!("/api/circa/projects/{SLUG}/forge");
    let token = "matrix-forge-token-value";
    let body = json!({ "kind": "gitea", "api_url": "http://127.0.0.1:9/api/v1", "token": token });
    let (status, set) = api.call("PUT", &forge, body.clone()).await;
    assert_eq!(status, 200, "{set}");
    // Nothing listens there: the deploy key is not added, which is reported, not fatal.
    assert_eq!(set["deploy_key"]["added"], false, "{set}");
    assert!(
        set["last_error"]
            .as_str()
            .unwrap()
            .starts_with("deploy key: "),
        "{set}"
    );
    for (method, who, caller, want) in [
        ("GET", "an outsider", Some(outsider), 404),
        ("PUT", "an outsider", Some(outsider), 404),
        ("DELETE", "an outsider", Some(outsider), 404),
        ("GET", "no token", None, 401),
        ("PUT", "no token", None, 401),
        ("GET", "a member", Some(member), 200),
        ("PUT", "a member", Some(member), 403),
        ("DELETE", "a member", Some(member), 403),
    ] {
        let (status, answer) = call_with(url, method, &forge, caller, body.clone()).await;
        assert_eq!(status, want, "{method} {forge} as {who}: {answer}");
        assert!(!answer.contains(token), "{method} as {who} leaks the token");
    }
    let (status, answer) = call(url, "GET", &forge, Some(member)).await;
    assert_eq!(status, 200);
    let shown: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(shown["token_set"], true, "{answer}");
    let (status, _) = api.call("DELETE", &forge, json!({})).await;
    assert_eq!(status, 200);
}
