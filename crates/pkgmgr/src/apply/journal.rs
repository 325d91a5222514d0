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

/// The fields asked for (`--output-fields`; journalctl adds its own `__CURSOR`, timestamps and
/// `_BOOT_ID`). The ones beginning with `_` are journald's own, which a client cannot set.
const FIELDS: &str = "MESSAGE,SYSLOG_IDENTIFIER,_COMM,_PID,_UID,_TRANSPORT,_SYSTEMD_UNIT";

/// `journalctl --no-pager -q -p err -o json --output-fields=… -n 1000` and `-b` or
/// `--cursor=…`: JSON, so that who logged each entry (journald's `_UID`, `_TRANSPORT`,
/// `_SYSTEMD_UNIT`) is read, not guessed.
pub fn journal_errors_command(since: &JournalSince) -> Result<CommandSpec, InvalidInput> {
    let mut argv: Vec<String> =
        ["journalctl", "--no-pager", "-q", "-p", "err", "-o", "json"].map(String::from).to_vec();
    argv.push(format!("--output-fields={FIELDS}"));
    argv.extend(["-n".to_owned(), MAX_ENTRIES.to_owned()]);
    match since {
        JournalSince::ThisBoot => argv.push("-b".to_owned()),
        JournalSince::Mark(cursor) => {
            validate::word("journal cursor", cursor, b"=;_")?;
            argv.push(format!("--cursor={cursor}"));
        }
    }
    Ok(CommandSpec::new(argv))
}

/// The highest UID of a system account (login.defs' `SYS_UID_MAX` on Debian and RHEL alike):
/// root and the accounts services run as.
pub const SYSTEM_UID_MAX: u32 = 999;

/// One journal entry, from the fields journald itself set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Microseconds since the epoch (`__REALTIME_TIMESTAMP`).
    pub realtime_usec: Option<u64>,
    /// The syslog identifier (`sshd`, `kernel`), else the command's name; empty when neither.
    pub identifier: String,
    pub pid: Option<u32>,
    /// Who logged it (`_UID`); `None` for the kernel.
    pub uid: Option<u32>,
    /// How it reached journald (`_TRANSPORT`: `kernel`, `syslog`, `journal`, `stdout`, …).
    pub transport: String,
    /// The system unit of the process that logged it (`_SYSTEMD_UNIT`), if any.
    pub unit: Option<String>,
    pub message: String,
}

impl JournalEntry {
    /// Whether the system logged it: the kernel, a system account (root included), or a system
    /// service (one with a dynamic UID too), never a user's session or user manager. Any local
    /// user can write an error with `logger -p user.err`; that must not fail a postcheck and
    /// roll a host back to its old, perhaps vulnerable, versions.
    pub fn is_from_the_system(&self) -> bool {
        let system_service = self.unit.as_deref().is_some_and(|unit| {
            unit.ends_with(".service") && !unit.starts_with("user@") && !unit.starts_with("user-")
        });
        self.transport == "kernel"
            || self.uid.is_some_and(|uid| uid <= SYSTEM_UID_MAX)
            || system_service
    }

    /// Whether patchctl's own connection caused it: sshd logs `error: no more sessions` each
    /// time it refuses a session beyond its MaxSessions, which patchctl's transport asks for
    /// again a moment later (`transport::ssh`). Not a sign of anything the patch did.
    pub fn is_from_patchctls_connection(&self) -> bool {
        self.identifier == "sshd"
            && self.message.trim_start_matches("error: ") == "no more sessions"
    }
}

pub fn parse_journal_errors(
    exit_code: i32,
    stdout: &str,
) -> Result<Vec<JournalEntry>, OutputError> {
    let invalid = |problem: String| OutputError { command: "journalctl -p err -o json", problem };
    if exit_code != 0 {
        return Err(invalid(format!("exit code {exit_code}")));
    }
    let mut entries = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
            .map_err(|e| invalid(format!("line {}: not a JSON object: {e}", i + 1)))?;
        let field = |name: &str| object.get(name).and_then(field_text);
        let number = |name: &str| -> Result<Option<u32>, OutputError> {
            field(name)
                .map(|text| {
                    text.parse::<u32>()
                        .map_err(|_| invalid(format!("line {}: {name} is {text:?}", i + 1)))
                })
                .transpose()
        };
        let identifier = field("SYSLOG_IDENTIFIER").or_else(|| field("_COMM")).unwrap_or_default();
        entries.push(JournalEntry {
            realtime_usec: field("__REALTIME_TIMESTAMP").and_then(|t| t.parse().ok()),
            identifier,
            pid: number("_PID")?,
            uid: number("_UID")?,
            transport: field("_TRANSPORT").unwrap_or_default(),
            unit: field("_SYSTEMD_UNIT"),
            message: field("MESSAGE").unwrap_or_default(),
        });
    }
    Ok(entries)
}

/// A field's text: journalctl writes a string, an array of bytes for a value that is not
/// UTF-8 text, and an array of those for a field logged several times (the first is kept).
fn field_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Array(items) if items.iter().all(serde_json::Value::is_u64) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        serde_json::Value::Array(items) => items.first().and_then(field_text),
        _ => None,
    }
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
