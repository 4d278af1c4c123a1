"""Drives a Circa server with PyPI's pycircleci, unchanged, pointed at the server's URL.

Usage: pycircleci_walk.py URL TOKEN OPENAPI_JSON

The project gh/acme/walk must exist, with the branches `main` (build -> hold -> deploy, with
artifacts and a JUnit report) and `slow` (two long jobs). Every response is checked for the
fields the OpenAPI document requires.
"""

import json
import sys
import time

import requests
from pycircleci.api import Api

URL, TOKEN, OPENAPI = sys.argv[1], sys.argv[2], sys.argv[3]
ORG, REPO = "acme", "walk"
DOC = json.load(open(OPENAPI))
CHECKED = []


def resolve(schema):
    while isinstance(schema, dict) and "$ref" in schema:
        node = DOC
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = node
    return schema


def required(schema, value, at="$"):
    """Problems: required fields missing anywhere in `value`."""
    schema = resolve(schema)
    problems = []
    if value is None:
        return problems
    for sub in schema.get("allOf", []):
        problems += required(sub, value, at)
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{at}: missing required field `{name}`")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problems += required(sub, value[name], f"{at}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += required(schema["items"], item, f"{at}[{i}]")
    return problems


def schema_of(method, path, status):
    op = DOC["paths"][path][method]
    response = resolve(op["responses"].get(str(status)) or op["responses"]["default"])
    return resolve(response["content"]["application/json"]["schema"])


def check(method, path, status, value, items_only=False):
    """Checks `value` (or each item, for a list the client unwrapped) against the document."""
    schema = schema_of(method, path, status)
    if items_only:
        schema = resolve(schema["properties"]["items"])
    problems = required(schema, value)
    if problems:
        sys.exit(f"{method.upper()} {path}: " + "; ".join(problems) + f"\n{json.dumps(value)}")
    CHECKED.append(f"{method.upper()} {path}")
    return value


def until(what, fn, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = fn()
        if found:
            return found
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


api = Api(token=TOKEN, url=f"{URL}/api")

me = check("get", "/me", 200, api.get_user_info(api_version="v2"))
assert api.get_user_info()["login"] == me["login"]
check("get", "/me/collaborations", 200, api.get_user_collaborations())
check("get", "/user/{id}", 200, api.get_user_id_info(me["id"]))
project = check("get", "/project/{project-slug}", 200, api.get_project(f"gh/{ORG}/{REPO}"))

created = check("post", "/project/{project-slug}/pipeline", 201, api.trigger_pipeline(ORG, REPO, branch="main"))
pipelines = api.get_project_pipelines(ORG, REPO, branch="main", paginate=True)
check("get", "/project/{project-slug}/pipeline", 200, pipelines, items_only=True)
assert any(p["id"] == created["id"] for p in pipelines)
check("get", "/project/{project-slug}/pipeline/mine", 200, api.get_project_pipelines(ORG, REPO, mine=True), items_only=True)
by_number = check("get", "/project/{project-slug}/pipeline/{pipeline-number}", 200, api.get_project_pipeline(ORG, REPO, created["number"]))
assert by_number["id"] == created["id"]
check("get", "/pipeline", 200, api.get_pipelines(ORG), items_only=True)
mine = check("get", "/pipeline", 200, api.get_pipelines(ORG, mine=True), items_only=True)
assert any(p["id"] == created["id"] for p in mine), mine
check("get", "/pipeline/{pipeline-id}", 200, api.get_pipeline(created["id"]))
check("get", "/pipeline/{pipeline-id}/config", 200, api.get_pipeline_config(created["id"]))

workflows = until("a workflow", lambda: api.get_pipeline_workflow(created["id"]))
check("get", "/pipeline/{pipeline-id}/workflow", 200, workflows, items_only=True)
wf = workflows[0]["id"]
hold = until("the hold", lambda: next((j for j in api.get_workflow_jobs(wf) if j["name"] == "hold" and j["status"] == "on_hold"), None))
check("post", "/workflow/{id}/approve/{approval_request_id}", 202, api.approve_job(wf, hold["approval_request_id"]))
until("the workflow to succeed", lambda: api.get_workflow(wf)["status"] == "success")
check("get", "/workflow/{id}", 200, api.get_workflow(wf))
jobs = check("get", "/workflow/{id}/job", 200, api.get_workflow_jobs(wf), items_only=True)
build = next(j for j in jobs if j["name"] == "build")
details = check("get", "/project/{project-slug}/job/{job-number}", 200, api.get_job_details(ORG, REPO, build["job_number"]))
assert details["status"] == "success", details
artifacts = check("get", "/project/{project-slug}/{job-number}/artifacts", 200, api.get_artifacts(ORG, REPO, build["job_number"]), items_only=True)
assert [a["path"] for a in artifacts] == ["out/hello.txt"], artifacts
content = requests.get(artifacts[0]["url"], headers={"Circle-Token": TOKEN}).text
assert content.strip() == "hello", content
tests = api.get_test_metadata(ORG, REPO, build["job_number"])["tests"]
check("get", "/project/{project-slug}/{job-number}/tests", 200, tests, items_only=True)
assert sorted(t["result"] for t in tests) == ["failure", "success"], tests

slow = api.trigger_pipeline(ORG, REPO, branch="slow")
slow_wf = until("the slow workflow", lambda: api.get_pipeline_workflow(slow["id"]))[0]["id"]
until("the slow jobs to run", lambda: all(j["status"] == "running" for j in api.get_workflow_jobs(slow_wf)))
check("post", "/workflow/{id}/cancel", 202, api.cancel_workflow(slow_wf))
until("the cancel", lambda: api.get_workflow(slow_wf)["status"] == "canceled")
rerun = check("post", "/workflow/{id}/rerun", 202, api.rerun_workflow(slow_wf))
again = rerun["workflow_id"]
job = until("a rerun job to run", lambda: next((j for j in api.get_workflow_jobs(again) if j["status"] == "running"), None))
check("post", "/project/{project-slug}/job/{job-number}/cancel", 200, api.cancel_job(ORG, REPO, job["job_number"]))
check("post", "/workflow/{id}/cancel", 202, api.cancel_workflow(again))

api.add_envvar(ORG, REPO, "DEPLOY_KEY", "s3cr3t-value")
listed = api.list_envvars(ORG, REPO)
assert any(e["name"] == "DEPLOY_KEY" for e in listed), listed
assert all("s3cr3t-value" not in json.dumps(e) for e in listed), listed
got = api.get_envvar(ORG, REPO, "DEPLOY_KEY")
assert "s3cr3t-value" not in json.dumps(got), got
api.delete_envvar(ORG, REPO, "DEPLOY_KEY")
CHECKED.append("project env vars")

context = check("post", "/context", 200, api.add_context("deploy", username=ORG))
check("get", "/context", 200, api.get_contexts(username=ORG), items_only=True)
check("get", "/context/{context_id}", 200, api.get_context(context["id"]))
check("put", "/context/{context_id}/environment-variable/{env_var_name}", 200, api.add_context_envvar(context["id"], "TOKEN", "ctx-secret"))
names = api.get_context_envvars(context["id"])
check("get", "/context/{context_id}/environment-variable", 200, names, items_only=True)
assert "ctx-secret" not in json.dumps(names), names
api.delete_context_envvar(context["id"], "TOKEN")
api.delete_context(context["id"])
CHECKED.append("contexts")

print(f"pycircleci walk: {len(CHECKED)} calls checked")
for c in CHECKED:
    print("  ok", c)
