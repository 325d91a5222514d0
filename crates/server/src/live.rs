//! `GET /api/rollouts/{rollout}/events`: a rollout's progress as Server-Sent Events, for the
//! dashboard's rollout page. The first event is the whole rollout; each later one what the
//! journal's new entries changed (`ops::rollout::Follower`), looked for every
//! [`POLL`], so a change reaches the page well within the two seconds the issue allows,
//! whichever process drives the rollout. The stream ends with the rollout, or when the server
//! stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use ops::rollout::Follower;
use protocol::output::rollout::RolloutLiveV1;
use tokio::sync::watch;

use crate::AppState;
use crate::error::ApiError;

/// How often the journal is read for new entries.
const POLL: Duration = Duration::from_millis(400);

/// One event of the stream, as the OpenAPI document describes it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct LiveEvent {
    /// `update`, or `error`.
    event: String,
    /// The journal entry an update is up to.
    id: Option<String>,
    /// An update's `RolloutLiveV1` as JSON, or an error's words.
    data: String,
}

enum Next {
    First(Follower, RolloutLiveV1),
    Follow(Follower),
    Done,
}

/// A rollout's progress: `update` events whose data is a `RolloutLiveV1`, with the journal
/// entry it is up to as the event's id; an `error` event with a problem's words if the journal
/// cannot be read, and then the end.
#[utoipa::path(get, path = "/api/rollouts/{rollout}/events", tag = "rollouts",
    params(("rollout" = String, Path, description = "A rollout's id, or its plan's (prefixes too)")),
    responses((status = 200, content_type = "text/event-stream",
        description = "Server-Sent Events: `update` events, whose data is a RolloutLiveV1 \
            (in this document's schemas), and at most one `error`",
        body = LiveEvent)))]
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    Path(rollout): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let ctx = state.ctx.clone();
    let (follower, first) =
        ops::rollout::follow(&ctx, &rollout).await.map_err(|e| ApiError::from_rollout(&ctx, e))?;
    let stopped = state.drives.stopped();
    let stream = futures_util::stream::unfold(Next::First(follower, first), move |next| {
        let ctx = ctx.clone();
        let mut stopped = stopped.clone();
        async move {
            match next {
                Next::First(follower, first) => Some((Ok(update(&first)), after(follower, &first))),
                Next::Follow(mut follower) => loop {
                    if wait(&mut stopped).await {
                        return None;
                    }
                    match follower.next(&ctx).await {
                        Ok(None) => continue,
                        Ok(Some(live)) => return Some((Ok(update(&live)), after(follower, &live))),
                        Err(error) => {
                            let event = Event::default().event("error").data(error.to_string());
                            return Some((Ok(event), Next::Done));
                        }
                    }
                },
                Next::Done => None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn after(follower: Follower, live: &RolloutLiveV1) -> Next {
    if live.over { Next::Done } else { Next::Follow(follower) }
}

fn update(live: &RolloutLiveV1) -> Event {
    let data = serde_json::to_string(live).expect("a live update serializes");
    Event::default().event("update").id(live.seq.to_string()).data(data)
}

/// Waits one [`POLL`]; true when the server stops meanwhile.
async fn wait(stopped: &mut watch::Receiver<bool>) -> bool {
    if *stopped.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(POLL) => false,
        _ = stopped.wait_for(|stop| *stop) => true,
    }
}
