//! The plot of a run: one horizontal bar per row, log10 of peer ÷ pp, with
//! the 1× line, as SVG.

use std::fmt::Write as _;

/// One bar: what it compares, and the ratio (peer ÷ pp).
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) ratio: f64,
}

/// The SVG document of `bars`, top to bottom.
pub(crate) fn svg(bars: &[Bar]) -> String {
    let (label_w, bar_w, row_h) = (560.0, 420.0, 22.0);
    let max_log = bars.iter().map(|b| b.ratio.log10().abs()).fold(1.0f64, f64::max).ceil();
    let scale = bar_w / 2.0 / max_log;
    let origin = label_w + bar_w / 2.0;
    let height = 40.0 + row_h * bars.len() as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        label_w + bar_w + 90.0
    );
    let _ = writeln!(
        s,
        "<text x=\"{origin}\" y=\"14\" text-anchor=\"middle\">peer ÷ pp (log scale; right of the line: pp faster or smaller)</text>"
    );
    for (i, bar) in bars.iter().enumerate() {
        let r = bar.ratio;
        let y = 24.0 + row_h * i as f64;
        let w = r.log10() * scale;
        let (x, width, color) =
            if w >= 0.0 { (origin, w, "#2a9d8f") } else { (origin + w, -w, "#e76f51") };
        let label = bar.label.replace('&', "&amp;").replace('<', "&lt;");
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>",
            label_w - 6.0,
            y + 14.0
        );
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/>",
            y + 3.0,
            width.max(1.0),
            row_h - 6.0
        );
        let _ =
            writeln!(s, "<text x=\"{}\" y=\"{}\">{r:.2}×</text>", label_w + bar_w + 6.0, y + 14.0);
    }
    let _ = writeln!(
        s,
        "<line x1=\"{origin}\" y1=\"20\" x2=\"{origin}\" y2=\"{height}\" stroke=\"black\"/>\n</svg>"
    );
    s
}
