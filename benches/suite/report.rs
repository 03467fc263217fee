//! Reporting: the rows of a run (a pp figure beside one peer's, and their
//! ratio), printed as they come and written as `report.md` beside the
//! plot `ratios.svg`.

use std::fmt::Write as _;
use std::path::Path;

use crate::measure::Figure;
use crate::plot::{self, Bar};

pub(crate) struct Row {
    operation: String,
    pp_name: String,
    pp: Figure,
    peer_name: String,
    peer: Option<Figure>,
}

#[derive(Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
    pub(crate) notes: Vec<String>,
}

impl Report {
    /// Adds (and prints) one row per peer, each beside the same pp figure.
    pub(crate) fn add(
        &mut self,
        operation: &str,
        pp_name: &str,
        pp: Figure,
        peers: Vec<(&str, Option<Figure>)>,
    ) {
        for (peer_name, peer) in peers {
            let row = Row {
                operation: operation.into(),
                pp_name: pp_name.into(),
                pp,
                peer_name: peer_name.into(),
                peer,
            };
            print_row(&row);
            self.rows.push(row);
        }
    }
}

pub(crate) fn fmt_time(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else if seconds >= 1e-6 {
        format!("{:.2} µs", seconds * 1e6)
    } else {
        format!("{:.1} ns", seconds * 1e9)
    }
}

fn fmt_figure(f: &Figure) -> String {
    format!("{} ({}–{})", fmt_time(f.median), fmt_time(f.min), fmt_time(f.max))
}

fn ratio(row: &Row) -> Option<f64> {
    row.peer.map(|peer| peer.median / row.pp.median)
}

/// The header of the rows `Report::add` prints.
pub(crate) fn print_header() {
    println!(
        "\n{:<44} {:<24} {:>30} | {:<34} {:>30} | {:>8}",
        "operation", "pp", "median (min–max)", "peer", "median (min–max)", "peer÷pp"
    );
}

fn print_row(row: &Row) {
    let peer = row.peer.as_ref().map_or("skipped".to_owned(), fmt_figure);
    let ratio = ratio(row).map_or("-".to_owned(), |r| format!("{r:.2}×"));
    println!(
        "{:<44} {:<24} {:>30} | {:<34} {:>30} | {:>8}",
        row.operation,
        row.pp_name,
        fmt_figure(&row.pp),
        row.peer_name,
        peer,
        ratio
    );
}

/// Writes `report.md` and `ratios.svg` into `dir`.
pub(crate) fn write_report(
    dir: &Path,
    report: &Report,
    machine: &[(String, String)],
    command: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut md = String::new();
    let _ = writeln!(md, "# pp benchmark report\n\n`{command}`\n");
    for (k, v) in machine {
        let _ = writeln!(md, "- {k}: {v}");
    }
    let _ = writeln!(
        md,
        "\nTime per operation: median over the repetitions (min–max). Ratio = peer ÷ pp: above 1× pp is faster. \
         Every figure in a row was measured in this run.\n"
    );
    let _ = writeln!(
        md,
        "| operation | pp | pp time | peer | peer time | peer ÷ pp |\n|---|---|---|---|---|---|"
    );
    for row in &report.rows {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} | {} |",
            row.operation,
            row.pp_name,
            fmt_figure(&row.pp),
            row.peer_name,
            row.peer.as_ref().map_or("skipped".to_owned(), fmt_figure),
            ratio(row).map_or("-".to_owned(), |r| format!("{r:.2}×"))
        );
    }
    for note in &report.notes {
        let _ = writeln!(md, "\n{note}");
    }
    let _ = writeln!(md, "\n![ratios](ratios.svg)");
    std::fs::write(dir.join("report.md"), md)?;
    let bars: Vec<Bar> = report
        .rows
        .iter()
        .filter_map(|row| {
            let label = format!("{} — vs {}", row.operation, row.peer_name);
            ratio(row).map(|ratio| Bar { label, ratio })
        })
        .collect();
    std::fs::write(dir.join("ratios.svg"), plot::svg(&bars))
}
