//! dnf's configuration files (`/etc/dnf/dnf.conf`, a plugin's `NAME.conf`), read for the few
//! `[main]` options patchctl decides on. The reader follows only the plain form of libdnf's INI
//! format and answers `None` for anything else, so that a caller in doubt can ask dnf itself
//! instead of guessing what dnf makes of the file.

use std::collections::HashMap;

/// The `[main]` section's options, or `None` when the file has a line this reader does not
/// follow: a continuation line (libdnf reads an indented line as more of the previous value), a
/// line that is neither `[section]`, `key = value`, a comment nor blank, a carriage return, or
/// the same option twice. Values are as written, without substitution of `$variables`.
pub fn main_options(text: &str) -> Option<MainOptions<'_>> {
    let mut options = HashMap::new();
    let mut in_main = false;
    for line in text.split('\n') {
        if line.contains('\r') {
            return None;
        }
        let trimmed = line.trim_matches([' ', '\t']);
        if trimmed.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return None;
        }
        if trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = trimmed.strip_prefix('[') {
            let name = section.strip_suffix(']')?;
            if name.contains([']', '[']) {
                return None;
            }
            in_main = name == "main";
            continue;
        }
        let (key, value) = trimmed.split_once('=')?;
        let key = key.trim_end_matches([' ', '\t']);
        if key.is_empty() || key.contains([' ', '\t']) {
            return None;
        }
        if in_main && options.insert(key, value.trim_start_matches([' ', '\t'])).is_some() {
            return None;
        }
    }
    Some(MainOptions { options })
}

/// The `[main]` options of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainOptions<'a> {
    options: HashMap<&'a str, &'a str>,
}

/// What one option says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Unset,
    Set(&'a str),
    /// Written in another case (`Enabled`): whether libdnf takes it for the option is not
    /// something to guess.
    Unclear,
}

impl<'a> MainOptions<'a> {
    pub fn get(&self, name: &str) -> Value<'a> {
        let mut value = Value::Unset;
        for (key, v) in &self.options {
            if *key == name {
                value = Value::Set(v);
            } else if key.eq_ignore_ascii_case(name) {
                return Value::Unclear;
            }
        }
        value
    }

    /// A boolean option: `Some(default)` when unset, `None` when unclear or not one of libdnf's
    /// words for true and false.
    pub fn get_bool(&self, name: &str, default: bool) -> Option<bool> {
        match self.get(name) {
            Value::Unset => Some(default),
            Value::Set(text) => parse_bool(text),
            Value::Unclear => None,
        }
    }
}

/// libdnf's booleans (`OptionBool`): `1`, `yes`, `true`, `on` and `0`, `no`, `false`, `off`, in
/// any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_files() {
        let dnf_conf = main_options(include_str!("../../test_data/dnf/dnf.conf")).unwrap();
        assert_eq!(dnf_conf.get("installonly_limit"), Value::Set("3"));
        assert_eq!(dnf_conf.get_bool("plugins", true), Some(true));
        assert_eq!(dnf_conf.get("pluginconfpath"), Value::Unset);
        let lock_conf =
            main_options(include_str!("../../test_data/dnf/updates-versionlock.conf")).unwrap();
        assert_eq!(lock_conf.get_bool("enabled", true), Some(true));
        assert_eq!(lock_conf.get("locklist"), Value::Set("/etc/dnf/plugins/versionlock.list"));
    }

    #[test]
    fn plain_forms() {
        let text =
            "# comment\n; comment\n\n[main]\nenabled=0\nlocklist =  /x y \n[other]\nenabled=1\n";
        let options = main_options(text).unwrap();
        assert_eq!(options.get_bool("enabled", true), Some(false));
        assert_eq!(options.get("locklist"), Value::Set("/x y"));
        assert_eq!(main_options("").unwrap().get("enabled"), Value::Unset);
        let unclear = main_options("[main]\nEnabled = 0\n").unwrap();
        assert_eq!(unclear.get("enabled"), Value::Unclear);
        assert_eq!(unclear.get_bool("enabled", true), None);
        let odd = main_options("[main]\nenabled = maybe\n").unwrap();
        assert_eq!(odd.get_bool("enabled", true), None);
        assert_eq!(parse_bool("Off"), Some(false));
    }

    #[test]
    fn anything_else_is_none() {
        for text in [
            "[main]\nlocklist = /a\n  /b\n",
            "[main]\nenabled\n",
            "[main\nenabled=1\n",
            "[main]]\n",
            "[main]\nenabled=1\r\n",
            "[main]\nenabled=1\nenabled=0\n",
            "[main]\n= 1\n",
            "[main]\nlock list = /a\n",
        ] {
            assert_eq!(main_options(text), None, "{text:?}");
        }
    }
}
