//! Load and evaluation errors.

use std::fmt;

/// One problem in a policy file, with its position (1-based line and column; 0 when unknown).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Stable machine code, for example `policy.invalid_regex`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// A policy file that does not load: every problem found, each with its position.
///
/// YAML syntax errors and unknown or mistyped keys stop the parser, so they come alone; once the
/// document parses, every semantic problem (bad regex, empty value, unknown extension, rule
/// without constraint, bad threshold, ...) is reported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// The file name (or `<input>` for a string).
    pub source_name: String,
    /// Every problem, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// Stable machine code of the first problem (`policy.io` when the file cannot be read).
    pub fn code(&self) -> &'static str {
        self.diagnostics.first().map_or("policy.invalid", |d| d.code)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(
                f,
                "{}:{}:{}: {} [{}]",
                self.source_name, d.line, d.column, d.message, d.code
            )?;
        }
        Ok(())
    }
}

/// Evaluation could not start (a caller error: the API maps it to 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluateError {
    /// No policy of that name in the set.
    #[error("no policy named {0:?}")]
    UnknownPolicy(String),
    /// `evaluate_chain` on a policy that has rules, not a chain.
    #[error("policy {0:?} is not a chain policy")]
    NotAChainPolicy(String),
}

impl EvaluateError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            EvaluateError::UnknownPolicy(_) => "policy.unknown_policy",
            EvaluateError::NotAChainPolicy(_) => "policy.not_a_chain_policy",
        }
    }
}
