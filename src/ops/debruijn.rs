//! de Bruijn sequences as a tool (the keypad riddle of issue #29): an alphabet of
//! characters and an order in, the sequence out as text (to memory or streamed to a
//! file), its coverage checked, and a picture of the graph it walks. The maths is
//! [`crate::engine::debruijn`]; this layer adds the symbols, the files and the checks
//! of what a user typed.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::debruijn::{Algorithm, Coverage, DeBruijn, DeBruijnParams, MAX_LENGTH};
use crate::error::{Error, Result};
use crate::store::AtomicFile;

/// Most symbols [`DeBruijnJob::indices`] and [`DeBruijnJob::text`] hold in memory
/// (10^9, a gigabyte of indices); longer sequences stream to a file.
pub const MAX_IN_MEMORY: u64 = 1_000_000_000;

/// Most edges (words) [`DeBruijnJob::graph`] draws: past 64 the picture is a tangle.
pub const MAX_GRAPH_EDGES: u64 = 64;

/// The alphabet: characters, each one symbol, or only a count (symbols 0..k, for
/// callers that want indices, as Python's `de_bruijn(10, 4)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Symbols {
    /// Each `char` of the string is one symbol (a multi-byte UTF-8 character too).
    Chars(String),
    /// k symbols, known by their indices only.
    Count(usize),
}

/// A de Bruijn sequence as asked for; [`DeBruijnJobParams::check`] makes it a
/// [`DeBruijnJob`].
#[derive(Clone, Debug)]
pub struct DeBruijnJobParams {
    /// The alphabet (default: the ten digits).
    pub symbols: Symbols,
    /// The word (code) length n.
    pub order: usize,
    /// The cycle of k^n symbols, instead of the k^n + n - 1 presses.
    pub cyclic: bool,
    /// Cover the codes of every length 1..=order (the same sequence: see
    /// [`crate::engine::debruijn::covers_all_up_to`]); checked for every length.
    pub up_to: bool,
    /// Which construction.
    pub algorithm: Algorithm,
}

impl Default for DeBruijnJobParams {
    fn default() -> Self {
        DeBruijnJobParams {
            symbols: Symbols::Chars("0123456789".into()),
            order: 4,
            cyclic: false,
            up_to: false,
            algorithm: Algorithm::Euler,
        }
    }
}

/// A checked de Bruijn job: distinct symbols, a size under the bound.
#[derive(Clone, Debug)]
pub struct DeBruijnJob {
    params: DeBruijnJobParams,
    chars: Option<Vec<char>>,
    size: DeBruijn,
}

fn bad(name: &'static str, expected: impl Into<String>, actual: impl Into<String>) -> Error {
    Error::InvalidArgument {
        name,
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// `v` with a comma between groups of three digits: 10,003.
pub fn thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl DeBruijnJobParams {
    /// Check the alphabet and the size, before anything is allocated.
    ///
    /// ```
    /// use eigentechno::ops::{DeBruijnJobParams, Symbols};
    /// let job = DeBruijnJobParams::default().check().unwrap();
    /// assert_eq!(job.len(), 10_003);
    /// let twice = DeBruijnJobParams { symbols: Symbols::Chars("0120".into()), ..Default::default() };
    /// assert!(twice.check().unwrap_err().to_string().contains("'0' twice"));
    /// ```
    pub fn check(self) -> Result<DeBruijnJob> {
        let (k, chars) = match &self.symbols {
            Symbols::Chars(s) => {
                let chars: Vec<char> = s.chars().collect();
                if chars.is_empty() {
                    return Err(bad("symbols", "at least one symbol", "an empty alphabet"));
                }
                for (i, c) in chars.iter().enumerate() {
                    if chars[..i].contains(c) {
                        return Err(bad(
                            "symbols",
                            "distinct symbols (each character is one symbol)",
                            format!("{c:?} twice in {s:?}"),
                        ));
                    }
                }
                (chars.len(), Some(chars))
            }
            Symbols::Count(k) => (*k, None),
        };
        if k == 0 {
            return Err(bad("symbols", "at least one symbol", "0 symbols"));
        }
        if k > 256 {
            return Err(bad(
                "symbols",
                "at most 256 symbols",
                format!("{k} symbols"),
            ));
        }
        if self.order == 0 {
            return Err(bad("order", "a code length of at least 1", "0"));
        }
        let size = DeBruijnParams { k, n: self.order }.check().map_err(|_| {
            bad(
                "order",
                format!(
                    "at most {} ({}^n symbols up to the bound of 10^10 = {})",
                    max_order(k),
                    k,
                    thousands(MAX_LENGTH)
                ),
                format!("order {}: {k}^{} symbols", self.order, self.order),
            )
        })?;
        if self.up_to && self.cyclic {
            return Err(bad(
                "up_to",
                "the keypad's presses, a linear sequence (leave out --cyclic)",
                "--up-to with --cyclic",
            ));
        }
        Ok(DeBruijnJob {
            params: self,
            chars,
            size,
        })
    }
}

/// The largest n with k^n within the bound (any n for k = 1: its cycle is one symbol).
fn max_order(k: usize) -> String {
    if k == 1 {
        return "any".into();
    }
    let mut n = 0;
    let mut len: u64 = 1;
    while let Some(l) = len.checked_mul(k as u64).filter(|&l| l <= MAX_LENGTH) {
        len = l;
        n += 1;
    }
    n.to_string()
}

/// What [`DeBruijnJob::write_text`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeBruijnReport {
    /// Symbols written.
    pub length: u64,
    /// The file, if one was written.
    pub path: Option<PathBuf>,
    /// The coverage, if it was checked.
    pub coverage: Option<CoverageReport>,
}

/// Distinct windows found, per code length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageReport {
    /// (code length m, distinct windows of length m, codes of length m: k^m), for
    /// m = n, or every m from 1 to n under `up_to`.
    pub lengths: Vec<(usize, u64, u64)>,
}

impl CoverageReport {
    /// Whether every code was found.
    pub fn complete(&self) -> bool {
        self.lengths.iter().all(|&(_, seen, all)| seen == all)
    }

    /// Codes of all the lengths counted.
    pub fn codes(&self) -> u64 {
        self.lengths.iter().map(|l| l.2).sum()
    }

    /// Distinct windows of all the lengths counted.
    pub fn distinct(&self) -> u64 {
        self.lengths.iter().map(|l| l.1).sum()
    }
}

/// Symbols between progress reports.
const PROGRESS_EVERY: u64 = 1 << 20;

/// Indices to text: a byte per symbol for an ASCII alphabet, else each character's
/// UTF-8 bytes.
struct Speller {
    ascii: Option<[u8; 256]>,
    chars: Vec<char>,
}

impl Speller {
    fn extend(&self, out: &mut Vec<u8>, symbols: &[u8]) {
        match &self.ascii {
            Some(table) => out.extend(symbols.iter().map(|&c| table[c as usize])),
            None => {
                for &c in symbols {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(self.chars[c as usize].encode_utf8(&mut b).as_bytes());
                }
            }
        }
    }
}

impl DeBruijnJob {
    /// The settings as given.
    pub fn params(&self) -> &DeBruijnJobParams {
        &self.params
    }

    /// The checked size (k and n).
    pub fn size(&self) -> &DeBruijn {
        &self.size
    }

    /// The alphabet's characters, if it was given as text.
    pub fn chars(&self) -> Option<&[char]> {
        self.chars.as_deref()
    }

    /// Symbols in the sequence: k^n (cyclic) or k^n + n - 1.
    pub fn len(&self) -> u64 {
        if self.params.cyclic {
            self.size.cyclic_len()
        } else {
            self.size.linear_len()
        }
    }

    /// Never: a de Bruijn sequence has at least one symbol (for clippy's sake).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Stream the symbol indices, in chunks, while `emit` returns true; true when all
    /// were.
    pub fn stream(&self, emit: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        if self.params.cyclic {
            self.size.cyclic_chunks(self.params.algorithm, emit)
        } else {
            self.size.linear_chunks(self.params.algorithm, emit)
        }
    }

    fn in_memory(&self) -> Result<()> {
        if self.len() > MAX_IN_MEMORY {
            return Err(bad(
                "order",
                format!(
                    "at most {} symbols in memory (stream longer ones to a file)",
                    thousands(MAX_IN_MEMORY)
                ),
                format!("{} symbols", thousands(self.len())),
            ));
        }
        Ok(())
    }

    /// The symbol indices (0..k), in memory (at most [`MAX_IN_MEMORY`]). Stops on
    /// [`crate::interrupt`].
    ///
    /// ```
    /// use eigentechno::ops::{DeBruijnJobParams, Symbols};
    /// let job = DeBruijnJobParams { symbols: Symbols::Count(2), order: 3, ..Default::default() };
    /// assert_eq!(job.check()?.indices()?.len(), 10);
    /// # Ok::<(), eigentechno::Error>(())
    /// ```
    pub fn indices(&self) -> Result<Vec<u8>> {
        self.in_memory()?;
        let mut v = Vec::with_capacity(self.len() as usize);
        let whole = self.stream(&mut |chunk| {
            v.extend_from_slice(chunk);
            !crate::interrupt::requested()
        });
        if !whole {
            return Err(Error::Interrupted);
        }
        Ok(v)
    }

    /// The sequence as text, one character of the alphabet per symbol (an alphabet
    /// given as a count has no characters: an error).
    ///
    /// ```
    /// use eigentechno::ops::{DeBruijnJobParams, Symbols};
    /// let job = DeBruijnJobParams { symbols: Symbols::Chars("ab".into()), order: 3, cyclic: true,
    ///     algorithm: eigentechno::engine::debruijn::Algorithm::Lyndon, ..Default::default() };
    /// assert_eq!(job.check()?.text()?, "aaababbb");
    /// # Ok::<(), eigentechno::Error>(())
    /// ```
    pub fn text(&self) -> Result<String> {
        let spell = self.speller()?;
        let mut out = Vec::with_capacity(self.len() as usize);
        spell.extend(&mut out, &self.indices()?);
        Ok(String::from_utf8(out).expect("each symbol is a whole UTF-8 character"))
    }

    /// The symbols' characters, to spell indices as text.
    fn speller(&self) -> Result<Speller> {
        let chars = self.chars.clone().ok_or_else(|| {
            bad(
                "symbols",
                "the symbols as characters to write text",
                format!("{} symbols given as a count", self.size.k()),
            )
        })?;
        let mut ascii = [0u8; 256];
        for (a, c) in ascii.iter_mut().zip(&chars) {
            *a = *c as u8;
        }
        Ok(Speller {
            ascii: chars.iter().all(char::is_ascii).then_some(ascii),
            chars,
        })
    }

    /// Stream the sequence as text to `out` (if given; written atomically: a
    /// temporary file renamed into place once whole), counting the distinct windows
    /// if `check`. `progress` hears the symbols done so far, every million or so. Runs
    /// in O(k^(n-1)) memory for Euler and O(n) for Lyndon, plus a bit per word under
    /// `check`, so 10^9 symbols stream on a small machine.
    pub fn write_text(
        &self,
        out: Option<&Path>,
        check: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<DeBruijnReport> {
        // The symbols' characters before the file: nothing is created for a bad call.
        let spell = out.map(|_| self.speller()).transpose()?;
        let mut file = out.map(AtomicFile::create).transpose()?;
        let mut coverage = check.then(|| Coverage::new(&self.size, self.params.up_to));
        // The n - 1 symbols that close the cycle, for checking a cyclic sequence's
        // windows around its end.
        let head = self.size.n() - 1;
        let mut first: Vec<u8> = Vec::with_capacity(head);
        let mut buf: Vec<u8> = Vec::with_capacity(2 << 20);
        let mut failed: Option<Error> = None;
        let mut done: u64 = 0;
        let mut next_report = PROGRESS_EVERY;
        let whole = self.stream(&mut |chunk| {
            if let Some(cov) = coverage.as_mut() {
                chunk.iter().for_each(|&c| cov.push(c));
            }
            let take = (head - first.len()).min(chunk.len());
            first.extend_from_slice(&chunk[..take]);
            if let (Some(f), Some(spell)) = (file.as_mut(), spell.as_ref()) {
                spell.extend(&mut buf, chunk);
                if buf.len() >= 1 << 20 {
                    if let Err(e) = f.file().write_all(&buf) {
                        failed = Some(Error::io(f.dest(), e));
                        return false;
                    }
                    buf.clear();
                }
            }
            done += chunk.len() as u64;
            if done >= next_report {
                next_report = done + PROGRESS_EVERY;
                progress(done);
            }
            if crate::interrupt::requested() {
                failed = Some(Error::Interrupted);
                return false;
            }
            true
        });
        if let Some(e) = failed {
            return Err(e);
        }
        debug_assert!(whole);
        progress(done);
        let path = match file {
            Some(mut f) => {
                let dest = f.dest().to_path_buf();
                f.file().write_all(&buf).map_err(|e| Error::io(&dest, e))?;
                Some(f.commit()?)
            }
            None => None,
        };
        let coverage = coverage.map(|mut cov| {
            if self.params.cyclic {
                for i in 0..head {
                    cov.push(first[i % first.len()]);
                }
            }
            let n = self.size.n();
            let lo = if self.params.up_to { 1 } else { n };
            CoverageReport {
                lengths: (lo..=n)
                    .rev()
                    .map(|m| (m, cov.distinct(m), (self.size.k() as u64).pow(m as u32)))
                    .collect(),
            }
        });
        Ok(DeBruijnReport {
            length: done,
            path,
            coverage,
        })
    }

    /// Whether the graph is small enough to draw ([`MAX_GRAPH_EDGES`]); an error
    /// naming the bound if not, for callers to refuse before any long work.
    pub fn check_graph(&self) -> Result<()> {
        let edges = self.size.cyclic_len();
        if edges > MAX_GRAPH_EDGES {
            return Err(bad(
                "graph",
                format!("at most {MAX_GRAPH_EDGES} edges (k^n codes) to draw a readable graph"),
                format!(
                    "{}^{} = {} edges",
                    self.size.k(),
                    self.size.n(),
                    thousands(edges)
                ),
            ));
        }
        Ok(())
    }

    /// Draw the de Bruijn graph (nodes: the k^(n-1) states; edges: the k^n codes) with
    /// the circuit this job's cyclic sequence walks numbered along its edges, as PNG.
    /// At most [`MAX_GRAPH_EDGES`] edges.
    pub fn graph(&self, path: &Path) -> Result<PathBuf> {
        self.check_graph()?;
        let labels: Vec<String> = match &self.chars {
            Some(c) => c.iter().map(|c| c.to_string()).collect(),
            None => (0..self.size.k()).map(|i| i.to_string()).collect(),
        };
        let seq = self.size.cyclic_vec(self.params.algorithm);
        crate::image::debruijn::draw_graph(path, self.size.k(), self.size.n(), &labels, &seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(symbols: &str, order: usize) -> Result<DeBruijnJob> {
        DeBruijnJobParams {
            symbols: Symbols::Chars(symbols.into()),
            order,
            ..Default::default()
        }
        .check()
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10_003), "10,003");
        assert_eq!(thousands(1_000_000_008), "1,000,000,008");
    }

    #[test]
    fn bad_alphabets_and_sizes_are_refused_saying_why() {
        let e = job("", 3).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = job("abcb", 3).unwrap_err().to_string();
        assert!(e.contains("'b' twice"), "{e}");
        let e = job("0123456789", 0).unwrap_err().to_string();
        assert!(e.contains("order 0") || e.contains("got 0"), "{e}");
        let e = job("0123456789", 11).unwrap_err().to_string();
        assert!(e.contains("at most 10") && e.contains("10^11"), "{e}");
        let e = job("01", 40).unwrap_err().to_string();
        assert!(e.contains("at most 33") && e.contains("2^40"), "{e}");
        assert!(job("0123456789", 10).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let e = job("01234", 3)
            .unwrap()
            .graph(&dir.path().join("x.png"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("64 edges") && e.contains("125 edges"), "{e}");
        assert!(!dir.path().join("x.png").exists());
        let e = DeBruijnJobParams {
            up_to: true,
            cyclic: true,
            ..Default::default()
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.contains("--cyclic"), "{e}");
    }

    #[test]
    fn multi_byte_characters_are_one_symbol_each() {
        let j = DeBruijnJobParams {
            symbols: Symbols::Chars("αβ♪".into()),
            order: 2,
            cyclic: true,
            algorithm: Algorithm::Lyndon,
            ..Default::default()
        }
        .check()
        .unwrap();
        assert_eq!(j.size().k(), 3);
        // The least sequence over three symbols, 001021122, spelled in the alphabet.
        assert_eq!(j.text().unwrap(), "ααβα♪ββ♪♪");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s.txt");
        let r = j.write_text(Some(&out), true, &mut |_| {}).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), j.text().unwrap());
        assert_eq!(r.length, 9);
        assert!(r.coverage.unwrap().complete());
    }

    #[test]
    fn the_file_and_the_check_agree_with_memory() {
        let dir = tempfile::tempdir().unwrap();
        for up_to in [false, true] {
            for algorithm in [Algorithm::Euler, Algorithm::Lyndon] {
                let j = DeBruijnJobParams {
                    order: 4,
                    up_to,
                    algorithm,
                    ..Default::default()
                }
                .check()
                .unwrap();
                let out = dir.path().join("keys.txt");
                let mut ticks = 0;
                let r = j.write_text(Some(&out), true, &mut |_| ticks += 1).unwrap();
                let text = std::fs::read_to_string(&out).unwrap();
                assert_eq!(text.len(), 10_003);
                assert_eq!(text, j.text().unwrap());
                assert!(ticks >= 1);
                let cov = r.coverage.unwrap();
                assert!(cov.complete(), "{cov:?}");
                // Independent truth: every code of the counted lengths, as text.
                let lens: Vec<usize> = if up_to { vec![4, 3, 2, 1] } else { vec![4] };
                for (m, (len, seen, all)) in lens.iter().zip(&cov.lengths) {
                    assert_eq!((m, seen, all), (len, all, &10u64.pow(*m as u32)));
                    for code in 0..10u32.pow(*m as u32) {
                        let code = format!("{code:0width$}", width = *m);
                        assert!(text.contains(&code), "{code}");
                    }
                }
            }
        }
        // Indices only: no text.
        let j = DeBruijnJobParams {
            symbols: Symbols::Count(3),
            order: 2,
            ..Default::default()
        }
        .check()
        .unwrap();
        assert!(j.text().is_err());
        assert!(
            j.write_text(Some(&dir.path().join("n.txt")), false, &mut |_| {})
                .is_err()
        );
        assert!(!dir.path().join("n.txt").exists());
        let r = j.write_text(None, true, &mut |_| {}).unwrap();
        assert_eq!(r.coverage.unwrap().lengths, vec![(2, 9, 9)]);
    }
}
