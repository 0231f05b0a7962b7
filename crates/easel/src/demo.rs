//! What a newcomer sees on the first start: a "Demo Open Space" with a few
//! rounds, three spaces and one session whose chart is ready, and the links
//! (with tokens) to open it. Also the lines the `easel conference` commands
//! print.
//!
//! Decision: tokens are stored hashed, so they can be printed only when
//! minted. The demo's are printed on the start that creates it; later
//! starts print a hint instead of minting fresh links (which would leave a
//! trail of unrevoked edit tokens behind every restart). Stop the server
//! and run `easel conference link` to mint a new one.

use anyhow::Context;
use easel_agenda::{
    Conference, PatternSegment, RoundKind, RoundPattern, SegmentStart, Space, StartTime,
};
use jiff::civil::Time;

use crate::access::{self, Role};
use crate::api::{chart_link, conference_link};
use easel_conferences::Conferences;

/// Name of the demo conference.
pub const DEMO_NAME: &str = "Demo Open Space";

/// Lines to print after the banner: the demo's links if it was just
/// created, else a hint.
pub async fn startup_notice(
    conferences: &Conferences,
    base: &str,
    create_demo: bool,
) -> anyhow::Result<Vec<String>> {
    // Nodes of a cluster starting together: one of them creates the demo.
    let _only_one = conferences.meta().lock("demo").await?;
    let existing = conferences.list_ids().await?;
    if existing.is_empty() && create_demo {
        return demo(conferences, base).await;
    }
    if existing.is_empty() {
        return Ok(vec![
            "No conference yet: create one with `easel conference create` (server stopped) or POST /api/v1/conferences.".into(),
        ]);
    }
    Ok(vec![format!(
        "{} conference(s) in this data dir. Tokens are stored hashed and cannot be shown again: use the links you saved, or stop the server and run `easel conference link --conference ID --role edit` (`easel conference list` shows the ids; in a cluster, add `--redis URL` and keep the nodes running).",
        existing.len()
    )])
}

async fn demo(conferences: &Conferences, base: &str) -> anyhow::Result<Vec<String>> {
    let zone_name = jiff::tz::TimeZone::system()
        .iana_name()
        .map(str::to_owned)
        .unwrap_or_else(|| "UTC".to_owned());
    let zone = easel_agenda::Zone::parse(&zone_name)
        .or_else(|_| easel_agenda::Zone::parse("UTC"))
        .context("time zone database")?;
    let today = jiff::Timestamp::now()
        .to_zoned(zone.time_zone().clone())
        .date();
    let end = today.tomorrow().unwrap_or(today);
    let mut conf = Conference::new(access::new_id("conf-"), DEMO_NAME, zone.name(), today, end)?;
    conf.set_description(
        "A sample agenda to try Easel: post a topic into a free cell, open its chart, edit together.",
    )?;
    let start = StartTime::Civil {
        datetime: today.to_datetime(Time::constant(9, 0, 0, 0)),
        time_zone: zone.clone(),
    };
    let pattern = RoundPattern::new()
        .then(
            PatternSegment::new(
                RoundKind::OpeningCircle,
                1,
                SegmentStart::At { start },
                60,
                60,
            )
            .with_label("Opening circle"),
        )
        .then(
            PatternSegment::new(
                RoundKind::Breakout,
                3,
                SegmentStart::AfterPrevious { gap_minutes: 15 },
                75,
                60,
            )
            .with_label("Round"),
        )
        .then(
            PatternSegment::new(
                RoundKind::ClosingCircle,
                1,
                SegmentStart::AfterPrevious { gap_minutes: 15 },
                45,
                45,
            )
            .with_label("Closing circle"),
        );
    conf.add_rounds(pattern.build(|| access::new_id("r-"))?)?;
    for name in ["Kitchen", "Garden", "Library"] {
        conf.add_space(Space::new(access::new_id("sp-"), name, None, Some(12))?)?;
    }
    let round = conf
        .rounds()
        .iter()
        .find(|r| r.kind == RoundKind::Breakout)
        .map(|r| r.id.clone())
        .context("demo pattern has a breakout")?;
    let space = conf.spaces()[0].id.clone();
    let id = conf.id().to_owned();
    let (_, organizer) = conferences.create(conf).await?;
    let (session, _, _) = conferences
        .propose_session(&id, "Welcome: how Easel works", "Easel", &round, &space)
        .await?;
    let edit = conferences
        .mint_link(&id, Role::Edit, "demo edit link")
        .await?;
    Ok(vec![
        format!("Created the \"{DEMO_NAME}\" conference; its links are shown only now:"),
        format!(
            "Organizer: {}",
            conference_link(base, &id, &organizer.secret)
        ),
        format!("Edit link: {}", conference_link(base, &id, &edit.secret)),
        format!(
            "Chart: {}",
            chart_link(base, &session.chart_id, &edit.secret)
        ),
    ])
}

/// `easel conference create`: the lines to print.
pub async fn create_conference(
    conferences: &Conferences,
    base: &str,
    conference: Conference,
) -> anyhow::Result<Vec<String>> {
    let id = conference.id().to_owned();
    let name = conference.name().to_owned();
    let (_, organizer) = conferences.create(conference).await?;
    Ok(vec![
        format!("Created conference \"{name}\" (id {id})."),
        format!("Organizer token (shown only now): {}", organizer.secret),
        format!(
            "Organizer: {}",
            conference_link(base, &id, &organizer.secret)
        ),
    ])
}

/// `easel conference link`: the lines to print.
pub async fn mint_link(
    conferences: &Conferences,
    base: &str,
    conference_id: &str,
    role: Role,
    label: &str,
) -> anyhow::Result<Vec<String>> {
    let minted = conferences.mint_link(conference_id, role, label).await?;
    Ok(vec![
        format!(
            "New {} link (id {}; shown only now):",
            role.as_str(),
            minted.record.id
        ),
        format!("Token: {}", minted.secret),
        format!(
            "Link: {}",
            conference_link(base, conference_id, &minted.secret)
        ),
    ])
}
