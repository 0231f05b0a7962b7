//! Automatic deletion: with `--delete-published-after`, a conference is
//! deleted (charts, links, agenda; see `Conferences::delete`) once its
//! proceedings have been public that long. Unpublishing stops the clock.
//!
//! The check runs in the background at an interval derived from the delay
//! (a quarter of it, between 250 ms and 10 minutes), so a deletion happens
//! at most that late and a short delay in tests needs no extra flag.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Conferences;

/// How often retention looks for due conferences, for a given delay.
pub fn check_interval(after: Duration) -> Duration {
    (after / 4).clamp(Duration::from_millis(250), Duration::from_secs(600))
}

/// Runs retention passes until `shutdown`.
pub fn spawn(conferences: Conferences, after: Duration, shutdown: CancellationToken) {
    let every = check_interval(after);
    let Ok(after) = jiff::SignedDuration::try_from(after) else {
        tracing::error!("--delete-published-after is too long; retention is off");
        return;
    };
    tracing::info!(
        ?after,
        ?every,
        "retention on: conferences are deleted after their proceedings were public this long"
    );
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
            match conferences
                .delete_expired(after, jiff::Timestamp::now())
                .await
            {
                Ok(deleted) => {
                    for id in deleted {
                        tracing::info!(conference_id = %id, "retention: conference deleted");
                    }
                }
                Err(e) => tracing::error!(error = %e, "retention pass failed; retrying later"),
            }
        }
    });
}
