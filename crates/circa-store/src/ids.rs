//! Typed ids of the records that cross layers: a [`ProjectId`] cannot be passed where a
//! [`JobId`] is meant. Each is a string on the wire (JSON) and in the database, exactly as
//! before: `#[serde(transparent)]` and `#[sqlx(transparent)]`.

/// Defines a string id type with its conversions and comparisons.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new random id (a UUID v4), as the store makes for new rows.
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                Self(id.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

string_id!(
    /// A project's id.
    ProjectId
);
string_id!(
    /// A pipeline's id (CircleCI's `pipeline.id`).
    PipelineId
);
string_id!(
    /// A workflow's id (`CIRCLE_WORKFLOW_ID`).
    WorkflowId
);
string_id!(
    /// A job's id (`CIRCLE_WORKFLOW_JOB_ID`).
    JobId
);
string_id!(
    /// A task's id: one node of one job.
    TaskId
);
string_id!(
    /// An API or runner token's id (never the token itself).
    TokenId
);
string_id!(
    /// A schedule's id (`pipeline.schedule.id`).
    ScheduleId
);
string_id!(
    /// A context's id.
    ContextId
);
string_id!(
    /// A user's id.
    UserId
);
string_id!(
    /// A group's id.
    GroupId
);

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn an_id_is_a_json_string_both_ways() {
        let id = ProjectId::from("5f0c");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"5f0c\"");
        let back: ProjectId = serde_json::from_str("\"5f0c\"").unwrap();
        assert_eq!(back, id);
        let optional: Option<JobId> = serde_json::from_str("null").unwrap();
        assert_eq!(optional, None);
        assert!(serde_json::from_str::<ProjectId>("5").is_err());
    }

    #[test]
    fn an_id_compares_with_text_and_looks_up_by_str() {
        let id = JobId::from("a".to_string());
        assert_eq!(id, "a");
        assert_eq!(id, *"a");
        assert_eq!(id, "a".to_string());
        assert_eq!(id.as_str(), "a");
        assert_eq!(id.to_string(), "a");
        let mut map = HashMap::new();
        map.insert(id.clone(), 1);
        assert_eq!(map.get("a"), Some(&1));
        assert_eq!(id.into_string(), "a");
    }

    #[test]
    fn random_ids_are_distinct_uuids() {
        let (a, b) = (TaskId::new_random(), TaskId::new_random());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
