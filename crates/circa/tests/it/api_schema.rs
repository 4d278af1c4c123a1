//! Every CircleCI API v2 route Circa serves (`circa_server::api::SERVED_ROUTES`), called after a
//! real run, answers with the status and a body the OpenAPI document allows.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::api_fixture::{Fixture, LONG, SLUG};
use crate::openapi;

/// Checks answers against the document and remembers which routes were checked.
struct Walk {
    doc: Value,
    seen: BTreeSet<(String, String)>,
}

impl Walk {
    fn check(&mut self, method: &str, route: &str, expected: u16, got: (u16, Value)) -> Value {
        let (status, body) = got;
        assert_eq!(status, expected, "{method} {route}: {body}");
        assert!(
            openapi::documents_status(&self.doc, method, route, status),
            "{method} {route}: the document has no {status} answer"
        );
        let schema = openapi::response_schema(&self.doc, method, route, status)
            .unwrap_or_else(|| panic!("{method} {route}: no schema for {status}"));
        let errors = openapi::validate(&self.doc, schema, &body);
        assert!(
            errors.is_empty(),
            "{method} {route} breaks the document:\n{}\n{body:#}",
            errors.join("\n")
        );
        self.seen.insert((method.to_string(), route.to_string()));
        body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_served_route_answers_as_the_openapi_document_says() {
    let f = Fixture::start().await;
    let api = &f.api;
    let mut w = Walk {
        doc: openapi::document(),
        seen: BTreeSet::new(),
    };
    let v2 = |p: &str| format!("/api/v2{p}");
    let me = w.check("GET", "/me", 200, api.get(&v2("/me")).await);
    w.check(
        "GET",
        "/me/collaborations",
        200,
        api.get(&v2("/me/collaborations")).await,
    );
    let me_id = me["id"].as_str().unwrap();
    w.check(
        "GET",
        "/user/{id}",
        200,
        api.get(&v2(&format!("/user/{me_id}"))).await,
    );
    let project = w.check(
        "GET",
        "/project/{project-slug}",
        200,
        api.get(&v2(&format!("/project/{SLUG}"))).await,
    );
    // The same project by the other slug spellings.
    for spelling in [
        "gh%2Facme%2Fwalk",
        "github/acme/walk",
        "github%2Facme%2Fwalk",
    ] {
        let (status, body) = api.get(&v2(&format!("/project/{spelling}"))).await;
        assert_eq!((status, &body["id"]), (200, &project["id"]), "{spelling}");
    }

    // Trigger: main (approval, artifacts, tests), slow (cancels), setup (continuation).
    let trigger = |branch: &'static str| {
        let api = api.clone();
        async move {
            api.post(
                &format!("/api/v2/project/{SLUG}/pipeline"),
                json!({ "branch": branch }),
            )
            .await
        }
    };
    let main = w.check(
        "POST",
        "/project/{project-slug}/pipeline",
        201,
        trigger("main").await,
    );
    let main_id = main["id"].as_str().unwrap().to_string();
    let (status, slow) = trigger("slow").await;
    assert_eq!(status, 201, "{slow}");
    let (status, setup) = trigger("setup").await;
    assert_eq!(status, 201, "{setup}");

    let main_wf = f.first_workflow(&main_id).await;
    let main_wf_id = main_wf["id"].as_str().unwrap().to_string();
    let hold = f.job_with_status(&main_wf_id, "hold", "on_hold").await;
    let request = hold["approval_request_id"].as_str().unwrap();
    w.check(
        "POST",
        "/workflow/{id}/approve/{approval_request_id}",
        202,
        api.post(
            &v2(&format!("/workflow/{main_wf_id}/approve/{request}")),
            json!({}),
        )
        .await,
    );
    api.finished(&main_id, LONG).await;

    w.check(
        "GET",
        "/project/{project-slug}/pipeline",
        200,
        api.get(&v2(&format!("/project/{SLUG}/pipeline?branch=main")))
            .await,
    );
    let mine = w.check(
        "GET",
        "/project/{project-slug}/pipeline/mine",
        200,
        api.get(&v2(&format!("/project/{SLUG}/pipeline/mine")))
            .await,
    );
    assert_eq!(mine["items"].as_array().unwrap().len(), 3, "{mine}");
    let number = main["number"].as_i64().unwrap();
    let by_number = w.check(
        "GET",
        "/project/{project-slug}/pipeline/{pipeline-number}",
        200,
        api.get(&v2(&format!("/project/{SLUG}/pipeline/{number}")))
            .await,
    );
    assert_eq!(by_number["id"], main["id"]);
    let org = w.check(
        "GET",
        "/pipeline",
        200,
        api.get(&v2("/pipeline?org-slug=gh/acme")).await,
    );
    assert_eq!(org["items"].as_array().unwrap().len(), 3, "{org}");
    w.check(
        "GET",
        "/pipeline/{pipeline-id}",
        200,
        api.get(&v2(&format!("/pipeline/{main_id}"))).await,
    );
    let config = w.check(
        "GET",
        "/pipeline/{pipeline-id}/config",
        200,
        api.get(&v2(&format!("/pipeline/{main_id}/config"))).await,
    );
    assert!(
        config["source"]
            .as_str()
            .unwrap()
            .contains("type: approval")
    );
    w.check(
        "GET",
        "/pipeline/{pipeline-id}/workflow",
        200,
        api.get(&v2(&format!("/pipeline/{main_id}/workflow"))).await,
    );
    w.check(
        "GET",
        "/workflow/{id}",
        200,
        api.get(&v2(&format!("/workflow/{main_wf_id}"))).await,
    );
    let jobs = w.check(
        "GET",
        "/workflow/{id}/job",
        200,
        api.get(&v2(&format!("/workflow/{main_wf_id}/job"))).await,
    );
    let build = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "build")
        .unwrap()
        .clone();
    let build_number = build["job_number"].as_i64().unwrap();
    let details = w.check(
        "GET",
        "/project/{project-slug}/job/{job-number}",
        200,
        api.get(&v2(&format!("/project/{SLUG}/job/{build_number}")))
            .await,
    );
    assert_eq!(details["status"], "success");
    let artifacts = w.check(
        "GET",
        "/project/{project-slug}/{job-number}/artifacts",
        200,
        api.get(&v2(&format!("/project/{SLUG}/{build_number}/artifacts")))
            .await,
    );
    assert_eq!(
        artifacts["items"][0]["path"], "out/hello.txt",
        "{artifacts}"
    );
    let tests = w.check(
        "GET",
        "/project/{project-slug}/{job-number}/tests",
        200,
        api.get(&v2(&format!("/project/{SLUG}/{build_number}/tests")))
            .await,
    );
    let items = tests["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{tests}");
    let failed = items.iter().find(|t| t["name"] == "fails").unwrap();
    assert_eq!(
        (&failed["result"], &failed["message"], &failed["source"]),
        (&json!("failure"), &json!("boom"), &json!("junit"))
    );

    // Cancels: one job by number, the other by id; then a rerun, cancelled as a workflow.
    let slow_id = slow["id"].as_str().unwrap();
    let slow_wf = f.first_workflow(slow_id).await;
    let slow_wf_id = slow_wf["id"].as_str().unwrap().to_string();
    let one = f.job_with_status(&slow_wf_id, "one", "running").await;
    let two = f.job_with_status(&slow_wf_id, "two", "running").await;
    let one_number = one["job_number"].as_i64().unwrap();
    w.check(
        "POST",
        "/project/{project-slug}/job/{job-number}/cancel",
        200,
        api.post(
            &v2(&format!("/project/{SLUG}/job/{one_number}/cancel")),
            json!({}),
        )
        .await,
    );
    let two_id = two["id"].as_str().unwrap();
    w.check(
        "POST",
        "/jobs/{job-id}/cancel",
        200,
        api.post(&v2(&format!("/jobs/{two_id}/cancel")), json!({}))
            .await,
    );
    api.finished(slow_id, LONG).await;
    let rerun = w.check(
        "POST",
        "/workflow/{id}/rerun",
        202,
        api.post(
            &v2(&format!("/workflow/{slow_wf_id}/rerun")),
            json!({ "jobs": [two_id] }),
        )
        .await,
    );
    let rerun_id = rerun["workflow_id"].as_str().unwrap();
    let rerun_jobs = api.jobs(rerun_id).await;
    let kept = rerun_jobs.iter().find(|j| j["name"] == "one").unwrap();
    assert_eq!(kept["status"], "canceled", "only `two` runs again");
    w.check(
        "POST",
        "/workflow/{id}/cancel",
        202,
        api.post(&v2(&format!("/workflow/{rerun_id}/cancel")), json!({}))
            .await,
    );
    let (status, refused) = api
        .post(
            &v2(&format!("/workflow/{slow_wf_id}/rerun")),
            json!({ "enable_ssh": true }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(refused["message"].as_str().unwrap().contains("enable_ssh"));

    // Continue the setup pipeline with the key its job left as an artifact.
    let setup_id = setup["id"].as_str().unwrap();
    let setup_wf = f.first_workflow(setup_id).await;
    let generate = f
        .job_with_status(setup_wf["id"].as_str().unwrap(), "generate", "success")
        .await;
    let (_, key_artifacts) = api
        .get(&v2(&format!(
            "/project/{SLUG}/{}/artifacts",
            generate["job_number"]
        )))
        .await;
    let key_url = key_artifacts["items"][0]["url"].as_str().unwrap();
    let key = api.text(key_url.trim_start_matches(&api.url)).await;
    w.check(
        "POST",
        "/pipeline/continue",
        200,
        api.post(
            &v2("/pipeline/continue"),
            json!({
                "continuation-key": key,
                "configuration": "version: 2.1\njobs:\n  c:\n    machine: true\n    steps: [{run: echo c}]\nworkflows:\n  next:\n    jobs: [c]\n",
            }),
        )
        .await,
    );

    // Project environment variables: values come back masked.
    let envvars = v2(&format!("/project/{SLUG}/envvar"));
    let var = w.check(
        "POST",
        "/project/{project-slug}/envvar",
        201,
        api.post(
            &envvars,
            json!({ "name": "DEPLOY_KEY", "value": "walk-secret-1234" }),
        )
        .await,
    );
    assert_eq!(var["value"], "xxxx1234", "{var}");
    w.check(
        "GET",
        "/project/{project-slug}/envvar",
        200,
        api.get(&envvars).await,
    );
    w.check(
        "GET",
        "/project/{project-slug}/envvar/{name}",
        200,
        api.get(&format!("{envvars}/DEPLOY_KEY")).await,
    );
    w.check(
        "DELETE",
        "/project/{project-slug}/envvar/{name}",
        200,
        api.call("DELETE", &format!("{envvars}/DEPLOY_KEY"), json!({}))
            .await,
    );

    // Checkout keys: the project's deploy key, and one more made and deleted.
    let keys = v2(&format!("/project/{SLUG}/checkout-key"));
    let key = w.check(
        "POST",
        "/project/{project-slug}/checkout-key",
        201,
        api.post(&keys, json!({ "type": "deploy-key" })).await,
    );
    w.check(
        "GET",
        "/project/{project-slug}/checkout-key",
        200,
        api.get(&keys).await,
    );
    let one = format!("{keys}/{}", key["fingerprint"].as_str().unwrap());
    w.check(
        "GET",
        "/project/{project-slug}/checkout-key/{fingerprint}",
        200,
        api.get(&one).await,
    );
    w.check(
        "DELETE",
        "/project/{project-slug}/checkout-key/{fingerprint}",
        200,
        api.call("DELETE", &one, json!({})).await,
    );

    // Contexts, their variables and restrictions.
    let context = w.check(
        "POST",
        "/context",
        200,
        api.post(
            &v2("/context"),
            json!({ "name": "walk-ctx", "owner": { "slug": "gh/acme", "type": "organization" } }),
        )
        .await,
    );
    let ctx = v2(&format!("/context/{}", context["id"].as_str().unwrap()));
    w.check(
        "GET",
        "/context",
        200,
        api.get(&v2("/context?owner-slug=gh/acme")).await,
    );
    w.check("GET", "/context/{context_id}", 200, api.get(&ctx).await);
    w.check(
        "PUT",
        "/context/{context_id}/environment-variable/{env_var_name}",
        200,
        api.call(
            "PUT",
            &format!("{ctx}/environment-variable/TOKEN"),
            json!({ "value": "walk-context-5678" }),
        )
        .await,
    );
    w.check(
        "GET",
        "/context/{context_id}/environment-variable",
        200,
        api.get(&format!("{ctx}/environment-variable")).await,
    );
    w.check(
        "DELETE",
        "/context/{context_id}/environment-variable/{env_var_name}",
        200,
        api.call(
            "DELETE",
            &format!("{ctx}/environment-variable/TOKEN"),
            json!({}),
        )
        .await,
    );
    let restriction = w.check(
        "POST",
        "/context/{context_id}/restrictions",
        201,
        api.post(
            &format!("{ctx}/restrictions"),
            json!({
                "restriction_type": "expression",
                "restriction_value": "pipeline.git.branch == \"main\"",
            }),
        )
        .await,
    );
    w.check(
        "GET",
        "/context/{context_id}/restrictions",
        200,
        api.get(&format!("{ctx}/restrictions")).await,
    );
    w.check(
        "DELETE",
        "/context/{context_id}/restrictions/{restriction_id}",
        200,
        api.call(
            "DELETE",
            &format!("{ctx}/restrictions/{}", restriction["id"].as_str().unwrap()),
            json!({}),
        )
        .await,
    );
    w.check(
        "DELETE",
        "/context/{context_id}",
        200,
        api.call("DELETE", &ctx, json!({})).await,
    );

    // Schedules.
    let schedule = w.check(
        "POST",
        "/project/{project-slug}/schedule",
        201,
        api.post(
            &v2(&format!("/project/{SLUG}/schedule")),
            json!({
                "name": "nightly",
                "attribution-actor": "current",
                "parameters": { "branch": "main" },
                "timetable": { "per-hour": 1, "hours-of-day": [3], "days-of-week": ["MON"] },
            }),
        )
        .await,
    );
    let sched = v2(&format!("/schedule/{}", schedule["id"].as_str().unwrap()));
    w.check(
        "GET",
        "/project/{project-slug}/schedule",
        200,
        api.get(&v2(&format!("/project/{SLUG}/schedule"))).await,
    );
    w.check("GET", "/schedule/{schedule-id}", 200, api.get(&sched).await);
    w.check(
        "PATCH",
        "/schedule/{schedule-id}",
        200,
        api.call("PATCH", &sched, json!({ "description": "every Monday" }))
            .await,
    );
    w.check(
        "DELETE",
        "/schedule/{schedule-id}",
        200,
        api.call("DELETE", &sched, json!({})).await,
    );

    let served: BTreeSet<(String, String)> = circa_server::api::SERVED_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = served.difference(&w.seen).collect();
    assert!(missing.is_empty(), "routes not walked: {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_forms_slugs_page_tokens_and_rejections_answer_as_circleci_does() {
    let f = Fixture::start().await;
    let url = &f.api.url;
    let token = &f.api.token;
    let http = reqwest::Client::new();
    let me = format!("{url}/api/v2/me");
    let forms = [
        http.get(&me).header("Circle-Token", token),
        http.get(&me).basic_auth(token, Some("")),
        http.get(&me).bearer_auth(token),
        http.get(format!("{me}?circle-token={token}")),
    ];
    for request in forms {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["login"], "admin");
    }
    let api = &f.api;
    let (status, body) = api
        .get(&format!("/api/v2/project/{SLUG}/pipeline?page-token=bogus"))
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("page-token"));
    for (path, want) in [
        (format!("/api/v2/project/{SLUG}/pipeline/abc"), 400),
        (format!("/api/v2/project/{SLUG}/job/x1"), 400),
        ("/api/v2/no/such/route".to_string(), 404),
        (format!("/api/v1.1/project/{SLUG}/1/output/x/0"), 400),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }
    // What `circleci config process --host` calls.
    let (status, good) = api
        .post(
            "/api/v2/compile-config-with-defaults",
            json!({
                "config_yaml": crate::api_fixture::CONFIG,
                "options": { "owner_id": "x", "pipeline_parameters": "{}", "pipeline_values": {} },
            }),
        )
        .await;
    assert_eq!(status, 200, "{good}");
    assert_eq!(good["valid"], true, "{good}");
    assert!(good["output-yaml"].as_str().unwrap().contains("deploy"));
    assert_eq!(good["errors"], json!([]));
    let (status, bad) = api
        .post(
            "/api/v2/compile-config-with-defaults",
            json!({ "config_yaml": "version: 2.1\nworkflows:\n  w:\n    jobs: [nope]\n" }),
        )
        .await;
    assert_eq!(status, 200, "{bad}");
    assert_eq!(bad["valid"], false, "{bad}");
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{bad}"
    );
    let (status, refused) = api
        .post("/api/v2/compile-config-with-defaults", json!({}))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("config_yaml"),
        "{refused}"
    );
    let r = http
        .delete(format!("{url}/api/v2/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].is_string());
}
