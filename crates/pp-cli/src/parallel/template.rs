//! The command template: the command's words with their replacement
//! strings (`{}`, `{.}`, `{/}`, `{//}`, `{/.}`, `{#}`, `{%}`, `{N}`, `{N.}`,
//! `{N/}`, `{N//}`, `{N/.}`), filled in for one job.

use crate::parallel::quote::quote;

/// What a replacement string takes from an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The whole value.
    Whole,
    /// Without its extension (`{.}`).
    NoExtension,
    /// Its base name (`{/}`).
    Base,
    /// Its directory (`{//}`).
    Dir,
    /// Its base name without extension (`{/.}`).
    BaseNoExtension,
}

/// One piece of a command word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Text as written.
    Literal(String),
    /// An input: every source's value (`None`) or the Nth (1-based).
    Input(Option<usize>, Part),
    /// The job's number (`{#}`).
    Seq,
    /// The job's slot (`{%}`).
    Slot,
}

/// How the filled-in command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Through `/bin/sh -c`, inputs shell-quoted.
    Shell,
    /// The words exec'd directly, inputs as they are.
    Direct,
}

/// A parsed command template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    words: Vec<Vec<Piece>>,
    mode: Mode,
    /// Whether any word names an input (else the inputs are appended).
    names_input: bool,
    /// Whether `{%}` appears (then a job's command depends on its slot).
    uses_slot: bool,
}

/// A job's command, filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filled {
    /// What is exec'd, program first.
    pub(crate) argv: Vec<String>,
    /// The command as the job log and `--dry-run` show it.
    pub(crate) display: String,
}

impl Template {
    /// Parses the command's words.
    pub(crate) fn parse(words: &[String], mode: Mode) -> Template {
        let words: Vec<Vec<Piece>> = words.iter().map(|w| parse_word(w)).collect();
        let pieces = || words.iter().flatten();
        let names_input = pieces().any(|p| matches!(p, Piece::Input(..)));
        let uses_slot = pieces().any(|p| *p == Piece::Slot);
        Template { words, mode, names_input, uses_slot }
    }

    /// Whether a job's command depends on the slot it runs in.
    pub(crate) fn uses_slot(&self) -> bool {
        self.uses_slot
    }

    /// The command for the job numbered `seq` with these inputs, in `slot`.
    pub(crate) fn fill(&self, inputs: &[String], seq: u64, slot: usize) -> Filled {
        let shell = self.mode == Mode::Shell;
        let value = |piece: &Piece| -> String {
            match piece {
                Piece::Literal(text) => text.clone(),
                Piece::Seq => seq.to_string(),
                Piece::Slot => slot.to_string(),
                Piece::Input(which, part) => {
                    let chosen: Vec<&String> = match which {
                        None => inputs.iter().collect(),
                        Some(n) => inputs.get(n - 1).into_iter().collect(),
                    };
                    let shown = |v: &&String| {
                        let taken = take(v, *part);
                        if shell { quote(&taken) } else { taken }
                    };
                    if chosen.is_empty() && shell {
                        "''".to_owned()
                    } else {
                        chosen.iter().map(shown).collect::<Vec<_>>().join(" ")
                    }
                }
            }
        };
        let mut words: Vec<String> =
            self.words.iter().map(|w| w.iter().map(value).collect::<String>()).collect();
        match (self.mode, self.names_input) {
            (_, true) => {}
            (Mode::Shell, false) if words.is_empty() => {
                // No command: each input is a command line of its own (GNU).
                words.push(inputs.join(" "));
            }
            (Mode::Shell, false) => words.extend(inputs.iter().map(|v| quote(v))),
            (Mode::Direct, false) => words.extend(inputs.iter().cloned()),
        }
        match self.mode {
            Mode::Shell => {
                let script = words.join(" ");
                Filled {
                    argv: vec!["/bin/sh".into(), "-c".into(), script.clone()],
                    display: script,
                }
            }
            Mode::Direct => {
                let display = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
                Filled { argv: words, display }
            }
        }
    }
}

/// Splits a word into literals and replacement strings; anything in braces
/// that is not a replacement string stays literal.
fn parse_word(word: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = word;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let replacement =
            after.find('}').and_then(|close| Some((replacement(&after[..close])?, close)));
        match replacement {
            Some((piece, close)) => {
                literal.push_str(&rest[..open]);
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(piece);
                rest = &after[close + 1..];
            }
            None => {
                literal.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// The replacement string whose inside (between the braces) is `inner`.
fn replacement(inner: &str) -> Option<Piece> {
    match inner {
        "#" => return Some(Piece::Seq),
        "%" => return Some(Piece::Slot),
        _ => {}
    }
    let digits = inner.find(|c: char| !c.is_ascii_digit()).unwrap_or(inner.len());
    let (number, part) = inner.split_at(digits);
    let which = match number {
        "" => None,
        n => Some(n.parse::<usize>().ok().filter(|&n| n > 0)?),
    };
    let part = match part {
        "" => Part::Whole,
        "." => Part::NoExtension,
        "/" => Part::Base,
        "//" => Part::Dir,
        "/." => Part::BaseNoExtension,
        _ => return None,
    };
    Some(Piece::Input(which, part))
}

/// The part of `value` a replacement string takes (GNU's rules).
fn take(value: &str, part: Part) -> String {
    match part {
        Part::Whole => value.to_owned(),
        Part::NoExtension => no_extension(value).to_owned(),
        Part::Base => base(value).to_owned(),
        Part::Dir => match value.rfind('/') {
            None => ".".to_owned(),
            Some(0) => "/".to_owned(),
            Some(slash) => value[..slash].to_owned(),
        },
        Part::BaseNoExtension => no_extension(base(value)).to_owned(),
    }
}

/// `value` without the last extension of its last path component.
fn no_extension(value: &str) -> &str {
    match value.rfind('.') {
        Some(dot) if !value[dot..].contains('/') => &value[..dot],
        _ => value,
    }
}

/// The last path component of `value`.
fn base(value: &str) -> &str {
    value.rsplit('/').next().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(command: &str, inputs: &[&str], mode: Mode) -> Filled {
        let words: Vec<String> =
            command.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
        let inputs: Vec<String> = inputs.iter().map(|s| (*s).to_owned()).collect();
        Template::parse(&words, mode).fill(&inputs, 7, 2)
    }

    #[test]
    fn replacement_strings_take_gnu_parts() {
        let f = fill("echo {} {.} {/} {//} {/.} {#} {%}", &["dir.x/a.b.c"], Mode::Shell);
        assert_eq!(f.display, "echo dir.x/a.b.c dir.x/a.b a.b.c dir.x a.b 7 2");
        let f = fill("echo {} {.} {/} {//} {/.}", &["noext"], Mode::Shell);
        assert_eq!(f.display, "echo noext noext noext . noext");
        let f = fill("echo {2}-{1} {1.} {3}", &["a.x", "b"], Mode::Shell);
        assert_eq!(f.display, "echo b-a.x a ''");
        let f = fill("echo {foo} {", &["v"], Mode::Shell);
        assert_eq!(f.display, "echo {foo} { v");
    }

    #[test]
    fn inputs_are_quoted_or_appended() {
        let f = fill("echo", &["a b", "$x"], Mode::Shell);
        assert_eq!(f.argv, ["/bin/sh", "-c", "echo 'a b' '$x'"]);
        let f = fill("echo {}", &["a;b"], Mode::Shell);
        assert_eq!(f.display, "echo 'a;b'");
        let f = fill("", &["echo hi"], Mode::Shell);
        assert_eq!(f.display, "echo hi");
    }

    #[test]
    fn direct_mode_passes_inputs_as_words() {
        let f = fill("printf %s-{}", &["a b"], Mode::Direct);
        assert_eq!(f.argv, ["printf", "%s-a b"]);
        let f = fill("echo", &["a b", "c"], Mode::Direct);
        assert_eq!(f.argv, ["echo", "a b", "c"]);
        assert_eq!(f.display, "echo 'a b' c");
    }
}
