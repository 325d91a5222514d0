//! Two patchctl processes interleaved at random over one real store, each following the
//! driver's protocol (start a plan, claim the rollout, journal applies under the lease, renew,
//! stall, be taken over, resume, cancel, finish, start again with `--again`), on a virtual
//! clock. After every step the trust rules must hold:
//!
//! - no entry is written under a lease another claim has replaced (the fencing token);
//! - no host gets an apply from a rollout while another unfinished rollout claims it;
//! - a plan gets a second rollout only with `again`.
//!
//! `PATCHCTL_SIM_SEEDS` sets how many seeds run (CI: thousands, capped at 2,000 here, and at
//! 1,000 of them on PostgreSQL); a failing seed is printed, and `PATCHCTL_SIM_SEED=N` runs
//! that one alone.

use std::collections::{BTreeMap, BTreeSet};

use crate::backends::test_dbs;
use store::{
    Claim, Lease, NewJournalEntry, NewRollout, PhaseUpdate, RolloutPhase, Store, StoreError,
};

use crate::rollouts::plan_id;

/// A small, seeded generator: the same seed, the same interleaving.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one process knows: the rollout it drives and the lease it believes it holds.
#[derive(Default)]
struct Process {
    name: &'static str,
    rollout: Option<String>,
    lease: Option<Lease>,
}

/// The plans: overlapping host sets, so that rollouts of different plans contend for hosts.
const PLANS: [(&str, &[&str]); 3] = [("aa", &["h1", "h2"]), ("bb", &["h2", "h3"]), ("cc", &["h4"])];
const LEASE: u32 = 30;

struct World {
    store: Store,
    now: i64,
    n_rollouts: usize,
    /// Every rollout created: its plan and hosts.
    rollouts: BTreeMap<String, (String, Vec<String>)>,
    /// The highest token granted per rollout: a write under a lower one must be refused.
    granted: BTreeMap<String, i64>,
    /// Rollouts that reached a finished phase.
    finished: BTreeSet<String>,
    /// (host, rollout) applies journaled, in order.
    applies: Vec<(String, String)>,
}

impl World {
    fn unfinished_claiming(&self, host: &str) -> Vec<&String> {
        self.rollouts
            .iter()
            .filter(|(id, (_, hosts))| {
                !self.finished.contains(*id) && hosts.iter().any(|h| h == host)
            })
            .map(|(id, _)| id)
            .collect()
    }
}

async fn step(world: &mut World, process: &mut Process, rng: &mut Rng) -> Result<(), String> {
    match rng.below(8) {
        // Start a plan (again or not), as `rollout start` does.
        0 => {
            let (plan, hosts) = PLANS[rng.below(PLANS.len() as u64) as usize];
            let plan = plan_id(plan);
            let again = rng.below(3) == 0;
            world.n_rollouts += 1;
            let id = format!("{:016x}", world.n_rollouts);
            let rollout = NewRollout {
                id: id.clone(),
                plan_id: plan.clone(),
                created_at_unix: world.now,
                config_json: "{}".to_owned(),
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
                again,
                first_entries: Vec::new(),
            };
            let had_rollout = world.rollouts.values().any(|(p, _)| *p == plan);
            let claimed_elsewhere = hosts.iter().any(|h| !world.unfinished_claiming(h).is_empty());
            match world.store.create_rollout(&rollout).await {
                Ok(()) => {
                    if had_rollout && !again {
                        return Err(format!("plan {plan} ran a second time without again"));
                    }
                    if claimed_elsewhere {
                        return Err(format!("rollout {id} created on hosts another one claims"));
                    }
                    world.rollouts.insert(id.clone(), (plan, rollout.hosts.clone()));
                    process.rollout = Some(id);
                    process.lease = None;
                }
                Err(StoreError::PlanAlreadyRun { .. }) if had_rollout && !again => {}
                Err(StoreError::HostsClaimed { .. }) if claimed_elsewhere => {}
                Err(error) => return Err(format!("start refused wrongly: {error}")),
            }
        }
        // Claim (start driving, resume, take over) a rollout, its own or the other's.
        1 | 2 => {
            let ids: Vec<String> = world.rollouts.keys().cloned().collect();
            if ids.is_empty() {
                return Ok(());
            }
            let id = ids[rng.below(ids.len() as u64) as usize].clone();
            match world.store.claim_rollout(&id, process.name, world.now, LEASE).await {
                Ok(Claim::Claimed(lease)) => {
                    let previous = world.granted.insert(id.clone(), lease.token).unwrap_or(0);
                    if lease.token <= previous {
                        return Err(format!("token {} granted after {previous}", lease.token));
                    }
                    process.rollout = Some(id);
                    process.lease = Some(lease);
                }
                Ok(Claim::HeldBy { .. }) => {}
                Err(error) => return Err(format!("claim: {error}")),
            }
        }
        // Journal an apply of one of its hosts, under the lease it believes it holds.
        3 | 4 => {
            let Some(lease) = process.lease.clone() else { return Ok(()) };
            let hosts = world.rollouts[&lease.rollout_id].1.clone();
            let host = hosts[rng.below(hosts.len() as u64) as usize].clone();
            let entry = NewJournalEntry {
                at_ms: world.now * 1000,
                kind: "apply".to_owned(),
                host: Some(host.clone()),
                body_json: "{}".to_owned(),
            };
            let current = world.granted[&lease.rollout_id];
            // The driver writes its phase with every entry: running, which reopens a finished
            // rollout (a rollback or reconcile by hand), if none of its hosts is taken since.
            let running = PhaseUpdate { phase: RolloutPhase::Running, at_unix: world.now };
            let reopens = world.finished.contains(&lease.rollout_id);
            let taken = hosts
                .iter()
                .any(|h| world.unfinished_claiming(h).iter().any(|r| **r != lease.rollout_id));
            let result = world.store.append_journal(&lease, &[entry], Some(&running)).await;
            match result {
                Ok(_) => {
                    if lease.token != current {
                        return Err(format!(
                            "{} wrote with token {} after token {current} was granted",
                            process.name, lease.token
                        ));
                    }
                    if reopens && taken {
                        return Err(format!("{} reopened on hosts taken since", lease.rollout_id));
                    }
                    world.finished.remove(&lease.rollout_id);
                    let others: Vec<&String> = world
                        .unfinished_claiming(&host)
                        .into_iter()
                        .filter(|r| **r != lease.rollout_id)
                        .collect();
                    if !others.is_empty() {
                        return Err(format!(
                            "{host} applied by {} while {others:?} claim it",
                            lease.rollout_id
                        ));
                    }
                    world.applies.push((host, lease.rollout_id.clone()));
                }
                Err(StoreError::LeaseLost { .. }) if lease.token != current => {
                    process.lease = None;
                }
                Err(StoreError::HostsClaimed { .. }) if reopens && taken => {}
                Err(error) => return Err(format!("append refused wrongly: {error}")),
            }
        }
        // Renew, as the driver does every third of its lease.
        5 => {
            let Some(lease) = process.lease.clone() else { return Ok(()) };
            let current = world.granted[&lease.rollout_id];
            match world.store.renew_rollout_lease(&lease, world.now, LEASE).await {
                Ok(renewed) if lease.token == current => process.lease = Some(renewed),
                Ok(_) => return Err("a replaced lease was renewed".to_owned()),
                Err(StoreError::LeaseLost { .. }) if lease.token != current => {
                    process.lease = None;
                }
                Err(error) => return Err(format!("renew refused wrongly: {error}")),
            }
        }
        // Finish or cancel the rollout it drives.
        6 => {
            let Some(lease) = process.lease.clone() else { return Ok(()) };
            let phase =
                if rng.below(2) == 0 { RolloutPhase::Completed } else { RolloutPhase::Cancelled };
            let update = PhaseUpdate { phase, at_unix: world.now };
            let current = world.granted[&lease.rollout_id];
            match world.store.append_journal(&lease, &[], Some(&update)).await {
                Ok(_) if lease.token == current => {
                    world.finished.insert(lease.rollout_id.clone());
                    let _ = world.store.release_rollout(&lease).await;
                    process.lease = None;
                }
                Ok(_) => return Err("a replaced lease set the phase".to_owned()),
                Err(StoreError::LeaseLost { .. }) if lease.token != current => {
                    process.lease = None;
                }
                Err(error) => return Err(format!("finish refused wrongly: {error}")),
            }
        }
        // Stall: time passes (often past the lease), the process does nothing.
        _ => world.now += [1, 10, 29, 30, 31, 45, 90][rng.below(7) as usize],
    }
    Ok(())
}

async fn run_seed(seed: u64, store: Store) -> Result<(), String> {
    for (plan, _) in PLANS {
        store.save_plan(&plan_id(plan), 1, "{}").await.map_err(|e| e.to_string())?;
    }
    let mut world = World {
        store,
        now: 1000,
        n_rollouts: 0,
        rollouts: BTreeMap::new(),
        granted: BTreeMap::new(),
        finished: BTreeSet::new(),
        applies: Vec::new(),
    };
    let mut processes = [
        Process { name: "patchctl@a:1:aaaa", ..Process::default() },
        Process { name: "patchctl@b:1:bbbb", ..Process::default() },
    ];
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    for n in 0..60 {
        let which = rng.below(2) as usize;
        step(&mut world, &mut processes[which], &mut rng)
            .await
            .map_err(|problem| format!("step {n} of {}: {problem}", processes[which].name))?;
    }
    Ok(())
}

#[tokio::test]
async fn two_processes_never_break_the_trust_rules() {
    let seeds: Vec<u64> = match std::env::var("PATCHCTL_SIM_SEED").ok().and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => {
            let n = std::env::var("PATCHCTL_SIM_SEEDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(300u64)
                .min(2000);
            (0..n).collect()
        }
    };
    for &seed in &seeds {
        let store = Store::open_in_memory().await.unwrap();
        if let Err(problem) = run_seed(seed, store).await {
            panic!("on sqlite, seed {seed} (PATCHCTL_SIM_SEED={seed}): {problem}");
        }
    }
    // On PostgreSQL, one database emptied between seeds (TRUNCATE fires no row trigger; a
    // fresh database per seed would take a third of a second each), and at most 1,000 seeds
    // (CI runs that many: about 45 s on a 2-core machine).
    for db in test_dbs().await.into_iter().filter(|db| db.is_postgres()) {
        let store = db.open().await;
        for &seed in seeds.iter().take(PG_SEEDS) {
            db.execute(
                "TRUNCATE rollout_journal, rollout_hosts, verified_versions, rollouts, plans CASCADE",
            )
            .await
            .unwrap();
            if let Err(problem) = run_seed(seed, store.clone()).await {
                panic!("on postgres, seed {seed} (PATCHCTL_SIM_SEED={seed}): {problem}");
            }
        }
    }
}

/// At most how many of the seeds run on PostgreSQL too.
const PG_SEEDS: usize = 1000;
