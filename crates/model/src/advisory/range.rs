//! OSV `ECOSYSTEM` ranges: the events `introduced`, `fixed`, `last_affected` turned into
//! intervals, and whether an installed version lies in one, in the host package manager's own
//! version order (`crate::version`, proven equal to dpkg's and rpm's).

use std::cmp::Ordering;

use crate::version::{self, Scheme};

/// One interval of affected versions: from `introduced` (included; `None` is "from the first
/// version", OSV's `"0"`) up to `fixed` (excluded) or `last_affected` (included), or without
/// end when neither is known (no fix yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedRange {
    pub introduced: Option<String>,
    pub fixed: Option<String>,
    pub last_affected: Option<String>,
}

/// An OSV range event, in the order the record gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeEvent {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    /// Only meaningful for `GIT` ranges; ignored for `ECOSYSTEM` ones, as the schema says.
    Limit(String),
}

/// Whether a version lies in a range, and if not, on which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Older than the version that introduced the flaw.
    Before,
    Inside,
    /// At or after the fix.
    After,
}

impl AffectedRange {
    /// Where `version` lies relative to the range. An unparsable version is an `Err`, never a
    /// guess: the caller reports it.
    pub fn place(&self, scheme: Scheme, version: &str) -> Result<Placement, version::VersionError> {
        if let Some(introduced) = &self.introduced
            && version::compare(scheme, version, introduced)? == Ordering::Less
        {
            return Ok(Placement::Before);
        }
        if let Some(fixed) = &self.fixed
            && version::compare(scheme, version, fixed)? != Ordering::Less
        {
            return Ok(Placement::After);
        }
        if let Some(last) = &self.last_affected
            && version::compare(scheme, version, last)? == Ordering::Greater
        {
            return Ok(Placement::After);
        }
        Ok(Placement::Inside)
    }
}

/// Turns a range's events into intervals. Real records pair each `introduced` with the
/// `fixed` or `last_affected` after it; a range that does not (an end before any start, a
/// start after a start, an end not after its start, a version the scheme cannot read) is
/// absurd, and the problem is returned instead of a guess.
pub fn intervals_from_events(
    scheme: Scheme,
    events: &[RangeEvent],
) -> Result<Vec<AffectedRange>, String> {
    let mut intervals = Vec::new();
    let mut open: Option<Option<String>> = None;
    for event in events {
        match event {
            RangeEvent::Introduced(introduced) => {
                if open.is_some() {
                    return Err(format!(
                        "\"introduced\": {introduced:?} follows another \"introduced\" with no \
                         \"fixed\" or \"last_affected\" between them"
                    ));
                }
                let start = if introduced == "0" {
                    None
                } else {
                    check_version(scheme, introduced)?;
                    Some(introduced.clone())
                };
                open = Some(start);
            }
            RangeEvent::Fixed(end) | RangeEvent::LastAffected(end) => {
                let Some(start) = open.take() else {
                    return Err(format!("{end:?} ends a range that no \"introduced\" opened"));
                };
                check_version(scheme, end)?;
                if let Some(start) = &start {
                    let order = version::compare(scheme, end, start).map_err(|e| e.to_string())?;
                    let absurd = match event {
                        RangeEvent::Fixed(_) => order != Ordering::Greater,
                        _ => order == Ordering::Less,
                    };
                    if absurd {
                        return Err(format!(
                            "range ends at {end:?}, not after it starts at {start:?}"
                        ));
                    }
                }
                let (fixed, last_affected) = match event {
                    RangeEvent::Fixed(_) => (Some(end.clone()), None),
                    _ => (None, Some(end.clone())),
                };
                intervals.push(AffectedRange { introduced: start, fixed, last_affected });
            }
            RangeEvent::Limit(_) => {}
        }
    }
    if let Some(start) = open {
        intervals.push(AffectedRange { introduced: start, fixed: None, last_affected: None });
    }
    if intervals.is_empty() {
        return Err("the range has no \"introduced\" event: it affects nothing".to_owned());
    }
    Ok(intervals)
}

fn check_version(scheme: Scheme, text: &str) -> Result<(), String> {
    let parsed = match scheme {
        Scheme::Deb => version::DebVersion::parse(text).map(drop),
        Scheme::Rpm => version::Evr::parse(text).map(drop),
    };
    parsed.map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeEvent::*;

    fn intro(v: &str) -> RangeEvent {
        Introduced(v.into())
    }
    fn fixed(v: &str) -> RangeEvent {
        Fixed(v.into())
    }

    #[test]
    fn introduced_zero_and_fixed_is_everything_before_the_fix() {
        let ranges = intervals_from_events(Scheme::Deb, &[intro("0"), fixed("1.18.26")]).unwrap();
        assert_eq!(ranges.len(), 1);
        let place = |v| ranges[0].place(Scheme::Deb, v).unwrap();
        assert_eq!(place("1.18.24"), Placement::Inside);
        assert_eq!(place("1.18.26"), Placement::After);
        assert_eq!(place("1.18.26+deb9u1"), Placement::After);
        // dpkg order: a tilde sorts before everything, so a backport before the fix is inside.
        assert_eq!(place("1.18.26~bpo1"), Placement::Inside);
    }

    #[test]
    fn epochs_follow_the_package_managers_rules() {
        // Rocky and Red Hat write `0:`; an installed version without epoch is the same epoch.
        let rpm =
            intervals_from_events(Scheme::Rpm, &[intro("0"), fixed("0:6.4.1-9.el9_1")]).unwrap();
        assert_eq!(rpm[0].place(Scheme::Rpm, "6.4.1-9.el9_1").unwrap(), Placement::After);
        assert_eq!(rpm[0].place(Scheme::Rpm, "6.4.1-8.el9").unwrap(), Placement::Inside);
        // An epoch outranks everything after it.
        let deb =
            intervals_from_events(Scheme::Deb, &[intro("0"), fixed("1:4.0.34-1ubuntu0.1~esm2")])
                .unwrap();
        assert_eq!(deb[0].place(Scheme::Deb, "4.1.48-1").unwrap(), Placement::Inside);
        assert_eq!(
            deb[0].place(Scheme::Deb, "1:4.0.34-1ubuntu0.1~esm2").unwrap(),
            Placement::After
        );
    }

    #[test]
    fn unfixed_and_last_affected_ranges() {
        let open = intervals_from_events(Scheme::Deb, &[intro("0")]).unwrap();
        assert_eq!(open[0].place(Scheme::Deb, "99:1").unwrap(), Placement::Inside);
        let last = intervals_from_events(
            Scheme::Rpm,
            &[intro("1.2-1"), LastAffected("1.4-1".into()), intro("2.0-1"), fixed("2.1-1")],
        )
        .unwrap();
        assert_eq!(last.len(), 2);
        assert_eq!(last[0].place(Scheme::Rpm, "1.1-1").unwrap(), Placement::Before);
        assert_eq!(last[0].place(Scheme::Rpm, "1.4-1").unwrap(), Placement::Inside);
        assert_eq!(last[0].place(Scheme::Rpm, "1.4-2").unwrap(), Placement::After);
        assert_eq!(last[1].place(Scheme::Rpm, "2.0.5-1").unwrap(), Placement::Inside);
    }

    #[test]
    fn absurd_ranges_are_refused_with_the_reason() {
        let reason =
            |events: &[RangeEvent]| intervals_from_events(Scheme::Deb, events).unwrap_err();
        assert!(reason(&[fixed("1.0")]).contains("no \"introduced\" opened"));
        assert!(reason(&[intro("2.0"), fixed("1.0")]).contains("not after it starts"));
        assert!(reason(&[intro("2.0"), fixed("2.0")]).contains("not after it starts"));
        assert!(reason(&[intro("0"), intro("1.0")]).contains("follows another"));
        assert!(reason(&[]).contains("affects nothing"));
        assert!(reason(&[intro("0"), fixed("1:")]).contains("bad syntax"));
        assert!(reason(&[intro("0"), fixed("a b")]).contains("bad syntax"));
    }
}
