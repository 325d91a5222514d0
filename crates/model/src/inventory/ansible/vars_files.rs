//! The `group_vars/` and `host_vars/` folders beside an inventory, as Ansible reads them: a
//! file `group_vars/NAME` (no extension, `.yml`, `.yaml` or `.json`), or every such file in a
//! folder `group_vars/NAME/`, holds a YAML mapping of variables for the group `NAME` (`all`
//! included); `host_vars/` likewise for hosts. Their variables beat those the inventory itself
//! sets for the same group or host. The shell lists and reads the files
//! ([`vars_scope`] says which of them count); this module only parses them.

use std::path::{Path, PathBuf};

use super::{MAX_LINE_BYTES, Place, Source, VAULT_HEADER, is_implicit, long_line, yaml};

/// One variables file, read by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarsFile {
    /// As messages name it.
    pub path: PathBuf,
    pub scope: VarsScope,
    pub text: String,
}

/// Whose variables a file holds: the name of the file (`web.yml`) or folder (`web`) under
/// `group_vars/` or `host_vars/`, as written. A file's name means the group or host of that
/// name, or else of that name without its extension (`db1.example.com` is a host, `web.yml`
/// the group `web`), as Ansible looks for `NAME`, `NAME.yml`, `NAME.yaml` and `NAME.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarsScope {
    Group(VarsName),
    Host(VarsName),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarsName {
    pub name: String,
    /// In a folder `group_vars/NAME/`: `name` is the folder's, whole.
    pub in_folder: bool,
}

/// Whose variables the file at `relative` (to the inventory's folder) holds:
/// `group_vars/NAME` (no extension, `.yml`, `.yaml`, `.json`) or `group_vars/NAME/…/FILE`
/// likewise, and `host_vars/` the same way; `None` for any other file (Ansible skips other
/// extensions and hidden files).
pub fn vars_scope(relative: &Path) -> Option<VarsScope> {
    let mut parts = relative.components().map(|c| c.as_os_str().to_str());
    let kind = parts.next()??;
    let first = parts.next()??;
    let last = relative.file_name()?.to_str()?;
    let in_folder = relative.components().count() > 2;
    // A host's file may be named by a host name with dots (`db1.example.com`); a file in a
    // folder must have no extension or one of the three.
    if last.starts_with('.') || (in_folder && !has_vars_extension(last)) {
        return None;
    }
    let name = VarsName { name: first.to_owned(), in_folder };
    match kind {
        "group_vars" => Some(VarsScope::Group(name)),
        "host_vars" => Some(VarsScope::Host(name)),
        _ => None,
    }
}

fn has_vars_extension(name: &str) -> bool {
    match Path::new(name).extension().and_then(|e| e.to_str()) {
        None => true,
        Some(extension) => matches!(extension, "yml" | "yaml" | "json"),
    }
}

/// The names a file's name may mean, most literal first.
fn candidates(name: &VarsName) -> Vec<&str> {
    let mut out = vec![name.name.as_str()];
    if !name.in_folder
        && let Some(stripped) =
            [".yml", ".yaml", ".json"].iter().find_map(|e| name.name.strip_suffix(e))
    {
        out.push(stripped);
    }
    out
}

/// Reads one variables file into the inventory read so far.
pub(super) fn read(source: &mut Source<'_>, file: &VarsFile) {
    source.vars_paths.push(file.path.clone());
    let index = source.vars_paths.len();
    let at = |line, column| Place { file: index, line, column };
    if file.text.trim_start().starts_with(VAULT_HEADER) {
        return source.error(
            at(1, 1),
            "the file is encrypted with ansible-vault: patchctl does not read vault passwords; \
             decrypt it first (ansible-vault decrypt)"
                .to_owned(),
        );
    }
    if let Some((line, length)) = long_line(&file.text) {
        let message = format!(
            "this line is {length} bytes long, more than the {MAX_LINE_BYTES} a variables file \
             line may have"
        );
        return source.error(at(line, 1), message);
    }
    let Some(vars) = yaml::parse_vars(source, &file.text, index) else { return };
    let (kind, written) = match &file.scope {
        VarsScope::Group(name) => ("group", name),
        VarsScope::Host(name) => ("host", name),
    };
    let known = |name: &str| match kind {
        "group" => is_implicit(name) || source.group(name).is_some(),
        _ => source.host_index.contains_key(name),
    };
    let Some(name) = candidates(written).into_iter().find(|n| known(n)).map(str::to_owned) else {
        // Ansible ignores them too; a typo in a file name should not pass unseen.
        let message = format!(
            "the inventory has no {kind} {:?}: its variables are not used",
            candidates(written).last().unwrap_or(&"")
        );
        return source.warn(at(1, 1), format!("{kind} {:?}", written.name), None, message);
    };
    if kind == "group" {
        source.group_mut(&name, at(1, 1)).vars.extend(vars);
    } else {
        let host = source.host_index[&name];
        source.hosts[host].vars.extend(vars);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_files_count() {
        let scope = |kind: &str, name: &str, in_folder: bool| {
            let name = VarsName { name: name.to_owned(), in_folder };
            Some(if kind == "group" { VarsScope::Group(name) } else { VarsScope::Host(name) })
        };
        for (path, expected) in [
            ("group_vars/all", scope("group", "all", false)),
            ("group_vars/web.yml", scope("group", "web.yml", false)),
            ("group_vars/web/main.yml", scope("group", "web", true)),
            ("group_vars/web/sub/more", scope("group", "web", true)),
            ("host_vars/db1.example.com", scope("host", "db1.example.com", false)),
            ("group_vars/.web.yml", None),
            ("group_vars/web/notes.md", None),
            ("other/web.yml", None),
            ("group_vars", None),
        ] {
            assert_eq!(vars_scope(Path::new(path)), expected, "{path}");
        }
        let name = |name: &str, in_folder| VarsName { name: name.to_owned(), in_folder };
        assert_eq!(candidates(&name("web.yml", false)), ["web.yml", "web"]);
        assert_eq!(candidates(&name("web.yml", true)), ["web.yml"]);
        assert_eq!(candidates(&name("db1.example.com", false)), ["db1.example.com"]);
    }
}
