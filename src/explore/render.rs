//! The page's data and its rendering through the template `page.html` (minijinja,
//! HTML autoescaping).

use serde::Serialize;

use super::RunSummary;

pub(super) const TEMPLATE: &str = include_str!("page.html");

#[derive(Clone, Debug, Serialize)]
pub(super) struct Picture {
    pub(super) src: String,
    pub(super) caption: String,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct Component {
    pub(super) number: usize,
    pub(super) src: String,
    /// Offset of its waveform in the picture of all of them (pixels from the top).
    pub(super) wave_y: u32,
    pub(super) percent: String,
}

/// Size of one component's waveform picture.
pub(super) const WAVE_W: u32 = 160;
pub(super) const WAVE_H: u32 = 28;

#[derive(Clone, Debug, Serialize)]
pub(super) struct ReconStep {
    pub(super) label: String,
    pub(super) src: String,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct ReconBar {
    pub(super) row: usize,
    pub(super) label: String,
    pub(super) original: Option<String>,
    pub(super) steps: Vec<ReconStep>,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct OutlierRow {
    pub(super) kind: &'static str,
    pub(super) rank: usize,
    pub(super) row: usize,
    pub(super) track: String,
    pub(super) start: String,
    pub(super) start_s: f64,
    pub(super) ll: String,
    pub(super) ll_value: f64,
    pub(super) src: Option<String>,
}

/// A track of the matrix report, for the tracks table.
#[derive(Clone, Debug, Serialize)]
pub(super) struct TrackRow {
    pub(super) track: String,
    pub(super) bpm: String,
    pub(super) runner_up: String,
    pub(super) confidence: String,
    pub(super) downbeat_confidence: String,
    pub(super) drift: String,
    pub(super) bars: usize,
    pub(super) groove: String,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct Sample {
    pub(super) name: String,
    pub(super) src: String,
    pub(super) noise: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct Page {
    pub(super) title: String,
    pub(super) version: &'static str,
    pub(super) summary: RunSummary,
    pub(super) figures: Vec<Picture>,
    pub(super) mean: Option<String>,
    pub(super) morph: Option<String>,
    pub(super) components: Vec<Component>,
    pub(super) recon: Vec<ReconBar>,
    pub(super) outliers: Vec<OutlierRow>,
    pub(super) outliers_total: usize,
    pub(super) tracks: Vec<TrackRow>,
    pub(super) tracks_total: usize,
    pub(super) samples: Vec<Sample>,
    pub(super) heatmaps: Vec<Picture>,
}

/// HTML-escape `&`, `<`, `>`, `"` and `'` (minijinja also escapes `/`, which only
/// makes every file path in the page longer).
pub(super) fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

pub(super) fn render(page: &Page) -> std::result::Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() && state.auto_escape() == minijinja::AutoEscape::Html => {
            let mut buf = String::with_capacity(s.len());
            escape_html(s, &mut buf);
            out.write_str(&buf).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_template("page.html", TEMPLATE)?;
    env.get_template("page.html")?.render(page)
}
