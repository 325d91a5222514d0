//! Turns an argv into the one string an SSH exec request carries. The remote user's login shell
//! parses that string, so every word is quoted for a POSIX shell (sh, dash, bash, ksh, zsh) and
//! the program receives exactly the argv we meant. Login shells that are not POSIX (csh, fish)
//! are not supported: they read quotes differently.

use crate::Command;

/// A word holding a NUL byte: no shell, and no C program's argv, can carry one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a NUL byte cannot be passed in a command line")]
pub struct NulByte;

/// Quotes one word so that a POSIX shell reads it back as exactly that word.
///
/// Words made only of characters that no shell treats specially are left as they are, so
/// command lines stay readable in logs. Everything else goes in single quotes, inside which a
/// shell interprets nothing at all; a `'` itself is written `'\''` (close the quotes, an escaped
/// quote, reopen them).
pub fn shell_quote(word: &str) -> Result<String, NulByte> {
    if word.contains('\0') {
        return Err(NulByte);
    }
    if !word.is_empty() && word.chars().enumerate().all(|(i, c)| is_plain(c, i == 0)) {
        return Ok(word.to_owned());
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('\'');
    for c in word.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    Ok(quoted)
}

/// Characters that mean nothing to any POSIX shell. `=` is not plain at the start of a word,
/// where zsh expands `=name` to a path; `~`, `*`, `?`, `[`, `{`, `#` and `%` are never plain.
fn is_plain(c: char, first: bool) -> bool {
    c.is_ascii_alphanumeric() || "_./:,+@-".contains(c) || (c == '=' && !first)
}

/// The string to exec for `command`:
/// `exec [sudo -n --] sh -c SUPERVISOR patchctl [env NAME=value…] argv…`.
///
/// Environment variables go through `env` on the command line because sshd ignores SSH `env`
/// requests unless its `AcceptEnv` lists them; after `sudo`, because sudo resets the
/// environment. The supervisor runs as the same user as the command, so it can stop it.
pub(crate) fn command_line(command: &Command, sudo: bool) -> Result<String, String> {
    let (program, _) = command.argv.split_first().ok_or("empty command")?;
    if program.starts_with('-') {
        return Err(format!("program name {program:?} starts with '-'"));
    }
    if !command.env.is_empty() && program.contains('=') {
        // `env` would take it for one more variable.
        return Err(format!("program name {program:?} contains '='"));
    }
    let mut words: Vec<String> = vec!["exec".into()];
    if sudo {
        words.extend(["sudo", "-n", "--"].map(String::from));
    }
    words.extend(["sh".into(), "-c".into(), quote(SUPERVISOR)?, "patchctl".into()]);
    if !command.env.is_empty() {
        words.push("env".into());
        for (name, value) in &command.env {
            if !is_variable_name(name) {
                return Err(format!("{name:?} is not a valid environment variable name"));
            }
            words.push(quote(&format!("{name}={value}"))?);
        }
    }
    for word in &command.argv {
        words.push(quote(word)?);
    }
    Ok(words.join(" "))
}

/// Runs the command (its argv is `"$@"`) and stays with it, so that it does not outlive the
/// channel: when the channel's input ends (patchctl sends EOF when it gives up on a command:
/// timeout, output cap, a caller that stopped waiting; sshd closes it when the connection is
/// lost), it sends SIGTERM to the whole session (the process group sshd made for it), and
/// SIGKILL 2 s later. sshd does none of this itself: without a terminal, a command whose
/// channel is closed keeps running, and sshd refuses SSH "signal" requests on root logins.
///
/// The command's exit status is passed on; killed by a signal, it is 128 + the signal, as the
/// local transport reports it. Its standard input is empty, as with the local transport.
///
/// A background job's input is /dev/null unless redirected, so the watcher gets the channel's
/// input through fd 3. The supervisor's own stderr goes to /dev/null once the command runs, so
/// that bash (sh on some systems) does not add "Killed" job notices to the command's stderr.
const SUPERVISOR: &str = r#"exec 3<&0
"$@" </dev/null 3<&- &
child=$!
{ trap '' TERM; while read -r _; do :; done; kill -TERM 0; sleep 2; kill -KILL 0; } <&3 3<&- >/dev/null 2>&1 &
watcher=$!
exec 3<&- 2>/dev/null
wait "$child"
status=$?
kill -KILL "$watcher"
exit "$status""#;

fn quote(word: &str) -> Result<String, String> {
    shell_quote(word).map_err(|NulByte| format!("{word:?} contains a NUL byte"))
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words a shell parses out of `printf '%s\0' QUOTED…`, or None when that shell is not
    /// installed here.
    fn parsed_back(shell: &[&str], quoted: &[String]) -> Option<Vec<String>> {
        let script = format!("printf '%s\\0' {}", quoted.join(" "));
        let output = std::process::Command::new(shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(script)
            .output()
            .ok()?;
        assert!(output.status.success(), "{shell:?}: {}", String::from_utf8_lossy(&output.stderr));
        let mut words: Vec<String> =
            String::from_utf8(output.stdout).unwrap().split('\0').map(String::from).collect();
        assert_eq!(words.pop().as_deref(), Some(""), "printf ends every word with a NUL");
        Some(words)
    }

    const HOSTILE: &[&str] = &[
        "$(reboot)",
        "`reboot`",
        "a;reboot",
        ";",
        "&&",
        "|",
        "a\nreboot",
        "'",
        "''",
        "it's",
        "\"quoted\"",
        "back\\slash",
        "\\",
        "",
        " ",
        "two words",
        "tab\there",
        "$HOME",
        "${HOME}",
        "~",
        "~root",
        "*",
        "/etc/*",
        "?",
        "[a]",
        "{a,b}",
        "#comment",
        "!",
        "!!",
        "%1",
        "=ls",
        "a=b",
        "<in",
        ">out",
        "2>&1",
        "-rf",
        "--",
        "é",
        "日本語",
        "emoji 🦀",
        "\u{202e}rtl",
        "\x7f\x01",
    ];

    #[test]
    fn hostile_words_come_back_literally() {
        let quoted: Vec<String> = HOSTILE.iter().map(|w| shell_quote(w).unwrap()).collect();
        let mut shells_found = 0;
        let shells: [&[&str]; 7] =
            [&["sh"], &["dash"], &["bash"], &["zsh"], &["ksh"], &["mksh"], &["busybox", "sh"]];
        for shell in shells {
            let Some(words) = parsed_back(shell, &quoted) else { continue };
            shells_found += 1;
            assert_eq!(words, HOSTILE, "{shell:?}");
        }
        assert!(shells_found > 0, "no shell found to check against");
    }

    #[test]
    fn plain_words_stay_readable() {
        for word in ["apt-get", "-s", "--no-install-recommends", "LC_ALL=C", "/var/lib/dpkg", "a,b"]
        {
            assert_eq!(shell_quote(word).unwrap(), word);
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("").unwrap(), "''");
        assert_eq!(shell_quote("$(reboot)").unwrap(), "'$(reboot)'");
        assert_eq!(shell_quote("it's").unwrap(), "'it'\\''s'");
        assert_eq!(shell_quote("a\nb").unwrap(), "'a\nb'");
        assert_eq!(shell_quote("=ls").unwrap(), "'=ls'");
        assert_eq!(shell_quote("é").unwrap(), "'é'");
        assert_eq!(shell_quote("a\0b"), Err(NulByte));
    }

    fn command(argv: &[&str], env: &[(&str, &str)]) -> Command {
        Command {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn command_lines() {
        let supervisor = format!("sh -c {} patchctl", shell_quote(SUPERVISOR).unwrap());
        let line = command_line(&command(&["apt-get", "-s", "upgrade"], &[]), false).unwrap();
        assert_eq!(line, format!("exec {supervisor} apt-get -s upgrade"));
        let line = command_line(&command(&["echo", "$(id)"], &[("LC_ALL", "C")]), false).unwrap();
        assert_eq!(line, format!("exec {supervisor} env LC_ALL=C echo '$(id)'"));
        let line = command_line(&command(&["id", "-u"], &[("X", "a b")]), true).unwrap();
        assert_eq!(line, format!("exec sudo -n -- {supervisor} env 'X=a b' id -u"));
    }

    /// The whole line, as a login shell here runs it, with its input held open like a channel's
    /// and in a process group of its own like an SSH session's.
    fn spawn_line(login_shell: &str, line: &str) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(login_shell)
            .process_group(0)
            .arg("-c")
            .arg(line)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs the line to its end with its input open all along, as a channel's is.
    fn run_line(login_shell: &str, line: &str) -> std::process::Output {
        let mut child = spawn_line(login_shell, line);
        let input = child.stdin.take();
        let output = child.wait_with_output().unwrap();
        drop(input);
        output
    }

    #[test]
    fn the_supervised_command_gets_its_argv_and_env_and_gives_its_exit_status() {
        let mut argv = vec!["sh", "-c", "printf '%s\\0' \"$X\" \"$@\"; exit 7", "sh"];
        argv.extend(HOSTILE);
        let line = command_line(&command(&argv, &[("X", "$(x) 'y'")]), false).unwrap();
        let output = run_line("sh", &line);
        assert_eq!(output.status.code(), Some(7), "{}", String::from_utf8_lossy(&output.stderr));
        let mut expected = vec!["$(x) 'y'"];
        expected.extend(HOSTILE);
        let words: Vec<&str> = std::str::from_utf8(&output.stdout).unwrap().split('\0').collect();
        assert_eq!(words[..words.len() - 1], expected);

        let line = command_line(&command(&["sh", "-c", "kill -9 $$"], &[]), false).unwrap();
        for login_shell in ["sh", "bash"] {
            let output = run_line(login_shell, &line);
            assert_eq!(output.status.code(), Some(137), "{login_shell}");
            assert_eq!(
                String::from_utf8_lossy(&output.stderr),
                "",
                "{login_shell}: no job notices"
            );
        }
    }

    #[test]
    fn the_supervised_command_stops_when_its_input_ends() {
        // A shell that waits on a sleep: both must go.
        let script = "sleep 300; echo never";
        let line = command_line(&command(&["sh", "-c", script], &[]), false).unwrap();
        let mut child = spawn_line("sh", &line);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let start = std::time::Instant::now();
        drop(child.stdin.take());
        let status = child.wait().unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(15), "{status:?}");
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
        assert_eq!(stdout, "", "the sleep's shell was stopped too");
    }

    #[test]
    fn commands_that_cannot_be_passed() {
        for (argv, env) in [
            (&["echo", "a\0b"][..], &[][..]),
            (&["-x"], &[]),
            (&["a=b"], &[("X", "1")]),
            (&["echo"], &[("1X", "1")]),
            (&["echo"], &[("X Y", "1")]),
            (&["echo"], &[("X=Y", "1")]),
            (&["echo"], &[("", "1")]),
            (&["echo"], &[("X", "a\0")]),
            (&[], &[]),
        ] {
            assert!(command_line(&command(argv, env), false).is_err(), "{argv:?} {env:?}");
        }
    }
}
