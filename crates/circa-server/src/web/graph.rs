//! A workflow drawn as a graph of its jobs: columns by depth in the `requires` graph, a box per
//! job coloured by status, edges from each required job to the job that requires it.

use std::collections::HashMap;

use circa_store::{Job, JobId};

/// Box width.
const W: i64 = 190;
/// Box height.
const H: i64 = 48;
/// Gap between columns.
const GAP_X: i64 = 56;
/// Gap between rows.
const GAP_Y: i64 = 14;
/// Margin around the drawing.
const PAD: i64 = 8;

/// One job's box.
#[derive(Clone, Debug)]
pub struct Node {
    /// The job's id.
    pub id: JobId,
    /// Left edge.
    pub x: i64,
    /// Top edge.
    pub y: i64,
    /// The name (shortened to fit; the full name is the title).
    pub label: String,
    /// The full name.
    pub name: String,
    /// The status (CircleCI's spelling).
    pub status: String,
    /// A second line: duration, or what it waits for.
    pub detail: String,
    /// The job page, for jobs with a build number.
    pub href: Option<String>,
}

/// A drawn graph.
#[derive(Clone, Debug)]
pub struct Graph {
    /// The boxes.
    pub nodes: Vec<Node>,
    /// The edges as SVG path data.
    pub edges: Vec<String>,
    /// Drawing width.
    pub width: i64,
    /// Drawing height.
    pub height: i64,
    /// Box width (for the template).
    pub box_w: i64,
    /// Box height (for the template).
    pub box_h: i64,
}

/// Depth of each job: 0 without requirements in the workflow, else one more than its deepest
/// requirement. Bounded by the number of jobs, so a cycle cannot loop forever.
fn depths(jobs: &[Job]) -> Vec<usize> {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    let mut depth = vec![0usize; jobs.len()];
    for _ in 0..jobs.len() {
        let mut changed = false;
        for (i, j) in jobs.iter().enumerate() {
            let d = j
                .requires
                .iter()
                .filter_map(|r| index.get(r.name.as_str()))
                .map(|&k| depth[k] + 1)
                .max()
                .unwrap_or(0)
                .min(jobs.len());
            if d != depth[i] {
                depth[i] = d;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth
}

fn shorten(name: &str) -> String {
    const MAX: usize = 24;
    if name.chars().count() <= MAX {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(MAX - 1).collect();
        s.push('…');
        s
    }
}

/// Lays out a workflow's jobs; `detail` gives each job's second line and `href` its page.
pub fn layout(
    jobs: &[Job],
    detail: impl Fn(&Job) -> String,
    href: impl Fn(&Job) -> Option<String>,
) -> Graph {
    let depth = depths(jobs);
    let mut rows_in_column: HashMap<usize, i64> = HashMap::new();
    let mut at: Vec<(i64, i64)> = Vec::with_capacity(jobs.len());
    for &d in &depth {
        let row = rows_in_column.entry(d).or_default();
        at.push((PAD + d as i64 * (W + GAP_X), PAD + *row * (H + GAP_Y)));
        *row += 1;
    }
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.name.as_str(), i))
        .collect();
    let mut edges = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        for r in &j.requires {
            if let Some(&k) = index.get(r.name.as_str()) {
                let (x1, y1) = (at[k].0 + W, at[k].1 + H / 2);
                let (x2, y2) = (at[i].0, at[i].1 + H / 2);
                let mid = (x1 + x2) / 2;
                edges.push(format!("M{x1} {y1} C{mid} {y1} {mid} {y2} {x2} {y2}"));
            }
        }
    }
    let columns = depth.iter().max().map_or(0, |d| d + 1) as i64;
    let rows = rows_in_column.values().max().copied().unwrap_or(0);
    let nodes = jobs
        .iter()
        .zip(&at)
        .map(|(j, &(x, y))| Node {
            id: j.id.clone(),
            x,
            y,
            label: shorten(&j.name),
            name: j.name.clone(),
            status: j.status.as_str().to_string(),
            detail: detail(j),
            href: href(j),
        })
        .collect();
    Graph {
        nodes,
        edges,
        width: 2 * PAD + columns * W + (columns - 1).max(0) * GAP_X,
        height: 2 * PAD + rows * H + (rows - 1).max(0) * GAP_Y,
        box_w: W,
        box_h: H,
    }
}
