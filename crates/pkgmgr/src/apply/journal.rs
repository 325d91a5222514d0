//! "Errors in the journal that were not there before": priority `err` and worse, logged after
//! patching began, whose message the host had not logged before it.
//!
//! Before patching, the driver records two things: a mark, the cursor of the journal's last
//! entry ([`journal_mark_command`]), and a baseline, the errors of the current boot
//! ([`JournalSince::ThisBoot`]). Afterwards it asks for the errors from the mark on
//! ([`JournalSince::Mark`]): on a persistent journal (`/var/log/journal`, Debian 12's default)
//! that spans a reboot, which `-b` would not. It is `--cursor=`, not `--after-cursor=`: with a
//! filter such as `-p err`, journalctl before systemd 255 skips the first matching entry after
//! the cursor (systemd issue 30288), and 252 does. `--cursor=` shows the mark's own entry too
//! when it is an error, but that one is in the baseline. The errors a reboot brings back every time (a
//! service that always complains at boot) would then look new, hence the baseline: an error
//! counts only when its source and message are not in it ([`new_journal_errors`]). On a volatile
//! journal a reboot drops the mark's entries with the rest, and the driver should ask for
//! `ThisBoot` instead.

use std::collections::HashSet;

use super::outcome::OutputError;
use super::validate::{self, InvalidInput};
use crate::probe::CommandSpec;

/// How many errors to read at most: the newest ones.
const MAX_ENTRIES: &str = "1000";

/// The position patching began at: the cursor of the journal's last entry, `None` when the
/// journal is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalMark {
    pub cursor: Option<String>,
}

/// Which errors to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalSince {
    /// The current boot's (`-b`).
    ThisBoot,
    /// Those from a [`JournalMark`]'s cursor on (`--cursor=`), across boots.
    Mark(String),
}

impl JournalSince {
    /// From `mark` on, or this boot's when the journal was empty then.
    pub fn from_mark(mark: &JournalMark) -> JournalSince {
        match &mark.cursor {
            Some(cursor) => JournalSince::Mark(cursor.clone()),
            None => JournalSince::ThisBoot,
        }
    }
}

/// `journalctl --no-pager -q -n 0 --show-cursor`: no entry, then `-- cursor: …`, the last
/// entry's.
pub fn journal_mark_command() -> CommandSpec {
    CommandSpec::new(["journalctl", "--no-pager", "-q", "-n", "0", "--show-cursor"])
}

pub fn parse_journal_mark(exit_code: i32, stdout: &str) -> Result<JournalMark, OutputError> {
    let invalid = |problem: String| OutputError { command: "journalctl --show-cursor", problem };
    if exit_code != 0 {
        return Err(invalid(format!("exit code {exit_code}")));
    }
    let mut cursor = None;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        match line.strip_prefix("-- cursor: ") {
            Some(value) if cursor.is_none() => {
                validate::word("journal cursor", value, b"=;_")
                    .map_err(|e| invalid(e.to_string()))?;
                cursor = Some(value.to_owned());
            }
            _ => return Err(invalid(format!("expected only \"-- cursor: …\", got {line:?}"))),
        }
    }
    Ok(JournalMark { cursor })
}

/// `journalctl --no-pager -q -p err -o short-iso -n 1000` and `-b` or `--cursor=…`.
pub fn journal_errors_command(since: &JournalSince) -> Result<CommandSpec, InvalidInput> {
    let mut argv: Vec<String> =
        ["journalctl", "--no-pager", "-q", "-p", "err", "-o", "short-iso", "-n", MAX_ENTRIES]
            .map(String::from)
            .to_vec();
    match since {
        JournalSince::ThisBoot => argv.push("-b".to_owned()),
        JournalSince::Mark(cursor) => {
            validate::word("journal cursor", cursor, b"=;_")?;
            argv.push(format!("--cursor={cursor}"));
        }
    }
    Ok(CommandSpec::new(argv))
}

/// One journal entry as `-o short-iso` prints it: `2026-11-22T01:00:37+0000 deb1 sshd[35]:
/// error: …`, continuation lines of a multi-line message indented below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub timestamp: String,
    pub host: String,
    /// The syslog identifier (`sshd`, `kernel`, `(true)`); empty when the entry has none.
    pub identifier: String,
    pub pid: Option<u32>,
    pub message: String,
}

pub fn parse_journal_errors(
    exit_code: i32,
    stdout: &str,
) -> Result<Vec<JournalEntry>, OutputError> {
    let invalid = |problem: String| OutputError { command: "journalctl -p err", problem };
    if exit_code != 0 {
        return Err(invalid(format!("exit code {exit_code}")));
    }
    let mut entries: Vec<JournalEntry> = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        // journalctl's own remarks (`-- Boot … --`, `-- No entries --`), which -q mostly drops.
        if line.starts_with("-- ") || line.is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let Some(last) = entries.last_mut() else {
                return Err(invalid(format!("line {}: a continuation line first", i + 1)));
            };
            last.message.push('\n');
            last.message.push_str(line.trim_start());
            continue;
        }
        let entry = parse_entry(line).ok_or_else(|| {
            invalid(format!("line {}: expected TIME HOST IDENT[PID]: MESSAGE, got {line:?}", i + 1))
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

fn parse_entry(line: &str) -> Option<JournalEntry> {
    let (timestamp, rest) = line.split_once(' ')?;
    let looks_like_time = timestamp.len() >= 19
        && timestamp.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && timestamp.as_bytes()[10] == b'T';
    if !looks_like_time {
        return None;
    }
    let (host, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let (identifier, pid, message) = match rest.split_once(": ") {
        Some((source, message)) => {
            match source.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
                Some((identifier, pid)) => (identifier, pid.parse().ok(), message),
                None => (source, None, message),
            }
        }
        None => match rest.strip_suffix(':') {
            Some(source) => (source, None, ""),
            None => ("", None, rest),
        },
    };
    Some(JournalEntry {
        timestamp: timestamp.to_owned(),
        host: host.to_owned(),
        identifier: identifier.to_owned(),
        pid,
        message: message.to_owned(),
    })
}

/// The entries of `after` whose identifier and message are not in `baseline` (pids and times
/// differ from one occurrence to the next, so they are not compared).
pub fn new_journal_errors(baseline: &[JournalEntry], after: &[JournalEntry]) -> Vec<JournalEntry> {
    let known: HashSet<(&str, &str)> =
        baseline.iter().map(|e| (e.identifier.as_str(), e.message.as_str())).collect();
    after
        .iter()
        .filter(|e| !known.contains(&(e.identifier.as_str(), e.message.as_str())))
        .cloned()
        .collect()
}
