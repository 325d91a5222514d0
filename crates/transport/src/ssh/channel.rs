//! One command on one SSH session channel: exec, collect stdout and stderr up to the cap, take
//! the exit status. A channel given up on (timeout, cap, a caller that stopped waiting) is not
//! just forgotten: it gets EOF, on which the command's supervisor (see `command_line`) stops
//! the command, and is closed, in the background, before its slot is given back.

use std::time::Duration;

use russh::client::{Handle, Msg};
use russh::{Channel, ChannelMsg, ChannelOpenFailure, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::sync::OwnedSemaphorePermit;

use super::host_key::Client;
use crate::{Limits, Output, TransportError};

/// How long a command given up on has to end (its supervisor sends SIGTERM, then SIGKILL after
/// 2 s) before the channel is closed anyway.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long to keep asking for a channel that the host refuses. sshd refuses sessions beyond its
/// MaxSessions, and a session counts until sshd has cleaned it up, a moment after the channel
/// closed: a refusal right after another command finished is retried. A host that refuses
/// for longer allows fewer sessions than `max_channels`.
const OPEN_RETRY_FOR: Duration = Duration::from_secs(3);

/// Runs `line` on a new channel of `handle`. `what` names the command in errors, `slot` is this
/// channel's share of the sessions the server allows on one connection.
pub(crate) async fn exec(
    handle: &Handle<Client>,
    slot: OwnedSemaphorePermit,
    line: &str,
    limits: Limits,
    host: &str,
    what: &str,
) -> Result<Output, TransportError> {
    let lost = |_| TransportError::ConnectionLost {
        host: host.to_owned(),
        what: format!("running {what}"),
    };
    let work = async {
        let channel = open(handle, host, what).await?;
        let (read, write) = channel.split();
        let mut channel = OpenChannel { read: Some(read), write: Some(write), slot: Some(slot) };
        let write = channel.write.as_ref().expect("open");
        // No EOF after the command: the open input is what keeps the command's supervisor
        // waiting for it.
        write.exec(true, line).await.map_err(lost)?;
        collect(&mut channel, limits.max_output_bytes, host, what).await
    };
    match tokio::time::timeout(limits.command_timeout, work).await {
        Ok(result) => result,
        // Dropping `work` drops the channel, which stops the command.
        Err(_) => Err(TransportError::TimedOut {
            what: format!("{host}: {what}"),
            after: limits.command_timeout,
        }),
    }
}

async fn open(
    handle: &Handle<Client>,
    host: &str,
    what: &str,
) -> Result<Channel<Msg>, TransportError> {
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match handle.channel_open_session().await {
            Ok(channel) => return Ok(channel),
            // sshd says "connect failed" (or "administratively prohibited") for "no more
            // sessions".
            Err(russh::Error::ChannelOpenFailure(reason))
                if !matches!(reason, ChannelOpenFailure::UnknownChannelType)
                    && start.elapsed() < OPEN_RETRY_FOR =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Err(russh::Error::ChannelOpenFailure(reason)) => {
                return Err(TransportError::Ssh {
                    host: host.to_owned(),
                    message: format!(
                        "the host refused a session for {what} ({reason:?}); if it allows fewer \
                         sessions per connection (sshd's MaxSessions), lower max_channels"
                    ),
                });
            }
            Err(_) => {
                return Err(TransportError::ConnectionLost {
                    host: host.to_owned(),
                    what: format!("starting {what}"),
                });
            }
        }
    }
}

async fn collect(
    channel: &mut OpenChannel,
    limit: usize,
    host: &str,
    what: &str,
) -> Result<Output, TransportError> {
    let read = channel.read.as_mut().expect("open");
    let mut output = Output { exit_code: 0, stdout: Vec::new(), stderr: Vec::new() };
    let mut exit_code = None;
    loop {
        let buffer = match read.wait().await {
            Some(ChannelMsg::Data { data }) => (&mut output.stdout, data),
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => (&mut output.stderr, data),
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                exit_code = Some(i32::try_from(exit_status).unwrap_or(i32::MAX));
                continue;
            }
            Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                exit_code = Some(128 + signal_number(&signal_name));
                continue;
            }
            Some(ChannelMsg::Failure) => {
                return Err(TransportError::Ssh {
                    host: host.to_owned(),
                    message: format!("the server refused to run {what}"),
                });
            }
            Some(ChannelMsg::Close) | None => break,
            Some(_) => continue,
        };
        let (buffer, data) = buffer;
        if buffer.len() + data.len() > limit {
            return Err(TransportError::OutputTooLarge { what: format!("{host}: {what}"), limit });
        }
        buffer.extend_from_slice(&data);
    }
    // The server closed the channel: nothing is left to stop.
    channel.finished();
    match exit_code {
        Some(exit_code) => Ok(Output { exit_code, ..output }),
        None => Err(TransportError::ConnectionLost {
            host: host.to_owned(),
            what: format!("running {what} (no exit status came back)"),
        }),
    }
}

/// A channel whose command may still be running. Dropping it stops the command: EOF, on which
/// the command's supervisor stops it; then the channel is closed and its slot released.
struct OpenChannel {
    read: Option<ChannelReadHalf>,
    write: Option<ChannelWriteHalf<Msg>>,
    slot: Option<OwnedSemaphorePermit>,
}

impl OpenChannel {
    fn finished(&mut self) {
        self.read = None;
        self.write = None;
        self.slot = None;
    }
}

impl Drop for OpenChannel {
    fn drop(&mut self) {
        let (Some(mut read), Some(write)) = (self.read.take(), self.write.take()) else { return };
        let slot = self.slot.take();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            let _slot = slot;
            let _ = write.eof().await;
            if tokio::time::timeout(STOP_GRACE, until_closed(&mut read)).await.is_err() {
                let _ = write.close().await;
                let _ = tokio::time::timeout(STOP_GRACE, until_closed(&mut read)).await;
            }
        });
    }
}

async fn until_closed(read: &mut ChannelReadHalf) {
    while let Some(message) = read.wait().await {
        if matches!(message, ChannelMsg::Close) {
            return;
        }
    }
}

/// Linux's number for a signal that SSH names (RFC 4254 names them without "SIG").
fn signal_number(signal: &Sig) -> i32 {
    match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(name) => match name.trim_start_matches("SIG") {
            "BUS" => 7,
            "USR2" => 12,
            "STKFLT" => 16,
            "CHLD" => 17,
            "CONT" => 18,
            "STOP" => 19,
            "TSTP" => 20,
            "TTIN" => 21,
            "TTOU" => 22,
            "URG" => 23,
            "XCPU" => 24,
            "XFSZ" => 25,
            "VTALRM" => 26,
            "PROF" => 27,
            "WINCH" => 28,
            "IO" => 29,
            "PWR" => 30,
            "SYS" => 31,
            // An unknown name still says "killed by a signal": 128 and up.
            _ => 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_numbers_are_linux_ones() {
        assert_eq!(128 + signal_number(&Sig::KILL), 137);
        assert_eq!(128 + signal_number(&Sig::TERM), 143);
        assert_eq!(signal_number(&Sig::Custom("USR2".into())), 12);
        assert_eq!(signal_number(&Sig::Custom("SIGSYS".into())), 31);
    }
}
