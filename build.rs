//! The program's build identity: a hash of the crate's source tree, exported as
//! `EIGENTECHNO_SOURCE_HASH`. Pipeline resume markers and stage fingerprints include it,
//! so that a rerun by a changed eigentechno recomputes its stages instead of resuming
//! from files an older program wrote (the crate version alone has not moved).

use std::fs;
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src");
    let mut paths = Vec::new();
    files_under(&root.join("src"), &mut paths);
    // By the relative path as text ("src/a/b.rs"), so the hash is the same everywhere.
    let mut files: Vec<(String, PathBuf)> = paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap_or(&p);
            (rel.to_string_lossy().replace('\\', "/"), p)
        })
        .collect();
    files.sort();
    // FNV-1a 64, as `store::fingerprint`: stable across Rust releases.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |bytes: &[u8]| {
        for &b in bytes.iter().chain(std::iter::once(&0xffu8)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (rel, path) in &files {
        add(rel.as_bytes());
        add(&fs::read(path).unwrap_or_default());
    }
    println!("cargo:rustc-env=EIGENTECHNO_SOURCE_HASH={h:016x}");
}
