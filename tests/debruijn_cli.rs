//! `eigentechno debruijn`: the keypad riddle's answer, its file, its check, its
//! picture, and the refusals (issue #29).

use crate::common;

use std::collections::HashSet;

use common::{eigentechno, text};

#[test]
fn four_digits_take_10003_presses_and_the_check_says_so() {
    let o = eigentechno(&["debruijn", "--order", "4", "--check"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("10,003 presses"), "{stdout}");
    assert!(
        stdout.contains("covers all 10,000 codes (10,000 distinct windows)"),
        "{stdout}"
    );
}

#[test]
fn the_file_holds_every_code_once_for_both_algorithms() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["euler", "lyndon"] {
        let out = dir.path().join(format!("{alg}.txt"));
        let o = eigentechno(&[
            "debruijn",
            "--symbols",
            "abcde",
            "--order",
            "5",
            "--algorithm",
            alg,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{:?}", text(&o));
        let s: Vec<char> = std::fs::read_to_string(&out).unwrap().chars().collect();
        assert_eq!(s.len(), 3125 + 4);
        let windows: Vec<&[char]> = s.windows(5).collect();
        let distinct: HashSet<&[char]> = windows.iter().copied().collect();
        assert_eq!((windows.len(), distinct.len()), (3125, 3125), "{alg}");
        assert!(s.iter().all(|c| "abcde".contains(*c)));
    }
    let lyndon = std::fs::read_to_string(dir.path().join("lyndon.txt")).unwrap();
    assert!(
        lyndon.starts_with("aaaaabaaaac"),
        "the least sequence: {}",
        &lyndon[..20]
    );
    // Short sequences are printed; the cyclic one has k^n symbols.
    let o = eigentechno(&[
        "debruijn",
        "--symbols",
        "01",
        "--order",
        "3",
        "--cyclic",
        "--algorithm",
        "lyndon",
    ]);
    assert_eq!(
        text(&o).0,
        "8 symbols (cyclic) for all 8 codes over 2 symbols\n00010111\n"
    );
    // --up-to counts every length; one more symbol in the alphabet than used fails.
    let o = eigentechno(&[
        "debruijn",
        "--symbols",
        "012",
        "--order",
        "3",
        "--up-to",
        "--check",
    ]);
    assert!(
        text(&o)
            .0
            .contains("covers all 39 codes (27 + 9 + 3 = 39 distinct windows)"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn bad_requests_are_refused_with_exit_2_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.txt");
    for (args, says) in [
        (vec!["--symbols", "01231"], "'1' twice"),
        (vec!["--symbols", ""], "empty alphabet"),
        (vec!["--order", "0"], "order"),
        (vec!["--order", "11"], "10^11"),
        (vec!["--symbols", "ab", "--order", "64"], "at most 33"),
        (vec!["--order", "3", "--graph", "g.png"], "64 edges"),
        (vec!["--cyclic", "--up-to"], "--up-to"),
    ] {
        let mut a = vec!["debruijn", "--out", out.to_str().unwrap()];
        a.extend(&args);
        let o = eigentechno(&a);
        let (stdout, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
    assert!(!std::path::Path::new("g.png").exists());
}

#[test]
fn the_graph_is_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("g.png");
    let o = eigentechno(&[
        "debruijn",
        "--symbols",
        "01",
        "--order",
        "3",
        "--graph",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let info = decoder.read_info().unwrap();
    assert_eq!(info.info().width, 1200);
}
