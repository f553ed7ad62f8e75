//! Stable 64-bit fingerprints (FNV-1a) for resume markers. `std`'s hasher is not
//! guaranteed stable across Rust releases, and a marker written by one build must be
//! understood by the next.

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
}
