//! The local transport: runs processes on this machine, with a timeout and an output cap.

use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{Command, Limits, Output, Transport, TransportError};

/// This machine.
#[derive(Debug, Clone, Default)]
pub struct Local {
    pub limits: Limits,
}

impl Local {
    pub fn new(limits: Limits) -> Local {
        Local { limits }
    }
}

#[async_trait::async_trait]
impl Transport for Local {
    async fn run(&self, command: &Command) -> Result<Output, TransportError> {
        let (program, args) = command.argv.split_first().ok_or(TransportError::EmptyCommand)?;
        let what = program.clone();
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .envs(command.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => {
                    TransportError::ProgramNotFound { program: program.clone() }
                }
                _ => TransportError::Io { what: what.clone(), source },
            })?;
        let limit = self.limits.max_output_bytes;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let work = async {
            let (stdout, stderr) = tokio::try_join!(
                read_capped(stdout, limit, &what),
                read_capped(stderr, limit, &what)
            )?;
            let status = child
                .wait()
                .await
                .map_err(|source| TransportError::Io { what: what.clone(), source })?;
            Ok::<_, TransportError>(Output { exit_code: exit_code(status), stdout, stderr })
        };
        match tokio::time::timeout(self.limits.command_timeout, work).await {
            Ok(result) => result,
            // Dropping `work` drops the child, and kill_on_drop kills it.
            Err(_) => Err(TransportError::TimedOut { what, after: self.limits.command_timeout }),
        }
    }

    async fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        let file = match tokio::fs::File::open(path).await {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(TransportError::Io { what: format!("reading {path}"), source });
            }
        };
        // Files under /proc report a size of zero, so read up to the cap instead of trusting it.
        read_capped(file, self.limits.max_output_bytes, path).await.map(Some)
    }

    async fn list_dir(&self, path: &str) -> Result<Option<Vec<String>>, TransportError> {
        let mut entries = match tokio::fs::read_dir(path).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(TransportError::Io { what: format!("listing {path}"), source });
            }
        };
        let mut names = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|source| TransportError::Io { what: format!("listing {path}"), source })?
        {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(Some(names))
    }
}

async fn read_capped(
    mut reader: impl AsyncRead + Unpin,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, TransportError> {
    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut chunk)
            .await
            .map_err(|source| TransportError::Io { what: what.to_owned(), source })?;
        if n == 0 {
            return Ok(buffer);
        }
        if buffer.len() + n > limit {
            return Err(TransportError::OutputTooLarge { what: what.to_owned(), limit });
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}
