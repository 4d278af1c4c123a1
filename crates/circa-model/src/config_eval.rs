//! The real [`ExpressionEval`]: conditions and filter expressions evaluated with the config
//! language over a pipeline's values.

use crate::trigger::ExpressionEval;
use circa_config::expr::{self, logic};
use circa_config::pipeline::PipelineValues;
use circa_config::yaml::Node;

/// Evaluates workflow conditions and expression filters over `pipeline` values.
pub struct ConfigEval<'a> {
    /// The pipeline's values (`pipeline.git.branch`, `pipeline.parameters.x`, ...).
    pub pipeline: &'a PipelineValues,
}

impl ExpressionEval for ConfigEval<'_> {
    fn eval_condition(&self, node: &Node) -> Result<bool, String> {
        logic::evaluate_expression_or_statement(node, &|name| self.pipeline.get(name))
            .map_err(|d| d.message)
    }

    fn eval_expression(&self, text: &str) -> Result<bool, String> {
        let parsed = expr::parse(text).map_err(|e| e.to_string())?;
        parsed
            .eval(&|name| self.pipeline.get(name))
            .map(|v| expr::is_truthy(&v))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circa_config::Span;

    #[test]
    fn evaluates_filters_and_conditions_over_pipeline_values() {
        let mut pv = PipelineValues::new();
        pv.set("git.branch", "main");
        let eval = ConfigEval { pipeline: &pv };
        assert_eq!(
            eval.eval_expression("pipeline.git.branch == \"main\""),
            Ok(true)
        );
        assert_eq!(
            eval.eval_expression("pipeline.git.tag starts-with \"v\""),
            Ok(false)
        );
        let cond = Node::str(Span::NONE, "pipeline.git.branch != \"main\"");
        assert_eq!(eval.eval_condition(&cond), Ok(false));
    }
}
