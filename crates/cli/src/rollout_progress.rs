//! A rollout's progress as it runs. On a terminal: a live table, one line per host that has
//! started (its wave, its step or end state, how long the step has run, and what it waits for:
//! a lock and its holder, a host that does not answer, a reboot's countdown), with the
//! rollout's own events printed above it. Otherwise (a log, a pipe, CI): one plain line per
//! change, as before. `NO_COLOR` turns colour off.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ops::rollout::Waiting;
use ops::rollout::{Event, HostState, Rollout};

#[derive(Clone)]
pub struct RolloutProgress {
    live: Option<Arc<Live>>,
}

/// A host's line: its bar, what its step is, and what it waits for.
struct HostLine {
    bar: ProgressBar,
    step: String,
    waiting: Option<Waiting>,
}

impl HostLine {
    fn show(&self, now: SystemTime) {
        match &self.waiting {
            Some(waiting) => {
                self.bar.set_message(format!("{}: {}", self.step, waiting.describe(now)))
            }
            None => self.bar.set_message(self.step.clone()),
        }
    }
}

struct Live {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, HostLine>>,
    /// The wave each host is in, by name, from the rollout's configuration.
    waves: HashMap<String, String>,
    colour: bool,
}

impl RolloutProgress {
    /// Live on a terminal (standard error), plain lines otherwise.
    pub fn new(waves: HashMap<String, String>) -> RolloutProgress {
        let live = std::io::stderr().is_terminal().then(|| {
            Arc::new(Live {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4)),
                bars: Mutex::new(HashMap::new()),
                waves,
                colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            })
        });
        if let Some(live) = &live {
            // The waits' clocks: their words are said again every second.
            let live = Arc::downgrade(live);
            std::thread::spawn(move || {
                while let Some(live) = live.upgrade() {
                    let now = ops::clock::now();
                    for line in live.bars.lock().expect("not poisoned").values() {
                        if line.waiting.is_some() {
                            line.show(now);
                        }
                    }
                    drop(live);
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        }
        RolloutProgress { live }
    }

    /// Plain lines, whatever standard error is: for rollouts driven side by side.
    pub fn plain() -> RolloutProgress {
        RolloutProgress { live: None }
    }

    /// What `host`'s step waits for now (`None`: it waits no more).
    pub fn waiting(&self, host: &str, waiting: Option<&Waiting>) {
        let Some(live) = &self.live else {
            if let Some(waiting) = waiting {
                eprintln!("{host}: {}", waiting.describe(ops::clock::now()));
            }
            return;
        };
        if let Some(line) = live.bars.lock().expect("not poisoned").get_mut(host) {
            line.waiting = waiting.cloned();
            line.show(ops::clock::now());
        }
    }

    pub fn event(&self, event: &Event, rollout: &Rollout) {
        match &self.live {
            None => print_line(event),
            Some(live) => live.event(event, rollout),
        }
    }

    /// Leaves the table as it stands, ended, above what is printed next.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            for line in live.bars.lock().expect("not poisoned").values() {
                line.bar.finish();
            }
        }
    }
}

impl Live {
    fn event(&self, event: &Event, _rollout: &Rollout) {
        let Event::HostChanged { host, to, .. } = event else {
            if let Some(line) = ops::rollout::event_line(event) {
                let _ = self.multi.println(line);
            }
            return;
        };
        if matches!(to, HostState::Ready { .. } | HostState::Pending) {
            return;
        }
        let mut bars = self.bars.lock().expect("not poisoned");
        let line = bars.entry(host.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_prefix(format!(
                "{host:<20} {:<24}",
                self.waves.get(host).map(String::as_str).unwrap_or("")
            ));
            HostLine { bar, step: String::new(), waiting: None }
        });
        let (text, running) = match to {
            HostState::Running { step, resume, .. } => {
                let again = if *resume { " (checking on it after a restart)" } else { "" };
                (format!("{}{again}", step.as_str()), true)
            }
            state => (state.to_string(), false),
        };
        let template =
            if running { "{prefix} {spinner} {msg} {elapsed:>4}" } else { "{prefix}   {msg}" };
        let style = ProgressStyle::with_template(template).expect("a valid template");
        let bar = &line.bar;
        bar.set_style(style);
        // A new step waits for nothing yet.
        line.waiting = None;
        line.step = self.paint(to, text);
        line.show(ops::clock::now());
        bar.reset_elapsed();
        if running {
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
        } else {
            bar.disable_steady_tick();
            bar.tick();
        }
    }

    /// Failures in red, a host done in green, when colour is on.
    fn paint(&self, state: &HostState, text: String) -> String {
        if !self.colour {
            return text;
        }
        let code = match state {
            HostState::Done => "32",
            s if s.is_failure() => "31",
            HostState::RolledBack { .. } | HostState::Lost { .. } => "33",
            _ => return text,
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

fn print_line(event: &Event) {
    match event {
        Event::HostChanged { host, to, .. } => match to {
            HostState::Running { step, resume, .. } => {
                let again = if *resume { " (checking on it after a restart)" } else { "" };
                eprintln!("{host}: {}{again}", step.as_str());
            }
            HostState::Ready { .. } | HostState::Pending => {}
            state => eprintln!("{host}: {state}"),
        },
        other => {
            if let Some(line) = ops::rollout::event_line(other) {
                eprintln!("{line}");
            }
        }
    }
}
