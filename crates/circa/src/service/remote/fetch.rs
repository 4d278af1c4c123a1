//! Typed reads of the API for the client commands.

use anyhow::Context;
use serde::de::DeserializeOwned;

use super::model::{JobDetails, JobPage, Page, Pipeline, Project, Workflow, WorkflowJob};
use super::refs::{JobRef, PipelineRef};
use crate::service::client::Client;

/// Pages read at most when a list is followed to its end (20 items a page).
pub const MAX_PAGES: usize = 50;

/// The API, read through a client.
pub struct Api<'a> {
    client: &'a Client,
}

impl<'a> Api<'a> {
    /// Reads through `client`.
    pub fn new(client: &'a Client) -> Api<'a> {
        Api { client }
    }

    /// The client underneath.
    pub fn client(&self) -> &'a Client {
        self.client
    }

    async fn read<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let body = self.client.get(path).await?;
        serde_json::from_value(body).with_context(|| format!("the server's answer to {path}"))
    }

    /// Up to `max` items of a paged list, following `next_page_token`.
    pub async fn items<T: DeserializeOwned>(
        &self,
        path: &str,
        max: usize,
    ) -> anyhow::Result<Vec<T>> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page_path = match &token {
                Some(t) => format!("{path}{sep}page-token={t}"),
                None => path.to_string(),
            };
            let page: Page<T> = self.read(&page_path).await?;
            items.extend(page.items);
            match page.next_page_token {
                Some(t) if items.len() < max => token = Some(t),
                _ => break,
            }
        }
        items.truncate(max);
        Ok(items)
    }

    /// A pipeline by id or by project and number.
    pub async fn pipeline(&self, pipeline: &PipelineRef) -> anyhow::Result<Pipeline> {
        match pipeline {
            PipelineRef::Id(id) => self.read(&format!("/api/v2/pipeline/{id}")).await,
            PipelineRef::Number { slug, number } => {
                self.read(&format!("/api/v2/project/{slug}/pipeline/{number}"))
                    .await
            }
        }
    }

    /// The newest pipelines (at most `max`): of one project (on one branch), or of every
    /// project the token sees.
    pub async fn pipelines(
        &self,
        slug: Option<&str>,
        branch: Option<&str>,
        max: usize,
    ) -> anyhow::Result<Vec<Pipeline>> {
        let query = branch
            .map(|b| format!("?branch={}", encode(b)))
            .unwrap_or_default();
        match slug {
            Some(slug) => {
                self.items(&format!("/api/v2/project/{slug}/pipeline{query}"), max)
                    .await
            }
            None if branch.is_none() => self.items("/api/v2/pipeline", max).await,
            None => {
                let projects: Vec<Project> = self.items("/api/circa/projects", usize::MAX).await?;
                let mut all = Vec::new();
                for project in projects {
                    let path = format!("/api/v2/project/{}/pipeline{query}", project.slug);
                    all.extend(self.items::<Pipeline>(&path, max).await?);
                }
                all.sort_by(|a, b| b.created_at.cmp(&a.created_at));
                all.truncate(max);
                Ok(all)
            }
        }
    }

    /// A pipeline's workflows.
    pub async fn workflows(&self, pipeline_id: &str) -> anyhow::Result<Vec<Workflow>> {
        self.items(
            &format!("/api/v2/pipeline/{pipeline_id}/workflow"),
            usize::MAX,
        )
        .await
    }

    /// A workflow's jobs.
    pub async fn jobs(&self, workflow_id: &str) -> anyhow::Result<Vec<WorkflowJob>> {
        self.items(&format!("/api/v2/workflow/{workflow_id}/job"), usize::MAX)
            .await
    }

    /// A job's tasks, steps and why it waits.
    pub async fn job_details(&self, job_id: &str) -> anyhow::Result<JobDetails> {
        self.read(&format!("/api/circa/jobs/{job_id}")).await
    }

    /// The id of a job named by project and number.
    pub async fn job_id(&self, job: &JobRef) -> anyhow::Result<String> {
        let build = self
            .client
            .get(&format!("/api/v1.1/project/{}/{}", job.slug, job.number))
            .await?;
        build["workflows"]["job_id"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("the server did not say which job {job} is"))
    }

    /// CircleCI's job details: the web page and the platform's messages.
    pub async fn job_page(&self, slug: &str, number: i64) -> anyhow::Result<JobPage> {
        self.read(&format!("/api/v2/project/{slug}/job/{number}"))
            .await
    }

    /// A step's whole log so far on one task.
    pub async fn step_log(&self, task_id: &str, step: u32) -> anyhow::Result<String> {
        self.client
            .get_text(&format!("/api/circa/tasks/{task_id}/steps/{step}/log"))
            .await
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode("feature/a b&c"), "feature/a%20b%26c");
    }
}
