//! Making the previous kernel the boot default after a rollback, where a real bootloader is
//! present. A rollback cannot remove the kernel a host is running, so it keeps it; unless the
//! bootloader is told otherwise, the host boots that kernel again at its next reboot. And the
//! other way: after an apply that installed a kernel, the newest kernel made the default on
//! the hosts where patchctl sets it, so that an earlier rollback's choice does not keep the
//! host on the old kernel.
//!
//! - [`bootloader_probe_command`] finds out, in one round trip, what picks the kernel: `grubby`
//!   (RHEL and Fedora), or GRUB's own tools beside `/boot/grub/grub.cfg` (Debian, Ubuntu;
//!   `grub2-*` beside `/boot/grub2/grub.cfg` elsewhere), or nothing (a container, a host booted by
//!   something patchctl does not know). [`parse_bootloader`] reads its output.
//! - [`previous_kernel`] names the kernel to boot: the one the host ran before the rollout,
//!   when it is still installed, else the newest installed that the rollback did not keep. The
//!   driver asks whenever a rollback touched a kernel package, not only when it kept one: a
//!   saved default naming the entry of a kernel the rollback removed would dangle, and GRUB
//!   would fall back to its first entry, whichever kernel that is.
//! - [`boot_default_change`] says how to make it the default, or why it is left alone. GRUB's
//!   default is only ours to change when `GRUB_DEFAULT=saved`: any other value is the
//!   administrator's choice, written in `/etc/default/grub`, and `grub-set-default` would not
//!   change what boots. The saved entry names the kernel's own menu entry (`submenu>entry`, by
//!   id), so it stays that kernel when newer ones are installed, until someone changes it: the
//!   report says so.
//! - After the change, the default is read back ([`parse_saved_default`]); a default that did
//!   not take is a failure, not a remark.

use model::{InstalledKernel, PackageManagerKind};

#[cfg(test)]
use super::install::PinnedPackage;
use super::rollback::KeptPackage;
use crate::probe::CommandSpec;

/// Each section of the probe's output starts with a line of this prefix, a space and a word.
const MARK: &str = "@@patchctl ";

/// What the probe runs: stops at the first bootloader it finds. `/etc/default/grub` is read the
/// way `grub-mkconfig` reads it, by sourcing it (and `/etc/default/grub.d/*.cfg`) in a subshell,
/// whose output is discarded.
const PROBE_SCRIPT: &str = include_str!("bootloader_probe.sh");
pub fn bootloader_probe_command() -> CommandSpec {
    CommandSpec::new(["sh", "-c", PROBE_SCRIPT])
}

/// What picks the kernel a host boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootloader {
    /// No bootloader patchctl knows: no `grubby`, no `grub.cfg` under /boot.
    None,
    /// A `grub.cfg` without `PREFIX-set-default` and `PREFIX-editenv` beside it.
    GrubWithoutTools {
        dir: String,
    },
    /// `grubby --default-kernel`'s answer: the boot image of the default entry; `None` when
    /// grubby could not tell (it exits non-zero when the default entry is gone).
    Grubby {
        default_kernel: Option<String>,
    },
    Grub(Grub),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grub {
    /// `/boot/grub` or `/boot/grub2`.
    pub dir: String,
    /// `grub` or `grub2`: the tools are `PREFIX-set-default` and `PREFIX-editenv`.
    pub tools: String,
    /// `GRUB_DEFAULT` as `grub-mkconfig` sees it (`0` when unset).
    pub grub_default: String,
    /// The `saved_entry` in `grubenv`, when there is one.
    pub saved_entry: Option<String>,
    pub entries: Vec<MenuEntry>,
}

/// A `menuentry` of `grub.cfg` that boots a Linux image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// How `saved_entry` names it: the ids (or titles, where there is no id) of its submenus
    /// and its own, joined by `>`.
    pub saved_name: String,
    pub title: String,
    /// Its own id, when it has one.
    pub id: Option<String>,
    /// From its `linux` line: the image's name after `vmlinuz-`.
    pub release: String,
    /// A recovery entry (`single` on the kernel's command line, or "recovery mode" in the title).
    pub recovery: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading the host's bootloader: {0}")]
pub struct BootloaderError(String);

fn error(what: impl Into<String>) -> BootloaderError {
    BootloaderError(what.into())
}

/// Reads [`bootloader_probe_command`]'s output.
pub fn parse_bootloader(exit_code: i32, stdout: &str) -> Result<Bootloader, BootloaderError> {
    if exit_code != 0 {
        return Err(error(format!("the probe exited {exit_code}")));
    }
    let sections = sections(stdout)?;
    let Some((head, body)) = sections.first() else {
        return Err(error("the probe printed nothing"));
    };
    let words: Vec<&str> = head.split(' ').collect();
    match words[..] {
        ["none"] => Ok(Bootloader::None),
        ["grub-without-tools", dir] => Ok(Bootloader::GrubWithoutTools { dir: dir.to_owned() }),
        ["grubby"] => {
            let default_kernel = match sections.get(1).map(|(head, _)| head.as_str()) {
                Some("exit 0") => Some(one_line(body, "`grubby --default-kernel`")?)
                    .filter(|image| !image.is_empty()),
                Some(exit) if exit.starts_with("exit ") => None,
                _ => return Err(error("the probe printed no exit code for grubby")),
            };
            Ok(Bootloader::Grubby { default_kernel })
        }
        ["grub", dir, tools] => {
            let section = |name: &str| {
                sections
                    .iter()
                    .find(|(head, _)| head == name)
                    .map(|(_, body)| body.as_str())
                    .ok_or_else(|| error(format!("the probe printed no {name} section")))
            };
            let grub_default = one_line(section("GRUB_DEFAULT")?, "GRUB_DEFAULT")?;
            let saved_entry = section("grubenv")?
                .lines()
                .find_map(|line| line.strip_prefix("saved_entry="))
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned);
            let entries = parse_grub_cfg(section("grub.cfg")?)?;
            Ok(Bootloader::Grub(Grub {
                dir: dir.to_owned(),
                tools: tools.to_owned(),
                grub_default,
                saved_entry,
                entries,
            }))
        }
        _ => Err(error(format!("unexpected first line {MARK}{head}"))),
    }
}

/// The probe's output as (mark, text up to the next mark). The text after `grub.cfg` is the
/// file, whatever it contains.
fn sections(stdout: &str) -> Result<Vec<(String, String)>, BootloaderError> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in stdout.split_inclusive('\n') {
        let in_cfg = sections.last().is_some_and(|(head, _)| head == "grub.cfg");
        match line.strip_prefix(MARK) {
            Some(head) if !in_cfg => sections.push((head.trim_end().to_owned(), String::new())),
            _ => match sections.last_mut() {
                Some((_, body)) => body.push_str(line),
                None => return Err(error(format!("output before the first mark: {line:?}"))),
            },
        }
    }
    Ok(sections)
}

/// The one line `text` is, perhaps empty (`GRUB_DEFAULT=""` is legal: the first entry).
fn one_line(text: &str, what: &str) -> Result<String, BootloaderError> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    if line.contains('\n') || line.chars().any(char::is_control) {
        return Err(error(format!("{what} is not one line: {text:?}")));
    }
    Ok(line.to_owned())
}

/// The Linux entries of a `grub.cfg` as `grub-mkconfig` writes it: `submenu` and `menuentry`
/// lines end in `{`, a block ends with a line `}`, and an entry's image is the first word after
/// `linux` (or `linux16`, `linuxefi`). Other blocks (`function`, `if`) are followed only to keep
/// the nesting right.
pub fn parse_grub_cfg(text: &str) -> Result<Vec<MenuEntry>, BootloaderError> {
    enum Block {
        Submenu(String),
        Entry { name: String, title: String, id: Option<String>, linux: Option<Vec<String>> },
        Other,
    }
    let mut stack: Vec<Block> = Vec::new();
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let at = || format!("grub.cfg line {}: {line:?}", number + 1);
        let words = shell_words(line.trim()).map_err(|why| error(format!("{}: {why}", at())))?;
        let Some(first) = words.first().map(String::as_str) else { continue };
        if first == "}" && words.len() == 1 {
            match stack.pop() {
                Some(Block::Entry { name, title, id, linux: Some(linux) }) => {
                    let Some(release) =
                        linux.first().and_then(|image| image.rsplit('/').next()).and_then(|file| {
                            file.strip_prefix("vmlinuz-").or_else(|| file.strip_prefix("vmlinux-"))
                        })
                    else {
                        continue;
                    };
                    // `vmlinuz-` alone names no kernel (found by fuzzing): not an entry for one.
                    if release.is_empty() {
                        continue;
                    }
                    let recovery = linux.iter().skip(1).any(|arg| arg == "single")
                        || title.contains("recovery mode");
                    entries.push(MenuEntry {
                        saved_name: name,
                        title,
                        id,
                        release: release.to_owned(),
                        recovery,
                    });
                }
                Some(_) => {}
                None => return Err(error(format!("{}: a `}}` closes no block", at()))),
            }
            continue;
        }
        if let Some(Block::Entry { linux, .. }) = stack.last_mut()
            && matches!(first, "linux" | "linux16" | "linuxefi")
        {
            *linux = Some(words[1..].to_vec());
        }
        if words.last().map(String::as_str) != Some("{") {
            continue;
        }
        stack.push(match first {
            "submenu" | "menuentry" => {
                let title = words
                    .get(1)
                    .filter(|title| title.as_str() != "{")
                    .ok_or_else(|| error(format!("{}: a {first} with no title", at())))?
                    .clone();
                let id = entry_id(&words);
                let own = id.clone().unwrap_or_else(|| title.clone());
                let parents: Vec<&str> = stack
                    .iter()
                    .filter_map(|block| match block {
                        Block::Submenu(name) => Some(name.as_str()),
                        _ => None,
                    })
                    .collect();
                let name =
                    if parents.is_empty() { own } else { format!("{}>{own}", parents.join(">")) };
                if first == "submenu" {
                    // A submenu's entries are named by its own name only, not its parents'.
                    Block::Submenu(id.unwrap_or(title))
                } else {
                    Block::Entry { name, title, id, linux: None }
                }
            }
            _ => Block::Other,
        });
    }
    if !stack.is_empty() {
        return Err(error(format!("grub.cfg ends inside {} open block(s)", stack.len())));
    }
    Ok(entries)
}

/// `--id ID`, `--id=ID`, or `grub-mkconfig`'s `$menuentry_id_option 'ID'` (which expands to
/// `--id` on GRUBs that know it).
fn entry_id(words: &[String]) -> Option<String> {
    words.iter().enumerate().find_map(|(i, word)| match word.as_str() {
        "--id" | "$menuentry_id_option" => words.get(i + 1).cloned(),
        _ => word.strip_prefix("--id=").map(str::to_owned),
    })
}

/// Splits a line of `grub.cfg` into words the way its (shell-like) syntax does for the lines
/// read here: single quotes literal, double quotes and backslashes as in sh; a `#` starting a
/// word starts a comment.
fn shell_words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("an unclosed single quote"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => w.extend(chars.next()),
                        Some(c) => w.push(c),
                        None => return Err("an unclosed double quote"),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The kernel a rolled-back host should boot: `running_before` (the kernel it ran when the plan
/// was made) when it is still installed; else the newest installed kernel that is not one the
/// rollback kept. `None` when there is none.
pub fn previous_kernel(
    kind: PackageManagerKind,
    running_before: &str,
    installed: &[InstalledKernel],
    kept: &[KeptPackage],
) -> Option<String> {
    if !running_before.is_empty() && installed.iter().any(|k| k.release == running_before) {
        return Some(running_before.to_owned());
    }
    installed
        .iter()
        .rev()
        .find(|kernel| {
            !kept
                .iter()
                .any(|kept| super::rollback::is_kernel_of(kind, &kept.package, &kernel.release))
        })
        .map(|kernel| kernel.release.clone())
}

/// How to make `release` the boot default, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootDefault {
    /// Run `set`, then `read_back`, whose output [`parse_saved_default`] must find `expect` in.
    Change {
        set: CommandSpec,
        read_back: CommandSpec,
        expect: String,
        describe: String,
    },
    /// Already the default: nothing to do.
    Already {
        describe: String,
    },
    Unchanged {
        reason: String,
    },
}

/// What to do with `bootloader` so that the host boots `release` next.
pub fn boot_default_change(bootloader: &Bootloader, release: &str) -> BootDefault {
    let unchanged = |reason: String| BootDefault::Unchanged { reason };
    match bootloader {
        Bootloader::None => unchanged(
            "no bootloader patchctl knows was found (no grubby, no grub.cfg in /boot/grub or \
             /boot/grub2)"
                .to_owned(),
        ),
        Bootloader::GrubWithoutTools { dir } => unchanged(format!(
            "{dir}/grub.cfg exists, but GRUB's set-default and editenv tools do not"
        )),
        Bootloader::Grubby { default_kernel } => {
            let image = format!("/boot/vmlinuz-{release}");
            let describe = format!("grubby's default kernel is {image}");
            if default_kernel.as_deref() == Some(image.as_str()) {
                return BootDefault::Already { describe };
            }
            BootDefault::Change {
                set: CommandSpec::new(["grubby".to_owned(), format!("--set-default={image}")]),
                read_back: CommandSpec::new(["grubby", "--default-kernel"]),
                expect: image,
                describe,
            }
        }
        Bootloader::Grub(grub) => grub_change(grub, release),
    }
}

fn grub_change(grub: &Grub, release: &str) -> BootDefault {
    if grub.grub_default != "saved" {
        return BootDefault::Unchanged {
            reason: format!(
                "GRUB_DEFAULT is {:?}, not \"saved\": the boot default is set in \
                 /etc/default/grub, and patchctl leaves it to its administrator",
                grub.grub_default
            ),
        };
    }
    let candidates: Vec<&MenuEntry> =
        grub.entries.iter().filter(|e| e.release == release && !e.recovery).collect();
    // The entry named for this kernel, not the first entry's "newest kernel" alias.
    let Some(entry) = candidates
        .iter()
        .find(|e| e.id.as_deref().is_some_and(|id| id.contains(release)))
        .or(candidates.first())
    else {
        return BootDefault::Unchanged {
            reason: format!("{}/grub.cfg has no menu entry for Linux {release}", grub.dir),
        };
    };
    // The entry's id becomes grub-set-default's argument, after which nothing ends its
    // options: an id beginning with '-' (a grub.cfg written by hand, or by someone hostile)
    // would be read as one. Found by fuzzing.
    if entry.saved_name.starts_with('-') {
        return BootDefault::Unchanged {
            reason: format!(
                "the menu entry for Linux {release} in {}/grub.cfg has the id {:?}, which \
                 begins with '-' and {}-set-default would read as an option: patchctl does not \
                 pass it",
                grub.dir, entry.saved_name, grub.tools
            ),
        };
    }
    let describe = format!(
        "GRUB's saved_entry is {:?} ({}); it stays the default when newer kernels are \
         installed, until `{}-set-default` changes it",
        entry.saved_name, entry.title, grub.tools
    );
    if grub.saved_entry.as_deref() == Some(entry.saved_name.as_str()) {
        return BootDefault::Already { describe };
    }
    BootDefault::Change {
        set: CommandSpec::new([format!("{}-set-default", grub.tools), entry.saved_name.clone()]),
        read_back: CommandSpec::new([
            format!("{}-editenv", grub.tools),
            format!("{}/grubenv", grub.dir),
            "list".to_owned(),
        ]),
        expect: entry.saved_name.clone(),
        describe,
    }
}

/// Whether the default read back after a [`BootDefault::Change`] is `expect`: `grubby
/// --default-kernel`'s one line, or the `saved_entry=` line of `grub-editenv list`.
pub fn parse_saved_default(exit_code: i32, stdout: &str, expect: &str) -> Result<(), String> {
    if exit_code != 0 {
        return Err(format!("reading the boot default back failed (exit code {exit_code})"));
    }
    let found = stdout.lines().find_map(|line| {
        let line = line.strip_prefix("saved_entry=").unwrap_or(line);
        (line == expect).then_some(line)
    });
    match found {
        Some(_) => Ok(()),
        None => Err(format!("the boot default read back is not {expect:?}: {:?}", stdout.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! captured {
        ($name:literal) => {
            (
                include_str!(concat!("../../test_data/bootloader/", $name, ".rc"))
                    .trim()
                    .parse::<i32>()
                    .unwrap(),
                include_str!(concat!("../../test_data/bootloader/", $name, ".stdout")),
            )
        };
    }

    const UUID: &str = "4f3c2b1a-9d8e-4c7b-a6f5-0e1d2c3b4a59";

    fn grub(name: (i32, &str)) -> Grub {
        match parse_bootloader(name.0, name.1).unwrap() {
            Bootloader::Grub(grub) => grub,
            other => panic!("not GRUB: {other:?}"),
        }
    }

    #[test]
    fn debian_grub_cfg_lists_every_kernel_and_its_recovery_entry() {
        let grub = grub(captured!("saved-probe"));
        assert_eq!((grub.dir.as_str(), grub.tools.as_str()), ("/boot/grub", "grub"));
        assert_eq!(grub.grub_default, "saved");
        assert_eq!(grub.saved_entry, None, "a new grubenv is empty");
        let entries: Vec<(&str, bool)> =
            grub.entries.iter().map(|e| (e.release.as_str(), e.recovery)).collect();
        assert_eq!(
            entries,
            [
                ("6.1.0-28-amd64", false),
                ("6.1.0-28-amd64", false),
                ("6.1.0-28-amd64", true),
                ("6.1.0-27-amd64", false),
                ("6.1.0-27-amd64", true),
                ("6.1.0-26-amd64", false),
                ("6.1.0-26-amd64", true),
                ("1.0-acme", false),
                ("1.0-acme", true),
            ]
        );
        assert_eq!(grub.entries[0].saved_name, format!("gnulinux-simple-{UUID}"));
        assert_eq!(grub.entries[0].title, "Debian GNU/Linux");
        assert_eq!(
            grub.entries[3].saved_name,
            format!("gnulinux-advanced-{UUID}>gnulinux-6.1.0-27-amd64-advanced-{UUID}")
        );
    }

    /// The name chosen is the one the capture gave `grub-set-default`, and `grub-editenv list`
    /// then shows it; the next probe finds it already set.
    #[test]
    fn saved_grub_gets_the_kernels_own_entry_and_reads_it_back() {
        let saved = format!("gnulinux-advanced-{UUID}>gnulinux-6.1.0-27-amd64-advanced-{UUID}");
        let BootDefault::Change { set, read_back, expect, describe } = boot_default_change(
            &Bootloader::Grub(grub(captured!("saved-probe"))),
            "6.1.0-27-amd64",
        ) else {
            panic!("a change")
        };
        assert_eq!(set.argv, ["grub-set-default", saved.as_str()]);
        assert_eq!(read_back.argv, ["grub-editenv", "/boot/grub/grubenv", "list"]);
        assert_eq!(expect, saved);
        assert!(describe.contains("Debian GNU/Linux, with Linux 6.1.0-27-amd64"), "{describe}");
        let (code, listed) = captured!("saved-editenv-list");
        assert_eq!(parse_saved_default(code, listed, &expect), Ok(()));
        assert!(parse_saved_default(code, listed, "gnulinux-simple").is_err());
        assert!(parse_saved_default(1, listed, &expect).is_err());

        let after = Bootloader::Grub(grub(captured!("saved-probe-after")));
        assert!(matches!(
            boot_default_change(&after, "6.1.0-27-amd64"),
            BootDefault::Already { .. }
        ));
    }

    #[test]
    fn the_newest_kernel_gets_its_own_entry_not_the_first_entrys_alias() {
        let change = boot_default_change(
            &Bootloader::Grub(grub(captured!("saved-probe"))),
            "6.1.0-28-amd64",
        );
        let BootDefault::Change { expect, .. } = change else { panic!("{change:?}") };
        assert_eq!(
            expect,
            format!("gnulinux-advanced-{UUID}>gnulinux-6.1.0-28-amd64-advanced-{UUID}")
        );
    }

    #[test]
    fn grub_default_other_than_saved_and_unknown_kernels_are_left_alone() {
        let default = Bootloader::Grub(grub(captured!("default-probe")));
        let BootDefault::Unchanged { reason } = boot_default_change(&default, "6.1.0-27-amd64")
        else {
            panic!("left alone")
        };
        assert!(reason.contains(r#"GRUB_DEFAULT is "0""#), "{reason}");
        let saved = Bootloader::Grub(grub(captured!("saved-probe")));
        let BootDefault::Unchanged { reason } = boot_default_change(&saved, "6.1.0-9-amd64") else {
            panic!("no such entry")
        };
        assert!(reason.contains("no menu entry for Linux 6.1.0-9-amd64"), "{reason}");
    }

    #[test]
    fn a_host_without_a_bootloader_says_so() {
        let (code, stdout) = captured!("none-probe");
        let bootloader = parse_bootloader(code, stdout).unwrap();
        assert_eq!(bootloader, Bootloader::None);
        let BootDefault::Unchanged { reason } = boot_default_change(&bootloader, "1.0-acme") else {
            panic!("unchanged")
        };
        assert!(reason.starts_with("no bootloader"), "{reason}");
    }

    /// Not captured: this machine's Debian has no grubby. Its answer is one path.
    #[test]
    fn grubby_sets_the_image_path() {
        let grubby = Bootloader::Grubby {
            default_kernel: Some("/boot/vmlinuz-5.14.0-428.el9.x86_64".into()),
        };
        let BootDefault::Change { set, read_back, expect, .. } =
            boot_default_change(&grubby, "5.14.0-427.el9.x86_64")
        else {
            panic!("a change")
        };
        assert_eq!(set.argv, ["grubby", "--set-default=/boot/vmlinuz-5.14.0-427.el9.x86_64"]);
        assert_eq!(read_back.argv, ["grubby", "--default-kernel"]);
        assert_eq!(
            parse_saved_default(0, "/boot/vmlinuz-5.14.0-427.el9.x86_64\n", &expect),
            Ok(())
        );
        // grubby could not tell: the default is set all the same.
        let failed = "@@patchctl grubby\nThe param /boot/vmlinuz is incorrect\n@@patchctl exit 1\n";
        let unknown = parse_bootloader(0, failed).unwrap();
        assert_eq!(unknown, Bootloader::Grubby { default_kernel: None });
        assert!(matches!(
            boot_default_change(&unknown, "5.14.0-427.el9.x86_64"),
            BootDefault::Change { .. }
        ));
        assert!(parse_bootloader(0, "@@patchctl grubby\n/boot/vmlinuz-1\n").is_err());
    }

    #[test]
    fn malformed_probe_output_and_grub_cfg_are_errors() {
        let (_, stdout) = captured!("saved-probe");
        assert!(parse_bootloader(1, stdout).is_err());
        assert!(parse_bootloader(0, "").is_err());
        assert!(parse_bootloader(0, "hello\n@@patchctl none\n").is_err());
        assert!(parse_bootloader(0, "@@patchctl lilo\n").is_err());
        let cut =
            &stdout[..stdout.find("\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-27").unwrap()];
        let error = parse_bootloader(0, cut).unwrap_err().to_string();
        assert!(error.contains("open block"), "{error}");
        assert!(parse_grub_cfg("menuentry 'unclosed {\n}\n").is_err());
        assert!(parse_grub_cfg("}\n").is_err());
        let two_lines = "@@patchctl grub /boot/grub grub\n@@patchctl GRUB_DEFAULT\na\nb\n\
                         @@patchctl grubenv\n@@patchctl grub.cfg\n";
        assert!(parse_bootloader(0, two_lines).is_err());
        let empty = two_lines.replace("a\nb\n", "\n");
        let Bootloader::Grub(grub) = parse_bootloader(0, &empty).unwrap() else { panic!("GRUB") };
        assert_eq!(grub.grub_default, "", "GRUB_DEFAULT=\"\" boots the first entry");
    }

    #[test]
    fn the_previous_kernel_is_the_one_ran_before_else_the_newest_not_kept() {
        let installed: Vec<InstalledKernel> =
            ["6.1.0-26-amd64", "6.1.0-27-amd64", "6.1.0-28-amd64"]
                .into_iter()
                .map(|release| InstalledKernel { release: release.into(), package: None })
                .collect();
        let kept = [KeptPackage {
            package: PinnedPackage::new("linux-image-6.1.0-28-amd64", "amd64", "6.1.119-1"),
            reason: String::new(),
        }];
        let apt = PackageManagerKind::Apt;
        assert_eq!(
            previous_kernel(apt, "6.1.0-26-amd64", &installed, &kept).unwrap(),
            "6.1.0-26-amd64"
        );
        // Ran before: a container's (not under /boot), or unknown.
        assert_eq!(
            previous_kernel(apt, "6.12.9-amd64", &installed, &kept).unwrap(),
            "6.1.0-27-amd64"
        );
        assert_eq!(previous_kernel(apt, "", &installed, &[]).unwrap(), "6.1.0-28-amd64");
        assert_eq!(previous_kernel(apt, "", &installed[2..], &kept), None);
        let rpm_kept = [KeptPackage {
            package: PinnedPackage::new("kernel-core", "x86_64", "5.14.0-428.el9"),
            reason: String::new(),
        }];
        let rpm: Vec<InstalledKernel> = ["5.14.0-427.el9.x86_64", "5.14.0-428.el9.x86_64"]
            .into_iter()
            .map(|release| InstalledKernel { release: release.into(), package: None })
            .collect();
        assert_eq!(
            previous_kernel(PackageManagerKind::Dnf, "", &rpm, &rpm_kept).unwrap(),
            "5.14.0-427.el9.x86_64"
        );
    }

    /// Found by fuzzing (crates/pkgmgr/test_data/bootloader/fuzz-entry-id-like-an-option.txt):
    /// a menu entry whose id begins with '-' is never passed to grub-set-default.
    #[test]
    fn an_entry_id_that_reads_as_an_option_is_not_passed() {
        let text = include_str!("../../test_data/bootloader/fuzz-entry-id-like-an-option.txt");
        let bootloader = parse_bootloader(0, text).unwrap();
        let Bootloader::Grub(grub) = &bootloader else { panic!("not GRUB: {bootloader:?}") };
        let mut refused = 0;
        for entry in &grub.entries {
            match boot_default_change(&bootloader, &entry.release) {
                BootDefault::Change { set, .. } => {
                    assert!(!set.argv.last().unwrap().starts_with('-'), "{set:?}");
                }
                BootDefault::Unchanged { reason } if reason.contains("begins with '-'") => {
                    refused += 1;
                }
                _ => {}
            }
        }
        assert!(refused > 0, "the fuzzer's entry was refused: {:?}", grub.entries);
    }

    /// Found by fuzzing (`fuzz-image-without-release.txt`): an image named `vmlinuz-` alone
    /// gives no entry, rather than an entry for a kernel with no release.
    #[test]
    fn an_image_without_a_release_is_no_entry() {
        let bytes = include_bytes!("../../test_data/bootloader/fuzz-image-without-release.txt");
        let text = &String::from_utf8_lossy(bytes);
        if let Ok(entries) = parse_grub_cfg(text) {
            assert!(entries.iter().all(|e| !e.release.is_empty()), "{entries:?}");
        }
        if let Ok(Bootloader::Grub(grub)) = parse_bootloader(0, text) {
            assert!(grub.entries.iter().all(|e| !e.release.is_empty()), "{:?}", grub.entries);
        }
        let entries = parse_grub_cfg("menuentry 'x' {\n\tlinux /boot/vmlinuz- root=/dev/sda1\n}\n");
        assert_eq!(entries.unwrap(), Vec::new());
    }
}
