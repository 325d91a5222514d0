//! The plan and the report as change records (issue 19, item 8), from a real rollout on the
//! test fleet: a plan with a goal, requested with a ticket and approved by the change board,
//! run in its window; deb1 patched, deb2 rolled back by its failing health check, a postmortem
//! opened. Both are rendered to HTML, screenshot by Debian's headless Chromium into the test
//! output directory (printed), printed to PDF, and measured in the browser: nothing wider than
//! the window, and the summary on the first screen. Times are virtual (a rehearsal): Monday
//! 2026-12-07, whatever day the test runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{PATCHCTL, text};
use crate::test_fleet::TestFleet;

/// Staging at 13:00 in Berlin (12:00 UTC in December) for three hours, approved by one of the
/// change board with a ticket; production on Tuesdays at 22:00 after a day's soak.
const POLICY: &str = r#"
[roles]
cab = ["carol", "dan"]

[[environments]]
name = "staging"
schedule = "0 13 * * *"
timezone = "Europe/Berlin"
window = "3h"
cutoff = "2h"
approval = { approvers = 1, role = "cab", ticket = true }
goals = ["Staging runs the fixed acme packages before production does"]

[[environments]]
name = "production"
schedule = "0 22 * * TUE"
timezone = "Europe/Berlin"
window = "2h"
approval = { approvers = 2, role = "cab", ticket = true }
soak = "24h"
"#;

const GOAL: &str = "Fix the acme-tools security issue (DSA-acme) on staging";

struct Run<'a> {
    fleet: &'a TestFleet,
    config: PathBuf,
}

impl Run<'_> {
    fn at(&self, now: &str, args: &[&str]) -> Output {
        Command::new(PATCHCTL)
            .arg("--config")
            .arg(&self.config)
            .arg("--state")
            .arg(self.fleet.fleet.dir.join("records.db"))
            .args(args)
            .env("PATCHCTL_NOW", now)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .unwrap()
    }

    fn ok(&self, now: &str, args: &[&str]) -> String {
        let output = self.at(now, args);
        assert!(
            output.status.success(),
            "patchctl {args:?} at {now}: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    }
}

/// Both hosts in staging; every host checks acme-web's unit and has a backup and snapshot
/// hook; deb2 also checks acme-web's health over HTTP, which acme-regress 1.1 breaks.
fn inventory(fleet: &TestFleet) -> PathBuf {
    fleet.edited_inventory("records.toml", |text| {
        let mut text = text.replace("environment = \"dev\"", "environment = \"staging\"");
        text = text.replacen(
            "[defaults]\n",
            "[defaults.checks]\nunits = [\"acme-web\"]\njournal_errors = false\n\n\
             [defaults.hooks]\nbackup_command = [\"/usr/bin/test\", \"-d\", \"/var/lib/dpkg\"]\n\
             snapshot = [\"/bin/sync\"]\n\n[defaults]\n",
            1,
        );
        text.push_str(
            "\n[hosts.deb2.checks]\nunits = [\"acme-web\"]\n\
             http = [{ url = \"http://{address}:8080/health\", body = \"ok\" }]\n\
             journal_errors = false\n",
        );
        text
    })
}

#[test]
fn the_plan_and_the_report_read_as_change_records_in_chromium() {
    let Some(fleet) = TestFleet::up("records", 2, 0) else { return };
    let config = inventory(&fleet);
    std::fs::write(config.parent().unwrap().join("policy.toml"), POLICY).unwrap();
    fleet.rehearsal(&fleet.fleet.dir.join("records.db"));
    let run = Run { fleet: &fleet, config };
    run.ok("2026-12-07T09:00:00Z", &["assess", "all"]);
    let created = run.ok(
        "2026-12-07T09:30:00Z",
        &[
            "plan",
            "create",
            "all",
            "--packages",
            "acme-tools,acme-regress",
            "--goal",
            GOAL,
            "--format",
            "json",
        ],
    );
    let plan: Value = serde_json::from_str(&created).unwrap();
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    assert_eq!(plan["options"]["goals"], serde_json::json!([GOAL]));
    run.ok(
        "2026-12-07T09:40:00Z",
        &["change", "request", &plan_id, "--ticket", "CHG-1042", "--as", "alice"],
    );
    run.ok(
        "2026-12-07T10:15:00Z",
        &["change", "approve", &plan_id, "--as", "carol", "--comment", "CAB of 7 December"],
    );

    // The plan as the change board sees it before the window.
    let shown = run.ok("2026-12-07T10:30:00Z", &["plan", "show", &plan_id, "--format", "json"]);
    let record = &serde_json::from_str::<Value>(&shown).unwrap()["record"];
    assert_eq!(record["windows"][0]["window"]["start"], "2026-12-07T12:00:00Z", "{record:#}");
    assert_eq!(record["approval"]["state"], "approved");
    let plan_md = run.ok("2026-12-07T10:30:00Z", &["plan", "show", &plan_id]);
    for expected in [
        &format!("> Goal: {GOAL}") as &str,
        "> When: staging: Mon 7 Dec 2026 13:00 to 16:00 CET (12:00 to 15:00 UTC); no host starts \
         after 15:00 CET",
        "> Approved by: carol (Mon 7 Dec 2026 10:15 UTC); requested by alice, ticket CHG-1042",
        "| Earliest patching of production (projected) | Tue 8 Dec 2026 22:00 CET (21:00 UTC) |",
        "| backup | `/usr/bin/test -d /var/lib/dpkg` exits 0 | both hosts |",
        "| HTTP | GET `http://",
    ] {
        assert!(plan_md.contains(expected), "{expected:?} not in the plan:\n{plan_md}");
    }
    let plan_html = run.ok("2026-12-07T10:30:00Z", &["plan", "show", &plan_id, "--format", "html"]);

    // The rollout, in the window: deb1 (the canary) is patched, deb2 rolled back.
    let started = run.at(
        "2026-12-07T12:05:00Z",
        &["rollout", "start", &plan_id, "--reboot-delay", "0", "--unreachable-grace", "15"],
    );
    let list = run.ok("2026-12-07T12:30:00Z", &["rollout", "list"]);
    let rollout = list
        .lines()
        .find(|l| l.contains(&plan_id[7..19]))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no rollout of the plan: {list}\n{}", text(&started.stderr)))
        .to_owned();
    let report: Value = serde_json::from_str(
        &run.ok("2026-12-07T12:30:00Z", &["report", &rollout, "--format", "json"]),
    )
    .unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["rolled_back"], serde_json::json!(["deb2"]), "{report:#}");
    assert_eq!(summary["ticket"], "CHG-1042");
    assert_eq!(summary["open_postmortems"].as_array().map(Vec::len), Some(1), "{summary:#}");
    let report_md = run.ok("2026-12-07T12:30:00Z", &["report", &rollout]);
    let (first_page, appendix) = report_md.split_once("## Appendix").unwrap();
    for expected in [
        &format!("> Goal: {GOAL}") as &str,
        "> Approved by: carol (Mon 7 Dec 2026 10:15 UTC); requested by alice, ticket CHG-1042.",
        "| deb1 | staging | patched and verified |",
        "| deb2 | staging | ROLLED BACK to its previous versions |",
        "- **Rolled back:** deb2 (to acme-regress 1.0-1, acme-tools 1.0-1)",
        "- **Open postmortems:** #",
    ] {
        assert!(first_page.contains(expected), "{expected:?} not on page one:\n{first_page}");
    }
    assert!(!first_page.contains("sha256"), "digests belong in the appendix:\n{first_page}");
    assert!(appendix.contains("systemd-run") && appendix.contains("sha256"), "{appendix}");
    let report_html = run.ok("2026-12-07T12:30:00Z", &["report", &rollout, "--format", "html"]);

    let out = output_dir();
    for (name, html, first_screen) in [
        ("plan", &plan_html, ["What will run:", "When:", "Approved by: carol"]),
        ("report", &report_html, ["What ran:", "Outcome:", "Approved by: carol"]),
    ] {
        let page = out.join(format!("{name}.html"));
        std::fs::write(&page, html).unwrap();
        let png = out.join(format!("{name}.png"));
        chromium(&[&format!("--screenshot={}", png.display()), "--window-size=1280,1600"], &page);
        let size = png_size(&png);
        assert_eq!(size, (1280, 1600), "{name}.png");
        let pdf = out.join(format!("{name}.pdf"));
        chromium(&[&format!("--print-to-pdf={}", pdf.display()), "--no-pdf-header-footer"], &page);
        let pages = pdf_pages(&pdf);
        // The report's appendix starts a page of its own.
        assert!(name == "plan" || pages >= 2, "{name}.pdf has {pages} pages");
        for width in [1280, 700] {
            let measured = measure(&page, width);
            assert!(
                measured["scrollWidth"].as_i64() <= measured["innerWidth"].as_i64(),
                "{name} is wider than a {width}-pixel window: {measured}"
            );
            assert!(measured["leadBottom"].as_f64().unwrap() < 1600.0, "{name}: {measured}");
            let lead = measured["lead"].as_str().unwrap();
            for words in first_screen {
                assert!(lead.contains(words), "{name}: {words:?} not in the summary: {lead}");
            }
        }
        eprintln!("{name}: {} ({} PDF pages)", png.display(), pages);
    }
}

/// `target/test-output/records/`, made fresh.
fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("test-output/records");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("screenshots and pages in {}", dir.display());
    dir
}

/// Debian's Chromium, headless, on `page`. As root it needs `--no-sandbox`.
fn chromium(args: &[&str], page: &Path) -> Output {
    let output = Command::new("chromium")
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .args(["--font-render-hinting=none", "--virtual-time-budget=2000"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("running chromium (Debian's chromium package)");
    assert!(output.status.success(), "chromium {args:?}: {}", text(&output.stderr));
    output
}

/// The page's width and its summary box, measured by Chromium in a `width`-pixel window: a
/// copy of the page with a script that writes them into the DOM, read back with `--dump-dom`.
fn measure(page: &Path, width: u32) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let script = "<script>window.addEventListener('load', () => { \
        const lead = document.querySelector('.lead'); \
        const out = document.createElement('pre'); out.id = 'measured'; \
        out.textContent = JSON.stringify({ scrollWidth: document.documentElement.scrollWidth, \
          innerWidth: window.innerWidth, leadBottom: lead.getBoundingClientRect().bottom, \
          lead: lead.innerText }); \
        document.body.appendChild(out); });</script>";
    let measured = page.with_extension(format!("{width}.html"));
    std::fs::write(&measured, html.replace("</body>", &format!("{script}</body>"))).unwrap();
    let output = chromium(&["--dump-dom", &format!("--window-size={width},1600")], &measured);
    let dom = text(&output.stdout);
    let json = dom
        .split_once("<pre id=\"measured\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| {
            json.replace("&quot;", "\"")
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .unwrap_or_else(|| panic!("no measurement in the DOM:\n{dom}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &Path) -> (u32, u32) {
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", png.display());
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

/// The number of pages of a PDF Chromium wrote (its page objects).
fn pdf_pages(pdf: &Path) -> usize {
    let bytes = std::fs::read(pdf).unwrap();
    let needle = b"/Type /Page";
    bytes
        .windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}
