//! de Bruijn sequences: every word of length n over k symbols exactly once, as a cyclic
//! sequence of k^n symbols (or a linear one of k^n + n - 1, the cycle with its first
//! n - 1 symbols repeated at the end). The keypad that never resets opens within the
//! linear sequence's length: 10^4 + 3 presses for four-digit codes.
//!
//! Two constructions, both linear in the output and streamed symbol by symbol:
//! - [`Algorithm::Lyndon`]: the FKM construction (Fredricksen, Kessler, Maiorana):
//!   the Lyndon words whose length divides n, in lexicographic order, concatenated. It
//!   gives the lexicographically least de Bruijn sequence, in O(n) memory.
//! - [`Algorithm::Euler`]: Hierholzer's algorithm, iterative, on the implicit de Bruijn
//!   graph (nodes: the k^(n-1) words of length n - 1; edges: the k^n words), with one
//!   next-edge counter per node and no adjacency lists. The circuit's edges come out in
//!   reverse order as the walk backs up; the reverse of a de Bruijn sequence is one too
//!   (the words' set is closed under reversal), so they are streamed as they come. The
//!   stack keeps one byte per edge on it: at most k^n bytes plus k^(n-1) counters.
//!
//! Symbols are 0..k (k <= 256), emitted as `u8`.

use std::fmt;

/// Most symbols in a sequence: 10^10 (k^n), past which the Euler stack and the
/// coverage check would outgrow a machine's memory.
pub const MAX_LENGTH: u64 = 10_000_000_000;

/// A parameter outside what the generator accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeBruijnError(pub String);

impl fmt::Display for DeBruijnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeBruijnError {}

/// Which construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Hierholzer's Eulerian circuit of the de Bruijn graph.
    Euler,
    /// Lyndon words (FKM): the lexicographically least sequence.
    Lyndon,
}

/// The size of a de Bruijn sequence, as given; [`DeBruijnParams::check`] makes it a
/// [`DeBruijn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeBruijnParams {
    /// Alphabet size (1 to 256).
    pub k: usize,
    /// Word length (the code's length, at least 1).
    pub n: usize,
}

/// A checked size: k^n fits under [`MAX_LENGTH`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeBruijn {
    k: usize,
    n: usize,
    len: u64,
}

impl DeBruijnParams {
    /// Check the sizes.
    ///
    /// ```
    /// use eigentechno::engine::debruijn::DeBruijnParams;
    /// assert_eq!(DeBruijnParams { k: 10, n: 4 }.check().unwrap().cyclic_len(), 10_000);
    /// assert!(DeBruijnParams { k: 10, n: 0 }.check().is_err());
    /// assert!(DeBruijnParams { k: 10, n: 11 }.check().is_err());
    /// ```
    pub fn check(self) -> Result<DeBruijn, DeBruijnError> {
        if !(1..=256).contains(&self.k) {
            return Err(DeBruijnError(format!(
                "an alphabet of {} symbols: 1 to 256 are accepted",
                self.k
            )));
        }
        if self.n == 0 {
            return Err(DeBruijnError(
                "order 0: words have at least 1 symbol".into(),
            ));
        }
        let mut len: u64 = 1;
        for _ in 0..self.n {
            len = len
                .checked_mul(self.k as u64)
                .filter(|&l| l <= MAX_LENGTH)
                .ok_or_else(|| {
                    DeBruijnError(format!(
                        "{}^{} symbols is past the bound of {MAX_LENGTH} (10^10)",
                        self.k, self.n
                    ))
                })?;
        }
        Ok(DeBruijn {
            k: self.k,
            n: self.n,
            len,
        })
    }
}

impl DeBruijn {
    /// Alphabet size.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Word length.
    pub fn n(&self) -> usize {
        self.n
    }

    /// k^n: the cyclic sequence's length, and the number of words.
    pub fn cyclic_len(&self) -> u64 {
        self.len
    }

    /// k^n + n - 1: the linear sequence's length (the presses that surely open the gate).
    pub fn linear_len(&self) -> u64 {
        self.len + self.n as u64 - 1
    }

    /// Stream the cyclic sequence to `emit`, symbol by symbol.
    pub fn cyclic(&self, algorithm: Algorithm, emit: &mut dyn FnMut(u8)) {
        match algorithm {
            Algorithm::Lyndon => lyndon(self.k, self.n, emit),
            Algorithm::Euler => euler(self.k, self.n, emit),
        }
    }

    /// Stream the linear sequence: the cycle, then its first n - 1 symbols again.
    ///
    /// ```
    /// use eigentechno::engine::debruijn::{Algorithm, DeBruijnParams};
    /// let d = DeBruijnParams { k: 2, n: 3 }.check().unwrap();
    /// let mut s = Vec::new();
    /// d.linear(Algorithm::Lyndon, &mut |c| s.push(c));
    /// assert_eq!(s, [0, 0, 0, 1, 0, 1, 1, 1, 0, 0]);
    /// ```
    pub fn linear(&self, algorithm: Algorithm, emit: &mut dyn FnMut(u8)) {
        let head = self.n - 1;
        let mut first = Vec::with_capacity(head);
        self.cyclic(algorithm, &mut |c| {
            if first.len() < head {
                first.push(c);
            }
            emit(c)
        });
        // The cycle read on past its end (around it more than once only for k = 1,
        // whose cycle is a single symbol).
        for i in 0..head {
            emit(first[i % first.len()]);
        }
    }

    /// The whole cyclic sequence in memory.
    pub fn cyclic_vec(&self, algorithm: Algorithm) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len as usize);
        self.cyclic(algorithm, &mut |c| v.push(c));
        v
    }
}

/// FKM: Lyndon words of length dividing n in lexicographic order (Ruskey's iterative
/// prenecklace generation), each written out as it is found.
fn lyndon(k: usize, n: usize, emit: &mut dyn FnMut(u8)) {
    // a[1..=n] is the current prenecklace; a[0] is unused, as in the textbook form.
    let mut a = vec![0u8; n + 1];
    // 0^n: period 1, the Lyndon word "0".
    emit(0);
    if k == 1 {
        return;
    }
    let top = (k - 1) as u8;
    loop {
        let mut i = n;
        while i > 0 && a[i] == top {
            i -= 1;
        }
        if i == 0 {
            return;
        }
        a[i] += 1;
        for j in i + 1..=n {
            a[j] = a[j - i];
        }
        if n.is_multiple_of(i) {
            for &c in &a[1..=i] {
                emit(c);
            }
        }
    }
}

/// Hierholzer's algorithm on the implicit graph. A node is the last n - 1 symbols of
/// the walk (an integer below k^(n-1)); its next-edge counter says how many of its k
/// out-edges are used. The stack holds the walk's symbols; the node a popped symbol
/// leaves from is rebuilt from the n - 1 symbols under it (the walk starts at node 0,
/// so below the stack's bottom there are zeros).
fn euler(k: usize, n: usize, emit: &mut dyn FnMut(u8)) {
    if n == 1 {
        // One node, k loops: every symbol once.
        for c in 0..k {
            emit(c as u8);
        }
        return;
    }
    let nodes = (k as u64).pow((n - 1) as u32);
    // k^(n-2): the weight of a node's oldest symbol.
    let top_weight = nodes / k as u64;
    let mut used = vec![0u16; nodes as usize];
    let mut stack: Vec<u8> = Vec::new();
    let mut node: u64 = 0;
    loop {
        let u = &mut used[node as usize];
        if (*u as usize) < k {
            let c = *u as u8;
            *u += 1;
            stack.push(c);
            node = (node * k as u64 + c as u64) % nodes;
            continue;
        }
        let Some(c) = stack.pop() else {
            return;
        };
        emit(c);
        // Back to the node the edge left from: drop c, put back the symbol n - 1 places
        // below it on the walk.
        let below = stack
            .len()
            .checked_sub(n - 1)
            .map(|i| stack[i])
            .unwrap_or(0);
        node = (node - c as u64) / k as u64 + below as u64 * top_weight;
    }
}

/// How many distinct words of length n the cyclic sequence `seq` holds among its
/// `seq.len()` windows (each window read around the end): equal to k^n, with as many
/// windows, exactly when it is a de Bruijn sequence. A bit per possible word.
///
/// ```
/// use eigentechno::engine::debruijn::{Algorithm, DeBruijnParams, distinct_cyclic_windows};
/// let d = DeBruijnParams { k: 3, n: 3 }.check().unwrap();
/// let s = d.cyclic_vec(Algorithm::Euler);
/// assert_eq!(distinct_cyclic_windows(&s, 3, 3), 27);
/// ```
pub fn distinct_cyclic_windows(seq: &[u8], k: usize, n: usize) -> u64 {
    let words = (k as u64).pow(n as u32);
    let mut seen = vec![0u64; words.div_ceil(64) as usize];
    let len = seq.len();
    if len == 0 {
        return 0;
    }
    let mut count = 0;
    for start in 0..len {
        let mut w: u64 = 0;
        for j in 0..n {
            w = w * k as u64 + seq[(start + j) % len] as u64;
        }
        let (slot, bit) = ((w / 64) as usize, w % 64);
        if seen[slot] & (1 << bit) == 0 {
            seen[slot] |= 1 << bit;
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word of the cyclic sequence, by brute force: each of the k^n words
    /// appears exactly once among the windows.
    fn each_word_once(seq: &[u8], k: usize, n: usize) -> bool {
        let words = k.pow(n as u32);
        let mut counts = vec![0u32; words];
        for start in 0..seq.len() {
            let mut w = 0usize;
            for j in 0..n {
                w = w * k + seq[(start + j) % seq.len()] as usize;
            }
            counts[w] += 1;
        }
        seq.len() == words && counts.iter().all(|&c| c == 1)
    }

    #[test]
    fn both_algorithms_cover_every_word_exactly_once() {
        for k in 1usize..=10 {
            for n in 1..=6 {
                if k.pow(n as u32) > 200_000 {
                    continue;
                }
                let d = DeBruijnParams { k, n }.check().unwrap();
                for alg in [Algorithm::Euler, Algorithm::Lyndon] {
                    let s = d.cyclic_vec(alg);
                    assert!(each_word_once(&s, k, n), "k {k} n {n} {alg:?}");
                    assert_eq!(distinct_cyclic_windows(&s, k, n), d.cyclic_len());
                    let mut lin = Vec::new();
                    d.linear(alg, &mut |c| lin.push(c));
                    assert_eq!(lin.len() as u64, d.linear_len());
                    // Every word once among the linear sequence's windows too.
                    let mut seen = std::collections::HashSet::new();
                    for w in lin.windows(n) {
                        assert!(seen.insert(w.to_vec()), "k {k} n {n} {alg:?}: {w:?} twice");
                    }
                    assert_eq!(seen.len() as u64, d.cyclic_len());
                }
            }
        }
    }

    #[test]
    fn lyndon_gives_the_least_sequence_known_values() {
        let s = |k, n| {
            DeBruijnParams { k, n }
                .check()
                .unwrap()
                .cyclic_vec(Algorithm::Lyndon)
        };
        assert_eq!(s(2, 3), [0, 0, 0, 1, 0, 1, 1, 1]);
        assert_eq!(s(3, 2), [0, 0, 1, 0, 2, 1, 1, 2, 2]);
        assert_eq!(s(2, 4), [0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1]);
        // The least among all de Bruijn sequences (every rotation of every one), for
        // k = 2, n = 3 by brute force over the 2^8 binary strings.
        let mut least: Option<Vec<u8>> = None;
        for bits in 0u32..256 {
            let v: Vec<u8> = (0..8).map(|i| ((bits >> (7 - i)) & 1) as u8).collect();
            if each_word_once(&v, 2, 3) && least.as_ref().is_none_or(|l| v < *l) {
                least = Some(v);
            }
        }
        assert_eq!(least.unwrap(), s(2, 3));
        // The keypad: 10,000 codes in 10,003 presses.
        let d = DeBruijnParams { k: 10, n: 4 }.check().unwrap();
        assert_eq!(d.linear_len(), 10_003);
        assert_eq!(&s(10, 4)[..8], &[0, 0, 0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn bad_sizes_are_refused_with_the_bound() {
        for (k, n) in [(0, 3), (257, 2), (10, 0), (10, 11), (2, 40), (256, 5)] {
            let e = DeBruijnParams { k, n }.check().unwrap_err();
            assert!(!e.0.is_empty(), "{k} {n}");
        }
        assert!(DeBruijnParams { k: 10, n: 10 }.check().is_ok());
        assert!(DeBruijnParams { k: 1, n: 5 }.check().is_ok());
    }
}
