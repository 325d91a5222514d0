//! Two `patchctl serve` replicas on one PostgreSQL, on the test fleet: the scheduler of one
//! starts an approved plan in its window; that replica is killed with SIGKILL mid-rollout;
//! the other takes the rollout over once the dead one's lease (10 s here) runs out, within 5 s
//! more, and finishes it; no host got the package twice, by the hosts' own dpkg logs. The same
//! with a replica stopped (SIGSTOP) that wakes after losing its lease, mid-rollout: it writes
//! nothing, by PostgreSQL's own record of who committed what.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::rollout_fleet::with_checks;
use crate::support::{PATCHCTL, text};
use crate::test_fleet::TestFleet;

/// `patchctl` on the fleet's inventory and policy in `dir`, on the PostgreSQL state `url`.
fn patchctl(dir: &Path, url: &str) -> Command {
    let mut command = Command::new(PATCHCTL);
    command
        .arg("--config")
        .arg(dir.join("patchctl.toml"))
        .env("PATCHCTL_DATABASE_URL", url)
        .env_remove("PATCHCTL_STATE")
        .env_remove("SSH_AUTH_SOCK");
    command
}

fn ok(dir: &Path, url: &str, args: &[&str]) -> Output {
    let output = patchctl(dir, url).args(args).output().unwrap();
    assert!(output.status.success(), "patchctl {args:?}: {}", text(&output.stderr));
    output
}

/// The replicas' lease on the rollouts they drive (server.toml's `lease_seconds`).
const LEASE: u64 = 10;

/// A replica serving on a free loopback port, its scheduler looking every second. Its
/// connections carry its `name` as their `application_name`.
fn replica(dir: &Path, url: &str, name: &str) -> Child {
    let url = &format!("{url}?application_name=replica-{name}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:{port}\"\n[scheduler]\npoll_seconds = 1\nlease_seconds = {LEASE}\n"),
    )
    .unwrap();
    patchctl(dir, url)
        .args(["serve", "--server-config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap())
        .spawn()
        .unwrap()
}

/// The rollout on record with its phase and its driver's PID (`patchctl@machine:PID:nonce`).
fn rollout(dir: &Path, url: &str) -> Option<(String, String, Option<u32>)> {
    let listed = text(&ok(dir, url, &["rollout", "list"]).stdout);
    let line = listed.lines().next()?;
    let mut words = line.split_whitespace();
    let id = words.next()?.to_owned();
    let phase = words.nth(2)?.to_owned();
    let pid = line
        .split("driven by ")
        .nth(1)
        .and_then(|owner| owner.split(':').nth(1))
        .and_then(|pid| pid.parse().ok());
    Some((id, phase, pid))
}

/// The lines of `host`'s dpkg log that put acme-tools 1.1-1 on it.
fn applies(fleet: &TestFleet, host: &str) -> Vec<String> {
    let script = "grep -E ' (install|upgrade) acme-tools:[^ ]+ [^ ]+ 1\\.1-1$' /var/log/dpkg.log";
    let (code, out) = fleet.exec(host, &["sh", "-c", script]);
    assert!(code <= 1, "{host}: {out}");
    out.lines().map(str::to_owned).collect()
}

/// The fleet's two hosts in staging, whose window opened a minute ago, on a new PostgreSQL
/// database: assessed, and a plan of acme-tools requested by alice and approved by bob (the
/// board), for a scheduler to start.
struct Setup {
    fleet: TestFleet,
    postgres: fleet::postgres::PgServer,
    url: String,
    dir: std::path::PathBuf,
}

fn setup(stem: &str) -> Option<Setup> {
    let fleet = TestFleet::up(stem, 2, 0)?;
    let postgres = fleet::postgres::PgServer::start().expect("PostgreSQL for the replicas");
    let url = postgres.create_database().unwrap();
    let dir = fleet.fleet.dir.join("replicas");
    std::fs::create_dir_all(&dir).unwrap();
    // Both hosts in staging, whose window opened a minute ago; bob approves for the board.
    let inventory = with_checks(std::fs::read_to_string(&fleet.fleet.inventory).unwrap())
        .replace("environment = \"dev\"", "environment = \"staging\"");
    std::fs::write(dir.join("patchctl.toml"), inventory).unwrap();
    let opened = chrono::Utc::now() - chrono::Duration::minutes(1);
    let schedule = opened.format("%M %H * * *");
    std::fs::write(
        dir.join("policy.toml"),
        format!(
            "[roles]\ncab = [\"bob\"]\n\n[[environments]]\nname = \"staging\"\n\
             schedule = \"{schedule}\"\ntimezone = \"UTC\"\nwindow = \"2h\"\n\
             approval = {{ approvers = 1, role = \"cab\" }}\n"
        ),
    )
    .unwrap();

    ok(&dir, &url, &["assess", "all"]);
    let planned = ok(
        &dir,
        &url,
        &["plan", "create", "all", "--packages", "acme-tools", "--canary", "0", "--format", "json"],
    );
    let plan: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    let plan = plan["id"].as_str().unwrap();
    ok(&dir, &url, &["change", "request", plan, "--as", "alice"]);
    ok(&dir, &url, &["change", "approve", plan, "--as", "bob"]);

    Some(Setup { fleet, postgres, url, dir })
}

/// Waits for a scheduler to start the rollout: its id and its driver's PID.
fn started(dir: &Path, url: &str) -> (String, u32) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some((id, phase, Some(pid))) = rollout(dir, url)
            && phase == "running"
        {
            return (id, pid);
        }
        assert!(Instant::now() < deadline, "no replica started the rollout");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for the rollout's end: its phase, and when `pid` was first seen driving it.
fn ended(dir: &Path, url: &str, pid: u32, since: Instant) -> (String, Option<Duration>) {
    let mut seen_after = None;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (id, phase, driver) = rollout(dir, url).unwrap();
        if seen_after.is_none() && driver == Some(pid) {
            seen_after = Some(since.elapsed());
        }
        if !["running", "stopping", "not_started", "created"].contains(&phase.as_str()) {
            return (phase, seen_after);
        }
        assert!(Instant::now() < deadline, "rollout {id} never ended: {phase}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_replica_killed_mid_rollout_is_taken_over_by_the_other_and_no_host_is_patched_twice() {
    let Some(Setup { fleet, postgres: _postgres, url, dir }) = setup("replicas") else { return };
    let mut replicas = [replica(&dir, &url, "a"), replica(&dir, &url, "b")];
    // One scheduler claims the window and drives the rollout.
    let (id, driver) = started(&dir, &url);
    let (killed, survivor) = match replicas.iter().position(|r| r.id() == driver) {
        Some(0) => (0, 1),
        Some(1) => (1, 0),
        _ => panic!("rollout {id} is driven by PID {driver}, neither replica"),
    };
    replicas[killed].kill().unwrap();
    replicas[killed].wait().unwrap();
    let killed_at = Instant::now();

    // The survivor takes it over within the lease and 5 s, and finishes it.
    let survivor_pid = replicas[survivor].id();
    let (phase, taken_after) = ended(&dir, &url, survivor_pid, killed_at);
    let taken_after = taken_after.expect("the survivor never drove the rollout");
    let within = Duration::from_secs(LEASE + 5);
    assert!(taken_after <= within, "taken over after {taken_after:?}");
    assert_eq!(phase, "completed", "{}", text(&ok(&dir, &url, &["report", &id]).stdout));
    for host in ["deb1", "deb2"] {
        assert_eq!(applies(&fleet, host).len(), 1, "{host}: {:?}", applies(&fleet, host));
    }
    eprintln!("rollout {id} taken over {taken_after:?} after its driver was killed");
    replicas[survivor].kill().unwrap();
    let _ = replicas[survivor].wait();
}

#[test]
fn postgresql_restarted_mid_rollout_loses_and_repeats_nothing() {
    let Some(Setup { fleet, postgres, url, dir }) = setup("pg-restart") else { return };
    let mut server = replica(&dir, &url, "only");
    let (id, _) = started(&dir, &url);
    // Down for longer than a lease, shorter than the pool's wait for a connection (30 s): the
    // driver's next write waits for the database and goes on once it is back; its lease ran
    // out meanwhile, but nobody took it, so its fencing token still holds.
    postgres.stop().unwrap();
    std::thread::sleep(Duration::from_secs(LEASE + 2));
    postgres.restart().unwrap();
    let (phase, _) = ended(&dir, &url, server.id(), Instant::now());
    assert_eq!(phase, "completed", "{}", text(&ok(&dir, &url, &["report", &id]).stdout));
    for host in ["deb1", "deb2"] {
        assert_eq!(applies(&fleet, host).len(), 1, "{host}: {:?}", applies(&fleet, host));
        assert_eq!(
            fleet.exec(host, &["dpkg-query", "-W", "-f", "${Version}", "acme-tools"]).1,
            "1.1-1"
        );
    }
    let audit = patchctl(&dir, &url).args(["audit", "verify", "--all"]).output().unwrap();
    assert!(audit.status.success(), "{}{}", text(&audit.stdout), text(&audit.stderr));
    server.kill().unwrap();
    let _ = server.wait();
}

/// `sql` run by `psql` on `url`; its rows, unaligned.
fn psql(url: &str, sql: &str) -> String {
    let psql = fleet::postgres::postgres_bin().unwrap().join("psql");
    let output = Command::new(psql)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .unwrap();
    assert!(output.status.success(), "psql {sql}: {}", text(&output.stderr));
    text(&output.stdout).trim().to_owned()
}

/// A trigger on every table of patchctl's that records, in `test_writes`, the application of
/// each row written: only transactions that commit leave one.
const RECORD_WRITERS: &str = "
CREATE TABLE test_writes (id BIGSERIAL PRIMARY KEY, app TEXT NOT NULL, tab TEXT NOT NULL, op TEXT NOT NULL);
CREATE FUNCTION test_record_writer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_writes (app, tab, op)
    VALUES (current_setting('application_name'), TG_TABLE_NAME, TG_OP);
    RETURN NULL;
END $$;
DO $$ DECLARE t record; BEGIN
    FOR t IN SELECT tablename FROM pg_tables
             WHERE schemaname = 'public' AND tablename NOT IN ('test_writes', '_sqlx_migrations')
    LOOP
        EXECUTE format('CREATE TRIGGER test_writer AFTER INSERT OR UPDATE OR DELETE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION test_record_writer()', t.tablename);
    END LOOP;
END $$;";

/// `kill -SIGNAL pid`.
fn signal(signal: &str, pid: u32) {
    let status = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn a_stopped_replica_that_wakes_after_losing_its_lease_writes_nothing() {
    let Some(Setup { fleet, postgres: _postgres, url, dir }) = setup("replicas-stop") else {
        return;
    };
    psql(&url, RECORD_WRITERS);
    let mut replicas = [replica(&dir, &url, "a"), replica(&dir, &url, "b")];
    let names = ["replica-a", "replica-b"];
    let (id, driver) = started(&dir, &url);
    let (stopped, survivor) = match replicas.iter().position(|r| r.id() == driver) {
        Some(0) => (0, 1),
        Some(1) => (1, 0),
        _ => panic!("rollout {id} is driven by PID {driver}, neither replica"),
    };
    // Frozen mid-rollout, its steps in flight: its lease runs out and the survivor takes over.
    signal("-STOP", driver);
    let stopped_at = Instant::now();
    let survivor_pid = replicas[survivor].id();
    let deadline = stopped_at + Duration::from_secs(LEASE + 60);
    loop {
        let (_, phase, pid) = rollout(&dir, &url).unwrap();
        if pid == Some(survivor_pid) {
            break;
        }
        assert!(Instant::now() < deadline, "the survivor never took rollout {id} over: {phase}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let taken_after = stopped_at.elapsed();
    assert!(taken_after <= Duration::from_secs(LEASE + 5), "taken over after {taken_after:?}");

    // Woken while the survivor drives: everything it had in flight runs into the fence.
    let before_waking: i64 =
        psql(&url, "SELECT coalesce(max(id), 0) FROM test_writes").parse().unwrap();
    signal("-CONT", driver);
    let woken_at = Instant::now();
    let (phase, _) = ended(&dir, &url, survivor_pid, woken_at);
    assert_eq!(phase, "completed", "{}", text(&ok(&dir, &url, &["report", &id]).stdout));
    // Time for the woken one's renewals and steps to try, whatever the rollout's pace.
    std::thread::sleep(Duration::from_secs(LEASE).saturating_sub(woken_at.elapsed()));
    for replica in &mut replicas {
        replica.kill().unwrap();
        let _ = replica.wait();
    }

    let woken = names[stopped];
    let writes = psql(
        &url,
        &format!(
            "SELECT coalesce(string_agg(tab || ' ' || op, ', ' ORDER BY id), '') FROM test_writes \
             WHERE id > {before_waking} AND app = '{woken}'"
        ),
    );
    assert_eq!(writes, "", "{woken} wrote after waking without its lease");
    // The trigger saw the writes it should: the survivor's, and the woken one's before its stop.
    let survivor_writes: i64 = psql(
        &url,
        &format!(
            "SELECT count(*) FROM test_writes WHERE id > {before_waking} AND app = '{}'",
            names[survivor]
        ),
    )
    .parse()
    .unwrap();
    assert!(survivor_writes > 0, "no write of the survivor's was recorded");
    let woken_log = std::fs::read_to_string(dir.join(format!("{}.stderr", &woken[8..]))).unwrap();
    assert!(woken_log.contains("lost the lease"), "{woken} said: {woken_log}");
    for host in ["deb1", "deb2"] {
        assert_eq!(applies(&fleet, host).len(), 1, "{host}: {:?}", applies(&fleet, host));
    }
    let audit = patchctl(&dir, &url).args(["audit", "verify", "--all"]).output().unwrap();
    assert!(audit.status.success(), "{}{}", text(&audit.stdout), text(&audit.stderr));
    eprintln!("rollout {id} taken over {taken_after:?} after its driver was stopped");

    // The host itself refuses a second start of the rollout's apply unit, as a patchctl that
    // stalled after its last write under its lease would ask for when it woke: nothing runs.
    let stale = start_once(&fleet, &id, "deb1-apply-0", "/tmp/stale-apply");
    assert_eq!(stale, pkgmgr::apply::UnitStart::RanBefore);
    assert_eq!(fleet.exec("deb1", &["test", "-e", "/tmp/stale-apply"]).0, 1, "the stale apply ran");
    // A unit that never ran starts.
    let fresh = start_once(&fleet, &id, "deb1-fresh-0", "/tmp/fresh-unit");
    assert_eq!(fresh, pkgmgr::apply::UnitStart::Started);
    assert_eq!(
        fleet.exec("deb1", &["test", "-e", "/tmp/fresh-unit"]).0,
        0,
        "the fresh unit never ran"
    );
}

/// Starts unit `host_step` of rollout `id` on deb1, running `touch PATH`, as an apply's unit is
/// started (never twice): what the host's script said.
fn start_once(
    fleet: &TestFleet,
    id: &str,
    host_step: &str,
    path: &str,
) -> pkgmgr::apply::UnitStart {
    use pkgmgr::apply::{
        Rerun, UnitName, parse_start_and_wait, run_as_unit, start_and_wait_command,
    };
    let unit = UnitName::new(id, host_step).unwrap();
    let touch = pkgmgr::CommandSpec::new(["/bin/touch", path]);
    let command =
        start_and_wait_command(&unit, run_as_unit(&unit, &touch).unwrap(), 5, Rerun::Refuse);
    let argv: Vec<&str> = command.argv.iter().map(String::as_str).collect();
    let (code, stdout) = fleet.exec("deb1", &argv);
    parse_start_and_wait(code as i32, &stdout, "").0
}
