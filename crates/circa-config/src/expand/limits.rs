//! Limits on what expansion may produce, so that a small config cannot make a huge one.

/// Limits on the processed config.
#[derive(Clone, Debug)]
pub struct ExpandLimits {
    /// Most job invocations in all workflows together, after matrices and job groups.
    pub max_jobs: usize,
    /// Most steps in all processed jobs together, after commands are inlined.
    pub max_steps: usize,
    /// Deepest nesting of commands invoking commands.
    pub max_command_depth: usize,
    /// Deepest nesting of orbs importing orbs.
    pub max_orb_depth: usize,
}

impl Default for ExpandLimits {
    fn default() -> Self {
        ExpandLimits {
            max_jobs: 2_000,
            max_steps: 200_000,
            max_command_depth: 64,
            max_orb_depth: 8,
        }
    }
}
