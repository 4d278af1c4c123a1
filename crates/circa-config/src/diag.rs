//! Diagnostics: what is wrong with a config, where, and how to show it like a compiler does.

use std::fmt;

/// A position in a source file: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// 1-based line number; 0 means "no position" (values that came from outside a file).
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

impl Span {
    /// A position at `line`, `col` (both 1-based).
    pub const fn new(line: u32, col: u32) -> Self {
        Span { line, col }
    }

    /// The position of values that do not come from a file (API parameters, defaults).
    pub const NONE: Span = Span { line: 0, col: 0 };

    /// Whether this span points into a file.
    pub fn is_known(self) -> bool {
        self.line > 0
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The config is refused.
    Error,
    /// The config runs, but something is probably not what the author meant.
    Warning,
}

/// One finding about a config, with the position it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where in the file the finding is; `Span::NONE` when it concerns no position.
    pub span: Span,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file the span points into when it is not the main config (an orb file, say).
    pub origin: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            origin: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            span,
            message: message.into(),
            origin: None,
        }
    }

    /// The same diagnostic, said to be about another file (an orb's source).
    pub fn in_origin(mut self, origin: impl Into<String>) -> Self {
        if self.origin.is_none() {
            self.origin = Some(origin.into());
        }
        self
    }

    /// Whether this diagnostic refuses the config.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {kind}: {}",
            self.span.line, self.span.col, self.message
        )
    }
}

/// A collector of diagnostics, used while walking a config.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error at `span`.
    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.items.push(Diagnostic::error(span, message));
    }

    /// Records a warning at `span`.
    pub fn warning(&mut self, span: Span, message: impl Into<String>) {
        self.items.push(Diagnostic::warning(span, message));
    }

    /// Records a finished diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records finished diagnostics.
    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    /// Whether any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of recorded diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The recorded diagnostics, sorted by position, duplicates removed.
    pub fn into_vec(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.origin.is_some(), a.span, a.severity).cmp(&(b.origin.is_some(), b.span, b.severity))
        });
        self.items.dedup();
        self.items
    }
}

/// Renders diagnostics as `PATH:LINE:COL: severity: message` followed by a source snippet with a
/// caret under the column, the way compilers do.
pub fn render(path: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    render_styled(path, source, diagnostics, false)
}

/// ANSI styles: bold red, bold yellow, bold blue, reset.
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const RESET: &str = "\x1b[0m";

/// Like [`render`]; with `styled`, severities, gutters and carets carry ANSI colours (for a
/// terminal).
pub fn render_styled(path: &str, source: &str, diagnostics: &[Diagnostic], styled: bool) -> String {
    let paint = |style: &str, text: &str| {
        if styled {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    for d in diagnostics {
        let kind = match d.severity {
            Severity::Error => paint(RED, "error"),
            Severity::Warning => paint(YELLOW, "warning"),
        };
        let file = d.origin.as_deref().unwrap_or(path);
        if d.span.is_known() {
            out.push_str(&format!(
                "{file}:{}:{}: {kind}: {}\n",
                d.span.line, d.span.col, d.message
            ));
        } else {
            out.push_str(&format!("{file}: {kind}: {}\n", d.message));
        }
        let line_text = (d.span.is_known() && d.origin.is_none())
            .then(|| lines.get(d.span.line as usize - 1))
            .flatten();
        if let Some(text) = line_text {
            let number = d.span.line.to_string();
            let pad = " ".repeat(number.len());
            let shown: String = text.chars().take(160).collect();
            let caret_at = (d.span.col as usize)
                .saturating_sub(1)
                .min(shown.chars().count());
            let indent: String = shown
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let bar = paint(BLUE, "|");
            let caret = paint(if d.is_error() { RED } else { YELLOW }, "^");
            out.push_str(&format!(
                "{pad} {bar}\n{} {bar} {shown}\n{pad} {bar} {indent}{caret}\n",
                paint(BLUE, &number)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_points_at_the_column() {
        let src = "version: 2.1\njobs:\n  build: 3\n";
        let d = Diagnostic::error(Span::new(3, 10), "job `build` must be a map");
        let text = render("config.yml", src, &[d]);
        assert_eq!(
            text,
            "config.yml:3:10: error: job `build` must be a map\n  |\n3 |   build: 3\n  |          ^\n"
        );
    }

    #[test]
    fn diagnostics_sort_by_position_and_dedup() {
        let mut d = Diagnostics::new();
        d.error(Span::new(5, 1), "b");
        d.error(Span::new(2, 3), "a");
        d.error(Span::new(5, 1), "b");
        let v = d.into_vec();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].message, "a");
    }
}
