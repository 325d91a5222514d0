//! From the text of a policy file to a [`Policy`]: deserialize, check every value and every
//! reference, resolve baselines and blackouts into each environment. Every problem found is
//! collected with its position, not only the first.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::str::FromStr;

use chrono::TimeDelta;
use toml::Spanned;

use super::baseline::PackagePattern;
use super::duration::parse_duration;
use super::error::{PolicyError, nearest, toml_error};
use super::file::{
    ApprovalFile, BaselineFile, BlackoutFile, EnvironmentFile, LimitFile, PolicyFile, RuleFile,
    SlaFile,
};
use super::validate::{
    check_cutoff, check_soak, check_user, check_word, non_empty, parse_date, parse_schedule,
    parse_timezone, severity,
};
use super::{Approval, Baseline, BaselineRule, Blackout, Environment, Policy, Schedule, Sla};
use crate::inventory::validate::check_environment;
use crate::plan::{Limit, RestartServices, ServiceRestarts, Strategy};

pub(super) fn parse(path: &Path, text: &str) -> Result<Policy, super::InvalidPolicy> {
    let file: PolicyFile = toml::from_str(text)
        .map_err(|error| super::InvalidPolicy::new(vec![toml_error(path, text, &error)]))?;
    let mut cx = Context { path, text, errors: Vec::new() };
    let baselines: BTreeMap<String, Baseline> =
        file.baselines.iter().map(|(name, baseline)| cx.baseline(name, baseline)).collect();
    let names = cx.environment_names(&file.environments);
    let roles = cx.roles(&file.roles);
    let shared: Vec<(Blackout, Option<Vec<String>>)> = file
        .blackouts
        .iter()
        .filter_map(|blackout| {
            let environments = blackout.environments.as_ref().map(|list| {
                if list.is_empty() {
                    cx.error(
                        blackout.from.span(),
                        "the blackout's `environments` is empty, so it applies to none: list \
                         them, or leave the key out to apply it to every environment"
                            .to_owned(),
                    );
                }
                list.iter()
                    .filter(|name| cx.known_environment(name, &names))
                    .map(|name| name.get_ref().clone())
                    .collect()
            });
            Some((cx.blackout(blackout)?, environments))
        })
        .collect();
    let environments: Vec<Environment> = file
        .environments
        .iter()
        .enumerate()
        .filter_map(|(index, environment)| {
            cx.environment(environment, index, &shared, &baselines, &roles)
        })
        .collect();
    let mut notifications = file
        .notifications
        .as_ref()
        .map(|n| super::settings::notifications(&mut cx, n))
        .unwrap_or_default();
    // A template directory is relative to the policy file, wherever patchctl runs from.
    notifications.templates = notifications
        .templates
        .take()
        .map(|dir| path.parent().map_or_else(|| dir.clone(), |parent| parent.join(&dir)));
    let compliance = file
        .compliance
        .as_ref()
        .map(|c| super::settings::compliance(&mut cx, c))
        .unwrap_or_default();
    let emergency =
        file.emergency.as_ref().map(|e| super::settings::emergency(&mut cx, e)).unwrap_or_default();
    if !cx.errors.is_empty() {
        return Err(super::InvalidPolicy::new(cx.errors));
    }
    Ok(Policy {
        environments,
        baselines: baselines.into_values().collect(),
        roles,
        notifications,
        compliance,
        emergency,
    })
}

impl super::settings::Report for Context<'_> {
    fn report(&mut self, span: Range<usize>, message: String) {
        self.error(span, message);
    }
}

struct Context<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<PolicyError>,
}

impl Context<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        self.errors.push(PolicyError::at(self.path, self.text, span.start, message));
    }

    /// The value of a check, or `None` with its message recorded at `span`.
    fn check<T>(&mut self, span: Range<usize>, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.error(span, message)).ok()
    }

    /// Names checked, and unique, in promotion order. A name declared twice is an error at its
    /// second declaration, pointing back at the first.
    fn environment_names(&mut self, environments: &[EnvironmentFile]) -> Vec<String> {
        let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut names = Vec::new();
        for environment in environments {
            let name = &environment.name;
            // An invalid name is still a name references may use: one error, not two.
            self.check(name.span(), check_environment(name.get_ref()));
            if let Some(&first) = first_seen.get(name.get_ref().as_str()) {
                let line = PolicyError::at(self.path, self.text, first, String::new()).line;
                self.error(
                    name.span(),
                    format!(
                        "environment {:?} is declared twice (first on line {line}): an \
                         environment has one place in the promotion order",
                        name.get_ref()
                    ),
                );
                continue;
            }
            first_seen.insert(name.get_ref(), name.span().start);
            names.push(name.get_ref().clone());
        }
        names
    }

    fn known_environment(&mut self, name: &Spanned<String>, names: &[String]) -> bool {
        if names.contains(name.get_ref()) {
            return true;
        }
        let mut message = format!(
            "unknown environment {:?}, expected one of {}",
            name.get_ref(),
            if names.is_empty() {
                "the [[environments]] names (none declared)".to_owned()
            } else {
                names.join(", ")
            }
        );
        if let Some(word) = nearest(name.get_ref(), names.iter().map(String::as_str)) {
            message.push_str(&format!(" (did you mean {word:?}?)"));
        }
        self.error(name.span(), message);
        false
    }

    fn environment(
        &mut self,
        file: &EnvironmentFile,
        index: usize,
        shared: &[(Blackout, Option<Vec<String>>)],
        baselines: &BTreeMap<String, Baseline>,
        roles: &BTreeMap<String, Vec<String>>,
    ) -> Option<Environment> {
        let name = file.name.get_ref();
        let cron = self.check(file.schedule.span(), parse_schedule(file.schedule.get_ref()));
        let timezone = self.check(file.timezone.span(), parse_timezone(file.timezone.get_ref()));
        let window = self.check(file.window.span(), parse_duration(file.window.get_ref()));
        let window = window.and_then(|w| {
            let positive = if w > TimeDelta::zero() {
                Ok(w)
            } else {
                Err(format!(
                    "a window of {} never opens: expected a duration above zero",
                    file.window.get_ref()
                ))
            };
            self.check(file.window.span(), positive)
        });
        let cutoff = match &file.cutoff {
            None => window,
            Some(cutoff) => self
                .check(cutoff.span(), parse_duration(cutoff.get_ref()))
                .and_then(|c| self.check(cutoff.span(), check_cutoff(cutoff.get_ref(), c, window))),
        };
        let mut blackouts: Vec<Blackout> = Vec::new();
        for blackout in &file.blackouts {
            if let Some(list) = &blackout.environments {
                let span = list.first().map_or(blackout.from.span(), |n| n.span());
                self.error(
                    span,
                    "`environments` belongs in a top-level [[blackouts]]: a blackout inside an \
                     environment applies to that environment"
                        .to_owned(),
                );
            }
            blackouts.extend(self.blackout(blackout));
        }
        blackouts.extend(
            shared
                .iter()
                .filter(|(_, only)| only.as_ref().is_none_or(|only| only.contains(name)))
                .map(|(blackout, _)| blackout.clone()),
        );
        let soak = match &file.soak {
            None => Some(TimeDelta::zero()),
            Some(soak) => self
                .check(soak.span(), parse_duration(soak.get_ref()))
                .and_then(|s| self.check(soak.span(), check_soak(s, index, name))),
        };
        let approval = self.approval(&file.approval, roles);
        let sla = self.sla(&file.sla_days);
        let strategy = self.strategy(file);
        let baseline = match &file.baseline {
            Some(wanted) => match baselines.get(wanted.get_ref()) {
                Some(baseline) => Some(baseline.clone()),
                None => {
                    let mut message = format!(
                        "unknown baseline {:?}, expected one of the [baselines.NAME] tables ({})",
                        wanted.get_ref(),
                        if baselines.is_empty() {
                            "none declared".to_owned()
                        } else {
                            baselines.keys().cloned().collect::<Vec<_>>().join(", ")
                        }
                    );
                    if let Some(word) =
                        nearest(wanted.get_ref(), baselines.keys().map(String::as_str))
                    {
                        message.push_str(&format!(" (did you mean {word:?}?)"));
                    }
                    self.error(wanted.span(), message);
                    None
                }
            },
            None => Some(baselines.get("default").cloned().unwrap_or_else(Baseline::approve_all)),
        };
        let restarts = self.restarts(file);
        let goals: Vec<String> = file
            .goals
            .iter()
            .filter_map(|goal| self.check(goal.span(), check_goal(goal.get_ref())))
            .collect();
        let schedule = Schedule::new(
            file.schedule.get_ref().clone(),
            cron?,
            timezone?,
            window?,
            cutoff?,
            blackouts,
        );
        Some(Environment {
            name: name.clone(),
            schedule,
            approval: approval?,
            sla: sla?,
            soak: soak?,
            strategy: strategy?,
            reboot: file.reboot.unwrap_or_default(),
            restarts: restarts?,
            baseline: baseline?,
            goals,
        })
    }

    /// `restart_services` and `restart_sshd`; the latter means nothing without the former.
    fn restarts(&mut self, file: &EnvironmentFile) -> Option<ServiceRestarts> {
        let services = file.restart_services.unwrap_or_default();
        let sshd = file.restart_sshd.as_ref().is_some_and(|sshd| *sshd.get_ref());
        if sshd && services == RestartServices::Never {
            let span = file.restart_sshd.as_ref().map_or(file.name.span(), |s| s.span());
            self.error(
                span,
                "`restart_sshd = true` restarts nothing while `restart_services` is \"never\" (the \
                 default): set restart_services = \"listed\" or \"needrestart\" too, or leave \
                 restart_sshd out"
                    .to_owned(),
            );
            return None;
        }
        Some(ServiceRestarts { services, sshd })
    }

    fn blackout(&mut self, file: &BlackoutFile) -> Option<Blackout> {
        let from = self.check(file.from.span(), parse_date("from", file.from.get_ref()));
        let to = self.check(file.to.span(), parse_date("to", file.to.get_ref()));
        let reason = file.reason.as_ref().and_then(|reason| {
            let text = reason.get_ref();
            let ok = if text.trim().is_empty() || text.chars().any(char::is_control) {
                Err("the reason is empty or contains a control character".to_owned())
            } else {
                Ok(text.clone())
            };
            self.check(reason.span(), ok)
        });
        let (from, to) = (from?, to?);
        if to < from {
            self.error(
                file.to.span(),
                format!("the blackout ends ({to}) before it begins ({from}): expected `to` on or after `from`"),
            );
            return None;
        }
        Some(Blackout { from, to, reason })
    }

    /// `[roles]`: names checked, members checked and unique. A role without members is kept
    /// (and refused where a rule needs approvers from it).
    fn roles(
        &mut self,
        file: &BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut roles = BTreeMap::new();
        for (role, members) in file {
            self.check(role.span(), check_word("role", role.get_ref()));
            let mut names: Vec<String> = Vec::new();
            for member in members {
                let Some(name) = self.check(member.span(), check_user(member.get_ref())) else {
                    continue;
                };
                if names.contains(&name) {
                    self.error(
                        member.span(),
                        format!("{name:?} is listed twice in role {:?}", role.get_ref()),
                    );
                    continue;
                }
                names.push(name);
            }
            names.sort();
            roles.insert(role.get_ref().clone(), names);
        }
        roles
    }

    fn approval(
        &mut self,
        file: &Spanned<ApprovalFile>,
        roles: &BTreeMap<String, Vec<String>>,
    ) -> Option<Approval> {
        let required = match file.get_ref() {
            ApprovalFile::Auto => return Some(Approval::Automatic),
            ApprovalFile::Required(required) => required,
        };
        let approvers = self.check(
            required.approvers.span(),
            u32::try_from(*required.approvers.get_ref()).ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!(
                    "approvers = {} is out of range: expected 1 or more (approval = \"auto\" needs none)",
                    required.approvers.get_ref()
                )
            }),
        );
        let role = match &required.role {
            None => Some(None),
            Some(role) => self
                .check(role.span(), check_word("role", role.get_ref()))
                .and_then(|name| self.declared_role(role, roles, approvers).map(|()| Some(name))),
        };
        Some(Approval::Required { approvers: approvers?, role: role?, ticket: required.ticket })
    }

    /// The role an approval rule names exists in `[roles]` with enough members to ever
    /// satisfy it (`approvers` distinct people, the requester not among them).
    fn declared_role(
        &mut self,
        role: &Spanned<String>,
        roles: &BTreeMap<String, Vec<String>>,
        approvers: Option<u32>,
    ) -> Option<()> {
        let Some(members) = roles.get(role.get_ref()) else {
            let mut message = format!(
                "unknown role {:?}: declare it with its members in [roles], e.g. {} = [\"alice\", \"bob\"]",
                role.get_ref(),
                role.get_ref()
            );
            if let Some(word) = nearest(role.get_ref(), roles.keys().map(String::as_str)) {
                message.push_str(&format!(" (did you mean {word:?}?)"));
            }
            self.error(role.span(), message);
            return None;
        };
        let needed = approvers.unwrap_or(1) as usize;
        if members.len() < needed {
            self.error(
                role.span(),
                format!(
                    "role {:?} has {} members but the rule needs {needed} approvers: no change \
                     could ever be approved",
                    role.get_ref(),
                    members.len()
                ),
            );
            return None;
        }
        Some(())
    }

    fn sla(&mut self, file: &SlaFile) -> Option<Sla> {
        let mut days = |value: &Option<Spanned<i64>>| -> Result<Option<u32>, ()> {
            let Some(value) = value else { return Ok(None) };
            let checked =
                u32::try_from(*value.get_ref()).ok().filter(|d| (1..=3650).contains(d)).ok_or_else(
                    || format!("{} days is out of range: expected 1 to 3650", value.get_ref()),
                );
            self.check(value.span(), checked).map(Some).ok_or(())
        };
        // Every value is checked, so all mistakes are reported, before any `?`.
        let sla = (
            days(&file.critical),
            days(&file.important),
            days(&file.moderate),
            days(&file.low),
            days(&file.none),
            days(&file.unrated),
        );
        Some(Sla {
            critical: sla.0.ok()?,
            important: sla.1.ok()?,
            moderate: sla.2.ok()?,
            low: sla.3.ok()?,
            none: sla.4.ok()?,
            unrated: sla.5.ok()?,
        })
    }

    fn strategy(&mut self, file: &EnvironmentFile) -> Option<Strategy> {
        let defaults = Strategy::default();
        let canary = match &file.strategy.canary {
            None => Some(defaults.canary),
            Some(canary) => self.check(
                canary.span(),
                usize::try_from(*canary.get_ref()).map_err(|_| {
                    format!("canary = {} is negative: expected 0 or more hosts", canary.get_ref())
                }),
            ),
        };
        let mut limit = |what: &str, value: &Option<Spanned<LimitFile>>, default: Limit| match value
        {
            None => Some(default),
            Some(value) => self.check(
                value.span(),
                Limit::from_str(&value.get_ref().0).map_err(|message| format!("{what} {message}")),
            ),
        };
        let max_unavailable =
            limit("max_unavailable", &file.strategy.max_unavailable, defaults.max_unavailable);
        let error_budget =
            limit("error_budget", &file.strategy.error_budget, defaults.error_budget);
        let max_unavailable = max_unavailable?;
        if max_unavailable == Limit::Count(0) {
            let span =
                file.strategy.max_unavailable.as_ref().map(Spanned::span).unwrap_or_default();
            self.error(
                span,
                "max_unavailable = 0 would never patch a host: expected 1 or more, or a percentage"
                    .to_owned(),
            );
            return None;
        }
        Some(Strategy { canary: canary?, max_unavailable, error_budget: error_budget? })
    }

    fn baseline(&mut self, name: &Spanned<String>, file: &BaselineFile) -> (String, Baseline) {
        // A bad name is reported; the baseline is still built so references to it resolve
        // and do not add a second, misleading error.
        self.check(name.span(), check_word("baseline", name.get_ref()));
        let mut patterns = |list: &[Spanned<String>]| -> Vec<PackagePattern> {
            list.iter()
                .filter_map(|pattern| {
                    self.check(pattern.span(), PackagePattern::parse(pattern.get_ref()))
                })
                .collect()
        };
        let approve = patterns(&file.approve);
        let reject = patterns(&file.reject);
        let exclude = patterns(&file.exclude);
        let hold = patterns(&file.hold);
        let rules = file.rules.iter().filter_map(|rule| self.rule(rule)).collect();
        let baseline =
            Baseline { name: name.get_ref().clone(), rules, approve, reject, exclude, hold };
        (name.get_ref().clone(), baseline)
    }

    fn rule(&mut self, file: &RuleFile) -> Option<BaselineRule> {
        let classifications = match &file.classifications {
            None => Some(Vec::new()),
            Some(list) => {
                self.check(list.span(), non_empty("classifications", list.get_ref().clone()))
            }
        };
        let severities = match &file.severities {
            None => Some(Vec::new()),
            Some(list) => self.check(
                list.span(),
                non_empty("severities", list.get_ref().iter().map(|s| severity(*s)).collect()),
            ),
        };
        let days = match &file.auto_approve_after_days {
            None => Some(0),
            Some(days) => self.check(
                days.span(),
                u32::try_from(*days.get_ref()).ok().filter(|d| *d <= 3650).ok_or_else(|| {
                    format!("{} days is out of range: expected 0 to 3650", days.get_ref())
                }),
            ),
        };
        Some(BaselineRule {
            classifications: classifications?,
            severities: severities?,
            auto_approve_after_days: days?,
        })
    }
}

/// A goal is one line of words: a plan and its report show it as written.
pub fn check_goal(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the goal is empty".to_owned());
    }
    if trimmed.chars().any(char::is_control) {
        return Err("the goal contains a control character (write one goal per string)".to_owned());
    }
    if trimmed.len() > 500 {
        return Err("the goal is longer than 500 bytes".to_owned());
    }
    Ok(trimmed.to_owned())
}
