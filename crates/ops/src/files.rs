//! Files patchctl keeps or trusts on the machine it runs on: the state database and the audit
//! anchors are created readable by their owner alone (they hold command lines, host names and
//! evidence), and files it takes orders from (the inventory, the policy, SSH keys) are refused
//! when someone else could have written them, as OpenSSH's StrictModes refuses such keys.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Opens `path` for appending, creating it 0600 when it does not exist.
pub fn create_private_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).mode(0o600).open(path)
}

/// Makes sure a file patchctl keeps private exists with mode 0600: created so when missing.
/// An existing file that others can read is left as it is, and the warning returned says so.
pub fn prepare_private_file(path: &Path) -> io::Result<Option<String>> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(None),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path)?.mode() & 0o777;
            Ok((mode & 0o077 != 0).then(|| {
                format!(
                    "{} can be read by others than its owner (mode {mode:04o}); it holds command \
                     lines and host names: `chmod 600 {}`",
                    path.display(),
                    path.display()
                )
            }))
        }
        Err(error) => Err(error),
    }
}

/// Refuses a file (and so its orders) that someone other than its owner and root can write:
/// writable by its group or by others.
pub fn check_trusted(path: &Path, what: &str) -> Result<(), String> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("reading {what} {}: {error}", path.display()))?;
    let mode = metadata.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{what} {} can be written by {} (mode {mode:04o}): patchctl takes no orders from a \
             file someone else could have changed; `chmod go-w {}`",
            path.display(),
            if mode & 0o002 != 0 { "anyone" } else { "its group" },
            path.display()
        ));
    }
    Ok(())
}

/// Refuses a private key that others than its owner can read or write, as OpenSSH does
/// ("UNPROTECTED PRIVATE KEY FILE"): whoever could read it could log in to every host.
pub fn check_private_key(path: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("reading the SSH key {}: {error}", path.display()))?;
    let mode = metadata.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the SSH key {} can be read or written by others than its owner (mode {mode:04o}); \
             `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn private_files_are_created_0600_and_loose_ones_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        assert_eq!(prepare_private_file(&path).unwrap(), None);
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(prepare_private_file(&path).unwrap(), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warning = prepare_private_file(&path).unwrap().unwrap();
        assert!(warning.contains("mode 0644"), "{warning}");

        let anchors = dir.path().join("anchors");
        create_private_append(&anchors).unwrap();
        assert_eq!(std::fs::metadata(&anchors).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn files_others_can_write_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, "").unwrap();
        for (mode, trusted) in [(0o600, true), (0o644, true), (0o664, false), (0o646, false)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let result = check_trusted(&path, "the policy");
            assert_eq!(result.is_ok(), trusted, "{mode:o}: {result:?}");
        }
        let error = check_trusted(&path, "the policy").unwrap_err();
        assert!(error.contains("written by anyone (mode 0646)"), "{error}");
        for (mode, safe) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(check_private_key(&path).is_ok(), safe, "{mode:o}");
        }
    }
}
