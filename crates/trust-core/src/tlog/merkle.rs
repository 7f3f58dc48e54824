//! RFC 6962 / RFC 9162 Merkle tree hashing and proof verification (SHA-256), allocation-free.

use super::TlogError;
use crate::crypto::sha256_parts;

/// RFC 6962 leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> [u8; 32] {
    sha256_parts(&[&[0x00], data])
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    crate::crypto::sha256(&buf)
}

/// RFC 9162 §2.1.3.2 inclusion proof verification: recomputes the root from `leaf_hash` at `index` in
/// a tree of `tree_size` leaves with the audit path `proof`, and compares it with `root`.
///
/// `tlog.inclusion_proof_malformed` when the index is outside the tree or the path has the wrong
/// length for this (index, size); `tlog.inclusion_proof_mismatch` when the recomputed root differs.
pub fn verify_inclusion(
    index: u64,
    tree_size: u64,
    leaf_hash: &[u8; 32],
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> Result<(), TlogError> {
    if index >= tree_size {
        return Err(TlogError::InclusionProofMalformed("leaf index is not inside the tree"));
    }
    let mut fn_ = index;
    let mut sn = tree_size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(TlogError::InclusionProofMalformed("audit path is too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                // Right-most node of its level: skip the levels where it has no sibling.
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(TlogError::InclusionProofMalformed("audit path is too short"));
    }
    if r != *root {
        return Err(TlogError::InclusionProofMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 consistency proof verification between a tree of `size1` leaves with root
/// `root1` and a later tree of `size2` leaves with root `root2`.
///
/// `tlog.consistency_proof_malformed` for impossible sizes or a path of the wrong length;
/// `tlog.consistency_proof_mismatch` when either recomputed root differs.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &[u8; 32],
    root2: &[u8; 32],
    proof: &[[u8; 32]],
) -> Result<(), TlogError> {
    if size1 > size2 {
        return Err(TlogError::ConsistencyProofMalformed(
            "first tree is larger than the second",
        ));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(TlogError::ConsistencyProofMalformed(
                "proof between equal sizes must be empty",
            ));
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(TlogError::ConsistencyProofMismatch)
        };
    }
    if size1 == 0 {
        // Every tree is consistent with the empty tree; RFC 9162 has no proof for it.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(TlogError::ConsistencyProofMalformed(
                "proof from the empty tree must be empty",
            ))
        };
    }
    // If size1 is a power of two, the old root is itself a node of the new tree: it is the
    // (implicit) first element of the path.
    let (first, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        match proof.split_first() {
            Some((f, r)) => (f, r),
            None => return Err(TlogError::ConsistencyProofMalformed("empty proof")),
        }
    };
    let mut fn_ = size1 - 1;
    let mut sn = size2 - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if sn == 0 {
            return Err(TlogError::ConsistencyProofMalformed("proof is too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(TlogError::ConsistencyProofMalformed("proof is too short"));
    }
    if fr != *root1 || sr != *root2 {
        return Err(TlogError::ConsistencyProofMismatch);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // Straightforward reference implementation of RFC 6962 §2.1 (MTH, PATH, PROOF), recursive.
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
        match leaves.len() {
            0 => crate::crypto::sha256(b""),
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
        let n = leaves.len();
        if n <= 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn subproof(m: usize, leaves: &[[u8; 32]], b: bool) -> Vec<[u8; 32]> {
        let n = leaves.len();
        if m == n {
            return if b { vec![] } else { vec![mth(leaves)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &leaves[..k], b);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect()
    }

    #[test]
    fn leaf_and_node_hash_match_rfc6962() {
        // Empty-input leaf hash, a well-known constant.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn every_inclusion_proof_of_small_trees_verifies() {
        for n in 1..=33usize {
            let l = leaves(n);
            let root = mth(&l);
            for m in 0..n {
                let p = path(m, &l);
                verify_inclusion(m as u64, n as u64, &l[m], &p, &root).unwrap();
                // Wrong leaf, wrong root, a flipped bit in the path: all mismatch.
                let other = leaf_hash(b"other");
                assert_eq!(
                    verify_inclusion(m as u64, n as u64, &other, &p, &root),
                    Err(TlogError::InclusionProofMismatch)
                );
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(bad[0], *first);
                    assert_eq!(
                        verify_inclusion(m as u64, n as u64, &l[m], &bad, &root),
                        Err(TlogError::InclusionProofMismatch)
                    );
                    // Too short.
                    assert_eq!(
                        verify_inclusion(m as u64, n as u64, &l[m], &p[..p.len() - 1], &root)
                            .unwrap_err()
                            .code(),
                        "tlog.inclusion_proof_malformed"
                    );
                }
                // Too long.
                let mut long = p.clone();
                long.push([7; 32]);
                assert_eq!(
                    verify_inclusion(m as u64, n as u64, &l[m], &long, &root)
                        .unwrap_err()
                        .code(),
                    "tlog.inclusion_proof_malformed"
                );
            }
            assert_eq!(
                verify_inclusion(n as u64, n as u64, &l[0], &[], &root)
                    .unwrap_err()
                    .code(),
                "tlog.inclusion_proof_malformed"
            );
        }
        assert_eq!(
            verify_inclusion(0, 0, &[0; 32], &[], &[0; 32]).unwrap_err().code(),
            "tlog.inclusion_proof_malformed"
        );
        // Huge sizes do not overflow or panic.
        assert!(verify_inclusion(u64::MAX - 1, u64::MAX, &[0; 32], &[[1; 32]; 64], &[0; 32]).is_err());
    }

    #[test]
    fn every_consistency_proof_of_small_trees_verifies() {
        let all = leaves(40);
        for n in 1..=40usize {
            let root2 = mth(&all[..n]);
            for m in 1..=n {
                let root1 = mth(&all[..m]);
                let p = if m == n { vec![] } else { subproof(m, &all[..n], true) };
                verify_consistency(m as u64, n as u64, &root1, &root2, &p)
                    .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
                if m < n {
                    let mut bad = p.clone();
                    bad[0][31] ^= 0x80;
                    assert_eq!(
                        verify_consistency(m as u64, n as u64, &root1, &root2, &bad),
                        Err(TlogError::ConsistencyProofMismatch),
                        "{m} -> {n}"
                    );
                    assert_eq!(
                        verify_consistency(m as u64, n as u64, &root2, &root2, &p),
                        Err(TlogError::ConsistencyProofMismatch)
                    );
                    let mut long = p.clone();
                    long.push([3; 32]);
                    assert_eq!(
                        verify_consistency(m as u64, n as u64, &root1, &root2, &long)
                            .unwrap_err()
                            .code(),
                        "tlog.consistency_proof_malformed"
                    );
                    assert!(verify_consistency(m as u64, n as u64, &root1, &root2, &p[..p.len() - 1]).is_err());
                }
            }
            verify_consistency(0, n as u64, &[0; 32], &root2, &[]).unwrap();
        }
        assert_eq!(
            verify_consistency(5, 4, &[0; 32], &[0; 32], &[]).unwrap_err().code(),
            "tlog.consistency_proof_malformed"
        );
        assert_eq!(
            verify_consistency(4, 4, &[0; 32], &[1; 32], &[]),
            Err(TlogError::ConsistencyProofMismatch)
        );
        assert_eq!(
            verify_consistency(3, 7, &[0; 32], &[1; 32], &[]).unwrap_err().code(),
            "tlog.consistency_proof_malformed"
        );
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &[0; 32], &[0; 32], &[[0; 32]; 70]).is_err());
    }
}
