//! Shell quoting of inputs, as GNU parallel does it: words of safe
//! characters stay bare, others are single-quoted (a `'` becomes `'"'"'`),
//! so `sh -c` never interprets an input.

/// Quotes `value` for `/bin/sh`.
pub(crate) fn quote(value: &str) -> String {
    if value.is_empty() {
        return "''".to_owned();
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_.+/".contains(c);
    if value.chars().all(safe) {
        return value.to_owned();
    }
    let quoted = format!("'{}'", value.replace('\'', "'\"'\"'"));
    // GNU drops the empty '' a leading or trailing quote leaves.
    let quoted = quoted.strip_prefix("''").unwrap_or(&quoted);
    quoted.strip_suffix("''").unwrap_or(quoted).to_owned()
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_like_gnu_parallel() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\"'\"'s'");
        assert_eq!(quote("x$y"), "'x$y'");
        assert_eq!(quote("a;b"), "'a;b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("'a'"), "\"'\"'a'\"'\"");
    }

    #[test]
    fn the_shell_reads_back_the_value() {
        for value in ["a b", "it's", "$HOME", "a;b", "`id`", "\"q\"", "'", "''", "x\ny", "*"] {
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", &format!("printf %s {}", quote(value))])
                .output()
                .expect("sh runs");
            assert_eq!(String::from_utf8_lossy(&out.stdout), value);
        }
    }
}
