//! Policy files: each valid one against a rendering of everything it resolved to, each invalid
//! one against its messages, `file:line:column: message`.

use std::fmt::Write;
use std::path::Path;

use super::super::baseline::{classification_word, severity_word};
use super::super::{Approval, Baseline, Policy, format_duration};
use super::{cases, expect_file, policy};

/// Every resolved field, one environment and one baseline after another.
fn render(policy: &Policy) -> String {
    let mut out = String::new();
    for e in policy.environments() {
        let s = &e.schedule;
        let _ = writeln!(out, "environment {}", e.name);
        let _ = writeln!(
            out,
            "  schedule {:?} in {}, window {}, cutoff {}",
            s.pattern(),
            s.timezone().name(),
            format_duration(s.duration()),
            format_duration(s.cutoff())
        );
        for b in s.blackouts() {
            let _ = writeln!(out, "  blackout {} to {} {:?}", b.from, b.to, b.reason);
        }
        let approval = match &e.approval {
            Approval::Automatic => "auto".to_owned(),
            Approval::Required { approvers, role, ticket } => {
                format!("{approvers} approvers, role {role:?}, ticket {ticket}")
            }
        };
        let _ = writeln!(out, "  approval {approval}");
        let _ = writeln!(out, "  soak {}, sla {:?}", format_duration(e.soak), e.sla);
        let _ = writeln!(
            out,
            "  strategy canary {} max_unavailable {} error_budget {}, reboot {}",
            e.strategy.canary, e.strategy.max_unavailable, e.strategy.error_budget, e.reboot
        );
        if !e.restarts.is_default() {
            let _ = writeln!(
                out,
                "  restart_services {}, restart_sshd {}",
                e.restarts.services, e.restarts.sshd
            );
        }
        let _ = writeln!(out, "  baseline {}", e.baseline.name);
    }
    for b in policy.baselines() {
        render_baseline(&mut out, b);
    }
    for (role, members) in policy.roles() {
        let _ = writeln!(out, "role {role} = [{}]", members.join(","));
    }
    out
}

fn render_baseline(out: &mut String, b: &Baseline) {
    let list = |patterns: &[super::super::PackagePattern]| {
        patterns.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
    };
    let _ = writeln!(
        out,
        "baseline {} approve=[{}] reject=[{}] exclude=[{}] hold=[{}]",
        b.name,
        list(&b.approve),
        list(&b.reject),
        list(&b.exclude),
        list(&b.hold)
    );
    for rule in &b.rules {
        let classifications: Vec<&str> =
            rule.classifications.iter().map(|c| classification_word(*c)).collect();
        let severities: Vec<&str> = rule.severities.iter().map(|s| severity_word(*s)).collect();
        let _ = writeln!(
            out,
            "  rule classifications=[{}] severities=[{}] after {} days",
            classifications.join(","),
            severities.join(","),
            rule.auto_approve_after_days
        );
    }
}

#[test]
fn valid_policies() {
    for case in cases("valid") {
        let text = std::fs::read_to_string(&case).unwrap();
        let name = Path::new(case.file_name().unwrap());
        let policy = Policy::parse(name, &text).unwrap_or_else(|e| panic!("{e}"));
        expect_file(&case.with_extension("expected"), &render(&policy));
    }
}

#[test]
fn invalid_policies() {
    for case in cases("invalid") {
        let text = std::fs::read_to_string(&case).unwrap();
        let name = Path::new(case.file_name().unwrap());
        let error = Policy::parse(name, &text).map(|_| ()).unwrap_err();
        expect_file(&case.with_extension("expected"), &format!("{error}\n"));
    }
}

#[test]
fn a_typo_in_a_key_points_at_it_and_suggests_the_word() {
    let text = std::fs::read_to_string(super::test_data("invalid/typo.toml")).unwrap();
    let error = Policy::parse(Path::new("policy.toml"), &text).unwrap_err();
    let first = &error.errors[0];
    assert_eq!((first.line, first.column), (4, 1));
    assert!(first.message.starts_with("unknown field \"timezon\", expected one of name,"));
    assert!(first.message.ends_with("(did you mean \"timezone\"?)"), "{}", first.message);
}

#[test]
fn promotion_order_is_the_order_of_the_file() {
    let text = std::fs::read_to_string(super::test_data("valid/full.toml")).unwrap();
    let policy = policy(&text);
    assert_eq!(policy.environment_order(), ["dev", "staging", "production"]);
    assert_eq!(policy.previous_environment("production").unwrap().name, "staging");
    assert!(policy.previous_environment("dev").is_none());
    assert!(policy.previous_environment("qa").is_none());
    // Named, then `default`, then (tested in minimal.toml) the built-in approve-all.
    assert_eq!(policy.environment("dev").unwrap().baseline.name, "fast");
    assert_eq!(policy.environment("staging").unwrap().baseline.name, "default");
}

#[test]
fn sla_deadlines_count_whole_days_of_elapsed_time() {
    let text = std::fs::read_to_string(super::test_data("valid/full.toml")).unwrap();
    let policy = policy(&text);
    let staging = policy.environment("staging").unwrap();
    let released = super::utc("2026-03-20T09:15:00Z");
    let critical = Some(crate::Severity::Critical);
    // Across Berlin's spring-forward on 2026-03-29: still 7 × 24 hours.
    assert_eq!(staging.sla_deadline(released, critical), Some(super::utc("2026-03-27T09:15:00Z")));
    assert_eq!(staging.sla_deadline(released, None), Some(super::utc("2026-04-19T09:15:00Z")));
    let production = policy.environment("production").unwrap();
    assert_eq!(production.sla_deadline(released, Some(crate::Severity::Low)), None);
    assert_eq!(production.sla_deadline(released, None), None);
}
