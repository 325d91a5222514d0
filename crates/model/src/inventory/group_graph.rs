//! The `children` edges between groups, as our inventory and an Ansible one both have them:
//! which edges close a cycle, how deep each group lies, and a host's groups with every group
//! above them. Each is computed once, in time linear in the groups and edges and without
//! recursion (Tarjan's strongly connected components, then a topological order), so that an
//! inventory of thousands of groups, hostile or not, costs milliseconds and cannot overflow the
//! stack. The callers number their groups and keep the names.

use std::collections::{HashSet, VecDeque};

/// Groups numbered `0..n`, and their `children` edges.
pub(crate) struct GroupGraph {
    parents: Vec<Vec<usize>>,
    /// Each group's strongly connected component: an edge between two groups of one component
    /// lies on a cycle.
    component: Vec<usize>,
    depth: Vec<usize>,
}

impl GroupGraph {
    /// `edges` are (parent, child) pairs of group numbers below `n`, a parent listing the child
    /// in its `children`.
    pub(crate) fn new(n: usize, edges: &[(usize, usize)]) -> GroupGraph {
        let mut parents = vec![Vec::new(); n];
        let mut children = vec![Vec::new(); n];
        for &(parent, child) in edges {
            parents[child].push(parent);
            children[parent].push(child);
        }
        let component = components(&children);
        let depth = depths(&parents, &children);
        GroupGraph { parents, component, depth }
    }

    /// Whether the edge `parent` → `child` closes a cycle, that is `child` contains `parent`.
    pub(crate) fn closes_cycle(&self, parent: usize, child: usize) -> bool {
        parent == child || self.component[parent] == self.component[child]
    }

    /// The longest chain of parents above `group`: 0 for a top-level group. Meaningful only
    /// when no cycle lies above the group (a cycle is an error of the inventory anyway).
    pub(crate) fn depth(&self, group: usize) -> usize {
        self.depth[group]
    }

    /// `direct` and every group above them, each once, in no particular order. The cost is
    /// that of the groups returned and their edges, whatever the size of the whole graph.
    pub(crate) fn with_ancestors(&self, direct: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut found: Vec<usize> =
            direct.into_iter().filter(|group| seen.insert(*group)).collect();
        let mut next = 0;
        while let Some(&group) = found.get(next) {
            next += 1;
            for &parent in &self.parents[group] {
                if seen.insert(parent) {
                    found.push(parent);
                }
            }
        }
        found
    }
}

/// Tarjan's algorithm, with an explicit stack instead of recursion: each group's component.
fn components(children: &[Vec<usize>]) -> Vec<usize> {
    let n = children.len();
    let mut tarjan = Tarjan {
        index: vec![UNSEEN; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        path: Vec::new(),
        n_indexed: 0,
    };
    let mut component = vec![UNSEEN; n];
    let mut n_components = 0;
    for root in 0..n {
        if tarjan.index[root] != UNSEEN {
            continue;
        }
        tarjan.visit(root);
        while let Some(&(group, next)) = tarjan.path.last() {
            if let Some(&child) = children[group].get(next) {
                if let Some(top) = tarjan.path.last_mut() {
                    top.1 += 1;
                }
                if tarjan.index[child] == UNSEEN {
                    tarjan.visit(child);
                } else if tarjan.on_stack[child] {
                    tarjan.low[group] = tarjan.low[group].min(tarjan.index[child]);
                }
                continue;
            }
            tarjan.path.pop();
            if let Some(&(parent, _)) = tarjan.path.last() {
                tarjan.low[parent] = tarjan.low[parent].min(tarjan.low[group]);
            }
            if tarjan.low[group] == tarjan.index[group] {
                while let Some(member) = tarjan.stack.pop() {
                    tarjan.on_stack[member] = false;
                    component[member] = n_components;
                    if member == group {
                        break;
                    }
                }
                n_components += 1;
            }
        }
    }
    component
}

const UNSEEN: usize = usize::MAX;

struct Tarjan {
    index: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    /// The groups whose component is not closed yet.
    stack: Vec<usize>,
    /// The depth-first path: each group with the position of its next child to visit.
    path: Vec<(usize, usize)>,
    n_indexed: usize,
}

impl Tarjan {
    fn visit(&mut self, group: usize) {
        self.index[group] = self.n_indexed;
        self.low[group] = self.n_indexed;
        self.n_indexed += 1;
        self.stack.push(group);
        self.on_stack[group] = true;
        self.path.push((group, 0));
    }
}

/// The longest chain of parents above each group, in topological order (Kahn's algorithm).
/// Groups in or below a cycle are never reached; they keep what their other parents gave.
fn depths(parents: &[Vec<usize>], children: &[Vec<usize>]) -> Vec<usize> {
    let mut depth = vec![0; parents.len()];
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready: VecDeque<usize> = (0..parents.len()).filter(|g| waiting[*g] == 0).collect();
    while let Some(group) = ready.pop_front() {
        for &child in &children[group] {
            depth[child] = depth[child].max(depth[group] + 1);
            waiting[child] -= 1;
            if waiting[child] == 0 {
                ready.push_back(child);
            }
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Groups named by letters, edges written `"ab"` for a → b (a lists b in its children).
    fn graph(n: usize, edges: &[&str]) -> GroupGraph {
        let number = |c: u8| usize::from(c - b'a');
        let edges: Vec<(usize, usize)> =
            edges.iter().map(|e| (number(e.as_bytes()[0]), number(e.as_bytes()[1]))).collect();
        GroupGraph::new(n, &edges)
    }

    #[test]
    fn edges_on_a_cycle_and_only_those_close_one() {
        // a → b → c → a is a cycle; c → d and a → e lead out of it; e → e is one alone.
        let g = graph(5, &["ab", "bc", "ca", "cd", "ae", "ee"]);
        let closing: Vec<bool> = [(0, 1), (1, 2), (2, 0), (2, 3), (0, 4), (4, 4)]
            .iter()
            .map(|&(parent, child)| g.closes_cycle(parent, child))
            .collect();
        assert_eq!(closing, [true, true, true, false, false, true]);
    }

    #[test]
    fn depth_is_the_longest_chain_of_parents() {
        // a → b → c, and a → c directly: c is two below a, not one.
        let g = graph(4, &["ab", "bc", "ac"]);
        assert_eq!((0..4).map(|n| g.depth(n)).collect::<Vec<_>>(), [0, 1, 2, 0]);
        let mut above_c = g.with_ancestors([2]);
        above_c.sort_unstable();
        assert_eq!(above_c, [0, 1, 2]);
        assert_eq!(g.with_ancestors([3, 3]), [3]);
    }

    /// A chain of 100,000 groups, and one closed into a cycle: no recursion, no quadratic walk.
    #[test]
    fn long_chains_cost_linear_time() {
        let n = 100_000;
        let mut edges: Vec<(usize, usize)> = (1..n).map(|child| (child - 1, child)).collect();
        let chain = GroupGraph::new(n, &edges);
        assert_eq!(chain.depth(n - 1), n - 1);
        assert!(!chain.closes_cycle(n - 2, n - 1));
        assert_eq!(chain.with_ancestors([n - 1]).len(), n);
        edges.push((n - 1, 0));
        let cycle = GroupGraph::new(n, &edges);
        assert!(edges.iter().all(|&(parent, child)| cycle.closes_cycle(parent, child)));
    }
}
