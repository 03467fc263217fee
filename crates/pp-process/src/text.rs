//! Text for error messages.

/// `text` as given, or its first 64 characters and its length when longer,
/// so a huge value never floods a message.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 64;
    match text.char_indices().nth(KEEP) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…({} bytes)", &text[..end], text.len()),
    }
}
