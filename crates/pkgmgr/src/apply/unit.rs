//! Running a command as its own transient systemd service, so that it outlives the SSH
//! connection that started it, and finding out afterwards, from any later connection, whether
//! it still runs and how it ended.
//!
//! Checked against systemd 252 (Debian 12); the options used exist since systemd 236, so RHEL 8
//! (systemd 239) takes them too:
//! - `--remain-after-exit` and no `--collect`: a transient service that ends is unloaded, with
//!   its exit status, unless it stays "active (exited)" after success or "failed" after a
//!   failure; `--collect` would unload even a failed one. So the status stays readable until
//!   [`release_unit_command`] or a reboot.
//! - `StandardOutput=file:` (not `truncate:` or `append:`, which systemd 239 lacks): the paths
//!   are named after the unit, which is never reused, so the files do not exist beforehand. The
//!   directory must exist, or the unit fails with status 209 before running anything:
//!   [`start_and_wait_command`] makes it first.
//! - PID 1 expands `$NAME` and `${NAME}` in the command line of a transient service (systemd-run
//!   252 has no `--expand-environment=no`), so every `$` of the argv is written `$$`.
//! - A unit starts with a clean environment: the command's environment goes in with `--setenv`.

use super::outcome::OutputError;
use super::validate::{self, InvalidInput};
use crate::probe::{CommandSpec, ProbeSpec};

/// Where units write their standard output and error: root's, kept across reboots.
pub const UNIT_OUTPUT_DIR: &str = "/var/lib/patchctl/units";
/// Removes the unit outputs older than `days` days (`find -mtime +DAYS`), patchctl's only
/// files on a host besides its trace; `None` for 0, which keeps them.
pub fn unit_outputs_cleanup_command(days: u32) -> Option<CommandSpec> {
    (days > 0).then(|| {
        let days = format!("+{}", days - 1);
        CommandSpec::new([
            "find",
            UNIT_OUTPUT_DIR,
            "-maxdepth",
            "1",
            "-type",
            "f",
            "-name",
            "patchctl-*",
            "-mtime",
            days.as_str(),
            "-delete",
        ])
    })
}

/// The keys of [`unit_output_probes`].
pub const UNIT_STDOUT: &str = "unit stdout";
pub const UNIT_STDERR: &str = "unit stderr";

const STATUS_PROPERTIES: &str = "ActiveState,SubState,Result,ExecMainStatus,ExecMainCode,LoadState,\
    ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic";

/// `patchctl-<rollout>-<host-step>`: the name of one step of one rollout on one host, which a
/// restarted patchctl can compute again from its journal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitName(String);

impl UnitName {
    /// `rollout` is letters and digits (so that the name splits back at its first dash);
    /// `host_step` letters, digits, `-` and `_` (`web1-apply`, `web1-rollback-2`). No dots: in a
    /// unit name the text after a dot is the unit type.
    pub fn new(rollout: &str, host_step: &str) -> Result<UnitName, InvalidInput> {
        validate::word("rollout id", rollout, b"")?;
        validate::word("unit step", host_step, b"-_")?;
        let name = format!("patchctl-{rollout}-{host_step}");
        if name.len() > 200 {
            return Err(InvalidInput::new("unit name", &name, "longer than 200"));
        }
        Ok(UnitName(name))
    }

    /// Without the `.service` suffix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `NAME.service`, as systemctl is told it.
    pub fn service(&self) -> String {
        format!("{}.service", self.0)
    }

    pub fn stdout_path(&self) -> String {
        format!("{UNIT_OUTPUT_DIR}/{}.stdout", self.0)
    }

    pub fn stderr_path(&self) -> String {
        format!("{UNIT_OUTPUT_DIR}/{}.stderr", self.0)
    }
}

impl std::fmt::Display for UnitName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `systemd-run --unit=NAME.service --remain-after-exit --property=StandardOutput=file:… … --
/// ARGV`: starts `command` as the unit `name` and returns once it started (exit code 0), or
/// fails at once when the program does not exist or the unit is already loaded
/// ([`parse_unit_start`]).
pub fn run_as_unit(name: &UnitName, command: &CommandSpec) -> Result<CommandSpec, InvalidInput> {
    let Some(program) = command.argv.first() else {
        return Err(InvalidInput::new("command", "", "empty argv"));
    };
    if program.is_empty() || program.starts_with('-') {
        return Err(InvalidInput::new("program", program, "empty or starting with -"));
    }
    if let Some(word) = command.argv.iter().find(|w| w.contains(|c: char| c.is_control())) {
        return Err(InvalidInput::new("argument", word, "contains a control character"));
    }
    let mut argv: Vec<String> = vec![
        "systemd-run".into(),
        format!("--unit={}", name.service()),
        format!("--description=patchctl {name}"),
        "--remain-after-exit".into(),
        format!("--property=StandardOutput=file:{}", name.stdout_path()),
        format!("--property=StandardError=file:{}", name.stderr_path()),
    ];
    for (key, value) in &command.env {
        let key_ok = key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !key_ok {
            return Err(InvalidInput::new("environment variable", key, "not a variable name"));
        }
        if value.contains(|c: char| c.is_control()) {
            return Err(InvalidInput::new(
                "environment value",
                value,
                "contains a control character",
            ));
        }
        argv.push(format!("--setenv={key}={value}"));
    }
    argv.push("--".into());
    argv.extend(command.argv.iter().map(|word| word.replace('$', "$$")));
    Ok(CommandSpec::new(argv))
}

/// Whether `systemd-run` started the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitStart {
    Started,
    /// A unit of that name is loaded: an earlier patchctl started it. Ask its status instead.
    AlreadyExists,
    /// A unit of that name ran before (its output file exists), started by another patchctl of
    /// the same rollout, and was not started again ([`Rerun::Refuse`]). Ask its status; when it
    /// is no longer loaded, only the host's packages tell what it did.
    RanBefore,
    /// systemd-run's own message (the program does not exist, systemd is not running, …).
    Failed {
        message: String,
    },
}

/// systemd-run exits 0 once the unit started, and says `Running as unit: NAME.service` on
/// standard error; otherwise it exits 1 with the reason on standard error.
pub fn parse_unit_start(exit_code: i32, _stdout: &str, stderr: &str) -> UnitStart {
    if exit_code == 0 {
        return UnitStart::Started;
    }
    if stderr.contains("was already loaded or has a fragment file") {
        return UnitStart::AlreadyExists;
    }
    let message = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let message = if message.is_empty() {
        format!("systemd-run exited with code {exit_code}")
    } else {
        message.chars().take(300).collect()
    };
    UnitStart::Failed { message }
}

/// `systemctl show NAME.service --property=…`: works for a unit that is loaded and for one that
/// is not (then `LoadState=not-found`), and exits 0 either way.
pub fn unit_status_command(name: &UnitName) -> CommandSpec {
    CommandSpec::new([
        "systemctl".to_owned(),
        "show".to_owned(),
        name.service(),
        format!("--property={STATUS_PROPERTIES}"),
    ])
}

/// [`unit_status_command`] once the unit has stopped running, or after about `seconds`
/// (at most 60) if it still runs. The host watches it itself, so that its end is seen at once
/// without a round trip per look: first its main process, every 5 ms (`tail --pid`, no
/// systemctl), then systemd's word that the unit stopped. The output is the status command's.
pub fn unit_wait_command(name: &UnitName, seconds: u32) -> CommandSpec {
    // The unit's name goes in as `$0`, never into the script's text.
    CommandSpec::new(["sh".to_owned(), "-c".to_owned(), wait_script(seconds), name.service()])
}

/// The line [`start_and_wait_command`] prints on standard output once systemd-run started the
/// unit, before the unit's status.
const STARTED: &str = "patchctl: started";

/// The line [`start_and_wait_command`] prints instead when the unit ran before and
/// [`Rerun::Refuse`] kept it from starting again.
const RAN_BEFORE: &str = "patchctl: ran before, not started again";

/// Whether [`start_and_wait_command`] may start a unit whose name ran before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rerun {
    /// Never: the host itself refuses a second start of the unit, whoever asks. A patchctl
    /// that stalled (stopped, frozen) after its last write under its lease and woke after
    /// another took its rollout over cannot apply a second time what the other one applied,
    /// even after the unit was unloaded: its output file stays.
    Refuse,
    /// Yes: a step a person may ask for again (a repair, a rollback by hand).
    Allow,
}

/// `start` ([`run_as_unit`]'s systemd-run) and then [`unit_wait_command`]'s watch, in one round
/// trip, once the unit output directory exists (the unit fails before running anything
/// without it). With [`Rerun::Refuse`], a unit whose output file exists is not started again
/// ([`UnitStart::RanBefore`]). Read by [`parse_start_and_wait`]. The unit's name and the argv
/// are arguments of the script, never part of its text.
pub fn start_and_wait_command(
    name: &UnitName,
    start: CommandSpec,
    seconds: u32,
    rerun: Rerun,
) -> CommandSpec {
    let once = match rerun {
        Rerun::Refuse => format!(
            "if [ -e \"{UNIT_OUTPUT_DIR}/${{0%.service}}.stdout\" ]; then echo '{RAN_BEFORE}'; exit 0; fi && "
        ),
        Rerun::Allow => String::new(),
    };
    let script = format!(
        "mkdir -p -m 0700 -- {UNIT_OUTPUT_DIR} && {once}\"$@\" || exit; echo '{STARTED}'; {}",
        wait_script(seconds)
    );
    let mut argv = vec!["sh".to_owned(), "-c".to_owned(), script, name.service()];
    argv.extend(start.argv);
    CommandSpec { argv, env: start.env }
}

/// What [`start_and_wait_command`] did: the unit's start as systemd-run told it, and, when it
/// started, the status the watch ended with (`None` when that could not be read: ask again).
pub fn parse_start_and_wait<'a>(
    exit_code: i32,
    stdout: &'a str,
    stderr: &str,
) -> (UnitStart, Option<&'a str>) {
    if exit_code == 0 && stdout.trim_end() == RAN_BEFORE {
        return (UnitStart::RanBefore, None);
    }
    match stdout.strip_prefix(STARTED).and_then(|rest| rest.strip_prefix('\n')) {
        Some(status) => (UnitStart::Started, (exit_code == 0).then_some(status)),
        // A host that says it succeeded without saying it started the unit.
        None if exit_code == 0 => {
            let said: String = stdout.chars().take(100).collect();
            (UnitStart::Failed { message: format!("no word of the unit's start: {said:?}") }, None)
        }
        None => (parse_unit_start(exit_code, stdout, stderr), None),
    }
}

/// The body of [`unit_wait_command`], with the unit's name in `$0`. The main process's end is
/// waited for by `tail --pid`, which looks every 5 ms without starting a process each time (a
/// shell loop of `sleep 0.02` where tail or timeout cannot, e.g. not GNU's), then systemd's
/// status is read once, and again every 50 ms only while it says the unit is still stopping.
fn wait_script(seconds: u32) -> String {
    let seconds = seconds.clamp(1, 60);
    let (fine, looks) = (seconds * 50, seconds * 20);
    format!(
        "pid=$(systemctl show -p MainPID --value \"$0\"); i=0; \
         case $pid in ''|*[!0-9]*) pid=0 ;; esac; \
         if [ \"$pid\" -gt 0 ]; then \
         timeout --foreground {seconds} tail --pid=\"$pid\" -s 0.005 -f /dev/null 2>/dev/null; \
         case $? in 0) ;; 124) i={fine} ;; \
         *) while [ -d /proc/$pid ] && [ $i -lt {fine} ]; do sleep 0.02; i=$((i+1)); done ;; \
         esac; fi; \
         if [ $i -ge {fine} ]; then i={looks}; else i=0; fi; \
         while :; do \
         s=$(systemctl show \"$0\" --property={STATUS_PROPERTIES}) || exit; \
         case $s in *SubState=start*|*SubState=running*|*SubState=reload*|*SubState=stop*|*SubState=final*) ;; \
         *) break ;; esac; \
         [ $i -lt {looks} ] || break; sleep 0.05; i=$((i+1)); done; \
         printf '%s\\n' \"$s\""
    )
}

/// Where a unit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitState {
    /// No such unit loaded: never started, released, or gone with a reboot. The host itself
    /// must tell what happened (assess it, verify the versions).
    NotFound,
    /// Starting, running or stopping.
    Running,
    /// The program exited by itself with this code.
    Exited { code: i32 },
    /// The program was killed by this signal (`systemctl kill`, the OOM killer, a crash).
    Killed { signal: i32, core_dumped: bool },
    /// The unit failed without its program exiting or being killed, e.g. systemd could not set
    /// it up: systemd's `Result` (`resources`, `start-limit-hit`, …).
    Failed { result: String },
}

/// Parses [`unit_status_command`]'s `KEY=VALUE` lines, in whatever order systemd prints them.
pub fn parse_unit_status(stdout: &str) -> Result<UnitState, OutputError> {
    let invalid = |problem: String| OutputError { command: "systemctl show", problem };
    let mut values = [None; 6];
    let keys = ["LoadState", "ActiveState", "SubState", "Result", "ExecMainCode", "ExecMainStatus"];
    for line in stdout.lines().filter(|l| !l.is_empty()) {
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| invalid(format!("expected KEY=VALUE, got {line:?}")))?;
        if let Some(slot) = keys.iter().position(|k| *k == key) {
            values[slot] = Some(value);
        }
    }
    let mut found = [""; 6];
    for (slot, key) in keys.iter().enumerate() {
        found[slot] = values[slot].ok_or_else(|| invalid(format!("no {key}= line")))?;
    }
    let [load, active, sub, result, code, status] = found;
    let number = |key: &str, text: &str| {
        text.parse::<i32>().map_err(|_| invalid(format!("{key}={text:?} is not a number")))
    };
    match load {
        "loaded" => {}
        "not-found" => return Ok(UnitState::NotFound),
        other => return Err(invalid(format!("LoadState={other:?}"))),
    }
    if matches!(active, "activating" | "deactivating" | "reloading")
        || (active == "active" && sub != "exited")
    {
        return Ok(UnitState::Running);
    }
    // ExecMainCode is the siginfo code of the main process's end: CLD_EXITED, CLD_KILLED,
    // CLD_DUMPED; 0 when it has not ended (or never ran).
    let status = number("ExecMainStatus", status)?;
    match number("ExecMainCode", code)? {
        1 => Ok(UnitState::Exited { code: status }),
        2 => Ok(UnitState::Killed { signal: status, core_dumped: false }),
        3 => Ok(UnitState::Killed { signal: status, core_dumped: true }),
        0 if active == "failed" => Ok(UnitState::Failed { result: result.to_owned() }),
        // Loaded but inactive with no recorded end: stopped before it ran; nothing to read.
        0 if active == "inactive" => Ok(UnitState::NotFound),
        other => Err(invalid(format!("ExecMainCode={other} with ActiveState={active}"))),
    }
}

/// How long the unit's main process ran, by the host's own clock (its start and exit as systemd
/// recorded them, in microseconds of `CLOCK_MONOTONIC`), from [`unit_status_command`]'s output:
/// `None` while it runs, when it never ran, or when systemd did not say.
pub fn parse_unit_run_time(stdout: &str) -> Option<std::time::Duration> {
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&v| v > 0)
    };
    let start = value("ExecMainStartTimestampMonotonic")?;
    let exit = value("ExecMainExitTimestampMonotonic")?;
    exit.checked_sub(start).map(std::time::Duration::from_micros)
}

/// The standard output and error files of `name`, as [`UNIT_STDOUT`] and [`UNIT_STDERR`].
pub fn unit_output_probes(name: &UnitName) -> Vec<ProbeSpec> {
    vec![
        ProbeSpec::read_file(UNIT_STDOUT, &name.stdout_path()),
        ProbeSpec::read_file(UNIT_STDERR, &name.stderr_path()),
    ]
}

/// Unloads a unit that ended, once its status and outputs are read: `systemctl stop` for one
/// that succeeded (it stays "active (exited)"), `systemctl reset-failed` for one that failed.
/// `None` for a unit that runs (never stop an apply half-way) or is not loaded.
pub fn release_unit_command(name: &UnitName, state: &UnitState) -> Option<CommandSpec> {
    let verb = match state {
        UnitState::Exited { code: 0 } => "stop",
        UnitState::Exited { .. } | UnitState::Killed { .. } | UnitState::Failed { .. } => {
            "reset-failed"
        }
        UnitState::Running | UnitState::NotFound => return None,
    };
    Some(CommandSpec::new(["systemctl".to_owned(), verb.to_owned(), name.service()]))
}
