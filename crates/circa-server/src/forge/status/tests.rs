use serde_json::json;

use super::*;

const SHA: &str = "18f3e63d05582537db6d183d9d557be09e1f90c8";

fn status(repo: &str, state: StatusState) -> CommitStatus<'_> {
    CommitStatus {
        repo,
        sha: SHA,
        context: "ci/circleci: build",
        state,
        target_url: "https://circa.example/jobs/7",
        description: "Your tests passed on Circa!",
    }
}

#[test]
fn github_posts_to_the_statuses_of_the_commit() {
    let request = status_request(
        ForgeKind::GitHub,
        "https://api.github.com",
        &status("octo/hello", StatusState::Success),
    )
    .unwrap();
    assert_eq!(request.method, Method::POST);
    assert_eq!(
        request.url,
        format!("https://api.github.com/repos/octo/hello/statuses/{SHA}")
    );
    assert_eq!(
        request.body,
        json!({
            "state": "success",
            "target_url": "https://circa.example/jobs/7",
            "description": "Your tests passed on Circa!",
            "context": "ci/circleci: build",
        })
    );
    assert!(
        request
            .headers
            .contains(&("accept", "application/vnd.github+json"))
    );
    assert!(
        request
            .headers
            .contains(&("content-type", "application/json"))
    );
}

#[test]
fn github_enterprise_keeps_its_api_root_and_trailing_slashes_are_dropped() {
    let request = status_request(
        ForgeKind::GitHub,
        "https://ghe.example/api/v3/",
        &status("octo/hello", StatusState::Running),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("https://ghe.example/api/v3/repos/octo/hello/statuses/{SHA}")
    );
    assert_eq!(request.body["state"], "pending");
}

#[test]
fn gitlab_names_the_context_and_encodes_a_project_path() {
    let request = status_request(
        ForgeKind::GitLab,
        "https://gitlab.com/api/v4",
        &status("group/sub/project", StatusState::Canceled),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("https://gitlab.com/api/v4/projects/group%2Fsub%2Fproject/statuses/{SHA}")
    );
    assert_eq!(request.body["name"], "ci/circleci: build");
    assert_eq!(request.body["state"], "canceled");
    assert!(request.body.get("context").is_none());

    let by_id = status_request(
        ForgeKind::GitLab,
        "https://gitlab.com/api/v4",
        &status("278964", StatusState::Running),
    )
    .unwrap();
    assert_eq!(
        by_id.url,
        format!("https://gitlab.com/api/v4/projects/278964/statuses/{SHA}")
    );
    assert_eq!(by_id.body["state"], "running");
}

#[test]
fn gitea_uses_githubs_path_under_its_api_root() {
    let request = status_request(
        ForgeKind::Gitea,
        "https://codeberg.org/api/v1",
        &status("me/tool", StatusState::Failed),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("https://codeberg.org/api/v1/repos/me/tool/statuses/{SHA}")
    );
    assert_eq!(request.body["state"], "failure");
    assert_eq!(request.body["context"], "ci/circleci: build");
}

#[test]
fn bitbucket_posts_a_build_status_with_key_name_and_url() {
    let request = status_request(
        ForgeKind::Bitbucket,
        "https://api.bitbucket.org/2.0",
        &status("team/app", StatusState::Canceled),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("https://api.bitbucket.org/2.0/repositories/team/app/commit/{SHA}/statuses/build")
    );
    assert_eq!(
        request.body,
        json!({
            "type": "build",
            "key": "ci/circleci: build",
            "name": "ci/circleci: build",
            "state": "STOPPED",
            "url": "https://circa.example/jobs/7",
            "description": "Your tests passed on Circa!",
        })
    );
}

#[test]
fn each_forge_spells_each_state() {
    use StatusState::*;
    let words = |forge| StatusState::ALL.map(|s| forge_state(forge, s));
    assert_eq!(
        words(ForgeKind::GitHub),
        ["pending", "pending", "success", "failure", "error", "error"]
    );
    assert_eq!(
        words(ForgeKind::Gitea),
        ["pending", "pending", "success", "failure", "error", "error"]
    );
    assert_eq!(
        words(ForgeKind::GitLab),
        [
            "pending", "running", "success", "failed", "failed", "canceled"
        ]
    );
    assert_eq!(
        words(ForgeKind::Bitbucket),
        [
            "INPROGRESS",
            "INPROGRESS",
            "SUCCESSFUL",
            "FAILED",
            "FAILED",
            "STOPPED"
        ]
    );
    assert_eq!(StatusState::ALL[0], Pending);
}

#[test]
fn no_request_carries_credentials() {
    for forge in ForgeKind::ALL {
        let request = status_request(
            forge,
            "https://forge.example",
            &status("a/b", StatusState::Pending),
        )
        .unwrap();
        assert!(
            request
                .headers
                .iter()
                .all(|(name, _)| *name != "authorization" && !name.contains("token")),
            "{forge:?}: {:?}",
            request.headers
        );
    }
}

#[test]
fn github_descriptions_are_cut_to_140_characters() {
    let long = "é".repeat(200);
    let mut s = status("octo/hello", StatusState::Failed);
    s.description = &long;
    let github = status_request(ForgeKind::GitHub, "https://api.github.com", &s).unwrap();
    let text = github.body["description"].as_str().unwrap();
    assert_eq!(text.chars().count(), 140);
    assert!(long.starts_with(text));

    let gitea = status_request(ForgeKind::Gitea, "https://gitea.example/api/v1", &s).unwrap();
    assert_eq!(gitea.body["description"].as_str().unwrap(), long);
}

#[test]
fn repository_segments_are_percent_encoded() {
    let request = status_request(
        ForgeKind::Bitbucket,
        "https://api.bitbucket.org/2.0",
        &status(
            "team/{7c9e6679-7425-40de-944b-e07fc1f90ae7}",
            StatusState::Success,
        ),
    )
    .unwrap();
    assert!(
        request
            .url
            .contains("/repositories/team/%7B7c9e6679-7425-40de-944b-e07fc1f90ae7%7D/commit/"),
        "{}",
        request.url
    );
}

#[test]
fn bad_input_names_what_is_wrong() {
    let ok = status("octo/hello", StatusState::Success);
    assert_eq!(
        status_request(ForgeKind::GitHub, "api.github.com", &ok),
        Err(StatusRequestError::ApiBase)
    );
    for repo in ["octo", "octo/", "/hello", "octo/hello/extra", ""] {
        assert_eq!(
            status_request(
                ForgeKind::GitHub,
                "https://api.github.com",
                &status(repo, StatusState::Success)
            ),
            Err(StatusRequestError::Repo {
                forge: ForgeKind::GitHub,
                repo: repo.to_string()
            }),
            "{repo:?}"
        );
    }
    assert!(matches!(
        status_request(
            ForgeKind::GitLab,
            "https://gitlab.com/api/v4",
            &status("", StatusState::Success)
        ),
        Err(StatusRequestError::Repo { .. })
    ));
    for sha in ["", "main", "../x", "abc/def"] {
        let mut s = ok;
        s.sha = sha;
        assert_eq!(
            status_request(ForgeKind::Gitea, "https://gitea.example/api/v1", &s),
            Err(StatusRequestError::Sha),
            "{sha:?}"
        );
    }
}
