//! The explorer page (issue #8), tested in a real browser: headless Chromium driven
//! over WebDriver (chromedriver; a small client below, std only). The page comes from
//! the main job; the test clicks, slides and sorts as a person would, and reads the
//! browser's own console and network logs.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without
//! them the test says so and passes, unless EIGENTECHNO_BROWSER_TEST=required (as
//! `.ci/run` sets), where it fails.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{eigentechno, text};
use serde_json::{Value, json};

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A WebDriver session on a chromedriver we started.
struct Driver {
    port: u16,
    session: String,
    child: Child,
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("chromedriver listens");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read the header, then exactly Content-Length bytes (or chunks, or to the end).
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "{method} {path}: connection closed before the header"
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut payload = raw[split + 4..].to_vec();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().unwrap());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let done = match length {
            Some(n) => payload.len() >= n,
            None if chunked => payload.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        payload.extend_from_slice(&buf[..n]);
    }
    if chunked {
        let mut out = Vec::new();
        let mut rest = &payload[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[nl + 2 + size + 2..];
        }
        payload = out;
    }
    serde_json::from_slice(&payload).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: {e}: {}",
            String::from_utf8_lossy(&payload)
        )
    })
}

impl Driver {
    fn start(chromium: &Path, chromedriver: &Path, profile: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,2000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let mut d = Driver {
            port,
            session: String::new(),
            child,
        };
        let r = http(port, "POST", "/session", Some(&caps));
        d.session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        if r["value"].get("error").is_some() {
            panic!("{method} {path}: {}", r["value"]);
        }
        r["value"].clone()
    }

    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.element(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn keys(&self, css: &str, keys: &str) {
        let e = self.element(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": keys})),
        );
    }

    fn log(&self, kind: &str) -> Vec<Value> {
        self.call("POST", "/se/log", Some(json!({"type": kind})))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = std::panic::catch_unwind(|| {
                http(
                    self.port,
                    "DELETE",
                    &format!("/session/{}", self.session),
                    None,
                )
            });
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("base64 {c}"),
    } as u32;
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

fn until(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<(), String>) {
    let t0 = Instant::now();
    loop {
        match f() {
            Ok(()) => return,
            Err(e) if t0.elapsed() > timeout => panic!("{what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn the_main_jobs_page_works_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) = (
        which(&["chromium", "chromium-browser", "google-chrome"]),
        which(&["chromedriver"]),
    ) else {
        let required = std::env::var("EIGENTECHNO_BROWSER_TEST").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "chromium and chromedriver are needed (Debian: apt install chromium chromium-driver)"
        );
        eprintln!(
            "SKIPPED: the explorer browser test needs chromium and chromedriver \
             (Debian: apt install chromium chromium-driver); .ci/run installs them"
        );
        return;
    };
    // The test's output folder stays for people to look at (target/tmp/explorer).
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer");
    let _ = std::fs::remove_dir_all(&base);
    let out = base.join("out");
    let o = eigentechno(&[
        "run",
        "pipelines/eigentechno.toml",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let page = out.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.len() < 200_000,
        "the page (HTML, CSS and JS, all inline) weighs {} bytes",
        html.len()
    );
    for external in [
        "<link rel=\"stylesheet\"",
        "<script src",
        "http://",
        "https://",
    ] {
        assert!(!html.contains(external), "the page refers to {external}");
    }

    let driver = Driver::start(&chromium, &chromedriver, &base.join("profile"));
    // A running browser opens the page, as a person's would: a blank page from the same
    // folder first takes the browser's own start-up (renderer, fonts) out of the timing.
    let blank = out.join("blank.html");
    std::fs::write(&blank, "<!doctype html><title>blank</title>").unwrap();
    driver.call(
        "POST",
        "/url",
        Some(json!({"url": format!("file://{}", blank.canonicalize().unwrap().display())})),
    );
    std::fs::remove_file(&blank).unwrap();
    // The logs are read (and so emptied) once before the page opens: what the browser
    // did on its own start page is not the page's doing.
    driver.log("performance");
    driver.log("browser");
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    driver.call("POST", "/url", Some(json!({"url": url})));
    let load_ms = driver
        .script("return performance.getEntriesByType('navigation')[0].loadEventEnd;")
        .as_f64()
        .unwrap();
    assert!(
        load_ms > 0.0 && load_ms < 1000.0,
        "the page took {load_ms} ms to load"
    );
    eprintln!(
        "explorer page: {} bytes of HTML, CSS and JS, loaded in {load_ms:.0} ms",
        html.len()
    );

    // Every audio element's source loads.
    let audio_count = driver
        .script("return document.querySelectorAll('audio').length;")
        .as_u64()
        .unwrap();
    assert!(audio_count >= 4, "{audio_count} audio elements");
    until("every <audio> loads", Duration::from_secs(20), || {
        let states = driver.script(
            "return Array.from(document.querySelectorAll('audio')).map(a => \
             [a.id, a.getAttribute('src'), a.readyState, a.error ? a.error.code : 0]);",
        );
        let bad: Vec<&Value> = states
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s[2].as_u64().unwrap() < 1 || s[3].as_u64().unwrap() != 0)
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!("{bad:?}"))
        }
    });

    // A component's play button starts the component player, on that component.
    driver.click("ol.components li:nth-child(3) button.play");
    until("component 3 plays", Duration::from_secs(5), || {
        let v = driver.script(
            "var a = document.getElementById('component-audio'); return [a.paused, a.getAttribute('src')];",
        );
        if v[0] == false && v[1].as_str().unwrap().ends_with("component_003.wav") {
            Ok(())
        } else {
            Err(v.to_string())
        }
    });
    assert_eq!(
        driver.script(
            "return document.querySelector('ol.components li:nth-child(3) button').getAttribute('aria-pressed');"
        ),
        "true"
    );

    // Moving the k slider (with the keyboard) changes the reconstruction's source.
    let before = driver.script("return document.getElementById('recon-audio').src;");
    driver.keys("#k-slider", "\u{E014}");
    let after = driver.script(
        "return [document.getElementById('recon-audio').src, document.getElementById('k-label').textContent];",
    );
    assert_ne!(before, after[0], "the slider changed nothing");
    assert_ne!(after[1], "k = 1", "{after}");

    // Every listed bar can be played.
    let (rows, buttons) = (
        driver.script("return document.querySelectorAll('#outliers-table tbody tr').length;"),
        driver.script(
            "return document.querySelectorAll('#outliers-table tbody button.play').length;",
        ),
    );
    assert_eq!(rows, buttons, "every outlier row has a play button");

    // Sorting the outliers table by log-likelihood orders it, both ways.
    let column = "return Array.from(document.querySelectorAll('#outliers-table tbody tr')).map(r => parseFloat(r.cells[4].textContent));";
    let header = "#outliers-table th:nth-child(5) button";
    for descending in [false, true] {
        driver.click(header);
        let v: Vec<f64> = driver
            .script(column)
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert!(v.len() >= 10, "{} rows", v.len());
        let sorted = v.windows(2).all(|w| {
            if descending {
                w[0] >= w[1]
            } else {
                w[0] <= w[1]
            }
        });
        assert!(sorted, "descending={descending}: {v:?}");
    }

    // The tracks table lists every fixture track, lowest groove first; its groove
    // header reverses the order.
    let grooves = "return Array.from(document.querySelectorAll('#tracks-table tbody tr')).map(r => parseFloat(r.cells[7].textContent));";
    let read = |driver: &Driver| -> Vec<f64> {
        driver
            .script(grooves)
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let v = read(&driver);
    assert_eq!(v.len(), 10, "{v:?}");
    assert!(v.windows(2).all(|w| w[0] <= w[1]), "{v:?}");
    driver.click("#tracks-table th:nth-child(8) button");
    let v = read(&driver);
    assert!(v.windows(2).all(|w| w[0] >= w[1]), "{v:?}");

    // A screenshot for people, from the top of the page.
    driver.script("window.scrollTo(0, 0); return 0;");
    let shot = driver.call("GET", "/screenshot", None);
    let png = base64_decode(shot.as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(base.join("screenshot.png"), &png).unwrap();

    // No request left file://, and the console has no errors.
    let mut requests = 0;
    for e in driver.log("performance") {
        let m: Value = serde_json::from_str(e["message"].as_str().unwrap()).unwrap();
        if m["message"]["method"] == "Network.requestWillBeSent" {
            let params = &m["message"]["params"];
            let u = params["request"]["url"].as_str().unwrap();
            // Nothing may reach the network, from any page; the browser's own start
            // page loads chrome:// resources, which are not the page's.
            assert!(
                !["http:", "https:", "ws:", "wss:", "ftp:"]
                    .iter()
                    .any(|s| u.starts_with(s)),
                "a network request: {u}"
            );
            // data: URLs never leave the browser (its own audio controls draw their
            // icons from them).
            if params["documentURL"].as_str() == Some(url.as_str()) && !u.starts_with("data:") {
                requests += 1;
                assert!(u.starts_with("file://"), "a request outside file://: {u}");
            }
        }
    }
    assert!(requests > 5, "only {requests} requests were logged");
    let errors: Vec<Value> = driver
        .log("browser")
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

/// `eigentechno explore DIR` on an earlier output: here a PCA fitted by
/// `eigentechno pca` (no matrix report, no outliers): the page lists what is there.
#[test]
fn explore_rewrites_the_page_of_an_earlier_output() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let o = eigentechno(&[
        "pca",
        "fixtures/pca/X.npy",
        "--out",
        model.to_str().unwrap(),
        "-k",
        "5",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = eigentechno(&["explore", model.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let page = model.join("index.html");
    assert!(stdout.contains(&page.display().to_string()), "{stdout}");
    let html = std::fs::read_to_string(&page).unwrap();
    let components = std::fs::read_dir(model.join("listen/components"))
        .unwrap()
        .count();
    assert_eq!(components, 5);
    assert_eq!(html.matches("aria-label=\"play component ").count(), 5);
    let waves = std::fs::read(model.join("explore/waves.png")).unwrap();
    assert_eq!(&waves[1..4], b"PNG");
    assert_eq!(
        u32::from_be_bytes(waves[20..24].try_into().unwrap()),
        5 * 28,
        "one waveform per component, stacked"
    );
    for i in 1..=5 {
        assert!(html.contains(&format!(
            "data-src=\"listen/components/component_{i:03}.wav\""
        )));
    }
    assert!(html.contains("singular values"), "figures are shown");
    assert!(
        !html.contains("id=\"outliers\""),
        "no outliers section without outliers"
    );
    let data: Value =
        serde_json::from_slice(&std::fs::read(model.join("explore/page.json")).unwrap()).unwrap();
    assert_eq!(data["summary"]["components"], 5);
    assert_eq!(data["summary"]["bars"], 300);
    assert!(
        data["summary"]["pca"]
            .as_str()
            .unwrap()
            .starts_with("exact")
    );

    // Not an output folder (exit 1), and no folder at all (exit 2, bad usage): clear
    // errors.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for (bad, code) in [(empty.clone(), 1), (dir.path().join("missing"), 2)] {
        let o = eigentechno(&["explore", bad.to_str().unwrap()]);
        let e = text(&o).1;
        assert_eq!(o.status.code(), Some(code), "{e}");
        assert!(
            e.contains(&bad.display().to_string()) && !e.contains("panicked"),
            "{e}"
        );
    }
}
