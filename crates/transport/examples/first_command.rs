//! How long a new SSH connection takes, and its first and later commands:
//! `cargo run --release -p transport --example first_command -- ADDRESS KEY_FILE [RUNS]`
//! (as root, trusting whatever host key the host presents: for the test fleet only).
//! BENCHMARKS.md (issue 5) has what it measured.

use std::time::{Duration, Instant};

use transport::{Auth, Command, HostKeyPolicy, Ssh, SshConfig, Transport};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(key)) = (args.next(), args.next()) else {
        return Err("usage: first_command ADDRESS KEY_FILE [RUNS]".into());
    };
    let runs: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10);
    let command = Command { argv: vec!["true".into()], env: Vec::new() };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for _ in 0..runs {
        let auth = Auth { key_file: Some(key.clone().into()), agent: false, agent_socket: None };
        let config =
            SshConfig::new("host", address.clone(), "root", auth, HostKeyPolicy::AcceptNew);
        let started = Instant::now();
        let ssh = Ssh::connect(config).await?;
        let connected = started.elapsed();
        ssh.run(&command).await?;
        let first = started.elapsed();
        ssh.run(&command).await?;
        let second = started.elapsed();
        println!(
            "connect {:.1} ms, first command {:.1} ms, second {:.1} ms",
            ms(connected),
            ms(first - connected),
            ms(second - first)
        );
        ssh.close().await;
    }
    Ok(())
}
