//! RFC 6962 / RFC 9162 proofs computed from stored perfect-subtree hashes.
//!
//! Any subtree the RFC's recursion asks for, `MTH(D[start:start+len])`, starts at a multiple of
//! the largest power of two below `len`, so it is the right fold of the perfect subtrees of
//! `len`'s binary decomposition. A proof is therefore a list of *plans* (the perfect nodes each
//! proof hash is folded from); the caller fetches every node of every plan in one read and folds.
//! The same planning serves the append path (nodes held in memory) and the read path (nodes in
//! the store), so both hand out identical proofs.

use super::store::{Hash, NodeId};
use std::collections::HashMap;
use trust_core::tlog::node_hash;

/// The perfect subtrees whose right fold is `MTH(D[start:start+len])`, largest (left-most) first.
/// `start` must be a multiple of the largest power of two not above `len` (true for every range
/// the RFC recursion produces). Empty for `len == 0`.
pub fn range_nodes(start: u64, len: u64) -> Vec<NodeId> {
    let mut nodes = Vec::with_capacity(len.count_ones() as usize);
    let mut at = start;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if len & width != 0 {
            nodes.push(NodeId {
                level,
                index: at >> level,
            });
            at += width;
        }
    }
    nodes
}

/// Right fold of perfect-subtree hashes: `H(p1, H(p2, ... H(pn-1, pn)))`. `None` when empty.
pub fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Ranges `(start, len)` of the RFC 9162 inclusion proof (audit path) of leaf `index` in a tree
/// of `size` leaves, leaf-side first. Requires `index < size`.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    // Walk down from the root, then reverse to get the leaf-side-first order.
    let (mut start, mut len, mut m) = (0u64, size, index);
    while len > 1 {
        let k = split(len);
        if m < k {
            out.push((start + k, len - k));
            len = k;
        } else {
            out.push((start, k));
            start += k;
            m -= k;
            len -= k;
        }
    }
    out.reverse();
    out
}

/// Ranges of the RFC 9162 consistency proof from `old` to `new` leaves (`0 < old < new`), in
/// proof order.
pub fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    // SUBPROOF(m, D[start:start+len], b), unrolled.
    let mut out = Vec::new();
    let (mut start, mut len, mut m, mut b) = (0u64, new, old, true);
    while m != len {
        let k = split(len);
        if m <= k {
            out.push((start + k, len - k));
            len = k;
        } else {
            out.push((start, k));
            start += k;
            len -= k;
            m -= k;
            b = false;
        }
    }
    if !b {
        out.push((start, len));
    }
    out.reverse();
    out
}

/// The perfect subtrees of a tree of `size` leaves (its right edge): all that an append needs
/// from before, and whose fold is the root.
pub fn frontier(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// A set of proof hashes to compute: one node plan per hash.
#[derive(Clone, Debug)]
pub struct ProofPlan {
    plans: Vec<Vec<NodeId>>,
}

impl ProofPlan {
    /// Plan for the given ranges.
    pub fn new(ranges: &[(u64, u64)]) -> Self {
        Self {
            plans: ranges.iter().map(|&(s, l)| range_nodes(s, l)).collect(),
        }
    }

    /// Every node needed, deduplicated and sorted.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self.plans.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Folds each plan with node hashes from `get`; `None` if a node is missing.
    pub fn resolve(&self, get: impl Fn(&NodeId) -> Option<Hash>) -> Option<Vec<Hash>> {
        self.plans
            .iter()
            .map(|plan| {
                let hashes = plan.iter().map(&get).collect::<Option<Vec<_>>>()?;
                fold(&hashes)
            })
            .collect()
    }
}

/// The result of appending leaves to a tree in memory: every new perfect node and the new root.
#[derive(Clone, Debug)]
pub struct Appended {
    /// Every node completed by the append, including the leaves (level 0).
    pub new_nodes: Vec<(NodeId, Hash)>,
    /// All nodes known after the append: the old frontier plus the new nodes.
    pub known: HashMap<NodeId, Hash>,
    /// The root of the new tree.
    pub root: Hash,
    /// The new size.
    pub size: u64,
}

/// Appends `bodies` (leaf data) to a tree of `old_size` leaves whose [`frontier`] hashes are
/// `old_frontier` (in the order of `frontier(old_size)`). `None` if the frontier is inconsistent
/// with the size or nothing is appended.
pub fn append(old_size: u64, old_frontier: &[Hash], leaf_hashes: &[Hash]) -> Option<Appended> {
    let ids = frontier(old_size);
    if ids.len() != old_frontier.len() || leaf_hashes.is_empty() {
        return None;
    }
    let mut known: HashMap<NodeId, Hash> = ids.into_iter().zip(old_frontier.iter().copied()).collect();
    let new_size = old_size.checked_add(leaf_hashes.len() as u64)?;
    let mut new_nodes = Vec::with_capacity(leaf_hashes.len() * 2);
    for (i, h) in leaf_hashes.iter().enumerate() {
        let id = NodeId {
            level: 0,
            index: old_size + i as u64,
        };
        known.insert(id, *h);
        new_nodes.push((id, *h));
    }
    // Level l nodes completed by this append: those ending in (old_size, new_size].
    for level in 1..64u8 {
        let lo = old_size >> level;
        let hi = new_size >> level; // exclusive
        if lo >= hi {
            if hi == 0 {
                break;
            }
            continue;
        }
        for index in lo..hi {
            let left = known.get(&NodeId {
                level: level - 1,
                index: 2 * index,
            })?;
            let right = known.get(&NodeId {
                level: level - 1,
                index: 2 * index + 1,
            })?;
            let id = NodeId { level, index };
            let h = node_hash(left, right);
            known.insert(id, h);
            new_nodes.push((id, h));
        }
    }
    let root_ids = frontier(new_size);
    let root_hashes = root_ids
        .iter()
        .map(|id| known.get(id).copied())
        .collect::<Option<Vec<_>>>()?;
    let root = fold(&root_hashes)?;
    Some(Appended {
        new_nodes,
        known,
        root,
        size: new_size,
    })
}

/// The root hash of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    trust_core::crypto::sha256(b"")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use trust_core::tlog::{leaf_hash, verify_consistency, verify_inclusion};

    /// Reference MTH straight from RFC 6962's recursive definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Builds a tree by appending in the given batch sizes, returning all nodes ever written.
    fn build(batches: &[u64]) -> (HashMap<NodeId, Hash>, Vec<(u64, Hash)>) {
        let total: u64 = batches.iter().sum();
        let all = leaves(total);
        let mut store: HashMap<NodeId, Hash> = HashMap::new();
        let mut roots = Vec::new();
        let mut size = 0u64;
        for &b in batches {
            let f: Vec<Hash> = frontier(size).iter().map(|id| store[id]).collect();
            let a = append(size, &f, &all[size as usize..(size + b) as usize]).unwrap();
            for (id, h) in &a.new_nodes {
                assert!(store.insert(*id, *h).is_none(), "node {id:?} written twice");
            }
            size = a.size;
            roots.push((size, a.root));
        }
        (store, roots)
    }

    #[test]
    fn roots_match_the_rfc_definition_for_any_batching() {
        for batches in [vec![1; 40], vec![3, 5, 7, 1, 16, 9], vec![40], vec![2, 2, 2, 34]] {
            let (_, roots) = build(&batches);
            let all = leaves(batches.iter().sum());
            for (size, root) in roots {
                assert_eq!(root, mth(&all[..size as usize]), "size {size}, batches {batches:?}");
            }
        }
    }

    #[test]
    fn every_node_is_written_exactly_once_and_all_exist() {
        let (store, _) = build(&[3, 5, 7, 1, 16, 9]);
        // 41 leaves: every perfect subtree that fits is present.
        let mut expected = 0;
        for level in 0..6u8 {
            expected += 41u64 >> level;
        }
        assert_eq!(store.len() as u64, expected);
    }

    #[test]
    fn inclusion_proofs_verify_for_every_index_and_size() {
        let (store, _) = build(&[7, 1, 13, 20]);
        let all = leaves(41);
        for size in 1..=41u64 {
            let root = mth(&all[..size as usize]);
            for index in 0..size {
                let plan = ProofPlan::new(&inclusion_ranges(index, size));
                let proof = plan.resolve(|id| store.get(id).copied()).unwrap();
                verify_inclusion(index, size, &all[index as usize], &proof, &root)
                    .unwrap_or_else(|e| panic!("index {index} size {size}: {e}"));
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_for_every_pair() {
        let (store, _) = build(&[1, 2, 3, 4, 5, 6, 7, 8, 5]);
        let all = leaves(41);
        for new in 2..=41u64 {
            for old in 1..new {
                let plan = ProofPlan::new(&consistency_ranges(old, new));
                let proof = plan.resolve(|id| store.get(id).copied()).unwrap();
                verify_consistency(old, new, &mth(&all[..old as usize]), &mth(&all[..new as usize]), &proof)
                    .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
            }
        }
    }

    #[test]
    fn a_wrong_node_breaks_the_proof() {
        let (mut store, _) = build(&[41]);
        let all = leaves(41);
        let root = mth(&all);
        let plan = ProofPlan::new(&inclusion_ranges(5, 41));
        let victim = plan.nodes()[0];
        store.insert(victim, [0; 32]);
        let proof = plan.resolve(|id| store.get(id).copied()).unwrap();
        assert!(verify_inclusion(5, 41, &all[5], &proof, &root).is_err());
    }

    #[test]
    fn proofs_at_large_sizes_touch_few_nodes() {
        let size = 10_000_000u64;
        let plan = ProofPlan::new(&inclusion_ranges(size / 3, size));
        assert!(plan.nodes().len() <= 64, "{} nodes", plan.nodes().len());
        let plan = ProofPlan::new(&consistency_ranges(size / 3, size));
        assert!(plan.nodes().len() <= 64 * 2, "{} nodes", plan.nodes().len());
    }

    #[test]
    fn inconsistent_frontier_is_refused() {
        assert!(append(3, &[[0; 32]], &[[1; 32]]).is_none());
        assert!(append(0, &[], &[]).is_none());
    }
}
