//! A real PostgreSQL server for the tests, from Debian's packages: `initdb` and `pg_ctl` in a
//! temporary directory on a free loopback port (as the `postgres` user when the tests run as
//! root, since initdb refuses root), stopped and removed when dropped. Each test makes its own
//! database on it ([`PgServer::create_database`]). `PATCHCTL_POSTGRES_BIN` names the programs'
//! folder, else Debian's newest `/usr/lib/postgresql/<version>/bin`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// A PostgreSQL server in a temporary directory.
pub struct PgServer {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

impl PgServer {
    /// Starts one (a second or two: initdb, then the server).
    pub fn start() -> anyhow::Result<PgServer> {
        let bin = postgres_bin()?;
        let dir = tempfile::tempdir().context("creating the server's directory")?;
        let data = dir.path().join("data");
        if is_root() {
            // initdb refuses root; the server's files belong to the user that runs it.
            let postgres = user_ids("postgres")?;
            std::os::unix::fs::chown(dir.path(), Some(postgres.0), Some(postgres.1))
                .with_context(|| format!("handing {} to postgres", dir.path().display()))?;
        }
        run(
            &bin,
            "initdb",
            &["-D", path_str(&data)?, "--no-sync", "-A", "trust", "-U", "patchctl"],
        )?;
        let mut server = PgServer { dir, port: 0, bin };
        let mut last_error = anyhow::anyhow!("never tried");
        // The free port found is free until the server binds it, unless another process takes
        // it in between: a few tries settle that.
        for _ in 0..5 {
            server.port = free_port()?;
            match server.pg_ctl_start() {
                Ok(()) => return Ok(server),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// Starts the server again after [`PgServer::stop`], on the same port and data.
    pub fn restart(&self) -> anyhow::Result<()> {
        self.pg_ctl_start()
    }

    /// Stops the server at once (`-m immediate`: like a crash; it recovers on restart).
    pub fn stop(&self) -> anyhow::Result<()> {
        run(&self.bin, "pg_ctl", &["-D", path_str(&self.data())?, "-m", "immediate", "stop"])
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://patchctl@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a new, empty database with a unique name and returns its URL.
    pub fn create_database(&self) -> anyhow::Result<String> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let port = self.port.to_string();
        run(&self.bin, "createdb", &["-h", "127.0.0.1", "-p", &port, "-U", "patchctl", &name])?;
        Ok(self.url(&name))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off \
             -c max_connections=200",
            self.port,
            path_str(self.dir.path())?
        );
        let log = self.dir.path().join("log");
        let data = self.data();
        let started = run(
            &self.bin,
            "pg_ctl",
            &["-D", path_str(&data)?, "-w", "-l", path_str(&log)?, "-o", &options, "start"],
        );
        started.map_err(|error| {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            error.context(log_text)
        })
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Where the PostgreSQL programs are: `PATCHCTL_POSTGRES_BIN`, else Debian's newest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn postgres_bin() -> anyhow::Result<PathBuf> {
    if let Ok(bin) = std::env::var("PATCHCTL_POSTGRES_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .context("reading /usr/lib/postgresql (is `postgresql` installed?)")?;
    versions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/<version>/bin/initdb")
}

/// Runs one of PostgreSQL's programs, as `postgres` when we are root.
fn run(bin: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    let program_path = bin.join(program);
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(&program_path);
        command
    } else {
        Command::new(&program_path)
    };
    let output = command
        .args(args)
        .output()
        .with_context(|| format!("running {}", program_path.display()))?;
    if !output.status.success() {
        bail!(
            "{program} {}: {}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// A user's uid and gid, from /etc/passwd.
fn user_ids(name: &str) -> anyhow::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&name) && fields.len() > 3)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .with_context(|| format!("no user {name} to run PostgreSQL as (initdb refuses root)"))
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().with_context(|| format!("{} is not UTF-8", path.display()))
}

/// A server for one test, or `None` (said on stderr) when none can start outside CI; with
/// `PATCHCTL_INTEGRATION=1` a server that cannot start fails the test.
pub fn for_test() -> Option<PgServer> {
    match PgServer::start() {
        Ok(server) => Some(server),
        Err(error) if std::env::var("PATCHCTL_INTEGRATION").as_deref() == Ok("1") => {
            panic!("PATCHCTL_INTEGRATION=1 and no PostgreSQL: {error:#}")
        }
        Err(error) => {
            eprintln!("skipped, no PostgreSQL: {error:#}");
            None
        }
    }
}
