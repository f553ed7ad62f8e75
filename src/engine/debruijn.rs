//! de Bruijn sequences: every word of length n over k symbols exactly once, as a cyclic
//! sequence of k^n symbols (or a linear one of k^n + n - 1, the cycle with its first
//! n - 1 symbols repeated at the end). The keypad that never resets opens within the
//! linear sequence's length: 10^4 + 3 presses for four-digit codes.
//!
//! Two constructions, both linear in the output and streamed in chunks:
//! - [`Algorithm::Lyndon`]: the FKM construction (Fredricksen, Kessler, Maiorana):
//!   the Lyndon words whose length divides n, in lexicographic order, concatenated. It
//!   gives the lexicographically least de Bruijn sequence, in O(n) memory.
//! - [`Algorithm::Euler`]: Hierholzer's algorithm, iterative, on the implicit de Bruijn
//!   graph (nodes: the k^(n-1) words of length n - 1; edges: the k^n words), with one
//!   next-edge counter per node and no adjacency lists. Each node's edges are taken
//!   largest symbol first, so that its edge 0 (shift in a 0) is its last; those edges
//!   form a spanning tree into the start node 0^(n-1), and with the tree's edges left
//!   for last the first trail Hierholzer's algorithm walks is already the whole
//!   circuit (the condition in the BEST theorem's proof; the argument is in the
//!   source, at `euler`). Nothing is ever spliced in, so the trail streams forward as
//!   it is walked, with no stack: k^(n-1) counters of one byte (two for k = 256) are
//!   all the memory.
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
        self.cyclic_chunks(algorithm, &mut |chunk| {
            chunk.iter().for_each(|&c| emit(c));
            true
        });
    }

    /// Stream the cyclic sequence in chunks (of up to [`CHUNK`] symbols) while `emit`
    /// returns true: a caller that is asked to stop, or whose output failed, ends a
    /// 10^9-symbol run at once. True when the whole sequence was emitted. Chunks, not
    /// symbols, so that the caller's work per symbol is a tight loop (10^8 symbols in
    /// well under a second).
    pub fn cyclic_chunks(&self, algorithm: Algorithm, emit: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let mut out = Chunks {
            buf: Vec::with_capacity(CHUNK),
            emit,
        };
        let whole = match algorithm {
            Algorithm::Lyndon => lyndon(self.k, self.n, &mut out),
            Algorithm::Euler => euler(self.k, self.n, &mut out),
        };
        whole && out.flush()
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
        self.linear_chunks(algorithm, &mut |chunk| {
            chunk.iter().for_each(|&c| emit(c));
            true
        });
    }

    /// Stream the linear sequence in chunks while `emit` returns true; true when all
    /// of it was.
    pub fn linear_chunks(&self, algorithm: Algorithm, emit: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let head = self.n - 1;
        let mut first = Vec::with_capacity(head);
        let whole = self.cyclic_chunks(algorithm, &mut |chunk| {
            let take = (head - first.len()).min(chunk.len());
            first.extend_from_slice(&chunk[..take]);
            emit(chunk)
        });
        // The cycle read on past its end (around it more than once only for k = 1,
        // whose cycle is a single symbol).
        let tail: Vec<u8> = (0..head).map(|i| first[i % first.len()]).collect();
        whole && (tail.is_empty() || emit(&tail))
    }

    /// The whole cyclic sequence in memory.
    pub fn cyclic_vec(&self, algorithm: Algorithm) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len as usize);
        self.cyclic_chunks(algorithm, &mut |chunk| {
            v.extend_from_slice(chunk);
            true
        });
        v
    }
}

/// Symbols per chunk handed to the caller.
pub const CHUNK: usize = 1 << 16;

/// The generators' output: symbols gathered into chunks for the caller.
struct Chunks<'a> {
    buf: Vec<u8>,
    emit: &'a mut dyn FnMut(&[u8]) -> bool,
}

impl Chunks<'_> {
    /// Hand over what is gathered; false if the caller said stop.
    fn flush(&mut self) -> bool {
        let go_on = self.buf.is_empty() || (self.emit)(&self.buf);
        self.buf.clear();
        go_on
    }

    #[inline]
    fn push(&mut self, c: u8) -> bool {
        if self.buf.len() == CHUNK && !self.flush() {
            return false;
        }
        self.buf.push(c);
        true
    }

    #[inline]
    fn extend(&mut self, s: &[u8]) -> bool {
        if self.buf.len() + s.len() > CHUNK && !self.flush() {
            return false;
        }
        self.buf.extend_from_slice(s);
        true
    }
}

/// FKM: Lyndon words of length dividing n in lexicographic order (Ruskey's iterative
/// prenecklace generation), each written out as it is found.
fn lyndon(k: usize, n: usize, out: &mut Chunks) -> bool {
    // a[1..=n] is the current prenecklace; a[0] is unused, as in the textbook form.
    let mut a = vec![0u8; n + 1];
    // 0^n: period 1, the Lyndon word "0".
    if !out.push(0) {
        return false;
    }
    if k == 1 {
        return true;
    }
    let top = (k - 1) as u8;
    loop {
        let mut i = n;
        while i > 0 && a[i] == top {
            i -= 1;
        }
        if i == 0 {
            return true;
        }
        a[i] += 1;
        for j in i + 1..=n {
            a[j] = a[j - i];
        }
        if n.is_multiple_of(i) && !out.extend(&a[1..=i]) {
            return false;
        }
    }
}

/// A node's count of used out-edges: a byte while k < 256 (0..=k fits), else two.
trait Counter: Copy + Default {
    fn get(self) -> usize;
    fn bump(&mut self);
}

impl Counter for u8 {
    #[inline]
    fn get(self) -> usize {
        self as usize
    }
    #[inline]
    fn bump(&mut self) {
        *self += 1;
    }
}

impl Counter for u16 {
    #[inline]
    fn get(self) -> usize {
        self as usize
    }
    #[inline]
    fn bump(&mut self) {
        *self += 1;
    }
}

/// Hierholzer's algorithm on the implicit graph. A node is the last n - 1 symbols of
/// the walk (an integer below k^(n-1)); its next-edge counter says how many of its k
/// out-edges are used, and they are used largest symbol first.
///
/// Why the first trail is the whole circuit, so that Hierholzer's stack (the trail
/// waiting to be spliced) is never needed: a trail from the start node r = 0^(n-1) can
/// only get stuck at r (every node has as many edges in as out). Suppose it stops with
/// an edge out of some node v unused. Then v's last edge, its 0-edge to w (v with a 0
/// shifted in), is unused (v != r; r's 0-edge is its own loop). So w was left fewer
/// times than it could be entered, and since the walk ended elsewhere or at r, w also
/// has an unused out-edge, its 0-edge in turn. Shifting in zeros reaches r within
/// n - 1 steps, whose in-edge is then unused while all its out-edges are used: but a
/// walk that ends at r has left r exactly as often as it entered it. So all k^n edges
/// are walked, in order, and streamed as they are.
fn euler(k: usize, n: usize, out: &mut Chunks) -> bool {
    if n == 1 {
        // One node, k loops: every symbol once.
        return (0..k).all(|c| out.push(c as u8));
    }
    if k < 256 {
        euler_with::<u8>(k, n, out)
    } else {
        euler_with::<u16>(k, n, out)
    }
}

fn euler_with<C: Counter>(k: usize, n: usize, out: &mut Chunks) -> bool {
    let kk = k as u64;
    let nodes = kk.pow((n - 1) as u32);
    // k^(n-2): the weight of a node's oldest symbol.
    let top_weight = nodes / kk;
    let mut used = vec![C::default(); nodes as usize];
    // The node's n - 1 symbols as a ring, `oldest` the index of the oldest: the way
    // forward drops it, with no division.
    let mut ring = vec![0u8; n - 1];
    let mut oldest = 0;
    let mut node: u64 = 0;
    let mut edges: u64 = 0;
    loop {
        let u = &mut used[node as usize];
        let taken = u.get();
        if taken == k {
            break;
        }
        u.bump();
        let c = (k - 1 - taken) as u8;
        node = (node - ring[oldest] as u64 * top_weight) * kk + c as u64;
        ring[oldest] = c;
        oldest += 1;
        if oldest == n - 1 {
            oldest = 0;
        }
        edges += 1;
        if !out.push(c) {
            return false;
        }
    }
    assert_eq!(edges, nodes * kk, "the first trail is the whole circuit");
    true
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

/// The words of every length from 1 to n seen so far in a stream of presses, a bit per
/// possible word (k^n + k^(n-1) + ... + k bits, under 2 k^n): the streamed check of a
/// sequence too long to keep. A window of length m ending at a press is the last m
/// presses, so one rolling value of the last n serves every length.
pub struct Coverage {
    k: u64,
    n: usize,
    up_to: bool,
    /// `k^m` for m = 0..=n.
    powers: Vec<u64>,
    /// One bit set per word seen, for lengths 1..=n (only n unless `up_to`).
    seen: Vec<Vec<u64>>,
    distinct: Vec<u64>,
    last: u64,
    pressed: u64,
}

impl Coverage {
    /// Count the words of length n, or (`up_to`) of every length 1..=n.
    pub fn new(d: &DeBruijn, up_to: bool) -> Coverage {
        let k = d.k as u64;
        let powers: Vec<u64> = (0..=d.n as u32).map(|m| k.pow(m)).collect();
        let seen = (1..=d.n)
            .map(|m| {
                if up_to || m == d.n {
                    vec![0u64; powers[m].div_ceil(64) as usize]
                } else {
                    Vec::new()
                }
            })
            .collect();
        Coverage {
            k,
            n: d.n,
            up_to,
            powers,
            seen,
            distinct: vec![0; d.n],
            last: 0,
            pressed: 0,
        }
    }

    /// One more press.
    pub fn push(&mut self, c: u8) {
        self.last = (self.last * self.k + c as u64) % self.powers[self.n];
        self.pressed += 1;
        let lo = if self.up_to { 1 } else { self.n };
        let hi = self.n.min(self.pressed as usize);
        for m in lo..=hi {
            let w = self.last % self.powers[m];
            let bits = &mut self.seen[m - 1][(w / 64) as usize];
            if *bits & (1 << (w % 64)) == 0 {
                *bits |= 1 << (w % 64);
                self.distinct[m - 1] += 1;
            }
        }
    }

    /// Distinct words seen of length m (1..=n; 0 for lengths not counted).
    pub fn distinct(&self, m: usize) -> u64 {
        self.distinct[m - 1]
    }

    /// Whether every word of length n (and, `up_to`, of every shorter length) was seen.
    pub fn complete(&self) -> bool {
        let lo = if self.up_to { 1 } else { self.n };
        (lo..=self.n).all(|m| self.distinct[m - 1] == self.powers[m])
    }
}

/// Whether every word of every length 1..=n over k symbols is a window of `presses`
/// (the keypad that never resets, when the code's length is forgotten).
///
/// The answer to the riddle's extra credit: the linear order-n sequence already does
/// it. A word w of length m < n is the start of the n-words w x (any x of n - m
/// symbols), and those are windows starting at most k^n - 1 presses in, so w is a
/// window too, even next to the end. k^n + n - 1 presses are needed for the n-words
/// alone (k^n distinct windows of n), so nothing shorter covers every length.
///
/// ```
/// use eigentechno::engine::debruijn::{Algorithm, DeBruijnParams, covers_all_up_to};
/// let d = DeBruijnParams { k: 10, n: 3 }.check().unwrap();
/// let mut s = Vec::new();
/// d.linear(Algorithm::Euler, &mut |c| s.push(c));
/// assert!(covers_all_up_to(&s, 10, 3));
/// assert!(!covers_all_up_to(&s[1..], 10, 3));
/// ```
pub fn covers_all_up_to(presses: &[u8], k: usize, n: usize) -> bool {
    let Ok(d) = (DeBruijnParams { k, n }).check() else {
        return false;
    };
    let mut c = Coverage::new(&d, true);
    for &p in presses {
        c.push(p);
    }
    c.complete()
}

/// Presses that surely open a keypad that resets after each wrong code: they come in
/// separate blocks of n, each block tries one code, so every one of the k^n codes
/// needs a block of its own: n k^n, and any order of the codes reaches it.
///
/// When the code's length is forgotten (any m from 1 to n, and the keypad resets after
/// every m presses), the presses must also hold every m-word among their blocks of m.
/// The n-words alone still need n k^n; the tests find by exhaustive search that for
/// small k and n this is also enough ([`covers_all_blocks`]), so the forgotten length
/// costs nothing, as without the reset.
pub fn reset_presses(k: usize, n: usize) -> Option<u64> {
    (k as u64).checked_pow(n as u32)?.checked_mul(n as u64)
}

/// Whether the consecutive blocks of m presses (from the first press; a short last
/// block tries nothing) hold every word of length m over k symbols.
///
/// ```
/// use eigentechno::engine::debruijn::covers_all_blocks;
/// assert!(covers_all_blocks(&[0, 0, 0, 1, 1, 0, 1, 1], 2, 2));
/// assert!(!covers_all_blocks(&[0, 0, 1, 1, 0], 2, 2), "01 and 10 straddle blocks");
/// ```
pub fn covers_all_blocks(presses: &[u8], k: usize, m: usize) -> bool {
    let words = (k as u64).pow(m as u32);
    let mut seen = std::collections::HashSet::new();
    for block in presses.chunks_exact(m) {
        seen.insert(block.iter().fold(0u64, |w, &c| w * k as u64 + c as u64));
    }
    seen.len() as u64 == words
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
    fn the_largest_alphabets_too() {
        // k = 256 counts its edges in two bytes; k = 255 in one, up to 255.
        for (k, n) in [(256, 2), (255, 2), (16, 4)] {
            let d = DeBruijnParams { k, n }.check().unwrap();
            for alg in [Algorithm::Euler, Algorithm::Lyndon] {
                let s = d.cyclic_vec(alg);
                assert!(each_word_once(&s, k, n), "k {k} n {n} {alg:?}");
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

    /// Every word of every length 1..=n among the windows of `s`, by listing them
    /// (independent of [`Coverage`]).
    fn naive_covers_up_to(s: &[u8], k: usize, n: usize) -> bool {
        (1..=n).all(|m| {
            let seen: std::collections::HashSet<&[u8]> = s.windows(m).collect();
            seen.len() == k.pow(m as u32)
        })
    }

    /// The fewest presses covering every word of every length 1..=n as windows, by
    /// exhaustive depth-first search over press strings of each length in turn. A
    /// string is cut off only when some length m has more words missing than windows
    /// of m left, which no continuation can make up.
    fn shortest_up_to_by_search(k: usize, n: usize) -> usize {
        fn search(
            s: &mut Vec<u8>,
            total: usize,
            k: usize,
            n: usize,
            seen: &mut Vec<std::collections::HashSet<Vec<u8>>>,
        ) -> bool {
            for m in 1..=n {
                let missing = k.pow(m as u32) - seen[m - 1].len();
                // Windows of m end at presses m..=total; those after the current one.
                let windows_left = if s.len() + 1 >= m {
                    total - s.len()
                } else {
                    (total + 1).saturating_sub(m)
                };
                if missing > windows_left {
                    return false;
                }
            }
            if s.len() == total {
                return true;
            }
            for c in 0..k as u8 {
                s.push(c);
                let mut added = Vec::new();
                for m in 1..=n.min(s.len()) {
                    if seen[m - 1].insert(s[s.len() - m..].to_vec()) {
                        added.push(m);
                    }
                }
                if search(s, total, k, n, seen) {
                    return true;
                }
                for m in added {
                    seen[m - 1].remove(&s[s.len() - m..]);
                }
                s.pop();
            }
            false
        }
        for total in 1.. {
            let mut seen = vec![std::collections::HashSet::new(); n];
            if search(&mut Vec::new(), total, k, n, &mut seen) {
                return total;
            }
        }
        unreachable!()
    }

    #[test]
    fn up_to_the_order_n_sequence_is_the_shortest_for_every_shorter_length_too() {
        for (k, n) in [
            (1, 3),
            (2, 1),
            (2, 2),
            (2, 3),
            (2, 4),
            (3, 1),
            (3, 2),
            (3, 3),
            (4, 2),
        ] {
            let d = DeBruijnParams { k, n }.check().unwrap();
            let shortest = shortest_up_to_by_search(k, n);
            assert_eq!(shortest as u64, d.linear_len(), "k {k} n {n}");
            for alg in [Algorithm::Euler, Algorithm::Lyndon] {
                let mut s = Vec::new();
                d.linear(alg, &mut |c| s.push(c));
                assert!(naive_covers_up_to(&s, k, n), "k {k} n {n} {alg:?}");
                assert!(covers_all_up_to(&s, k, n), "k {k} n {n} {alg:?}");
                // One press fewer, at either end, misses a code of length n.
                if k > 1 {
                    assert!(!covers_all_up_to(&s[1..], k, n));
                    assert!(!covers_all_up_to(&s[..s.len() - 1], k, n));
                }
            }
        }
        // Every 2-word of {0, 1} but no 2: not all of the codes over three symbols.
        assert!(!covers_all_up_to(&[0, 0, 1, 1, 0], 3, 2));
        assert!(covers_all_up_to(&[0, 0, 1, 1, 0], 2, 2));
    }

    /// The fewest presses whose blocks of m hold every m-word, for every m in `lengths`,
    /// by depth-first search over press strings of each length in turn (a string is
    /// cut off once some length has more words missing than blocks left).
    fn shortest_blocks_by_search(k: usize, lengths: &[usize]) -> (usize, Vec<u8>) {
        fn search(
            s: &mut Vec<u8>,
            total: usize,
            k: usize,
            lengths: &[usize],
            seen: &mut Vec<std::collections::HashSet<Vec<u8>>>,
        ) -> bool {
            for (i, &m) in lengths.iter().enumerate() {
                let missing = k.pow(m as u32) - seen[i].len();
                let blocks_left = total / m - s.len() / m;
                if missing > blocks_left {
                    return false;
                }
            }
            if s.len() == total {
                return true;
            }
            for c in 0..k as u8 {
                s.push(c);
                let mut added = Vec::new();
                for (i, &m) in lengths.iter().enumerate() {
                    if s.len().is_multiple_of(m) && seen[i].insert(s[s.len() - m..].to_vec()) {
                        added.push(i);
                    }
                }
                if search(s, total, k, lengths, seen) {
                    return true;
                }
                for i in added {
                    let m = lengths[i];
                    seen[i].remove(&s[s.len() - m..]);
                }
                s.pop();
            }
            false
        }
        for total in 1.. {
            let mut s = Vec::new();
            let mut seen = vec![std::collections::HashSet::new(); lengths.len()];
            if search(&mut s, total, k, lengths, &mut seen) {
                return (total, s);
            }
        }
        unreachable!()
    }

    #[test]
    fn with_a_reset_n_k_to_the_n_presses_for_exact_and_for_forgotten_lengths() {
        for (k, n) in [
            (1, 3),
            (2, 1),
            (2, 2),
            (2, 3),
            (2, 4),
            (3, 1),
            (3, 2),
            (3, 3),
            (4, 2),
        ] {
            let want = reset_presses(k, n).unwrap() as usize;
            let (exact, s) = shortest_blocks_by_search(k, &[n]);
            assert_eq!(exact, want, "exact length, k {k} n {n}");
            assert!(covers_all_blocks(&s, k, n));
            let lengths: Vec<usize> = (1..=n).collect();
            let (up_to, s) = shortest_blocks_by_search(k, &lengths);
            assert_eq!(up_to, want, "any length up to n, k {k} n {n}");
            for m in 1..=n {
                assert!(covers_all_blocks(&s, k, m), "k {k} n {n} m {m}");
            }
            // Without the reset the same codes take far fewer presses.
            let d = DeBruijnParams { k, n }.check().unwrap();
            assert!(d.linear_len() <= want as u64);
        }
        // The lexicographic concatenation of the codes is not always enough for the
        // shorter lengths: for k = 2, n = 5 its blocks of 4 miss words.
        let lex: Vec<u8> = (0..32u8)
            .flat_map(|w| (0..5).rev().map(move |b| (w >> b) & 1))
            .collect();
        assert!(covers_all_blocks(&lex, 2, 5));
        assert!(!covers_all_blocks(&lex, 2, 4));
    }

    #[test]
    fn streamed_coverage_counts_distinct_windows() {
        let d = DeBruijnParams { k: 3, n: 3 }.check().unwrap();
        let mut c = Coverage::new(&d, true);
        let mut s = Vec::new();
        d.linear(Algorithm::Lyndon, &mut |x| {
            s.push(x);
            c.push(x)
        });
        assert!(c.complete());
        assert_eq!((c.distinct(1), c.distinct(2), c.distinct(3)), (3, 9, 27));
        // A sequence with a repeat: the count is the set's size.
        let mut c = Coverage::new(&d, false);
        for &x in &[0, 0, 0, 0, 1, 0, 0] {
            c.push(x);
        }
        assert_eq!(c.distinct(3), 4, "000 (twice), 001, 010, 100");
        assert!(!c.complete());
    }
}
