//! `circleci tests glob` and `circleci tests split`: choosing the tests a parallel node runs.
//!
//! # Semantics (what CircleCI documents, and what we chose where it does not say)
//!
//! - **glob**: `*`, `?`, `[abc]` do not cross `/`; `**` does; `{a,b}` alternates. Only
//!   regular files are listed (not directories), paths are printed as the pattern spells
//!   them (relative to `cwd` for relative patterns, a leading `./` dropped), sorted and
//!   deduplicated. Symlinked directories are not followed, so walks cannot loop.
//! - **split by name** (the default): items are sorted by name and dealt round-robin, item
//!   `i` of the sorted list going to node `i % total`. Each node prints its items in sorted
//!   order.
//! - **split by filesize / timings**: greedy bin packing — items sorted by weight,
//!   heaviest first (ties by name), each placed on the node with the smallest load (ties: fewest
//!   items, then lowest index). Each node prints its items in input order. Deterministic, so
//!   every node computes the same partition independently.
//! - **timings**: the key of an item depends on `--timings-type`: `filename` (the JUnit
//!   `file` attribute, `./` stripped), `classname`, or `testname` (the case `name`).
//!   `autodetect` picks the first of filename, classname, testname for which at least one
//!   input item has timing data. Items without data weigh `--time-default` (0 s by default;
//!   CircleCI uses "a random small value", we stay deterministic). With no usable timing data
//!   at all the split falls back to by-name with the message
//!   [`FALLBACK_MESSAGE`].
//! - Items are a multiset: duplicates are kept, and every input item lands on exactly one
//!   node. A `total` of 0 is treated as 1; an `index` at or beyond `total` gets no items.
//!
//! The library never prints: messages for stderr come back in [`Split::messages`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::junit::TestReport;

/// Message printed (by CircleCI and by us) when timings were requested but none match.
pub const FALLBACK_MESSAGE: &str =
    "Error auto-detecting timing type, falling back to weighting by name.";

/// Errors of `tests glob` / `tests split` inputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// A glob pattern does not compile.
    #[error("invalid glob pattern {pattern:?}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// What globset reported.
        #[source]
        source: globset::Error,
    },
    /// A `--split-by` value is unknown.
    #[error("invalid --split-by {0:?}: expected name, filesize or timings")]
    SplitBy(String),
    /// A `--timings-type` value is unknown.
    #[error("invalid --timings-type {0:?}: expected classname, filename, testname or autodetect")]
    TimingsType(String),
    /// A duration such as `--time-default` does not parse.
    #[error("invalid duration {0:?}: expected e.g. 10s, 1m30s, 500ms")]
    Duration(String),
    /// A `--timings-file` is not valid JSON for [`Timings`].
    #[error("invalid timings file")]
    TimingsFile(#[source] serde_json::Error),
}

/// Lists the files matching any of `patterns`, relative to `cwd` for relative patterns.
///
/// # Errors
///
/// [`SplitError::Pattern`] when a pattern does not compile. Unreadable directories are
/// skipped silently, like a shell glob.
pub fn glob(patterns: &[String], cwd: &Path) -> Result<Vec<String>, SplitError> {
    let mut found = Vec::new();
    for pattern in patterns {
        let pattern_text = pattern.strip_prefix("./").unwrap_or(pattern);
        let matcher = GlobBuilder::new(pattern_text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|source| SplitError::Pattern {
                pattern: pattern.clone(),
                source,
            })?
            .compile_matcher();
        // Walk only below the literal directory prefix of the pattern.
        let base = literal_prefix(pattern_text);
        let start = cwd.join(&base);
        walk(&start, &base, &matcher, &mut found);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The leading path components of `pattern` that contain no glob syntax.
fn literal_prefix(pattern: &str) -> String {
    let components: Vec<&str> = pattern.split('/').collect();
    let mut prefix = Vec::new();
    // The last component names files, never a directory to start from.
    for c in components.iter().take(components.len().saturating_sub(1)) {
        if c.contains(['*', '?', '[', ']', '{', '}', '\\']) {
            break;
        }
        prefix.push(*c);
    }
    let joined = prefix.join("/");
    if joined.is_empty() && pattern.starts_with('/') {
        "/".to_owned()
    } else {
        joined
    }
}

fn walk(dir: &Path, shown: &str, matcher: &GlobMatcher, found: &mut Vec<String>) {
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), shown.to_owned())];
    while let Some((dir, shown)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let display = match shown.as_str() {
                "" => name,
                s if s.ends_with('/') => format!("{s}{name}"),
                s => format!("{s}/{name}"),
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                stack.push((path, display));
            } else if (kind.is_file() || (kind.is_symlink() && path.is_file()))
                && matcher.is_match(&display)
            {
                found.push(display);
            }
        }
    }
}

/// How `tests split` weighs items (`--split-by`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitBy {
    /// Sorted by name, dealt round-robin (the default).
    #[default]
    Name,
    /// Weighted by file size in bytes.
    Filesize,
    /// Weighted by historical timings.
    Timings,
}

impl std::str::FromStr for SplitBy {
    type Err = SplitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "name" => Ok(Self::Name),
            "filesize" => Ok(Self::Filesize),
            "timings" => Ok(Self::Timings),
            _ => Err(SplitError::SplitBy(s.to_owned())),
        }
    }
}

/// Which key of the timing data items are looked up by (`--timings-type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimingsType {
    /// The first of filename, classname, testname that matches any item (the default).
    #[default]
    Autodetect,
    /// The JUnit `file` attribute.
    Filename,
    /// The JUnit `classname` attribute.
    Classname,
    /// The JUnit case `name` attribute.
    Testname,
}

impl std::str::FromStr for TimingsType {
    type Err = SplitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "autodetect" => Ok(Self::Autodetect),
            "filename" => Ok(Self::Filename),
            "classname" => Ok(Self::Classname),
            // The docs' Go example spells it `name`.
            "testname" | "name" => Ok(Self::Testname),
            _ => Err(SplitError::TimingsType(s.to_owned())),
        }
    }
}

/// Options of `circleci tests split`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitOptions {
    /// This node's index (`--index`, default `$CIRCLE_NODE_INDEX`).
    pub index: usize,
    /// Number of nodes (`--total`, default `$CIRCLE_NODE_TOTAL`).
    pub total: usize,
    /// `--split-by`.
    pub split_by: SplitBy,
    /// `--timings-type`.
    pub timings_type: TimingsType,
    /// `--time-default` in seconds: the weight of items without timing data.
    pub time_default: f64,
    /// `--show-counts`: add a counts line to [`Split::messages`].
    pub show_counts: bool,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            index: 0,
            total: 1,
            split_by: SplitBy::Name,
            timings_type: TimingsType::Autodetect,
            time_default: 0.0,
            show_counts: false,
        }
    }
}

/// Historical durations in seconds, by file, classname and test name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Seconds per JUnit `file` (leading `./` stripped), summed over its cases.
    pub by_file: BTreeMap<String, f64>,
    /// Seconds per `classname`, summed over its cases.
    pub by_classname: BTreeMap<String, f64>,
    /// Seconds per case `name`, summed over cases of that name.
    pub by_testname: BTreeMap<String, f64>,
}

impl Timings {
    /// Builds timings from the reports stored by a previous run (`store_test_results`).
    /// Cases without a file or classname only count towards the keys they have.
    pub fn from_reports(reports: &[TestReport]) -> Self {
        let mut t = Self::default();
        for case in reports.iter().flat_map(TestReport::cases) {
            if let Some(file) = case.file.as_deref().filter(|f| !f.is_empty()) {
                *t.by_file.entry(normalize(file).to_owned()).or_default() += case.time;
            }
            if !case.classname.is_empty() {
                *t.by_classname.entry(case.classname.clone()).or_default() += case.time;
            }
            if !case.name.is_empty() {
                *t.by_testname.entry(case.name.clone()).or_default() += case.time;
            }
        }
        t
    }

    /// Reads timings from a `--timings-file` (this type serialized as JSON).
    ///
    /// # Errors
    ///
    /// [`SplitError::TimingsFile`] when the JSON does not match.
    pub fn from_json(bytes: &[u8]) -> Result<Self, SplitError> {
        serde_json::from_slice(bytes).map_err(SplitError::TimingsFile)
    }

    /// True when there is no data at all.
    pub fn is_empty(&self) -> bool {
        self.by_file.is_empty() && self.by_classname.is_empty() && self.by_testname.is_empty()
    }

    fn table(&self, kind: TimingsType) -> &BTreeMap<String, f64> {
        match kind {
            TimingsType::Filename | TimingsType::Autodetect => &self.by_file,
            TimingsType::Classname => &self.by_classname,
            TimingsType::Testname => &self.by_testname,
        }
    }

    fn lookup(&self, kind: TimingsType, item: &str) -> Option<f64> {
        let table = self.table(kind);
        match kind {
            TimingsType::Filename | TimingsType::Autodetect => table.get(normalize(item)),
            _ => table.get(item),
        }
        .copied()
    }
}

fn normalize(path: &str) -> &str {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p
}

/// The effective way a split was computed, after fallbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Round-robin over sorted names.
    Name,
    /// Bin packing by file size.
    Filesize,
    /// Bin packing by timings of the given key.
    Timings(TimingsType),
}

/// This node's share of a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// The items for this node, one per output line.
    pub items: Vec<String>,
    /// Lines for stderr: fallback warnings, missing timings, counts.
    pub messages: Vec<String>,
    /// How the split was actually computed.
    pub method: Method,
    /// Number of input items.
    pub total_items: usize,
    /// Weight (seconds or bytes; item count for by-name) on this node.
    pub node_weight: f64,
    /// Weight of all items.
    pub total_weight: f64,
}

/// Splits `items` across `opts.total` nodes and returns node `opts.index`'s share.
///
/// `filesize` gives the size in bytes of an item (for `--split-by=filesize`); `timings`
/// is the data of previous runs (for `--split-by=timings`). See the module docs for the
/// exact semantics.
pub fn split(
    items: &[String],
    opts: &SplitOptions,
    timings: Option<&Timings>,
    filesize: &dyn Fn(&str) -> Option<u64>,
) -> Split {
    let total = opts.total.max(1);
    let mut messages = Vec::new();
    let time_default = if opts.time_default.is_finite() && opts.time_default > 0.0 {
        opts.time_default
    } else {
        0.0
    };

    let weighted: Option<(Method, Vec<f64>)> = match opts.split_by {
        SplitBy::Name => None,
        SplitBy::Filesize => {
            let weights = items
                .iter()
                .map(|item| match filesize(item) {
                    Some(size) => size as f64,
                    None => {
                        messages.push(format!("No file size found for {item:?}"));
                        0.0
                    }
                })
                .collect();
            Some((Method::Filesize, weights))
        }
        SplitBy::Timings => match timings.and_then(|t| detect(t, opts.timings_type, items)) {
            None => {
                messages.push(FALLBACK_MESSAGE.to_owned());
                None
            }
            Some((kind, t)) => {
                if opts.timings_type == TimingsType::Autodetect {
                    messages.push(format!("Autodetected {} timings.", kind_name(kind)));
                }
                let weights = items
                    .iter()
                    .map(|item| {
                        t.lookup(kind, item).unwrap_or_else(|| {
                            messages.push(format!("No timing found for {item:?}"));
                            time_default
                        })
                    })
                    .collect();
                Some((Method::Timings(kind), weights))
            }
        },
    };

    let (method, assignment, weights) = match weighted {
        None => {
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by(|&a, &b| items[a].cmp(&items[b]).then(a.cmp(&b)));
            let mut nodes = vec![Vec::new(); total];
            for (rank, i) in order.into_iter().enumerate() {
                nodes[rank % total].push(i);
            }
            (Method::Name, nodes, vec![1.0; items.len()])
        }
        Some((method, weights)) => {
            let mut nodes = pack(items, &weights, total);
            for node in &mut nodes {
                node.sort_unstable();
            }
            (method, nodes, weights)
        }
    };

    let mine: &[usize] = assignment.get(opts.index).map_or(&[], Vec::as_slice);
    if opts.index >= total {
        messages.push(format!(
            "Node index {} is out of range for {} nodes; no items for this node.",
            opts.index, total
        ));
    }
    let node_weight = mine.iter().map(|&i| weights[i]).fold(0.0, |a, b| a + b);
    let total_weight = weights.iter().fold(0.0, |a, b| a + b);
    if opts.show_counts {
        messages.push(format!(
            "Node {} of {}: {} of {} items (weight {} of {}).",
            opts.index,
            total,
            mine.len(),
            items.len(),
            round3(node_weight),
            round3(total_weight)
        ));
    }
    Split {
        items: mine.iter().map(|&i| items[i].clone()).collect(),
        messages,
        method,
        total_items: items.len(),
        node_weight,
        total_weight,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn kind_name(kind: TimingsType) -> &'static str {
    match kind {
        TimingsType::Filename | TimingsType::Autodetect => "filename",
        TimingsType::Classname => "classname",
        TimingsType::Testname => "testname",
    }
}

/// The timing key to use, or `None` when no item has data under the requested key(s).
fn detect<'t>(
    t: &'t Timings,
    requested: TimingsType,
    items: &[String],
) -> Option<(TimingsType, &'t Timings)> {
    let candidates: &[TimingsType] = match requested {
        TimingsType::Autodetect => &[
            TimingsType::Filename,
            TimingsType::Classname,
            TimingsType::Testname,
        ],
        TimingsType::Filename => &[TimingsType::Filename],
        TimingsType::Classname => &[TimingsType::Classname],
        TimingsType::Testname => &[TimingsType::Testname],
    };
    candidates
        .iter()
        .find(|&&kind| items.iter().any(|item| t.lookup(kind, item).is_some()))
        .map(|&kind| (kind, t))
}

/// Greedy longest-processing-time packing; returns item indices per node.
fn pack(items: &[String], weights: &[f64], total: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        weights[b]
            .total_cmp(&weights[a])
            .then_with(|| items[a].cmp(&items[b]))
            .then(a.cmp(&b))
    });
    let mut loads = vec![0.0_f64; total];
    let mut nodes: Vec<Vec<usize>> = vec![Vec::new(); total];
    for i in order {
        let lightest = (0..total)
            .min_by(|&a, &b| {
                loads[a]
                    .total_cmp(&loads[b])
                    .then(nodes[a].len().cmp(&nodes[b].len()))
                    .then(a.cmp(&b))
            })
            .unwrap_or(0);
        loads[lightest] += weights[i];
        nodes[lightest].push(i);
    }
    nodes
}

/// Splits `circleci tests split` input into items: whitespace-separated, like the CLI
/// (so `echo $(circleci tests glob ...) | circleci tests split` works).
pub fn items_from_input(input: &str) -> Vec<String> {
    input.split_whitespace().map(str::to_owned).collect()
}

/// Parses a Go-style duration (`10s`, `1m30s`, `250ms`, `1.5h`; a bare number is seconds)
/// into seconds, for `--time-default`.
///
/// # Errors
///
/// [`SplitError::Duration`] when the text is not a duration.
pub fn parse_duration(text: &str) -> Result<f64, SplitError> {
    let err = || SplitError::Duration(text.to_owned());
    let s = text.trim();
    if s.is_empty() {
        return Err(err());
    }
    if let Ok(v) = s.parse::<f64>() {
        return (v.is_finite() && v >= 0.0).then_some(v).ok_or_else(err);
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let value: f64 = rest[..num_end].parse().map_err(|_| err())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn no_size(_: &str) -> Option<u64> {
        None
    }

    #[test]
    fn by_name_is_sorted_round_robin() {
        let items = strings(&["d", "a", "c", "b", "e"]);
        let opts = |index| SplitOptions {
            index,
            total: 2,
            ..SplitOptions::default()
        };
        assert_eq!(
            split(&items, &opts(0), None, &no_size).items,
            strings(&["a", "c", "e"])
        );
        assert_eq!(
            split(&items, &opts(1), None, &no_size).items,
            strings(&["b", "d"])
        );
    }

    #[test]
    fn timings_without_data_fall_back_to_name() {
        let items = strings(&["a", "b"]);
        let opts = SplitOptions {
            split_by: SplitBy::Timings,
            total: 2,
            ..SplitOptions::default()
        };
        let s = split(&items, &opts, None, &no_size);
        assert_eq!(s.method, Method::Name);
        assert_eq!(s.messages, vec![FALLBACK_MESSAGE.to_owned()]);
        assert_eq!(s.items, strings(&["a"]));
    }

    #[test]
    fn timings_pack_heaviest_first() {
        let mut t = Timings::default();
        for (k, v) in [("a", 10.0), ("b", 6.0), ("c", 5.0), ("d", 1.0)] {
            t.by_file.insert(k.to_owned(), v);
        }
        let items = strings(&["./a", "b", "c", "d", "new"]);
        let run = |index| {
            split(
                &items,
                &SplitOptions {
                    index,
                    total: 2,
                    split_by: SplitBy::Timings,
                    time_default: 2.0,
                    ..SplitOptions::default()
                },
                Some(&t),
                &no_size,
            )
        };
        let n0 = run(0);
        let n1 = run(1);
        assert_eq!(n0.method, Method::Timings(TimingsType::Filename));
        assert!(
            n0.messages
                .contains(&"Autodetected filename timings.".to_owned())
        );
        assert!(
            n0.messages
                .contains(&"No timing found for \"new\"".to_owned())
        );
        // 10 | 6+5 → 10+2 (new) | 11 → 12 | 11+1
        assert_eq!(n0.items, strings(&["./a", "new"]));
        assert_eq!(n1.items, strings(&["b", "c", "d"]));
        assert_eq!(n0.node_weight, 12.0);
        assert_eq!(n1.node_weight, 12.0);
    }

    #[test]
    fn autodetect_falls_through_to_classname() {
        let mut t = Timings::default();
        t.by_file.insert("x.py".to_owned(), 1.0);
        t.by_classname.insert("pkg.Cls".to_owned(), 3.0);
        let s = split(
            &strings(&["pkg.Cls"]),
            &SplitOptions {
                split_by: SplitBy::Timings,
                ..SplitOptions::default()
            },
            Some(&t),
            &no_size,
        );
        assert_eq!(s.method, Method::Timings(TimingsType::Classname));
    }

    #[test]
    fn filesize_split_and_counts() {
        let items = strings(&["big", "small", "mid"]);
        let size = |s: &str| match s {
            "big" => Some(100),
            "mid" => Some(60),
            "small" => Some(50),
            _ => None,
        };
        let s = split(
            &items,
            &SplitOptions {
                index: 1,
                total: 2,
                split_by: SplitBy::Filesize,
                show_counts: true,
                ..SplitOptions::default()
            },
            None,
            &size,
        );
        assert_eq!(s.items, strings(&["small", "mid"]));
        assert_eq!(
            s.messages,
            vec!["Node 1 of 2: 2 of 3 items (weight 110 of 210).".to_owned()]
        );
    }

    #[test]
    fn out_of_range_index_gets_nothing() {
        let s = split(
            &strings(&["a"]),
            &SplitOptions {
                index: 3,
                total: 2,
                ..SplitOptions::default()
            },
            None,
            &no_size,
        );
        assert!(s.items.is_empty());
        assert_eq!(s.messages.len(), 1);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), 10.0);
        assert_eq!(parse_duration("1m30s").unwrap(), 90.0);
        assert_eq!(parse_duration("250ms").unwrap(), 0.25);
        assert_eq!(parse_duration("2").unwrap(), 2.0);
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("src/**/*.rs"), "src");
        assert_eq!(literal_prefix("a/b/c.txt"), "a/b");
        assert_eq!(literal_prefix("*.rs"), "");
        assert_eq!(literal_prefix("/tmp/x/*.rs"), "/tmp/x");
        assert_eq!(literal_prefix("{a,b}/*.rs"), "");
    }

    #[test]
    fn parse_flags() {
        assert_eq!("timings".parse::<SplitBy>().unwrap(), SplitBy::Timings);
        assert!("bogus".parse::<SplitBy>().is_err());
        assert_eq!(
            "classname".parse::<TimingsType>().unwrap(),
            TimingsType::Classname
        );
    }
}
