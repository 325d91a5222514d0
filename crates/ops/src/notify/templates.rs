//! The text and HTML of an e-mail, from minijinja templates: the built-in ones
//! (`templates/email.txt.j2`, `templates/email.html.j2`), or the policy's `templates`
//! directory's, which override them: `KIND.txt.j2` / `KIND.html.j2` for one kind of event
//! (`reboot_warning.txt.j2`), else `email.txt.j2` / `email.html.j2` for all.
//!
//! The templates see `kind`, `subject`, `body`, `hosts`, `owners`, `people`, `at` (UTC, to the
//! minute), `alarm` (something went wrong) and `escalation_level`. The HTML is escaped
//! automatically; the text is not. A template that cannot be read or rendered fails the
//! delivery with the file and line, recorded like any other failure.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, context};
use model::notification::Event;

const TEXT: &str = include_str!("templates/email.txt.j2");
const HTML: &str = include_str!("templates/email.html.j2");

/// An e-mail's two bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bodies {
    pub text: String,
    pub html: String,
}

/// Renders `event` with the templates of `dir` where it has them, else the built-in ones.
pub(crate) fn render(event: &Event, dir: Option<&Path>) -> Result<Bodies, String> {
    let kind = event.kind.as_str();
    let text = source(dir, &[&format!("{kind}.txt.j2"), "email.txt.j2"], TEXT)?;
    let html = source(dir, &[&format!("{kind}.html.j2"), "email.html.j2"], HTML)?;
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") { AutoEscape::Html } else { AutoEscape::None }
    });
    // Undefined variables are a template's mistake, shown, not silently empty.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let describe = |name: &str, error: minijinja::Error| -> String {
        let mut message = format!("e-mail template {name}: {error}");
        if let Some(line) = error.line() {
            message.push_str(&format!(" (line {line})"));
        }
        message
    };
    env.add_template(&text.0, &text.1).map_err(|e| describe(&text.0, e))?;
    env.add_template(&html.0, &html.1).map_err(|e| describe(&html.0, e))?;
    let values = context! {
        kind => kind,
        subject => &event.subject,
        body => event.body.trim_end(),
        hosts => &event.hosts,
        owners => &event.owners,
        people => &event.people,
        at => event.at.format("%Y-%m-%d %H:%M UTC").to_string(),
        alarm => event.kind.is_alarm(),
        escalation_level => event.escalation_level,
    };
    let render = |name: &str| {
        env.get_template(name)
            .and_then(|template| template.render(&values))
            .map_err(|e| describe(name, e))
    };
    Ok(Bodies { text: render(&text.0)?, html: render(&html.0)? })
}

/// The first of `names` in `dir` as (its path, its text), else the built-in `fallback`.
fn source(dir: Option<&Path>, names: &[&str], fallback: &str) -> Result<(String, String), String> {
    if let Some(dir) = dir {
        for name in names {
            let path: PathBuf = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => return Ok((path.display().to_string(), text)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(format!("reading the e-mail template {}: {error}", path.display()));
                }
            }
        }
    }
    // The built-in template's name ends like the files', for the escaping.
    let builtin = if fallback == HTML { "built-in email.html.j2" } else { "built-in email.txt.j2" };
    Ok((builtin.to_owned(), fallback.to_owned()))
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use model::notification::EventKind;

    use super::*;

    fn event() -> Event {
        Event {
            hosts: vec!["deb1".into()],
            owners: vec!["team-web".into()],
            ..Event::new(
                EventKind::RebootWarning,
                "patchctl: deb1 reboots in 5 minutes",
                "deb1 <reboots> & comes back",
                DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            )
        }
    }

    #[test]
    fn the_built_in_templates_give_text_and_escaped_html() {
        let bodies = render(&event(), None).unwrap();
        assert!(
            bodies.text.starts_with("deb1 <reboots> & comes back\n\nHosts: deb1\n"),
            "{}",
            bodies.text
        );
        assert!(
            bodies.text.contains("Event: reboot_warning at 2027-01-15 08:00 UTC"),
            "{}",
            bodies.text
        );
        assert!(bodies.html.contains("deb1 &lt;reboots&gt; &amp; comes back"), "{}", bodies.html);
        assert!(bodies.html.contains("<td>deb1</td>"), "{}", bodies.html);
    }

    #[test]
    fn a_directory_overrides_per_kind_then_for_all_and_its_mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("reboot_warning.txt.j2"), "REBOOT {{ hosts[0] }}").unwrap();
        std::fs::write(dir.path().join("email.html.j2"), "<b>{{ subject }}</b>").unwrap();
        let bodies = render(&event(), Some(dir.path())).unwrap();
        assert_eq!(bodies.text, "REBOOT deb1");
        assert_eq!(bodies.html, "<b>patchctl: deb1 reboots in 5 minutes</b>");
        std::fs::write(dir.path().join("email.html.j2"), "{{ subjet }}").unwrap();
        let error = render(&event(), Some(dir.path())).unwrap_err();
        assert!(error.contains("email.html.j2"), "{error}");
        assert!(error.contains("undefined"), "{error}");
    }
}
