//! `patchctl audit verify`: every evidence chain in the state database checked, and the heads
//! of the chains exported to an append-only anchor file outside it, so that a database
//! rewritten after the fact (entries edited and the chain hashed again, the last entries
//! removed) is found against what was exported before.
//!
//! An anchor file holds one JSON line per chain head: `{"at": UNIX, "chain": "rollout:ID",
//! "entries": N, "head": HASH}` (`head` is null for an empty chain). Lines are only ever
//! appended; the file is created 0600. A chain matches an anchor when it has at least the
//! anchor's entries and its entry at that position has the anchor's hash.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use store::{JournalBreak, JournalCheck, Store, StoreError};

/// One chain's head, as exported: a line of the anchor file, kept in its file form (a plain
/// record of a time, a name, a count and a hash, with nothing of the domain to convert).
pub use protocol::audit::AnchorV1 as Anchor;

/// What was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every rollout's journal, every plan's change journal, every postmortem's record, and
    /// the record of notification deliveries.
    All,
    /// One rollout's journal (an id or a unique prefix).
    Rollout(String),
}

/// One chain's verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainVerdict {
    pub chain: String,
    pub entries: u64,
    /// `None`: intact, and it matches every anchor exported for it.
    pub problem: Option<String>,
    /// The first entry that does not fit, when the chain itself is broken.
    pub first_bad_seq: Option<i64>,
    /// Written before such records were chained: nothing vouches for it.
    pub not_covered: bool,
}

/// `audit verify`'s result.
#[derive(Debug, Clone, Default)]
pub struct AuditReport {
    pub chains: Vec<ChainVerdict>,
    /// The anchor file read and appended to.
    pub anchor_file: PathBuf,
    /// Anchors in the file that name a chain the database no longer has.
    pub missing: Vec<String>,
}

impl AuditReport {
    pub fn is_intact(&self) -> bool {
        self.missing.is_empty() && self.chains.iter().all(|c| c.problem.is_none())
    }
}

impl From<&AuditReport> for protocol::output::audit::AuditReportV1 {
    fn from(report: &AuditReport) -> Self {
        protocol::output::audit::AuditReportV1 {
            chains: report
                .chains
                .iter()
                .map(|c| protocol::output::audit::ChainVerdictV1 {
                    chain: c.chain.clone(),
                    entries: c.entries,
                    problem: c.problem.clone(),
                    first_bad_seq: c.first_bad_seq,
                    not_covered: c.not_covered,
                })
                .collect(),
            anchor_file: report.anchor_file.to_string_lossy().into_owned(),
            missing: report.missing.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the state database: {0}")]
    Store(#[from] StoreError),
    #[error("no rollout matches `{0}`")]
    UnknownRollout(String),
    #[error("the anchor file {path}: {source}")]
    AnchorIo { path: PathBuf, source: std::io::Error },
    #[error("the anchor file {path}, line {line}: {problem}")]
    AnchorCorrupt { path: PathBuf, line: usize, problem: String },
    #[error(transparent)]
    Source(#[from] crate::SourceError),
}

/// What a broken link is, in words.
pub fn break_words(reason: JournalBreak) -> String {
    match reason {
        JournalBreak::UnexpectedSeq { expected } => {
            format!("entries are missing: expected entry {expected} here")
        }
        JournalBreak::PrevHashMismatch => {
            "it does not follow the entry before it (that one was rewritten or replaced, or \
             the journal belongs to another rollout)"
                .to_owned()
        }
        JournalBreak::HashMismatch => "its content does not match its hash (edited)".to_owned(),
    }
}

/// Checks the chains of `scope` against themselves and against every anchor exported for
/// them, then appends their heads to the anchor file (only the intact ones: a broken head is
/// not evidence). With `syslog`, the heads go to the system log too.
pub async fn verify(
    store: &Store,
    scope: &Scope,
    anchor_file: &Path,
    syslog: bool,
    now_unix: i64,
) -> Result<AuditReport, AuditError> {
    let anchors = read_anchors(anchor_file)?;
    // (the chain's name, its hashes, its check; `None`: not chained, written before)
    let mut chains: Vec<(String, Vec<String>, Option<JournalCheck>)> = Vec::new();
    // Change journals with an entry that names another plan, and that entry's seq.
    let mut foreign: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    match scope {
        Scope::Rollout(prefix) => {
            let row = store
                .rollout(prefix)
                .await?
                .ok_or_else(|| AuditError::UnknownRollout(prefix.clone()))?;
            chains.push(rollout_chain(store, &row.id).await?);
        }
        Scope::All => {
            for row in store.rollouts().await? {
                chains.push(rollout_chain(store, &row.id).await?);
            }
            // Plans nobody acted on have no change journal to check.
            for plan in store.plans().await? {
                let journal = store.change_journal(&plan.id).await?;
                if journal.is_empty() {
                    continue;
                }
                let check = store.verify_change_journal(&plan.id).await?;
                let chain = format!("change:{}", plan.id);
                // A change journal begins with zeros; each entry's body names its plan, so an
                // approval copied from another plan's journal is found by its body.
                if let Some(entry) = journal.iter().find(|e| !names_plan(&e.body_json, &plan.id)) {
                    foreign.insert(chain.clone(), entry.seq);
                }
                let hashes = journal.into_iter().map(|e| e.hash).collect();
                chains.push((chain, hashes, Some(check)));
            }
            for postmortem in store.postmortems().await? {
                let events = store.postmortem_events(postmortem.id).await?;
                let hashes = events.into_iter().filter_map(|e| e.hash).collect();
                let check = store.verify_postmortem(postmortem.id).await?;
                chains.push((format!("postmortem:{}", postmortem.id), hashes, check));
            }
            let (check, hashes) = store.verify_notifications().await?;
            chains.push(("notifications".to_owned(), hashes, Some(check)));
        }
    }
    let mut report = AuditReport { anchor_file: anchor_file.to_path_buf(), ..Default::default() };
    let mut heads = Vec::new();
    for (chain, hashes, check) in &chains {
        let mut verdict = ChainVerdict {
            chain: chain.clone(),
            entries: hashes.len() as u64,
            ..Default::default()
        };
        match check {
            None => verdict.not_covered = true,
            Some(JournalCheck::Broken { seq, reason }) => {
                verdict.first_bad_seq = Some(*seq);
                verdict.problem = Some(format!("entry {seq}: {}", break_words(*reason)));
            }
            Some(JournalCheck::Intact { .. }) if foreign.contains_key(chain) => {
                let seq = foreign[chain];
                verdict.first_bad_seq = Some(seq);
                verdict.problem = Some(format!(
                    "entry {seq}: it names another plan (copied from another plan's change journal)"
                ));
            }
            Some(JournalCheck::Intact { .. }) => {
                verdict.problem = anchors
                    .iter()
                    .filter(|a| a.chain == *chain)
                    .find_map(|anchor| against_anchor(hashes, anchor));
                // An empty chain has no head to export; one that had entries and lost them
                // all is still found against its earlier anchors.
                if verdict.problem.is_none() && !hashes.is_empty() {
                    heads.push(Anchor {
                        at: now_unix,
                        chain: chain.clone(),
                        entries: hashes.len() as u64,
                        head: hashes.last().cloned(),
                    });
                }
            }
        }
        report.chains.push(verdict);
    }
    if *scope == Scope::All {
        let known: std::collections::BTreeSet<&str> =
            chains.iter().map(|(c, _, _)| c.as_str()).collect();
        let mut missing: Vec<String> = anchors
            .iter()
            .filter(|a| !known.contains(a.chain.as_str()))
            .map(|a| a.chain.clone())
            .collect();
        missing.dedup();
        report.missing = missing;
    }
    append_anchors(anchor_file, &heads, syslog)?;
    Ok(report)
}

/// Exports the head of a rollout's journal (at its end), when the journal is intact and
/// matches the anchors exported before; returns what is wrong otherwise.
pub async fn anchor_rollout(
    store: &Store,
    rollout_id: &str,
    anchor_file: &Path,
    syslog: bool,
    now_unix: i64,
) -> Result<AuditReport, AuditError> {
    verify(store, &Scope::Rollout(rollout_id.to_owned()), anchor_file, syslog, now_unix).await
}

/// Whether a change entry's body names `plan_id` as its plan.
fn names_plan(body_json: &str, plan_id: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body_json)
        .ok()
        .and_then(|body| body.get("plan").and_then(|p| p.as_str().map(|p| p == plan_id)))
        .unwrap_or(false)
}

async fn rollout_chain(
    store: &Store,
    id: &str,
) -> Result<(String, Vec<String>, Option<JournalCheck>), AuditError> {
    let check = store.verify_journal(id).await?;
    let hashes = store.journal(id).await?.into_iter().map(|e| e.hash).collect();
    Ok((format!("rollout:{id}"), hashes, Some(check)))
}

/// What is wrong with a chain of `hashes` against an anchor exported earlier, if anything.
fn against_anchor(hashes: &[String], anchor: &Anchor) -> Option<String> {
    let n = anchor.entries as usize;
    if hashes.len() < n {
        return Some(format!(
            "it has {} entries, but had {n} when its head was exported at {}: entries were \
             removed",
            hashes.len(),
            when(anchor.at)
        ));
    }
    let at = if n == 0 { None } else { Some(&hashes[n - 1]) };
    if at != anchor.head.as_ref() {
        return Some(format!(
            "entry {n} is not the one exported at {}: the journal was rewritten and hashed again",
            when(anchor.at)
        ));
    }
    None
}

fn when(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map_or_else(|| unix.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

fn read_anchors(path: &Path) -> Result<Vec<Anchor>, AuditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(AuditError::AnchorIo { path: path.to_path_buf(), source }),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|error| AuditError::AnchorCorrupt {
                path: path.to_path_buf(),
                line: index + 1,
                problem: error.to_string(),
            })
        })
        .collect()
}

fn append_anchors(path: &Path, heads: &[Anchor], syslog: bool) -> Result<(), AuditError> {
    if heads.is_empty() {
        return Ok(());
    }
    let io = |source| AuditError::AnchorIo { path: path.to_path_buf(), source };
    let mut file = crate::files::create_private_append(path).map_err(io)?;
    let mut text = String::new();
    for head in heads {
        text.push_str(&serde_json::to_string(head).expect("anchors serialize"));
        text.push('\n');
    }
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    if syslog {
        for head in heads {
            let message = format!(
                "chain {} entries {} head {}",
                head.chain,
                head.entries,
                head.head.as_deref().unwrap_or("none")
            );
            // The system log is a second copy; the file is the record, so a logger that is
            // missing is not an error of the audit.
            let _ = std::process::Command::new("logger")
                .args(["-t", "patchctl-audit", "--", &message])
                .status();
        }
    }
    Ok(())
}

/// `audit verify [ROLLOUT]`: the chains of `scope` checked, against the anchor file the
/// inventory names (or the default beside the state); the heads exported, dated by the real
/// clock.
pub async fn check(ctx: &crate::Context, scope: &Scope) -> Result<AuditReport, AuditError> {
    // The inventory names the anchor file when it sets one; audit works without one.
    let inventory = ctx.inventory().ok();
    let anchor_file = ctx.sources.anchor_file(inventory.as_deref());
    let syslog = inventory.as_ref().is_some_and(|i| i.audit().syslog);
    verify(ctx.store().await?, scope, &anchor_file, syslog, ctx.clock.real_unix()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(entries: u64, head: Option<&str>) -> Anchor {
        Anchor { at: 0, chain: "rollout:abc".into(), entries, head: head.map(str::to_owned) }
    }

    #[test]
    fn a_chain_is_checked_against_its_anchors() {
        let hashes: Vec<String> = ["a", "b", "c"].map(str::to_owned).to_vec();
        assert_eq!(against_anchor(&hashes, &anchor(3, Some("c"))), None);
        assert_eq!(against_anchor(&hashes, &anchor(2, Some("b"))), None);
        assert_eq!(against_anchor(&hashes, &anchor(0, None)), None);
        let removed = against_anchor(&hashes[..2], &anchor(3, Some("c"))).unwrap();
        assert!(removed.contains("has 2 entries, but had 3"), "{removed}");
        let rewritten = against_anchor(&hashes, &anchor(2, Some("x"))).unwrap();
        assert!(rewritten.contains("rewritten and hashed again"), "{rewritten}");
    }
}
