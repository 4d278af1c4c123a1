//! Cycles in a dependency graph (jobs' `requires`), found without recursion.

/// Every cycle that a depth-first walk of `edges` closes, each as the node indices along it
/// (`a` → `b` → … → back to `a`). `edges[n]` lists the nodes `n` depends on; indices out of
/// range are ignored. Iterative, so long chains never touch the call stack.
pub fn cycles(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unvisited,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::Unvisited; edges.len()];
    let mut found = Vec::new();
    for start in 0..edges.len() {
        if marks[start] != Mark::Unvisited {
            continue;
        }
        // The current path, each node with the next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            match edges[node].get(*next).copied() {
                Some(target) if target < edges.len() => {
                    *next += 1;
                    match marks[target] {
                        Mark::Unvisited => {
                            marks[target] = Mark::OnPath;
                            path.push((target, 0));
                        }
                        Mark::OnPath => {
                            let from = path.iter().position(|&(n, _)| n == target).unwrap_or(0);
                            found.push(path[from..].iter().map(|&(n, _)| n).collect());
                        }
                        Mark::Done => {}
                    }
                }
                Some(_) => *next += 1,
                None => {
                    marks[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::cycles;

    #[test]
    fn finds_each_cycle_once() {
        assert_eq!(cycles(&[vec![1], vec![0]]), vec![vec![0, 1]]);
        assert_eq!(
            cycles(&[vec![1], vec![2], vec![0], vec![0]]),
            vec![vec![0, 1, 2]]
        );
        assert!(cycles(&[vec![1, 2], vec![2], vec![], vec![9]]).is_empty());
        assert_eq!(cycles(&[vec![0]]), vec![vec![0]]);
    }

    #[test]
    fn a_long_chain_does_not_recurse() {
        let edges: Vec<Vec<usize>> = (0..100_000).map(|i| vec![i + 1]).collect();
        assert!(cycles(&edges).is_empty());
    }
}
