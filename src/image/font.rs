//! The one font every picture's text is drawn in: DejaVu Sans, embedded, so plotters'
//! ab_glyph backend needs no system fonts (no fontconfig).

use std::sync::Once;

use plotters::style::FontStyle;

/// The family name the embedded font is registered under.
pub(crate) const FONT: &str = "sans-serif";

/// Register the embedded font with plotters (once a process; later calls do nothing).
pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}
