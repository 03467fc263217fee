//! `pp ipc ls|rm|sweep`: pp's named objects on this machine, as a table
//! (comfy-table) or JSON.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use pp_ipc::{ObjectId, ObjectInfo};
use serde::Serialize;

use crate::cli::IpcCommand;

/// Exit code when the listing, removal or sweep failed.
const FAILED: u8 = 1;

/// One object as `--json` prints it.
#[derive(Debug, Serialize)]
struct JsonObject<'a> {
    id: &'a str,
    kind: &'static str,
    size: u64,
    creator_pid: Option<u32>,
    state: &'static str,
}

/// A name left alone, with why, as `--json` prints it.
#[derive(Debug, Serialize)]
struct JsonSkipped<'a> {
    id: &'a str,
    reason: &'a str,
}

/// Runs `pp ipc …` and returns its exit code.
pub(crate) fn main(command: IpcCommand) -> u8 {
    let result = match command {
        IpcCommand::Ls(flag) => ls(flag.json),
        IpcCommand::Rm { id, json } => rm(&id, json),
        IpcCommand::Sweep(flag) => sweep(flag.json),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("pp ipc: {message}");
            FAILED
        }
    }
}

fn state(object: &ObjectInfo) -> &'static str {
    if object.stale { "stale" } else { "alive" }
}

fn skipped_json(skipped: &[(String, String)]) -> Vec<JsonSkipped<'_>> {
    skipped.iter().map(|(id, reason)| JsonSkipped { id, reason }).collect()
}

fn ls(json: bool) -> Result<(), String> {
    let listing = pp_ipc::list().map_err(|e| e.to_string())?;
    if json {
        let objects: Vec<JsonObject<'_>> = listing
            .objects
            .iter()
            .map(|o| JsonObject {
                id: &o.id,
                kind: o.kind.name(),
                size: o.size,
                creator_pid: o.creator_pid,
                state: state(o),
            })
            .collect();
        let value =
            serde_json::json!({ "objects": objects, "skipped": skipped_json(&listing.skipped) });
        crate::say::say(format_args!("{value}"));
        return Ok(());
    }
    if listing.objects.is_empty() {
        crate::say::say(format_args!("no pp objects"));
    } else {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header([
            "kind",
            "id",
            "size",
            "creator pid",
            "state",
        ]);
        for o in &listing.objects {
            let creator = o.creator_pid.map_or_else(|| "-".to_owned(), |pid| pid.to_string());
            table.add_row([
                o.kind.name().to_owned(),
                o.id.clone(),
                o.size.to_string(),
                creator,
                state(o).to_owned(),
            ]);
        }
        crate::say::say(format_args!("{table}"));
    }
    for (id, reason) in &listing.skipped {
        eprintln!("pp ipc: left alone {id}: {reason}");
    }
    Ok(())
}

fn rm(id: &str, json: bool) -> Result<(), String> {
    let object = ObjectId::new(id).map_err(|e| e.to_string())?;
    pp_ipc::unlink(&object).map_err(|e| e.to_string())?;
    if json {
        crate::say::say(format_args!("{}", serde_json::json!({ "removed": [id] })));
    } else {
        crate::say::say(format_args!("removed {id}"));
    }
    Ok(())
}

fn sweep(json: bool) -> Result<(), String> {
    let swept = pp_ipc::sweep().map_err(|e| e.to_string())?;
    if json {
        let value = serde_json::json!({
            "removed": swept.removed,
            "count": swept.removed.len(),
            "skipped": skipped_json(&swept.skipped),
        });
        crate::say::say(format_args!("{value}"));
        return Ok(());
    }
    for name in &swept.removed {
        crate::say::say(format_args!("removed {name}"));
    }
    crate::say::say(format_args!("{} removed", swept.removed.len()));
    for (id, reason) in &swept.skipped {
        eprintln!("pp ipc: left alone {id}: {reason}");
    }
    Ok(())
}
