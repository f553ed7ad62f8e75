//! Stable 64-bit fingerprints (FNV-1a) for resume markers. `std`'s hasher is not
//! guaranteed stable across Rust releases, and a marker written by one build must be
//! understood by the next.

/// A hash of the source this program was built from (`build.rs`): with the version, the
/// program's identity in resume markers and fingerprints.
pub const SOURCE_HASH: &str = env!("EIGENTECHNO_SOURCE_HASH");

/// Incremental FNV-1a 64-bit hash.
#[derive(Clone, Debug)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    /// A fresh hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// A hash that starts from this program's identity: its version and a hash of the
    /// source it was built from (`build.rs`). Resume markers and stage fingerprints start
    /// here, so outputs of another build are recomputed, never resumed from.
    pub fn of_program() -> Self {
        let mut fp = Self::new();
        fp.add_str(env!("CARGO_PKG_VERSION")).add_str(SOURCE_HASH);
        fp
    }

    /// Mix in bytes, followed by a separator so ("ab","c") and ("a","bc") differ.
    pub fn add(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes.iter().chain(std::iter::once(&0xffu8)) {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// Mix in a string.
    pub fn add_str(&mut self, s: &str) -> &mut Self {
        self.add(s.as_bytes())
    }

    /// Mix in a number.
    pub fn add_u64(&mut self, v: u64) -> &mut Self {
        self.add(&v.to_le_bytes())
    }

    /// Mix in a file's path, size and modification time (nanoseconds), so a changed
    /// input changes the hash without reading it. A folder adds only its path and a
    /// mark; a missing file, its path and another mark.
    pub fn add_file(&mut self, path: &std::path::Path) -> &mut Self {
        self.add(path.as_os_str().as_encoded_bytes());
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {
                let modified = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                self.add_str("file")
                    .add_u64(m.len())
                    .add(&modified.to_le_bytes())
            }
            Ok(_) => self.add_str("folder"),
            Err(_) => self.add_str("missing"),
        }
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_value_and_separation() {
        // FNV-1a 64 of "a" is af63dc4c8601ec8c; ours appends the 0xff separator.
        let mut raw = 0xcbf2_9ce4_8422_2325u64;
        raw ^= b'a' as u64;
        raw = raw.wrapping_mul(0x0000_0100_0000_01b3);
        assert_eq!(format!("{raw:016x}"), "af63dc4c8601ec8c");
        let ab_c = Fingerprint::new().add_str("ab").add_str("c").hex();
        let a_bc = Fingerprint::new().add_str("a").add_str("bc").hex();
        assert_ne!(ab_c, a_bc);
    }

    #[test]
    fn a_file_hash_follows_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.bin");
        let missing = Fingerprint::new().add_file(&f).hex();
        std::fs::write(&f, b"abc").unwrap();
        let three = Fingerprint::new().add_file(&f).hex();
        assert_eq!(three, Fingerprint::new().add_file(&f).hex());
        std::fs::write(&f, b"abcd").unwrap();
        let four = Fingerprint::new().add_file(&f).hex();
        assert!(missing != three && three != four);
        assert_ne!(Fingerprint::new().add_file(dir.path()).hex(), missing);
    }
}
