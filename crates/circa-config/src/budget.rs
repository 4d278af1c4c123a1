//! The byte budget of one compile: what interpolation and expansion may build, counted as they
//! build it, so that a small config can never make a huge one.
//!
//! Sizes are *weights*: the bytes of every string and map key plus [`NODE_BYTES`] for every
//! value, close to what the tree holds in memory. Every value expansion makes (an interpolated
//! body, a bound parameter, a matrix combination) is charged before or as it is built, and the
//! charges of one compile add up; a charge past the total stops the expansion. Memory is thus
//! proportional to the budget whatever the config does.

use crate::diag::Span;
use crate::yaml::Value;
use std::cell::Cell;

/// Most bytes one interpolated value may have: the length of a string that `<< >>` builds, or
/// the weight of a list or map that a whole `<< parameters.x >>` copies. The longest values in real configs (scripts of a
/// few hundred lines, `steps` parameters of a few dozen steps) are tens of kilobytes, and the
/// whole source of a config is at most 4 MiB, so only a value that grows by substitution (a
/// string doubled at every level of nested commands) gets near it.
pub const MAX_VALUE_BYTES: usize = 4 * 1024 * 1024;

/// Most bytes one compile's expansion may build in all, counted as [`Budget`] describes.
/// CircleCI refuses processed configs larger than 8 MB; expansion counts about 7.5 bytes per
/// byte of processed YAML (the largest config of the shared corpus: 215 KB built for 29 KB of
/// YAML), so the largest config CircleCI runs stays under this. A compile holds at most about
/// this much in memory.
pub const MAX_BUILT_BYTES: usize = 64 * 1024 * 1024;

/// What each value (string, number, list, map, map entry) weighs besides the text of its strings
/// and keys: about what a value costs in memory.
pub const NODE_BYTES: usize = 64;

/// Why expansion stopped short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverBudget {
    /// A value built at `at` would weigh more than the limit on one value (`bytes`, at least).
    Value {
        /// The string or `<< >>` that builds the value.
        at: Span,
        /// How much it would weigh, counted until the limit was passed.
        bytes: usize,
    },
    /// What the compile built would weigh more than its total limit.
    Total,
}

/// The bytes one compile may still build; shared by reference within the compile.
#[derive(Debug)]
pub struct Budget {
    used: Cell<usize>,
    max_total: usize,
    max_value: usize,
}

impl Budget {
    /// A budget of `max_total` bytes in all and `max_value` bytes for any one value.
    pub fn new(max_value: usize, max_total: usize) -> Self {
        Budget {
            used: Cell::new(0),
            max_total,
            max_value,
        }
    }

    /// Bytes charged so far.
    pub fn used(&self) -> usize {
        self.used.get()
    }

    /// The limit on one value.
    pub fn max_value(&self) -> usize {
        self.max_value
    }

    /// The limit on all that the compile builds.
    pub fn max_total(&self) -> usize {
        self.max_total
    }

    /// Charges `bytes`; `Err` when that passes the total (and every later charge fails too).
    pub fn charge(&self, bytes: usize) -> Result<(), OverBudget> {
        let used = self.used.get().saturating_add(bytes);
        self.used.set(used);
        if used > self.max_total {
            return Err(OverBudget::Total);
        }
        Ok(())
    }

    /// Checks that a value built at `at` and weighing `bytes` is within the limit on values.
    pub fn check_value(&self, bytes: usize, at: Span) -> Result<(), OverBudget> {
        if bytes > self.max_value {
            return Err(OverBudget::Value { at, bytes });
        }
        Ok(())
    }

    /// Charges a copy of `value` before it is made. Its size must be within the limit on values
    /// (else it is refused at `at`): a string's size is its length, a list's or map's its
    /// weight. Weighing stops at the limit, so a huge value costs no more time than the limit
    /// allows.
    pub fn charge_copy(&self, value: &Value, at: Span) -> Result<(), OverBudget> {
        let (size, weight) = match value {
            Value::Str(s) => (s.len(), NODE_BYTES.saturating_add(s.len())),
            other => {
                let w = weight_up_to(other, self.max_value);
                (w, w)
            }
        };
        self.check_value(size, at)?;
        self.charge(weight)
    }
}

/// The weight of `value` and everything below it, or some weight above `cap` once it is clear
/// that it weighs more than `cap`.
pub fn weight_up_to(value: &Value, cap: usize) -> usize {
    let mut total = 0usize;
    let mut pending: Vec<&Value> = vec![value];
    while let Some(v) = pending.pop() {
        total = total.saturating_add(NODE_BYTES);
        match v {
            Value::Str(s) => total = total.saturating_add(s.len()),
            Value::Seq(items) => pending.extend(items.iter().map(|n| &n.value)),
            Value::Map(m) => {
                for (k, n) in m.iter() {
                    total = total.saturating_add(NODE_BYTES + k.len());
                    pending.push(&n.value);
                }
            }
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
        }
        if total > cap {
            return total;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Map, Node};

    #[test]
    fn weight_counts_text_and_values() {
        let mut m = Map::new();
        m.insert("key", Span::NONE, Node::str(Span::NONE, "value"));
        let node = Node::seq(
            Span::NONE,
            vec![Node::map(Span::NONE, m), Node::null(Span::NONE)],
        );
        // The list, the map, the entry with its 3-byte key, the 5-byte string, the null.
        let expected = 5 * NODE_BYTES + 3 + 5;
        assert_eq!(weight_up_to(&node.value, usize::MAX), expected);
        let capped = weight_up_to(&node.value, NODE_BYTES);
        assert!(capped > NODE_BYTES && capped <= expected, "{capped}");
    }

    #[test]
    fn charges_add_up_to_the_total_and_stay_refused_past_it() {
        let budget = Budget::new(10, 100);
        assert_eq!(budget.charge(60), Ok(()));
        assert_eq!(budget.charge(40), Ok(()), "exactly at the total");
        assert_eq!(budget.charge(1), Err(OverBudget::Total));
        assert_eq!(budget.charge(0), Err(OverBudget::Total));
        assert_eq!(budget.used(), 101);
    }

    #[test]
    fn strings_are_checked_by_length_at_their_limit() {
        let budget = Budget::new(4, 1_000);
        let at = Span::new(3, 7);
        assert_eq!(budget.charge_copy(&Value::Str("four".into()), at), Ok(()));
        assert_eq!(
            budget.charge_copy(&Value::Str("five!".into()), at),
            Err(OverBudget::Value { at, bytes: 5 })
        );
        assert_eq!(
            budget.used(),
            NODE_BYTES + 4,
            "a refused copy is not charged"
        );
    }

    #[test]
    fn lists_and_maps_are_checked_by_weight_at_their_limit() {
        let one = Value::Seq(vec![Node::str(Span::NONE, "ab")]);
        let weight = 2 * NODE_BYTES + 2;
        let at = Span::new(1, 1);
        assert_eq!(Budget::new(weight, 1_000).charge_copy(&one, at), Ok(()));
        assert!(matches!(
            Budget::new(weight - 1, 1_000).charge_copy(&one, at),
            Err(OverBudget::Value { .. })
        ));
    }
}
