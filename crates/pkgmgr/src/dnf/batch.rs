//! Every dnf command of an assessment run from one Python process (`batch.py`): which
//! interpreter runs it (the one `/usr/bin/dnf` names), its argv, and its output split back into
//! one [`ProbeOutput`] per command.
//!
//! Starting dnf costs about 0.3 s of CPU before it does anything, mostly `import dnf`. The batch
//! pays that once: it imports dnf, then forks one child per command, and each child runs dnf's
//! own entry point with the command's arguments. A child's output and exit code are those of
//! `dnf ARGS` run alone, byte for byte (the capture script compares them, see CAPTURE.md), so
//! the parsers of each command's output do not know about the batch.

use crate::error::{AssessError, Problem};
use crate::probe::{CommandSpec, Gathered, Probe, ProbeOutput, ProbeSpec};

/// One dnf command line of the batch, without the leading `dnf`. Its key is the step name of
/// its output's errors, as if it had been run alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnfCommand {
    pub key: &'static str,
    pub args: &'static [&'static str],
}

impl DnfCommand {
    /// `dnf ARGS…`, as a shell would show it.
    pub fn display(&self) -> String {
        CommandSpec::new(std::iter::once("dnf").chain(self.args.iter().copied())).display()
    }
}

/// dnf's executable, a Python script whose first line names its interpreter.
pub const DNF_SCRIPT: &str = "/usr/bin/dnf";
/// The batch itself.
pub const BATCH: &str = "dnf batch";
/// The `*.py` files in dnf's default plugin directory, as the batch lists them (its path
/// depends on the Python version, so only the host's dnf knows it).
pub const PLUGIN_FILES: &str = "dnf plugin files";

/// The batch program, passed with `-c`.
pub const PROGRAM: &str = include_str!("batch.py");

/// Separates the commands in the batch's argv.
const SEPARATOR: &str = ";";
const MAGIC: &str = "patchctl-dnf-batch 1";

pub fn probes() -> Vec<ProbeSpec> {
    vec![ProbeSpec::read_file(DNF_SCRIPT, DNF_SCRIPT)]
}

/// The batch of `commands`, run by dnf's interpreter; nothing when that interpreter is unknown
/// (dnf is missing or is not a Python script), which [`expand`] then reports.
pub fn followup_probes(gathered: &Gathered, commands: &[DnfCommand]) -> Vec<ProbeSpec> {
    match interpreter(gathered) {
        Ok(interpreter) => {
            vec![ProbeSpec { key: BATCH, probe: Probe::Run(command(&interpreter, commands)) }]
        }
        Err(_) => Vec::new(),
    }
}

/// `INTERPRETER [ARG] -c PROGRAM /usr/bin/dnf ARGS… ; ARGS…`. `/usr/bin/dnf` becomes the
/// children's `sys.argv[0]`, as when the script runs: dnf names itself with it in messages.
pub fn command(interpreter: &Interpreter, commands: &[DnfCommand]) -> CommandSpec {
    let mut argv: Vec<&str> = vec![&interpreter.program];
    argv.extend(interpreter.argument.as_deref());
    argv.extend(["-c", PROGRAM, DNF_SCRIPT]);
    for (i, command) in commands.iter().enumerate() {
        if i > 0 {
            argv.push(SEPARATOR);
        }
        argv.extend(command.args);
    }
    CommandSpec::new(argv)
}

/// The interpreter line of dnf's script: `#!/usr/bin/python3` (Fedora, RHEL 9, Debian),
/// `#!/usr/libexec/platform-python` (RHEL 8, which may have no `python3` at all), sometimes with
/// one argument (`-s`). The batch must run under this interpreter: only it has the dnf module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    pub program: String,
    pub argument: Option<String>,
}

/// The interpreter of `/usr/bin/dnf`, or why there is none.
pub fn interpreter(gathered: &Gathered) -> Result<Interpreter, AssessError> {
    match gathered.file(DNF_SCRIPT)? {
        None => Err(AssessError::new(DNF_SCRIPT, Problem::ToolMissing)),
        Some(script) => parse_interpreter(script),
    }
}

/// Reads the `#!` line as Linux does: the interpreter's path, then at most one argument (the
/// rest of the line). Only a Python interpreter is accepted, named directly or through
/// `/usr/bin/env`: the batch is Python, and any other interpreter would run it as something else.
pub fn parse_interpreter(script: &str) -> Result<Interpreter, AssessError> {
    let first_line = script.lines().next().unwrap_or("");
    let not_python = || {
        let shown: String = first_line.chars().take(80).collect();
        AssessError::new(
            DNF_SCRIPT,
            Problem::Invalid(format!(
                "not a Python script (its first line is {shown:?}): patchctl assesses RPM hosts \
                 with dnf 4, which is one"
            )),
        )
    };
    let line = first_line.strip_prefix("#!").ok_or_else(not_python)?;
    let line = line.trim_matches([' ', '\t']);
    let (program, argument) = match line.split_once([' ', '\t']) {
        Some((program, argument)) => (program, Some(argument.trim_matches([' ', '\t']))),
        None => (line, None),
    };
    let argument = argument.filter(|a| !a.is_empty());
    let is_word =
        |w: &str| !w.is_empty() && !w.chars().any(|c| c.is_whitespace() || c.is_control());
    let is_python = |path: &str| {
        let name = path.rsplit('/').next().unwrap_or(path);
        name.starts_with("python") || name.starts_with("platform-python")
    };
    let python = match argument {
        _ if !program.starts_with('/') || !is_word(program) => false,
        Some(argument) if program.rsplit('/').next() == Some("env") => {
            is_word(argument) && is_python(argument)
        }
        Some(argument) => is_python(program) && !argument.chars().any(char::is_control),
        None => is_python(program),
    };
    if !python {
        return Err(not_python());
    }
    Ok(Interpreter { program: program.to_owned(), argument: argument.map(str::to_owned) })
}

/// The outputs of the batch's commands under their own keys, and the plugin files under
/// [`PLUGIN_FILES`], added to a copy of `gathered`. When neither the batch nor dnf's script was
/// gathered (tests that give each command's output directly), the copy is unchanged.
pub fn expand(gathered: &Gathered, commands: &[DnfCommand]) -> Result<Gathered, AssessError> {
    let mut expanded = gathered.clone();
    if gathered.get(DNF_SCRIPT).is_none() && gathered.get(BATCH).is_none() {
        return Ok(expanded);
    }
    interpreter(gathered)?;
    let batch = parse(gathered.stdout(BATCH, &[0])?, commands.len())?;
    expanded.insert(PLUGIN_FILES, ProbeOutput::Dir(Some(batch.plugin_files)));
    for (command, output) in commands.iter().zip(batch.outputs) {
        expanded.insert(command.key, output);
    }
    Ok(expanded)
}

/// The batch's output, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutput {
    pub plugin_files: Vec<String>,
    /// One [`ProbeOutput::Ran`] per command, in the order given.
    pub outputs: Vec<ProbeOutput>,
}

/// Parses the framed output of `n_commands` commands (the format is described at the top of
/// `batch.py`). Anything else, including output cut anywhere, is an error: the end line says
/// the batch finished.
pub fn parse(stdout: &str, n_commands: usize) -> Result<BatchOutput, AssessError> {
    let mut reader = Reader { rest: stdout, line_number: 0 };
    let magic = reader.line()?;
    if magic != MAGIC {
        return Err(reader.garbage(magic, MAGIC));
    }
    let plugins = reader.line()?;
    let plugin_files: Vec<String> = match plugins.strip_prefix("plugins") {
        Some("") => Vec::new(),
        Some(names) if names.starts_with(' ') => names[1..].split(' ').map(str::to_owned).collect(),
        _ => return Err(reader.garbage(plugins, "plugins FILE...")),
    };
    if !plugin_files.iter().all(|f| f.ends_with(".py") && super::nevra::is_name(f)) {
        return Err(reader.garbage(plugins, "plugins FILE.py..."));
    }
    let mut outputs = Vec::with_capacity(n_commands);
    for index in 1..=n_commands {
        const HEADER: &str = "command INDEX exit CODE stdout BYTES stderr BYTES";
        let header = reader.line()?;
        let words: Vec<&str> = header.split(' ').collect();
        let ["command", i, "exit", code, "stdout", n_stdout, "stderr", n_stderr] = words[..] else {
            return Err(reader.garbage(header, HEADER));
        };
        let number = |w: &str| -> Option<usize> {
            if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            w.parse().ok()
        };
        let (Some(i), Some(code), Some(n_stdout), Some(n_stderr)) =
            (number(i), number(code), number(n_stdout), number(n_stderr))
        else {
            return Err(reader.garbage(header, HEADER));
        };
        if i != index || code > 255 {
            return Err(reader.garbage(header, &format!("the header of command {index}")));
        }
        let stdout = reader.bytes(n_stdout, index, "standard output")?;
        let stderr = reader.bytes(n_stderr, index, "standard error")?;
        outputs.push(ProbeOutput::Ran {
            exit_code: code as i32,
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        });
    }
    let end = reader.line()?;
    if end != format!("end {n_commands}") {
        return Err(reader.garbage(end, &format!("end {n_commands}")));
    }
    if !reader.rest.is_empty() {
        return Err(AssessError::new(
            BATCH,
            Problem::Invalid("output after the end line: two batches in one?".into()),
        ));
    }
    Ok(BatchOutput { plugin_files, outputs })
}

/// Reads the batch's output: framing lines, and blocks of a given length between them.
struct Reader<'a> {
    rest: &'a str,
    /// Of the last line read, counting the lines inside blocks.
    line_number: usize,
}

impl<'a> Reader<'a> {
    fn line(&mut self) -> Result<&'a str, AssessError> {
        let Some((line, rest)) = self.rest.split_once('\n') else {
            return Err(AssessError::new(
                BATCH,
                Problem::Invalid(format!(
                    "the output stops after line {}, before the batch's end line",
                    self.line_number
                )),
            ));
        };
        self.rest = rest;
        self.line_number += 1;
        Ok(line)
    }

    fn bytes(&mut self, n: usize, index: usize, what: &str) -> Result<&'a str, AssessError> {
        // `get` rather than indexing: a length that ends inside a character is an error too.
        let Some(block) = self.rest.get(..n) else {
            return Err(AssessError::new(
                BATCH,
                Problem::Invalid(format!(
                    "command {index}'s {what} is announced as {n} bytes, but {} follow",
                    if n > self.rest.len() { "fewer" } else { "a cut character" }
                )),
            ));
        };
        self.rest = &self.rest[n..];
        self.line_number += block.matches('\n').count();
        Ok(block)
    }

    fn garbage(&self, line: &str, expected: &str) -> AssessError {
        AssessError::garbage(BATCH, self.line_number, line, expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: [DnfCommand; 2] = [
        DnfCommand { key: "dnf check-update", args: &["-q", "check-update"] },
        DnfCommand { key: "dnf check", args: &["-q", "--disablerepo=*", "check"] },
    ];

    #[test]
    fn argv() {
        let python = Interpreter { program: "/usr/bin/python3".into(), argument: None };
        let spec = command(&python, &TWO);
        assert_eq!(
            spec.argv,
            [
                "/usr/bin/python3",
                "-c",
                PROGRAM,
                "/usr/bin/dnf",
                "-q",
                "check-update",
                ";",
                "-q",
                "--disablerepo=*",
                "check"
            ]
        );
        assert!(spec.env.contains(&("LC_ALL".to_owned(), "C".to_owned())));
        let with_flag =
            Interpreter { program: "/usr/bin/python3".into(), argument: Some("-s".into()) };
        assert_eq!(command(&with_flag, &TWO).argv[..3], ["/usr/bin/python3", "-s", "-c"]);
        assert_eq!(TWO[1].display(), "dnf -q '--disablerepo=*' check");
    }

    #[test]
    fn interpreters() {
        let captured = include_str!("../../test_data/dnf/usr-bin-dnf");
        let parsed = parse_interpreter(captured).unwrap();
        assert_eq!((parsed.program.as_str(), parsed.argument), ("/usr/bin/python3", None));
        for (line, program, argument) in [
            ("#!/usr/libexec/platform-python\n", "/usr/libexec/platform-python", None),
            ("#! /usr/bin/python3 -s\n", "/usr/bin/python3", Some("-s")),
            ("#!/usr/bin/python3.12 -sP  \n", "/usr/bin/python3.12", Some("-sP")),
            ("#!/usr/bin/env python3\n", "/usr/bin/env", Some("python3")),
        ] {
            let parsed = parse_interpreter(line).unwrap();
            assert_eq!(
                (parsed.program.as_str(), parsed.argument.as_deref()),
                (program, argument),
                "{line:?}"
            );
        }
        for bad in [
            "",
            "\u{7f}ELF\u{2}\u{1}",
            "#!/bin/sh\nexec /usr/bin/dnf-3 \"$@\"\n",
            "#!python3\n",
            "#!/usr/bin/env -S python3 -s\n",
            "#!/usr/bin/env\n",
            "# /usr/bin/python3\n",
        ] {
            let err = parse_interpreter(bad).unwrap_err();
            assert_eq!(err.step, DNF_SCRIPT);
            assert!(matches!(err.problem, Problem::Invalid(_)), "{bad:?}");
        }
        let mut gathered = Gathered::new();
        gathered.insert(DNF_SCRIPT, ProbeOutput::File(None));
        assert_eq!(interpreter(&gathered).unwrap_err().problem, Problem::ToolMissing);
        assert!(followup_probes(&gathered, &TWO).is_empty());
    }

    const UPDATES: &str = include_str!("../../test_data/dnf/updates-dnf-batch.stdout");

    #[test]
    fn captured_batches() {
        let updates = parse(UPDATES, 6).unwrap();
        assert_eq!(updates.plugin_files.len(), 21);
        assert!(updates.plugin_files.iter().any(|f| f == "versionlock.py"));
        // The commands' outputs are those of the same commands run alone (in the same state on
        // 2026-11-21, see CAPTURE.md; needs-restarting -s then gave another answer).
        assert_eq!(updates.outputs[0], captured!("updates-check-update"));
        assert_eq!(updates.outputs[1], captured!("updates-updateinfo-list"));
        assert_eq!(updates.outputs[2], captured!("updates-updateinfo-list-cves"));
        assert_eq!(updates.outputs[3], captured!("updates-needs-restarting-r"));
        assert_eq!(updates.outputs[5], captured!("updates-check"));
        let ProbeOutput::Ran { exit_code: 1, stderr, .. } = &updates.outputs[4] else { panic!() };
        assert!(stderr.contains("dbus.exceptions.DBusException"));

        let with_lock =
            parse(include_str!("../../test_data/dnf/updates-dnf-batch-versionlock.stdout"), 7)
                .unwrap();
        assert_eq!(with_lock.outputs[..6], updates.outputs[..]);
        assert_eq!(with_lock.outputs[6], captured!("updates-versionlock-list"));

        let no_plugins =
            parse(include_str!("../../test_data/dnf/no-plugins-dnf-batch.stdout"), 6).unwrap();
        assert!(!no_plugins.plugin_files.iter().any(|f| f == "versionlock.py"));
        assert_eq!(no_plugins.outputs[3], captured!("no-plugins-needs-restarting-r"));
        let none = parse(include_str!("../../test_data/dnf/none-dnf-batch.stdout"), 6).unwrap();
        assert_eq!(none.outputs[0], captured!("none-check-update"));
    }

    #[test]
    fn the_wrong_number_of_commands_is_an_error() {
        for n in [0, 5, 7] {
            let err = parse(UPDATES, n).unwrap_err();
            assert_eq!(err.step, BATCH);
            assert!(matches!(err.problem, Problem::Garbage { .. }), "{n}: {err}");
        }
    }

    #[test]
    fn every_cut_is_an_error() {
        for cut in 0..UPDATES.len() {
            if let Some(prefix) = UPDATES.get(..cut) {
                let err = parse(prefix, 6).unwrap_err();
                assert_eq!(err.step, BATCH, "{cut}");
            }
        }
    }

    #[test]
    fn garbage() {
        let frame = |header: &str, body: &str| {
            format!("{MAGIC}\nplugins versionlock.py\n{header}\n{body}end 1\n")
        };
        let good = frame("command 1 exit 0 stdout 3 stderr 2", "é\nok");
        let parsed = parse(&good, 1).unwrap();
        assert_eq!(
            parsed.outputs,
            [ProbeOutput::Ran { exit_code: 0, stdout: "é\n".into(), stderr: "ok".into() }]
        );
        for bad in [
            // Lengths that do not match what follows, or end inside a character.
            frame("command 1 exit 0 stdout 4 stderr 2", "é\nok"),
            frame("command 1 exit 0 stdout 1 stderr 4", "é\nok"),
            frame("command 1 exit 0 stdout 99999999999999999999 stderr 0", ""),
            frame("command 1 exit 0 stdout -1 stderr 0", ""),
            // The wrong index, an exit code no process has, missing or extra words.
            frame("command 2 exit 0 stdout 0 stderr 0", ""),
            frame("command 1 exit 256 stdout 0 stderr 0", ""),
            frame("command 1 exit 0 stdout 0", ""),
            frame("command 1 exit 0 stdout 0 stderr 0 more", ""),
            frame("command 1 exit +0 stdout 0 stderr 0", ""),
            format!("{good}end 1\n"),
            good.replacen(MAGIC, "patchctl-dnf-batch 2", 1),
            good.replacen("plugins versionlock.py", "plugins two words.py", 1),
            good.replacen("plugins versionlock.py", "modules versionlock.py", 1),
            good.replacen("plugins versionlock.py", "plugins  versionlock.py", 1),
            String::new(),
        ] {
            let err = parse(&bad, 1).unwrap_err();
            assert_eq!(err.step, BATCH, "{bad:?}");
        }
        assert!(parse(&format!("{MAGIC}\nplugins\nend 0\n"), 0).unwrap().plugin_files.is_empty());
    }

    #[test]
    fn expand_files_each_output_under_its_command() {
        let mut gathered = Gathered::new();
        gathered.insert(DNF_SCRIPT, ProbeOutput::File(Some("#!/usr/bin/python3\n".into())));
        gathered.insert(
            BATCH,
            ProbeOutput::Ran { exit_code: 0, stdout: UPDATES.into(), stderr: String::new() },
        );
        let commands = [TWO[0], TWO[1], TWO[0], TWO[0], TWO[0], TWO[1]];
        let expanded = expand(&gathered, &commands).unwrap();
        assert_eq!(expanded.get(TWO[1].key), Some(&captured!("updates-check")));
        assert!(expanded.dir(PLUGIN_FILES).unwrap().is_some());
        // The batch could not start: its own error, under its own step.
        gathered.insert(BATCH, captured!("no-dnf-module-dnf-batch"));
        let err = expand(&gathered, &commands).unwrap_err();
        assert_eq!(err.step, BATCH);
        assert!(err.to_string().contains("No module named 'dnf'"), "{err}");
        // Nothing gathered for dnf at all: as given.
        assert!(expand(&Gathered::new(), &commands).unwrap().get(BATCH).is_none());
    }
}
