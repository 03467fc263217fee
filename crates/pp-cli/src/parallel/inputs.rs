//! Where the inputs come from: `:::` values, `::::` files, stdin lines,
//! and their cross product (the first source varies slowest, as in GNU
//! parallel).

use std::io::Read;
use std::path::{Path, PathBuf};

/// One source of inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The values after a `:::`.
    Values(Vec<String>),
    /// The lines of a file (`::::`, `-a`); `-` is stdin.
    File(PathBuf),
}

/// Inputs that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum InputError {
    /// A `:::` or `::::` followed by no value or file.
    #[error("{separator} is followed by no {what}")]
    EmptySeparator {
        /// `:::` or `::::`.
        separator: &'static str,
        /// "value" or "file".
        what: &'static str,
    },
    /// A `::::` file could not be read.
    #[error("cannot read the input file {path:?}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Splits the trailing words into the command and its input sources.
pub(crate) fn split_command(words: &[String]) -> Result<(Vec<String>, Vec<Source>), InputError> {
    let start = words.iter().position(|w| w == ":::" || w == "::::").unwrap_or(words.len());
    let command = words[..start].to_vec();
    let mut sources = Vec::new();
    let mut rest = &words[start..];
    while let Some((separator, tail)) = rest.split_first() {
        let end = tail.iter().position(|w| w == ":::" || w == "::::").unwrap_or(tail.len());
        let items = &tail[..end];
        if separator == ":::" {
            if items.is_empty() {
                return Err(InputError::EmptySeparator { separator: ":::", what: "value" });
            }
            sources.push(Source::Values(items.to_vec()));
        } else {
            if items.is_empty() {
                return Err(InputError::EmptySeparator { separator: "::::", what: "file" });
            }
            sources.extend(items.iter().map(|f| Source::File(PathBuf::from(f))));
        }
        rest = &tail[end..];
    }
    Ok((command, sources))
}

/// Every job's inputs: one value per source, the cross product in GNU
/// order. Without sources, stdin's lines (one source).
pub(crate) fn load(sources: &[Source]) -> Result<Vec<Vec<String>>, InputError> {
    let lists = if sources.is_empty() {
        vec![read_lines(Path::new("-"))?]
    } else {
        sources
            .iter()
            .map(|source| match source {
                Source::Values(values) => Ok(values.clone()),
                Source::File(path) => read_lines(path),
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(cross_product(&lists))
}

/// The lines of a file (`-`: stdin), without their line ends.
fn read_lines(path: &Path) -> Result<Vec<String>, InputError> {
    let unreadable = |source| InputError::Unreadable { path: path.to_owned(), source };
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut bytes).map_err(unreadable)?;
    } else {
        bytes = std::fs::read(path).map_err(unreadable)?;
    }
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.lines().map(str::to_owned).collect())
}

/// All combinations, the first list varying slowest.
fn cross_product(lists: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for list in lists {
        combos = combos
            .iter()
            .flat_map(|prefix| {
                list.iter().map(move |value| {
                    let mut combo = prefix.clone();
                    combo.push(value.clone());
                    combo
                })
            })
            .collect();
    }
    combos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn splits_command_and_sources() {
        let (command, sources) =
            split_command(&words("echo {} ::: a b :::: f g ::: 1")).expect("valid");
        assert_eq!(command, ["echo", "{}"]);
        assert_eq!(
            sources,
            [
                Source::Values(vec!["a".into(), "b".into()]),
                Source::File("f".into()),
                Source::File("g".into()),
                Source::Values(vec!["1".into()]),
            ]
        );
        assert!(split_command(&words("echo :::")).is_err());
        assert!(split_command(&words("echo ::: a ::::")).is_err());
    }

    #[test]
    fn cross_product_in_gnu_order() {
        let lists =
            vec![vec!["a".to_owned(), "b".to_owned()], vec!["1".to_owned(), "2".to_owned()]];
        let jobs: Vec<String> = cross_product(&lists).iter().map(|j| j.join(" ")).collect();
        assert_eq!(jobs, ["a 1", "a 2", "b 1", "b 2"]);
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let err = load(&[Source::File("/nonexistent/inputs".into())]).expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/inputs"), "{err}");
    }
}
