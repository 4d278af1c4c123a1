//! What started a pipeline, and the evaluator of conditions that the config engine supplies.

use circa_config::yaml::Node;

/// What a pipeline was started for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trigger {
    /// The branch pushed or asked for; `None` for a tag push.
    pub branch: Option<String>,
    /// The tag pushed, for a tag push.
    pub tag: Option<String>,
    /// The commit.
    pub revision: String,
    /// Pipeline parameters, already applied by the config engine; kept for display.
    pub parameters: Vec<(String, String)>,
    /// Who or what started the pipeline.
    pub source: TriggerSource,
    /// The project's default branch: the branch built when neither a branch nor a tag is given.
    pub default_branch: Option<String>,
}

impl Trigger {
    /// The branch whose filters apply: the given branch, else (when no tag was pushed) the
    /// project's default branch.
    pub fn effective_branch(&self) -> Option<&str> {
        match (&self.branch, &self.tag) {
            (Some(branch), _) => Some(branch),
            (None, None) => self.default_branch.as_deref(),
            (None, Some(_)) => None,
        }
    }
}

/// Who or what started a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TriggerSource {
    /// A push or pull-request event from the VCS.
    #[default]
    Webhook,
    /// A call to the API.
    Api,
    /// A schedule. When `name` is the name of a workflow with legacy `triggers:`, this is that
    /// workflow's cron firing and only it runs; otherwise it is a schedule trigger, which runs
    /// every workflow without legacy `triggers:` (their `when:` may pick some).
    Schedule {
        /// The schedule's name (`pipeline.schedule.name`), or the legacy workflow's name.
        name: String,
    },
    /// A person pressed "run" in the UI.
    Manual,
}

/// Evaluates conditions of the config language. The config engine supplies the real one; the
/// plan only asks it yes-or-no questions.
pub trait ExpressionEval {
    /// Evaluates a workflow's `when:` or `unless:` as written: a logic statement (map or
    /// scalar) or an expression string.
    fn eval_condition(&self, node: &Node) -> Result<bool, String>;

    /// Evaluates an expression string, such as a job's string `filters:`.
    fn eval_expression(&self, expr: &str) -> Result<bool, String>;
}
