//! `patchctl init [--with-policy]`: a commented patchctl.toml, the state database, and with
//! `--with-policy` a policy.toml beside them with every section explained.

use std::process::ExitCode;

use anyhow::{Context, bail};

#[derive(clap::Args)]
pub struct Args {
    /// Also write policy.toml beside patchctl.toml: three environments with windows, approval
    /// rules, a baseline, notifications, compliance and the emergency track, every key
    /// explained. Without a policy, plans and rollouts need --no-policy.
    #[arg(long)]
    with_policy: bool,
}

const POLICY_TEMPLATE: &str = r#"# patchctl policy: environments in promotion order, their maintenance windows, who approves,
# how fast security updates must be installed, and what each environment takes. Every mistake
# is reported at file:line:column. Durations: 30m, 4h, 2d. Times are each environment's own.

# Who may approve: role = [user names]. A requester never approves their own change.
[roles]
cab = ["alice", "bob"]

# In promotion order: production only receives versions verified on staging, after its soak.
[[environments]]
name = "dev"
schedule = "0 10 * * MON"          # cron, 5 fields, local time: Mondays at 10:00
timezone = "UTC"                   # an IANA name, e.g. Europe/Berlin
window = "2h"                      # how long the window lasts
approval = "auto"                  # the scheduler assesses, plans and approves by itself
baseline = "security-first"

[[environments]]
name = "staging"
schedule = "0 22 * * TUE"
timezone = "UTC"
window = "4h"
cutoff = "3h"                      # no host starts later than this after the opening
approval = { approvers = 1, role = "cab" }
soak = "24h"                       # versions verified on dev at least this long before
sla_days = { critical = 7, important = 30, moderate = 90, low = 180, unrated = 30 }

[[environments]]
name = "production"
schedule = "0 22 * * TUE#2"        # the second Tuesday of the month
timezone = "UTC"
window = "4h"
cutoff = "3h"
approval = { approvers = 2, role = "cab", ticket = true }   # a change ticket on the request
soak = "72h"
sla_days = { critical = 7, important = 30, moderate = 90, low = 180, unrated = 30 }
strategy = { canary = 1, max_unavailable = "25%", error_budget = 0 }
reboot = "if-required"             # if-required | never | always
# Services running replaced code after a change that needs no reboot: never (report them),
# listed (restart those of the hosts' [checks] units), needrestart (every one needrestart or
# dnf needs-restarting names). sshd, which carries patchctl's connection, only with
# restart_sshd = true.
restart_services = "listed"
# blackouts = [{ from = "2026-11-27", to = "2026-11-30", reason = "sales weekend" }]

# Days on which no window runs, for every environment or those listed (both days included).
# [[blackouts]]
# from = "2026-12-20"
# to = "2027-01-03"
# reason = "year-end freeze"
# environments = ["staging", "production"]

# What an environment takes: the first rule that applies decides (exclude, reject, hold,
# approve, then the rules). Patterns are globs on package names.
[baselines.security-first]
exclude = []                       # not patchctl's to patch, e.g. ["linux-image-*"]
reject = []                        # never these
hold = []                          # stay at the installed version
approve = []                       # these at once, whatever else
[[baselines.security-first.rules]]
classifications = ["security"]     # security | bugfix | enhancement | unknown
auto_approve_after_days = 0
[[baselines.security-first.rules]]
classifications = ["bugfix", "enhancement"]
auto_approve_after_days = 7        # days after the release (or the first sighting)

# Who is told: the channels below of every event; owners (the inventory's `owner`) of what
# concerns their hosts (window announcements, rollout start, halts, reboot warnings, summaries,
# failures, postmortems due); approvers of change requests and requesters of the answer, through
# their contacts; escalation levels of failures left open. A failed delivery is recorded, never
# fails a rollout. Webhook URLs and secrets are shown redacted; http:// (except to this machine)
# is refused unless allow_insecure = true.
[notifications]
# webhooks = ["https://chat.example.com/hooks/patching"]   # the event's JSON, every event
# email = ["ops@example.com"]       # every event; needs [notifications.smtp]
timeout_seconds = 10               # per attempt
retries = 3                        # a webhook answering 5xx/429 or unreachable; then a dead letter
retry_backoff_seconds = 1          # before the first retry, doubled each time
announce_before = "24h"            # a window told to its hosts' owners this long ahead ("0m": never)
escalate_after = "1h"              # a failure (open postmortem) goes one level up each period
# templates = "notification-templates"   # KIND.txt.j2 / KIND.html.j2, email.txt.j2 / email.html.j2
# [[notifications.webhook]]        # a chat channel: Slack's or Teams' format, signed
# url = "https://hooks.slack.com/services/T0/B0/XXXX"
# format = "slack"                 # json | slack | teams
# secret_env = "PATCHCTL_WEBHOOK_SECRET"   # HMAC-SHA256 of the body, X-Patchctl-Signature-256
# events = ["change_requested", "window_announced", "rollout_started", "wave_halted", "rollout_finished", "escalation"]
# [notifications.smtp]
# relay = "mail.example.com"
# security = "starttls"            # none | starttls | tls
# from = "Patching <patchctl@example.com>"
# username = "patchctl"
# password_env = "PATCHCTL_SMTP_PASSWORD"   # the password stays out of the file
# [notifications.contacts.team-web]   # an inventory owner, or a user of [roles] (approvers)
# email = ["web-oncall@example.com"]
# [[notifications.escalation]]     # level 1 after escalate_after, level 2 after twice that, …
# name = "on-call"
# webhooks = [{ url = "https://pager.example.com/hook", secret_env = "PAGER_SECRET" }]

# What `patchctl compliance` checks beyond the SLAs.
[compliance]
max_assessment_age = "2d"
keep_kernels = 2
postmortem_due = "24h"

# The emergency track (`patchctl emergency`): out of the windows, the soak capped.
[emergency]
cvss_threshold = 9.0
soak_cap = "30m"
"#;

const TEMPLATE: &str = r#"# patchctl inventory and settings.
#
# Every host needs an environment; groups, tags and an owner are optional. Host keys are pinned:
# put the key here (host_key = "ssh-ed25519 AAAA…"), or let `patchctl assess --accept-new-host-keys`
# pin the key a host presents the first time, in the state database.

[defaults]
user = "root"
port = 22
# ssh_key = "~/.ssh/id_ed25519"    # otherwise the keys of your ssh-agent
environment = "production"

# This machine, without SSH.
[hosts.localhost]
transport = "local"
environment = "dev"

# [hosts.web1]
# address = "192.0.2.10"
# environment = "staging"
# groups = ["web"]
# tags = ["frontend"]
# owner = "team-web"
# user = "admin"          # not root: commands run through `sudo -n`
# host_key = "ssh-ed25519 AAAA…"

# [groups.web]
# owner = "team-web"

# Where the heads of the evidence chains are exported, outside the state database, so that a
# rewrite of the database is found (`patchctl audit verify`). Default: STATE.anchors.
# [audit]
# anchor_file = "/var/log/patchctl/anchors"
# syslog = true
"#;

pub async fn run(args: Args, ctx: &ops::Context) -> anyhow::Result<ExitCode> {
    let policy = ctx.sources.dir().join("policy.toml");
    if args.with_policy && policy.exists() {
        bail!("{} exists already; patchctl init never overwrites it", policy.display());
    }
    if ctx.sources.config.exists() {
        if !args.with_policy {
            bail!(
                "{} exists already; patchctl init never overwrites it",
                ctx.sources.config.display()
            );
        }
        // An inventory already there: the policy alone.
        write_policy(&policy)?;
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::write(&ctx.sources.config, TEMPLATE)
        .with_context(|| format!("writing {}", ctx.sources.config.display()))?;
    ctx.create_state().await?;
    println!(
        "wrote {} and created the state database {}",
        ctx.sources.config.display(),
        ctx.sources.state_name()
    );
    if args.with_policy {
        write_policy(&policy)?;
    }
    println!(
        "next: add your hosts to {}, then `patchctl assess all`",
        ctx.sources.config.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_policy(path: &std::path::Path) -> anyhow::Result<()> {
    std::fs::write(path, POLICY_TEMPLATE).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}: adjust the environments, windows and approvers", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_is_a_valid_inventory() {
        let inventory =
            model::Inventory::parse(std::path::Path::new("patchctl.toml"), super::TEMPLATE)
                .unwrap();
        assert_eq!(inventory.hosts().len(), 1);
    }

    #[test]
    fn the_policy_template_is_a_valid_policy() {
        let policy = model::policy::Policy::parse(
            std::path::Path::new("policy.toml"),
            super::POLICY_TEMPLATE,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = policy.environments().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["dev", "staging", "production"]);
        let production = policy.environment("production").unwrap();
        assert_eq!(production.restarts.services, model::plan::RestartServices::Listed);
    }
}
