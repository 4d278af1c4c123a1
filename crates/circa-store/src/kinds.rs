//! Kinds the store keeps inside JSON columns: what started a pipeline, what stopped one. Their
//! spelling on the wire and in the database is the lower-case name each variant gives.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What started a pipeline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// A forge's webhook delivery.
    Webhook,
    /// A schedule's tick.
    #[serde(alias = "scheduled_pipeline")]
    Schedule,
    /// An explicit trigger of a specific commit.
    Explicit,
    /// An API call (also what an unknown stored kind reads as).
    #[default]
    #[serde(other)]
    Api,
}

impl TriggerKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Webhook => "webhook",
            TriggerKind::Api => "api",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Explicit => "explicit",
        }
    }

    /// CircleCI's `trigger.type` of a pipeline (the API's and `pipeline.trigger_source`'s
    /// spelling of a schedule is `scheduled_pipeline`).
    pub fn circleci_type(self) -> &'static str {
        match self {
            TriggerKind::Schedule => "scheduled_pipeline",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a pipeline could not run (state `errored`), as CircleCI names the error types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PipelineErrorKind {
    /// The config could not be compiled.
    Config,
    /// The config could not be read from the repository.
    ConfigFetch,
    /// Planning the workflows failed.
    Plan,
    /// Anything else (also what an unknown stored kind reads as).
    #[serde(other)]
    Other,
}

impl PipelineErrorKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineErrorKind::Config => "config",
            PipelineErrorKind::ConfigFetch => "config-fetch",
            PipelineErrorKind::Plan => "plan",
            PipelineErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for PipelineErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn kinds_keep_their_stored_spelling() {
        for kind in [
            TriggerKind::Webhook,
            TriggerKind::Api,
            TriggerKind::Schedule,
            TriggerKind::Explicit,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<TriggerKind>(&json).unwrap(), kind);
        }
        let read: TriggerKind = serde_json::from_str("\"scheduled_pipeline\"").unwrap();
        assert_eq!(read, TriggerKind::Schedule);
        let read: TriggerKind = serde_json::from_str("\"something-new\"").unwrap();
        assert_eq!(read, TriggerKind::Api);
        let json = serde_json::to_string(&PipelineErrorKind::ConfigFetch).unwrap();
        assert_eq!(json, "\"config-fetch\"");
        let read: PipelineErrorKind = serde_json::from_str("\"timeout\"").unwrap();
        assert_eq!(read, PipelineErrorKind::Other);
    }
}
