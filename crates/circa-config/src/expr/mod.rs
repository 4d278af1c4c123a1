//! Expressions (minimal seam).
pub mod logic {
    //! Logic statements.
    use crate::diag::Diagnostic;
    use crate::yaml::Node;
    /// Evaluates a literal statement.
    pub fn evaluate(node: &Node) -> Result<bool, Diagnostic> {
        Ok(node.as_bool_lenient().unwrap_or(!node.is_null()))
    }
}
