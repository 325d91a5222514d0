//! Why an assessment could not be made: the step (probe key) and the problem.

/// An assessment step that failed. The shell adds the host name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step}: {problem}")]
pub struct AssessError {
    /// The probe key or parsing step, e.g. `apt-get -s dist-upgrade`, `dpkg-query`.
    pub step: String,
    pub problem: Problem,
}

impl AssessError {
    pub fn new(step: impl Into<String>, problem: Problem) -> AssessError {
        AssessError { step: step.into(), problem }
    }

    /// A parse failure: what was expected, and the offending line (cut to a readable length).
    pub fn garbage(
        step: impl Into<String>,
        line_number: usize,
        line: &str,
        expected: &str,
    ) -> AssessError {
        let mut shown: String = line.chars().take(160).collect();
        if shown.len() < line.len() {
            shown.push('…');
        }
        AssessError::new(
            step,
            Problem::Garbage { line_number, line: shown, expected: expected.to_owned() },
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the program is not installed on the host")]
    ToolMissing,
    #[error("exited with code {exit_code}: {stderr_tail}")]
    Failed { exit_code: i32, stderr_tail: String },
    #[error("unexpected output at line {line_number}: expected {expected}, got {line:?}")]
    Garbage { line_number: usize, line: String, expected: String },
    #[error("{0}")]
    Invalid(String),
    #[error("could not gather: {0}")]
    Transport(String),
    #[error("was not gathered (a bug in patchctl)")]
    NotGathered,
    #[error("neither apt nor dnf: {0}")]
    UnsupportedOs(String),
}
