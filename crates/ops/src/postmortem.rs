//! Postmortems in the store: opened by hand or by patchctl (a rollout that ended with failed,
//! lost or rolled-back hosts; the emergency track), closed with a root cause by a person. Each
//! action is recorded with its actor and time. When patchctl opens one, and what it says, is
//! decided in `model::postmortem::trigger`. Record bodies are `protocol::postmortem`'s forms.

use chrono::{DateTime, Utc};
pub use model::postmortem::NewPostmortemRequest;
use model::postmortem::{Postmortem, Subject, check_text};
use protocol::postmortem::{ClosedV1, OpenedV1};
use store::{NewPostmortem, Opened, PostmortemClosure, PostmortemEvent, Store, StoredPostmortem};

#[derive(Debug, thiserror::Error)]
pub enum PostmortemError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Source(#[from] crate::SourceError),
}

impl PostmortemError {
    /// Whether it says there is no postmortem by the id asked for.
    pub fn names_no_postmortem(&self) -> bool {
        matches!(self, PostmortemError::Store(store::StoreError::UnknownPostmortem { .. }))
    }

    /// Whether it says the postmortem was closed already.
    pub fn already_closed(&self) -> bool {
        matches!(self, PostmortemError::Store(store::StoreError::PostmortemClosed { .. }))
    }
}

/// Opens a postmortem at `now`; returns it and whether it is new. One exists per subject: for
/// a subject that has one, that one is returned unchanged (so automatic openers may call this
/// every time they see the condition).
pub async fn open_postmortem(
    store: &Store,
    request: &NewPostmortemRequest,
    now: DateTime<Utc>,
) -> Result<(Postmortem, bool), PostmortemError> {
    let checked = request.check(now).map_err(PostmortemError::Invalid)?;
    let new = NewPostmortem {
        subject_kind: request.subject.kind().to_owned(),
        subject_ref: checked.reference,
        title: checked.title,
        hosts: request.hosts.clone(),
        owner: request.owner.clone(),
        opened_at_unix: now.timestamp(),
        opened_by: request.opened_by.clone(),
        due_at_unix: checked.due_at.timestamp(),
    };
    let body =
        OpenedV1 { hosts: new.hosts.clone(), owner: new.owner.clone(), title: new.title.clone() };
    let body = serde_json::to_string(&body).expect("an opened body serializes");
    Ok(match store.open_postmortem(&new, &body).await? {
        Opened::Opened(stored) => (from_stored(stored)?, true),
        Opened::Exists(stored) => (from_stored(stored)?, false),
    })
}

/// Closes postmortem `id` with its root cause and follow-up actions, by `by`, at `now`.
pub async fn close_postmortem(
    store: &Store,
    id: i64,
    root_cause: &str,
    actions: &[String],
    by: &str,
    now: DateTime<Utc>,
) -> Result<Postmortem, PostmortemError> {
    let root_cause = check_text("root cause", root_cause).map_err(PostmortemError::Invalid)?;
    let actions = actions
        .iter()
        .map(|a| check_text("action", a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(PostmortemError::Invalid)?;
    let by = check_text("closer's name", by).map_err(PostmortemError::Invalid)?;
    let closure =
        PostmortemClosure { root_cause, actions, closed_at_unix: now.timestamp(), closed_by: by };
    let body =
        ClosedV1 { actions: closure.actions.clone(), root_cause: closure.root_cause.clone() };
    let body = serde_json::to_string(&body).expect("a closed body serializes");
    from_stored(store.close_postmortem(id, &closure, &body).await?)
}

/// A record entry as `postmortem show --format json` prints it: its body as recorded, `null` if
/// it does not parse.
pub fn entry_output(event: &PostmortemEvent) -> protocol::output::postmortem::PostmortemEntryV1 {
    protocol::output::postmortem::PostmortemEntryV1 {
        at: chrono::DateTime::from_timestamp(event.at_unix, 0).map(model::dates::rfc3339),
        actor: event.actor.clone(),
        action: event.action.clone(),
        details: serde_json::from_str(&event.body_json).unwrap_or_default(),
    }
}

/// Every postmortem, oldest first.
pub async fn postmortems(store: &Store) -> Result<Vec<Postmortem>, PostmortemError> {
    store.postmortems().await?.into_iter().map(from_stored).collect()
}

/// One postmortem and its record of actions.
pub async fn postmortem(
    store: &Store,
    id: i64,
) -> Result<Option<(Postmortem, Vec<PostmortemEvent>)>, PostmortemError> {
    let Some(stored) = store.postmortem(id).await? else { return Ok(None) };
    Ok(Some((from_stored(stored)?, store.postmortem_events(id).await?)))
}

fn from_stored(stored: StoredPostmortem) -> Result<Postmortem, PostmortemError> {
    let time = |unix: i64| DateTime::from_timestamp(unix, 0).unwrap_or_default();
    let subject =
        Subject::from_parts(&stored.subject_kind, &stored.subject_ref).ok_or_else(|| {
            PostmortemError::Invalid(format!(
                "postmortem {} is about an unknown kind of subject {:?}",
                stored.id, stored.subject_kind
            ))
        })?;
    Ok(Postmortem {
        id: stored.id,
        subject,
        title: stored.title,
        hosts: stored.hosts,
        owner: stored.owner,
        opened_at: time(stored.opened_at_unix),
        opened_by: stored.opened_by,
        due_at: time(stored.due_at_unix),
        root_cause: stored.root_cause,
        actions: stored.actions,
        closed_at: stored.closed_at_unix.map(time),
        closed_by: stored.closed_by,
    })
}

/// `postmortem list`.
pub async fn list(ctx: &crate::Context) -> Result<Vec<Postmortem>, PostmortemError> {
    postmortems(ctx.store().await?).await
}

/// `postmortem show ID`.
pub async fn show(
    ctx: &crate::Context,
    id: i64,
) -> Result<Option<(Postmortem, Vec<PostmortemEvent>)>, PostmortemError> {
    postmortem(ctx.store().await?, id).await
}

/// `postmortem open`, at the clock's now.
pub async fn open(
    ctx: &crate::Context,
    request: &NewPostmortemRequest,
) -> Result<(Postmortem, bool), PostmortemError> {
    open_postmortem(ctx.store().await?, request, ctx.clock.now_seconds()).await
}

/// `postmortem close ID`, at the clock's now.
pub async fn close(
    ctx: &crate::Context,
    id: i64,
    root_cause: &str,
    actions: &[String],
    by: &str,
) -> Result<Postmortem, PostmortemError> {
    close_postmortem(ctx.store().await?, id, root_cause, actions, by, ctx.clock.now_seconds()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `postmortem show --format json` has printed for an entry: its time in RFC 3339 and
    /// its body as recorded, `null` when the body does not parse.
    #[test]
    fn an_entry_prints_its_time_and_its_body() {
        let event = |body_json: &str| PostmortemEvent {
            seq: 1,
            at_unix: 1_800_000_000,
            actor: "alice".into(),
            action: "closed".into(),
            body_json: body_json.into(),
            prev_hash: None,
            hash: None,
        };
        let printed = |body_json: &str| {
            serde_json::to_string(&serde_json::to_value(entry_output(&event(body_json))).unwrap())
                .unwrap()
        };
        assert_eq!(
            printed(r#"{"actions":["a"],"root_cause":"r"}"#),
            r#"{"action":"closed","actor":"alice","at":"2027-01-15T08:00:00Z","details":{"actions":["a"],"root_cause":"r"}}"#
        );
        assert_eq!(
            printed("{oops"),
            r#"{"action":"closed","actor":"alice","at":"2027-01-15T08:00:00Z","details":null}"#
        );
    }
}
