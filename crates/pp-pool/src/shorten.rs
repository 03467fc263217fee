//! Shortening values echoed into messages: a 1 MB input must not make a 2 MB error.

/// How much of an input an error message shows.
pub(crate) const SHOWN: usize = 64;

/// At most `max` characters of `text`, then `…` if it was longer.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shorten_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(super::shorten("abc", 3), "abc");
        assert_eq!(super::shorten("abcd", 3), "abc…");
        assert_eq!(super::shorten("ééé", 2), "éé…");
        assert_eq!(super::shorten(&"x".repeat(1 << 20), 64).chars().count(), 65);
    }
}
