//! A compliance report for people (Markdown, HTML through `document`) and for spreadsheets
//! (CSV, one row per host and check).

use super::{Check, Report, Status};
use crate::document::Document;

pub fn to_document(report: &Report) -> Document {
    let mut doc = Document::new("Compliance");
    doc.paragraph(format!(
        "Evaluated at {}: {}.",
        report.evaluated_at,
        if report.compliant { "compliant" } else { "NOT compliant" }
    ));
    doc.heading("Environments");
    let rows = report
        .environments
        .iter()
        .map(|e| {
            let failing: Vec<String> =
                e.failing.iter().map(|(check, n)| format!("{} ({n})", check.as_str())).collect();
            vec![
                e.environment.clone(),
                if e.compliant { "yes".into() } else { "no".into() },
                format!("{}/{}", e.n_compliant, e.n_hosts),
                failing.join(", "),
            ]
        })
        .collect();
    doc.table(&["environment", "compliant", "hosts compliant", "failing checks"], rows);
    doc.heading("Hosts");
    let mut head = vec!["host", "environment"];
    head.extend(Check::ALL.iter().map(|c| c.as_str()));
    let rows = report
        .hosts
        .iter()
        .map(|h| {
            let mut row = vec![h.host.clone(), h.environment.clone()];
            row.extend(h.findings.iter().map(|f| status_word(f.status).to_owned()));
            row
        })
        .collect();
    doc.table(&head, rows);
    if !report.fleet_findings.is_empty() {
        doc.heading("Fleet");
        doc.list(report.fleet_findings.iter().flat_map(|f| f.details.clone()).collect());
    }
    for host in &report.hosts {
        doc.heading(format!("Host {} ({})", host.host, host.environment));
        let rows = host
            .findings
            .iter()
            .map(|f| {
                vec![
                    f.check.as_str().to_owned(),
                    status_word(f.status).to_owned(),
                    f.summary.clone(),
                ]
            })
            .collect();
        doc.table(&["check", "status", "summary"], rows);
        let details: Vec<String> = host
            .findings
            .iter()
            .flat_map(|f| f.details.iter().map(move |d| format!("{}: {d}", f.check.as_str())))
            .collect();
        if !details.is_empty() {
            doc.list(details);
        }
    }
    doc
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::NotApplicable => "n/a",
    }
}

/// `host,environment,check,status,summary,details`, details joined with ` | `; fields quoted
/// as RFC 4180 says when they need it.
pub fn to_csv(report: &Report) -> String {
    let mut out = String::from("host,environment,check,status,summary,details\n");
    for host in &report.hosts {
        for f in &host.findings {
            let fields = [
                host.host.as_str(),
                host.environment.as_str(),
                f.check.as_str(),
                f.status.as_str(),
                f.summary.as_str(),
                &f.details.join(" | "),
            ];
            out.push_str(&crate::csv_out::line(&fields));
        }
    }
    out
}
