//! What to gather from a host, and what came back.

use std::collections::HashMap;

use crate::error::{AssessError, Problem};

/// A command to run on a host: an argv, never a shell string. Every tool is run with
/// `LC_ALL=C` so that its output is the stable, untranslated form the parsers expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl CommandSpec {
    /// A command with `LC_ALL=C` set.
    pub fn new<I, S>(argv: I) -> CommandSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            env: vec![("LC_ALL".to_owned(), "C".to_owned())],
        }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> CommandSpec {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The argv as one line for messages and logs, each word quoted when it needs it.
    pub fn display(&self) -> String {
        self.argv
            .iter()
            .map(|word| {
                if !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+%@".contains(&b))
                {
                    word.clone()
                } else {
                    format!("'{}'", word.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One thing to gather.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Run a command and capture its exit code, standard output and standard error.
    Run(CommandSpec),
    /// Read a whole file; a missing file is an answer, not an error.
    ReadFile(String),
    /// List the names in a directory; a missing directory is an answer, not an error.
    ListDir(String),
}

/// A probe with the key its output is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub key: &'static str,
    pub probe: Probe,
}

impl ProbeSpec {
    pub fn run<I, S>(key: &'static str, argv: I) -> ProbeSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ProbeSpec { key, probe: Probe::Run(CommandSpec::new(argv)) }
    }

    pub fn read_file(key: &'static str, path: &str) -> ProbeSpec {
        ProbeSpec { key, probe: Probe::ReadFile(path.to_owned()) }
    }

    pub fn list_dir(key: &'static str, path: &str) -> ProbeSpec {
        ProbeSpec { key, probe: Probe::ListDir(path.to_owned()) }
    }
}

/// What one probe gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutput {
    Ran {
        exit_code: i32,
        stdout: String,
        stderr: String,
    },
    /// The command could not be started because the program does not exist on the host.
    NotFound,
    /// `None`: the file or directory does not exist.
    File(Option<String>),
    Dir(Option<Vec<String>>),
    /// The transport could not do it (timeout, output too large, permission): the reason.
    Failed(String),
}

/// The outputs of a set of probes, by key.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    outputs: HashMap<&'static str, ProbeOutput>,
}

impl Gathered {
    pub fn new() -> Gathered {
        Gathered::default()
    }

    pub fn insert(&mut self, key: &'static str, output: ProbeOutput) {
        self.outputs.insert(key, output);
    }

    pub fn get(&self, key: &'static str) -> Option<&ProbeOutput> {
        self.outputs.get(key)
    }

    /// The standard output of a command that must have run and exited with one of `ok_codes`.
    pub fn stdout(&self, key: &'static str, ok_codes: &[i32]) -> Result<&str, AssessError> {
        match self.outputs.get(key) {
            Some(ProbeOutput::Ran { exit_code, stdout, stderr }) => {
                if ok_codes.contains(exit_code) {
                    Ok(stdout)
                } else {
                    Err(AssessError::new(
                        key,
                        Problem::Failed {
                            exit_code: *exit_code,
                            stderr_tail: tail(stderr, stdout),
                        },
                    ))
                }
            }
            Some(ProbeOutput::NotFound) => Err(AssessError::new(key, Problem::ToolMissing)),
            Some(ProbeOutput::Failed(reason)) => {
                Err(AssessError::new(key, Problem::Transport(reason.clone())))
            }
            Some(ProbeOutput::File(_) | ProbeOutput::Dir(_)) | None => {
                Err(AssessError::new(key, Problem::NotGathered))
            }
        }
    }

    /// Like [`Gathered::stdout`], but a missing program is `Ok(None)`: for optional tools.
    pub fn optional_stdout(
        &self,
        key: &'static str,
        ok_codes: &[i32],
    ) -> Result<Option<&str>, AssessError> {
        match self.outputs.get(key) {
            Some(ProbeOutput::NotFound) | None => Ok(None),
            _ => self.stdout(key, ok_codes).map(Some),
        }
    }

    /// The contents of a file, `None` when it does not exist.
    pub fn file(&self, key: &'static str) -> Result<Option<&str>, AssessError> {
        match self.outputs.get(key) {
            Some(ProbeOutput::File(contents)) => Ok(contents.as_deref()),
            Some(ProbeOutput::Failed(reason)) => {
                Err(AssessError::new(key, Problem::Transport(reason.clone())))
            }
            _ => Err(AssessError::new(key, Problem::NotGathered)),
        }
    }

    /// The names in a directory, `None` when it does not exist.
    pub fn dir(&self, key: &'static str) -> Result<Option<&[String]>, AssessError> {
        match self.outputs.get(key) {
            Some(ProbeOutput::Dir(names)) => Ok(names.as_deref()),
            Some(ProbeOutput::Failed(reason)) => {
                Err(AssessError::new(key, Problem::Transport(reason.clone())))
            }
            _ => Err(AssessError::new(key, Problem::NotGathered)),
        }
    }
}

/// The last few lines of a failed command's output, for the error message: standard error when
/// it has anything, standard output otherwise (apt writes some errors to standard output).
fn tail(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() { stdout } else { stderr };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(5);
    lines[start..].join("\n")
}
