//! What the client commands name on the command line: a pipeline by id or by
//! `SLUG/NUMBER`, a job by `SLUG/JOB_NUMBER`.

use std::fmt;
use std::str::FromStr;

/// A pipeline named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineRef {
    /// By its id.
    Id(String),
    /// By its project and number: `gh/acme/app/12`.
    Number {
        /// The project's slug.
        slug: String,
        /// The pipeline's number.
        number: u64,
    },
}

/// A job named on the command line: `gh/acme/app/34`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    /// The project's slug.
    pub slug: String,
    /// The job's number in the project.
    pub number: u64,
}

impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.slug, self.number)
    }
}

/// A name that is neither an id nor `SLUG/NUMBER`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// Not `VCS/ORG/REPO/NUMBER`.
    #[error("{0:?} is not {1} (e.g. gh/acme/app/12)")]
    Shape(String, &'static str),
    /// The number is not one.
    #[error("{0:?}: {1:?} is not a number")]
    Number(String, String),
    /// An id with characters no id has.
    #[error("{0:?} is not a pipeline id (letters, digits and `-`) nor SLUG/NUMBER")]
    Id(String),
}

/// `VCS/ORG/REPO/NUMBER` → (slug, number).
fn slug_and_number(text: &str, what: &'static str) -> Result<(String, u64), RefError> {
    let (slug, number) = text
        .rsplit_once('/')
        .ok_or_else(|| RefError::Shape(text.to_string(), what))?;
    let parts: Vec<&str> = slug.split('/').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(RefError::Shape(text.to_string(), what));
    }
    let number = number
        .parse()
        .map_err(|_| RefError::Number(text.to_string(), number.to_string()))?;
    Ok((slug.to_string(), number))
}

impl FromStr for PipelineRef {
    type Err = RefError;

    fn from_str(text: &str) -> Result<Self, RefError> {
        if text.contains('/') {
            let (slug, number) = slug_and_number(text, "a pipeline id or SLUG/NUMBER")?;
            return Ok(PipelineRef::Number { slug, number });
        }
        let id_like =
            !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !id_like {
            return Err(RefError::Id(text.to_string()));
        }
        Ok(PipelineRef::Id(text.to_string()))
    }
}

impl FromStr for JobRef {
    type Err = RefError;

    fn from_str(text: &str) -> Result<Self, RefError> {
        let (slug, number) = slug_and_number(text, "SLUG/JOB_NUMBER")?;
        Ok(JobRef { slug, number })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_is_named_by_id_or_slug_and_number() {
        assert_eq!(
            "0b8c-11".parse::<PipelineRef>(),
            Ok(PipelineRef::Id("0b8c-11".into()))
        );
        assert_eq!(
            "gh/acme/app/12".parse::<PipelineRef>(),
            Ok(PipelineRef::Number {
                slug: "gh/acme/app".into(),
                number: 12
            })
        );
        assert!(matches!(
            "acme/app/12".parse::<PipelineRef>(),
            Err(RefError::Shape(..))
        ));
        assert!(matches!(
            "gh/acme/app/x".parse::<PipelineRef>(),
            Err(RefError::Number(..))
        ));
        assert!(matches!(
            "a?b".parse::<PipelineRef>(),
            Err(RefError::Id(..))
        ));
    }

    #[test]
    fn a_job_is_named_by_slug_and_number() {
        let job: JobRef = "gh/acme/app/34".parse().unwrap();
        assert_eq!(job.to_string(), "gh/acme/app/34");
        let err = "gh/acme/34".parse::<JobRef>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"gh/acme/34\" is not SLUG/JOB_NUMBER (e.g. gh/acme/app/12)"
        );
    }
}
