//! Mistakes in an experiment file, each at its place (file, line, column), all collected
//! before anything is reported, so that one `check` lists every one of them.

use std::fmt;
use std::ops::Range;

/// One mistake, at a byte range of the file.
pub struct Diagnostic {
    pub span: Option<Range<usize>>,
    pub message: String,
}

/// Every mistake found in one file.
pub struct Diagnostics<'a> {
    pub path: &'a str,
    pub source: &'a str,
    pub found: Vec<Diagnostic>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(path: &'a str, source: &'a str) -> Diagnostics<'a> {
        Diagnostics { path, source, found: Vec::new() }
    }

    pub fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.found.push(Diagnostic { span, message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// 1-based line and column of a byte offset.
    fn place(&self, offset: usize) -> (usize, usize) {
        let before = &self.source[..offset.min(self.source.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }
}

impl fmt::Display for Diagnostics<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.found {
            match &diagnostic.span {
                Some(span) => {
                    let (line, column) = self.place(span.start);
                    writeln!(f, "{}:{line}:{column}: {}", self.path, diagnostic.message)?;
                }
                None => writeln!(f, "{}: {}", self.path, diagnostic.message)?,
            }
        }
        let count = self.found.len();
        write!(f, "{count} mistake{} in {}", if count == 1 { "" } else { "s" }, self.path)
    }
}

/// ", did you mean `x`?" when one of `known` is close to `given`; empty otherwise.
pub fn did_you_mean<'k>(given: &str, known: impl IntoIterator<Item = &'k str>) -> String {
    let best = known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&given.to_lowercase(), &k.to_lowercase()), k))
        .min_by_key(|(distance, _)| *distance);
    match best {
        Some((distance, name)) if distance <= (given.len().max(3) / 3).max(1) + 1 => format!("; did you mean `{name}`?"),
        _ => String::new(),
    }
}
