//! The emergency track (`patchctl emergency`): from the advisories that qualify (CVSS at or
//! above the policy's threshold, or named by an operator) and the hosts exposed to them, an
//! expedited plan of the updates that fix them; the owners told; a postmortem due a day later.
//! What qualifies, which hosts take which fixes and the postmortem's words are decided in
//! `model::emergency::select` and `model::postmortem::trigger`; this reads the store and acts.
//!
//! The plan takes the hosts the promotion gate admits now, with the emergency's rules
//! (`model::emergency`): the first exposed environment at once, each later one once the fixes
//! were verified on the one before it at most the soak cap earlier. The others are deferred,
//! with the gate's reason; running the track again later plans them.
//!
//! The policy's baselines apply on the emergency track (`model::plan::Track::Emergency`): a
//! fixing package that a baseline excludes, rejects or holds is not planned, since each of
//! those names the package on purpose, and the outcome lists it in `withheld`, loudly, because
//! its host stays exposed until someone lifts the rule. The rules by classification, severity
//! and age do not apply: an emergency does not wait `auto_approve_after_days` for a critical
//! fix, nor let a distribution's milder rating stop it.

use chrono::{DateTime, Utc};
use model::ResolvedHost;
pub use model::emergency::still_exposed;
use model::emergency::{Emergency, EmergencySettings, Selection, select};
use model::notification::{Event, EventKind, Notifications};
use model::plan::{Plan, PlanOptions, Scope, Track, WithheldUpdate};
use model::policy::Policy;
use model::postmortem::trigger::after_emergency;
use model::postmortem::{DEFAULT_DUE_AFTER, Postmortem};
use model::promotion::Refusal;
use store::Store;

use crate::advisories::exposure::{HostExposureState, exposure};
use crate::notify::{NotifyReport, notify};
use crate::plan::{PlanCreateError, gate, make_plan, save_plan};
use crate::postmortem::{PostmortemError, open_postmortem};

/// What to expedite.
#[derive(Debug, Clone)]
pub struct EmergencyRequest<'a> {
    /// Advisory ids or CVE ids named by the operator; empty: every advisory over the threshold.
    pub named: &'a [String],
    pub hosts: &'a [ResolvedHost],
    /// The plan's strategy, reboot policy and environment order; its scope is replaced by the
    /// fixing packages.
    pub options: PlanOptions,
    pub policy: Option<&'a Policy>,
    /// Who asked: an operator, or the scheduler.
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// What the emergency track did.
#[derive(Debug)]
pub struct EmergencyOutcome {
    /// The advisories that qualified and expose at least one host, with their highest score.
    pub advisories: Vec<(String, Option<f64>)>,
    /// The saved plan; none when every exposed host waits (or none is exposed).
    pub plan: Option<Plan>,
    /// Hosts exposed but not planned now: what the gate said about each of their fixes.
    pub deferred: Vec<Refusal>,
    /// Exposed hosts whose repositories offer no fixed version yet.
    pub unfixable: Vec<(String, String)>,
    /// Fixing packages a baseline excludes, rejects or holds, each with its rule: their hosts
    /// stay exposed after the plan runs.
    pub withheld: Vec<WithheldUpdate>,
    /// The postmortem of the emergency (one per advisory set; the same on a second run).
    pub postmortem: Option<Postmortem>,
    pub notified: Option<NotifyReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum EmergencyError {
    #[error("the state database: {0}")]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Plan(#[from] PlanCreateError),
    #[error("opening the emergency's postmortem: {0}")]
    Postmortem(#[from] PostmortemError),
    #[error("no advisory on record is called {0}: import it first (`patchctl advisories import`)")]
    UnknownAdvisory(String),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
    #[error("assessing the hosts: {0}")]
    Assess(String),
}

pub async fn emergency(
    store: &Store,
    request: &EmergencyRequest<'_>,
) -> Result<EmergencyOutcome, EmergencyError> {
    let settings = request.policy.map(|p| *p.emergency()).unwrap_or_default();
    let index = crate::advisories::load_index(store).await?;
    for name in request.named {
        if store.advisories_by_id(name).await?.is_empty() {
            return Err(EmergencyError::UnknownAdvisory(name.clone()));
        }
    }
    let exposure = exposure(store, &index, request.hosts).await?;
    let assessed = exposure.iter().filter_map(|host| match &host.state {
        HostExposureState::Assessed { findings } => Some((host.host.as_str(), findings.as_slice())),
        _ => None,
    });
    let selection = select(&settings, request.named, assessed);
    let mut outcome = EmergencyOutcome {
        advisories: selection.advisories.clone(),
        plan: None,
        deferred: Vec::new(),
        unfixable: selection.unfixable.clone(),
        withheld: Vec::new(),
        postmortem: None,
        notified: None,
    };
    let Some(emergency) = selection.emergency(&settings, request.named, request.actor) else {
        return Ok(outcome);
    };
    if !selection.exposed.is_empty() {
        let expedited =
            expedited_plan(store, request, &settings, &selection, emergency.clone()).await?;
        outcome.plan = expedited.plan;
        outcome.deferred = expedited.deferred;
        outcome.withheld = selection.withheld_fixes(expedited.withheld);
    }

    // The postmortem is the emergency's, whatever was planned this time.
    let due_after = request.policy.map_or(DEFAULT_DUE_AFTER, |p| p.compliance().postmortem_due);
    let all_hosts: Vec<String> = selection.exposed.iter().cloned().collect();
    let owners = selection.owners(request.hosts);
    let opening = after_emergency(
        &emergency.advisories,
        all_hosts.clone(),
        &owners,
        due_after,
        request.actor,
    );
    let (postmortem, _) = open_postmortem(store, &opening, request.now).await?;
    outcome.postmortem = Some(postmortem);

    let event = Event {
        kind: EventKind::Emergency,
        subject: format!(
            "Emergency: {} ({})",
            emergency.advisories.join(", "),
            emergency.cvss_score.map_or("unscored".to_owned(), |s| format!("CVSS {s:.1}"))
        ),
        body: event_body(&emergency, &outcome),
        hosts: all_hosts,
        owners,
        people: Vec::new(),
        escalation_level: None,
        at: request.now,
    };
    let settings = request.policy.map(|p| p.notifications().clone()).unwrap_or_default();
    if settings != Notifications::default() {
        outcome.notified = Some(notify(store, &settings, &event).await);
    }
    Ok(outcome)
}

/// What [`expedited_plan`] made.
struct Expedited {
    /// The saved plan; none when no exposed host can be patched now.
    plan: Option<Plan>,
    /// What the gate said of the hosts it did not admit.
    deferred: Vec<Refusal>,
    /// What the baselines withhold on every exposed host, admitted or not.
    withheld: Vec<WithheldUpdate>,
}

/// The plan of the fixing packages for the exposed hosts the gate admits now, saved; what the
/// gate said of the others; and the fixing packages the baselines withhold.
async fn expedited_plan(
    store: &Store,
    request: &EmergencyRequest<'_>,
    settings: &EmergencySettings,
    selection: &Selection,
    emergency: Emergency,
) -> Result<Expedited, PlanCreateError> {
    let exposed = &selection.exposed;
    let mut options = request.options.clone();
    options.scope = Scope::Packages(selection.packages.iter().cloned().collect());
    let selectors: Vec<String> = exposed.iter().cloned().collect();
    let now_unix = request.now.timestamp();
    let baselines = request.policy.map(|policy| (policy, Track::Emergency));
    let mut admitted: Vec<ResolvedHost> =
        request.hosts.iter().filter(|h| exposed.contains(&h.name)).cloned().collect();
    let draft = make_plan(store, &admitted, &selectors, &options, baselines, now_unix).await?;
    let withheld = draft.withheld.clone();
    let deferred = match request.policy {
        Some(policy) => gate(store, &draft, policy, Some(settings), now_unix).await?,
        None => Vec::new(),
    };
    let mut plan = if deferred.is_empty() {
        draft
    } else {
        admitted.retain(|h| !deferred.iter().any(|r| r.host == h.name));
        if admitted.is_empty() {
            return Ok(Expedited { plan: None, deferred, withheld });
        }
        make_plan(store, &admitted, &selectors, &options, baselines, now_unix).await?
    };
    if plan.hosts.is_empty() {
        return Ok(Expedited { plan: None, deferred, withheld });
    }
    plan.emergency = Some(emergency);
    Ok(Expedited { plan: Some(save_plan(store, plan).await?), deferred, withheld })
}

fn event_body(emergency: &Emergency, outcome: &EmergencyOutcome) -> String {
    let mut body = format!(
        "Advisories: {}\nCVEs: {}\nWhy: {}\n",
        emergency.advisories.join(", "),
        emergency.cves.join(", "),
        emergency.reason
    );
    match &outcome.plan {
        Some(plan) => body.push_str(&format!(
            "Expedited plan {} for {}\n",
            plan.id,
            plan.hosts.iter().map(|h| h.host.as_str()).collect::<Vec<_>>().join(", ")
        )),
        None => body.push_str("No host can be planned yet.\n"),
    }
    for refusal in &outcome.deferred {
        body.push_str(&format!("Waiting: {refusal}\n"));
    }
    for (host, why) in &outcome.unfixable {
        body.push_str(&format!("No fix yet on {host}: {why}\n"));
    }
    for withheld in &outcome.withheld {
        body.push_str(&format!("{}\n", still_exposed(withheld)));
    }
    if let Some(postmortem) = &outcome.postmortem {
        body.push_str(&format!("Postmortem {} due at {}\n", postmortem.id, postmortem.due_at));
    }
    body
}

/// `emergency [ID...] [SELECTOR...]`, as asked.
pub struct EmergencyAsk<'a> {
    /// Advisory or CVE ids; empty: every advisory over the policy's threshold.
    pub named: &'a [String],
    pub selectors: &'a [String],
    /// The plan's strategy and reboot policy (the scope and the environments' order are the
    /// emergency's and the policy's).
    pub options: PlanOptions,
    pub actor: &'a str,
    /// Assess the hosts first: an emergency acts on what they run now, not at the last look.
    pub assess_first: bool,
}

/// The emergency track, from the hosts' assessment (when asked) to the expedited plan, its
/// postmortem and the owners told. A host that cannot be assessed is told to the progress
/// and left out.
pub async fn declare(
    ctx: &crate::Context,
    ask: &EmergencyAsk<'_>,
) -> Result<EmergencyOutcome, EmergencyError> {
    let hosts = ctx.hosts(ask.selectors)?;
    let policy = ctx.sources.policy_or_none()?;
    let mut options = ask.options.clone();
    if let Some(policy) = &policy {
        options.environment_order = policy.environment_order();
    }
    let store = ctx.store().await?;
    if ask.assess_first {
        let config = crate::FleetAssessConfig {
            actor: ask.actor.to_owned(),
            taken_at_unix: ctx.clock.is_virtual().then(|| ctx.clock.now_unix()),
            ..crate::FleetAssessConfig::default()
        };
        let on_done = |host: &str, outcome: &crate::HostOutcome, _: usize| {
            if let crate::HostOutcome::Failed(failure) = outcome {
                ctx.progress.notice(&format!(
                    "{host} could not be assessed, so it is not planned: {} ({})",
                    failure.message, failure.kind
                ));
            }
        };
        crate::assess_hosts(&hosts, store, &config, &on_done)
            .await
            .map_err(|e| EmergencyError::Assess(e.to_string()))?;
    }
    let request = EmergencyRequest {
        named: ask.named,
        hosts: &hosts,
        options,
        policy: policy.as_ref(),
        actor: ask.actor,
        now: ctx.clock.now_seconds(),
    };
    emergency(store, &request).await
}
