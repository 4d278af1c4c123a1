//! The rows of secrets: contexts, their restrictions, and sealed environment variables.
//!
//! The store never sees a secret in clear: a value arrives sealed (encrypted and
//! authenticated by the server) with the id of the key that sealed it.

use serde::{Deserialize, Serialize};

use crate::ids::{ContextId, ProjectId};
use crate::records::Millis;

/// What an environment variable belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum EnvOwner {
    /// A project, by id.
    Project(ProjectId),
    /// A context, by id.
    Context(ContextId),
}

impl EnvOwner {
    /// `project` or `context`.
    pub fn kind(&self) -> &'static str {
        match self {
            EnvOwner::Project(_) => "project",
            EnvOwner::Context(_) => "context",
        }
    }

    /// The owner's id.
    pub fn id(&self) -> &str {
        match self {
            EnvOwner::Project(id) => id,
            EnvOwner::Context(id) => id,
        }
    }
}

/// A value as stored: sealed by the key `key_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedValue {
    /// The id of the key that sealed it.
    pub key_id: String,
    /// The sealed value (text; its format belongs to the server).
    pub sealed: String,
}

/// A stored environment variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    /// What it belongs to.
    pub owner: EnvOwner,
    /// Its name.
    pub name: String,
    /// Its sealed value.
    pub value: SealedValue,
    /// When it was first set.
    pub created_at: Millis,
    /// When its value last changed.
    pub updated_at: Millis,
}

/// A named set of environment variables jobs ask for with `context:`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Id.
    pub id: ContextId,
    /// Name, unique.
    pub name: String,
    /// When it was created.
    pub created_at: Millis,
}

/// A restriction to add to a context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRestriction {
    /// The context.
    pub context_id: ContextId,
    /// `group`, `expression` or `project` (checked by the server).
    pub kind: String,
    /// The group's id, the expression, or the project's id.
    pub value: String,
}

/// A rule a job must pass to use a context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRestriction {
    /// Id.
    pub id: String,
    /// The context.
    pub context_id: ContextId,
    /// `group`, `expression` or `project`.
    pub kind: String,
    /// The group's id, the expression, or the project's id.
    pub value: String,
    /// When it was added.
    pub created_at: Millis,
}
