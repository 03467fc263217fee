//! Reporting: the rows of a run (a pp figure beside one peer's, and their
//! ratio, in the row's unit: time per operation or bytes), printed as they
//! come and written as `report.md` beside the plot `ratios.svg`.

use std::fmt::Write as _;
use std::path::Path;

use crate::measure::Figure;
use crate::plot::{self, Bar};

/// What a row's figures count.
#[derive(Clone, Copy)]
pub(crate) enum Unit {
    /// Seconds per operation.
    Time,
    /// Bytes of memory.
    Bytes,
}

pub(crate) struct Row {
    operation: String,
    unit: Unit,
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
    /// Adds (and prints) one row per peer, each beside the same pp figure,
    /// all in seconds per operation.
    pub(crate) fn add(
        &mut self,
        operation: &str,
        pp_name: &str,
        pp: Figure,
        peers: Vec<(&str, Option<Figure>)>,
    ) {
        self.add_in(Unit::Time, operation, pp_name, pp, peers);
    }

    /// [`add`](Self::add) for figures in bytes of memory.
    pub(crate) fn add_memory(
        &mut self,
        operation: &str,
        pp_name: &str,
        pp: Figure,
        peers: Vec<(&str, Option<Figure>)>,
    ) {
        self.add_in(Unit::Bytes, operation, pp_name, pp, peers);
    }

    fn add_in(
        &mut self,
        unit: Unit,
        operation: &str,
        pp_name: &str,
        pp: Figure,
        peers: Vec<(&str, Option<Figure>)>,
    ) {
        for (peer_name, peer) in peers {
            let row = Row {
                operation: operation.into(),
                unit,
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

pub(crate) fn fmt_bytes(bytes: f64) -> String {
    if bytes.abs() >= (1u64 << 20) as f64 {
        format!("{:.2} MiB", bytes / (1u64 << 20) as f64)
    } else if bytes.abs() >= 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{bytes:.0} B")
    }
}

fn fmt_figure(unit: Unit, f: &Figure) -> String {
    let fmt = match unit {
        Unit::Time => fmt_time,
        Unit::Bytes => fmt_bytes,
    };
    format!("{} ({}–{})", fmt(f.median), fmt(f.min), fmt(f.max))
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
    let peer = row.peer.as_ref().map_or("skipped".to_owned(), |f| fmt_figure(row.unit, f));
    let ratio = ratio(row).map_or("-".to_owned(), |r| format!("{r:.2}×"));
    println!(
        "{:<44} {:<24} {:>30} | {:<34} {:>30} | {:>8}",
        row.operation,
        row.pp_name,
        fmt_figure(row.unit, &row.pp),
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
        "\nTime per operation, or bytes of memory where the operation says so: median over the \
         repetitions (min–max). Ratio = peer ÷ pp: above 1× pp is faster (or uses less memory). \
         Every figure in a row was measured in this run.\n"
    );
    let _ = writeln!(
        md,
        "| operation | pp | pp figure | peer | peer figure | peer ÷ pp |\n|---|---|---|---|---|---|"
    );
    for row in &report.rows {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} | {} |",
            row.operation,
            row.pp_name,
            fmt_figure(row.unit, &row.pp),
            row.peer_name,
            row.peer.as_ref().map_or("skipped".to_owned(), |f| fmt_figure(row.unit, f)),
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
