//! The notifications nobody triggers by hand, sent by the scheduler's pass
//! ([`send_due_notices`]): each environment's next window announced to its hosts' owners
//! `announce_before` ahead, each open postmortem's reminder and overdue notice, and the
//! escalation of a failure still unresolved (its postmortem open) to the next contact level.
//! When each is due is `model::notification::timing`'s decision; each is claimed in the store
//! (`Store::claim_notice`) before it is sent, so that it goes out once, whatever restarts.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use model::Inventory;
use model::notification::timing::{Notice, announcement_due, postmortem_notices};
use model::notification::{Event, EventKind, Notifications};
use model::policy::{Environment, Policy};
use model::postmortem::Postmortem;
use model::scheduling::{Idle, plan_to_run};
use store::Store;

use crate::notify::{NotifyReport, notify};
use crate::scheduler::{SchedulerError, candidates};

/// One notice sent, and what became of its deliveries.
#[derive(Debug, Clone)]
pub struct SentNotice {
    pub notice: Notice,
    pub report: NotifyReport,
}

/// Sends every notice due at `now` that was not sent before; `owner` is the scheduler, for the
/// claims. Nothing when the policy tells nobody.
pub async fn send_due_notices(
    store: &Store,
    policy: &Policy,
    inventory: &Inventory,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SentNotice>, SchedulerError> {
    let settings = policy.notifications();
    if !settings.is_configured() {
        return Ok(Vec::new());
    }
    let mut due: Vec<(Notice, Event)> = Vec::new();
    let plans = candidates(store, policy).await?;
    for environment in policy.environments() {
        let Some(window) = environment.next_windows(now, 1).into_iter().next() else { continue };
        if !announcement_due(window.start, settings.announce_before, now) {
            continue;
        }
        let what = match plan_to_run(environment, &plans) {
            _ if environment.approval == model::policy::Approval::Automatic => format!(
                "The scheduler will assess the {} hosts and patch what the baseline approves.",
                environment.name
            ),
            Ok(plan) => format!(
                "Plan {} (approved) will run: `patchctl plan show {}`.",
                model::plan::short_id(&plan),
                model::plan::short_id(&plan)
            ),
            Err(idle @ Idle::NotApproved { .. }) => {
                format!("Nothing will run unless approved in time: {}.", idle.describe())
            }
            // Nothing to run: nobody needs to hear of the window.
            Err(_) => continue,
        };
        let notice = Notice::WindowAnnounced {
            environment: environment.name.clone(),
            opens_at: window.start,
        };
        due.push((notice, announcement(environment, &window, &what, inventory, now)));
    }
    let postmortems = crate::postmortem::postmortems(store).await?;
    for postmortem in &postmortems {
        for notice in
            postmortem_notices(postmortem, settings.escalate_after, settings.escalation.len(), now)
        {
            let event = postmortem_event(&notice, postmortem, settings, inventory, now);
            due.push((notice, event));
        }
    }
    let mut sent = Vec::new();
    for (notice, event) in due {
        if !store.claim_notice(&notice.key(), owner, now.timestamp()).await? {
            continue;
        }
        let report = notify(store, settings, &event).await;
        sent.push(SentNotice { notice, report });
    }
    Ok(sent)
}

/// The owners of the inventory's hosts in `environment`, each once, sorted.
fn owners_in(inventory: &Inventory, environment: &str) -> (Vec<String>, Vec<String>) {
    let hosts: Vec<&model::ResolvedHost> =
        inventory.hosts().iter().filter(|h| h.environment == environment).collect();
    let owners: BTreeSet<String> = hosts.iter().filter_map(|h| h.owner.clone()).collect();
    (hosts.iter().map(|h| h.name.clone()).collect(), owners.into_iter().collect())
}

fn announcement(
    environment: &Environment,
    window: &model::policy::Window,
    what: &str,
    inventory: &Inventory,
    now: DateTime<Utc>,
) -> Event {
    let (hosts, owners) = owners_in(inventory, &environment.name);
    let shown = |at: DateTime<Utc>| model::notification::shown_time(at);
    Event {
        hosts,
        owners,
        ..Event::new(
            EventKind::WindowAnnounced,
            format!(
                "patchctl: maintenance window for {} opens at {}",
                environment.name,
                shown(window.start)
            ),
            format!(
                "The {} maintenance window opens at {} and ends at {}; no host starts after {}.\n\
                 {what}\nHosts may reboot during the window.",
                environment.name,
                shown(window.start),
                shown(window.end),
                shown(window.cutoff),
            ),
            now,
        )
    }
}

fn postmortem_event(
    notice: &Notice,
    postmortem: &Postmortem,
    settings: &Notifications,
    inventory: &Inventory,
    now: DateTime<Utc>,
) -> Event {
    let mut owners: BTreeSet<String> = postmortem
        .hosts
        .iter()
        .filter_map(|h| inventory.host(h).and_then(|h| h.owner.clone()))
        .collect();
    owners.extend(postmortem.owner.clone());
    let shown = model::notification::shown_time;
    let close = format!(
        "Close it with `patchctl postmortem close {} --root-cause \"...\" --as USER`.",
        postmortem.id
    );
    let (kind, subject, level) = match notice {
        Notice::PostmortemDue { .. } => (
            EventKind::PostmortemDue,
            format!(
                "patchctl: postmortem {} is due at {}",
                postmortem.id,
                shown(postmortem.due_at)
            ),
            None,
        ),
        Notice::PostmortemOverdue { .. } => (
            EventKind::PostmortemOverdue,
            format!(
                "patchctl: postmortem {} is OVERDUE since {}",
                postmortem.id,
                shown(postmortem.due_at)
            ),
            None,
        ),
        Notice::Escalation { level, .. } => {
            let name = settings.escalation.get(level - 1).map_or("?", |l| l.name.as_str());
            (
                EventKind::Escalation,
                format!(
                    "patchctl: ESCALATION (level {level}, {name}): unresolved since {}: {}",
                    shown(postmortem.opened_at),
                    postmortem.title
                ),
                Some(*level),
            )
        }
        Notice::WindowAnnounced { .. } => unreachable!("not a postmortem's notice"),
    };
    let body = format!(
        "Postmortem {}: {}\nOpened at {} by {}, due at {}.\nHosts: {}\n{close}",
        postmortem.id,
        postmortem.title,
        shown(postmortem.opened_at),
        postmortem.opened_by,
        shown(postmortem.due_at),
        if postmortem.hosts.is_empty() { "-".to_owned() } else { postmortem.hosts.join(", ") },
    );
    let mut event = Event {
        hosts: postmortem.hosts.clone(),
        escalation_level: level,
        ..Event::new(kind, subject, body, now)
    };
    // An escalation goes to its level; the owners were told of the failure already.
    if level.is_none() {
        event.owners = owners.into_iter().collect();
    }
    event
}
