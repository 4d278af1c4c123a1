//! Limits on what expansion may produce, so that a small config cannot make a huge one.

use crate::budget::{Budget, MAX_BUILT_BYTES, MAX_VALUE_BYTES};

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
    /// Most bytes one interpolated value may weigh ([`crate::budget::MAX_VALUE_BYTES`]).
    pub max_value_bytes: usize,
    /// Most bytes expansion may build in all ([`crate::budget::MAX_BUILT_BYTES`]).
    pub max_built_bytes: usize,
}

impl ExpandLimits {
    /// A fresh byte budget with these limits, for one compile.
    pub fn budget(&self) -> Budget {
        Budget::new(self.max_value_bytes, self.max_built_bytes)
    }
}

impl Default for ExpandLimits {
    fn default() -> Self {
        ExpandLimits {
            max_jobs: 2_000,
            max_steps: 200_000,
            max_command_depth: 64,
            max_orb_depth: 8,
            max_value_bytes: MAX_VALUE_BYTES,
            max_built_bytes: MAX_BUILT_BYTES,
        }
    }
}
