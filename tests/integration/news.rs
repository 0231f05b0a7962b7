//! The live harvest's endpoints through the real binary: who may read the
//! news and the feed (the proceedings' rule), the dashboard's states and
//! order (organizer only, the overdue delay from config), and a reopened
//! session leaving the news.

use serde_json::{json, Value};

use crate::support::*;

fn path(id: &str, rest: &str) -> String {
    format!("/api/v1/conferences/{id}{rest}")
}

/// A conference whose one round ended long ago (March 2026), with two
/// sessions: returns (id, organizer token, read token, [session ids]).
fn setup(server: &TestServer) -> (String, String, String, Vec<String>) {
    let r = server.api(
        "POST",
        "/api/v1/conferences",
        None,
        Some(
            json!({"name": "Harvest & <Co>", "time_zone": "Europe/Lisbon",
                    "start_date": "2026-03-28", "end_date": "2026-03-28"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let id = r.body["conference"]["id"].as_str().unwrap().to_owned();
    let org = r.body["organizer_token"].as_str().unwrap().to_owned();
    let read = server.api(
        "POST",
        &path(&id, "/links"),
        Some(&org),
        Some(json!({"role": "read"})),
    );
    let read = read.body["token"].as_str().unwrap().to_owned();
    let mut sessions = Vec::new();
    for (name, capacity) in [("Kitchen", 4), ("Garden", 9)] {
        server.api(
            "POST",
            &path(&id, "/spaces"),
            Some(&org),
            Some(json!({"name": name, "capacity": capacity})),
        );
    }
    let conf = server.api(
        "POST",
        &path(&id, "/rounds"),
        Some(&org),
        Some(
            json!({"local_start": "2026-03-28T10:00", "duration_minutes": 60, "kind": "breakout"}),
        ),
    );
    let round = conf.body["rounds"][0]["id"].as_str().unwrap().to_owned();
    for (k, topic) in ["<script>x</script> retros", "Pairing"].iter().enumerate() {
        let space = conf.body["spaces"][k]["id"].as_str().unwrap().to_owned();
        let s = server.api(
            "POST",
            &path(&id, "/sessions"),
            Some(&org),
            Some(json!({"topic": topic, "convener": "Ada", "round_id": round, "space_id": space})),
        );
        assert_eq!(s.status, 201, "{}", s.raw);
        sessions.push(s.body["session"]["id"].as_str().unwrap().to_owned());
    }
    (id, org, read, sessions)
}

fn set_state(server: &TestServer, id: &str, org: &str, session: &str, state: &str) {
    let r = server.api(
        "PATCH",
        &path(id, &format!("/sessions/{session}")),
        Some(org),
        Some(json!({ "state": state })),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
}

fn statuses(dashboard: &Value) -> Vec<(String, String)> {
    dashboard["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["session_id"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn news_feed_and_dashboard_follow_the_proceedings_rule_and_the_session_states() {
    let server = TestServer::start();
    let (id, org, read, s) = setup(&server);

    // Dashboard: organizer only; both sessions overdue (the round ended
    // months ago), in agenda order; Kitchen's capacity is served.
    assert_eq!(
        server
            .api("GET", &path(&id, "/dashboard"), None, None)
            .status,
        401
    );
    assert_eq!(
        server
            .api("GET", &path(&id, "/dashboard"), Some(&read), None)
            .status,
        403
    );
    let d = server.api("GET", &path(&id, "/dashboard"), Some(&org), None);
    assert_eq!(d.status, 200, "{}", d.raw);
    assert_eq!(
        statuses(&d.body),
        vec![
            (s[0].clone(), "overdue".into()),
            (s[1].clone(), "overdue".into())
        ]
    );
    assert_eq!(d.body["sessions"][0]["capacity"], 4);
    assert_eq!(d.body["sessions"][0]["head_count"], 0);
    assert_eq!(d.body["overdue_after_minutes"], 15);
    assert!(d.body["edits_known_since"].is_string());

    // Finalized: first in the news, last on the dashboard.
    set_state(&server, &id, &org, &s[0], "live");
    set_state(&server, &id, &org, &s[0], "final");
    let d = server.api("GET", &path(&id, "/dashboard"), Some(&org), None);
    assert_eq!(
        statuses(&d.body),
        vec![
            (s[1].clone(), "overdue".into()),
            (s[0].clone(), "final".into())
        ]
    );
    assert!(d.body["sessions"][1]["finalized_at"].is_string());

    // The news and the feed: a token of the conference, or none once public.
    for rest in ["/news", "/feed.atom"] {
        assert_eq!(
            server.api("GET", &path(&id, rest), None, None).status,
            401,
            "{rest}"
        );
    }
    let news = server.api("GET", &path(&id, "/news"), Some(&read), None);
    assert_eq!(news.status, 200, "{}", news.raw);
    let reports = news.body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["session_id"], s[0].as_str());
    assert_eq!(reports[0]["space"], "Kitchen");
    assert_eq!(reports[0]["summary"], "");
    let finalized: jiff::Timestamp = reports[0]["finalized_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(jiff::Timestamp::now().duration_since(finalized).as_secs() < 60);

    let r = server.api(
        "PATCH",
        &path(&id, ""),
        Some(&org),
        Some(json!({"proceedings_public": true})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(
        server.api("GET", &path(&id, "/news"), None, None).status,
        200
    );
    let feed = server.api("GET", &path(&id, "/feed.atom"), None, None);
    assert_eq!(feed.status, 200);
    assert!(feed.headers["content-type"].starts_with("application/atom+xml"));
    let xml = &feed.raw;
    assert!(
        xml.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""),
        "{xml}"
    );
    assert!(xml.contains("<id>urn:uuid:"), "{xml}");
    assert!(
        xml.contains("&lt;script&gt;x&lt;/script&gt; retros"),
        "{xml}"
    );
    assert!(!xml.contains("<script>"), "{xml}");
    assert!(xml.contains("Harvest &amp; &lt;Co&gt; · reports"), "{xml}");
    // The dashboard stays the organizers' even then.
    assert_eq!(
        server
            .api("GET", &path(&id, "/dashboard"), None, None)
            .status,
        401
    );

    // Reopened: off the news, and a new finalize time next time.
    set_state(&server, &id, &org, &s[0], "live");
    let news = server.api("GET", &path(&id, "/news"), None, None);
    assert_eq!(news.body["reports"].as_array().unwrap().len(), 0);
    let d = server.api("GET", &path(&id, "/dashboard"), Some(&org), None);
    assert!(d.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["finalized_at"].is_null()));
}

#[test]
fn the_overdue_delay_comes_from_config() {
    let server = TestServer::start_with(&["--overdue-after", "3000d"]);
    let (id, org, _, s) = setup(&server);
    let d = server.api("GET", &path(&id, "/dashboard"), Some(&org), None);
    assert_eq!(d.status, 200, "{}", d.raw);
    // Ended, not yet overdue: empty charts in an ended round.
    assert_eq!(
        statuses(&d.body),
        vec![
            (s[0].clone(), "empty".into()),
            (s[1].clone(), "empty".into())
        ]
    );
    assert_eq!(d.body["overdue_after_minutes"], 3000 * 24 * 60);
    assert_eq!(
        d.body["sessions"][0]["nudge"],
        "Round ended; nothing written"
    );
}

/// The event stream: open without a token only while the proceedings are
/// public (then without presence), a `report` event when a session is
/// made final, and `edited` events for organizers when a chart changes.
#[tokio::test]
async fn the_stream_announces_reports_and_tells_organizers_of_edits() {
    use crate::api::EventStream;
    let server = TestServer::start();
    let (id, org, read, s) = setup(&server);
    let (status, _) = EventStream::open(&server.addr, &path(&id, "/events")).await;
    assert_eq!(status, 401, "not public: no stream without a token");
    server.api(
        "PATCH",
        &path(&id, ""),
        Some(&org),
        Some(json!({"proceedings_public": true})),
    );
    let (status, mut public) = EventStream::open(&server.addr, &path(&id, "/events")).await;
    assert_eq!(status, 200);
    public.next_agenda().await.unwrap();
    let (_, mut organizer) =
        EventStream::open(&server.addr, &path(&id, &format!("/events?token={org}"))).await;
    organizer.next_agenda().await.unwrap();

    set_state(&server, &id, &org, &s[1], "live");
    set_state(&server, &id, &org, &s[1], "final");
    for stream in [&mut public, &mut organizer] {
        let report = stream.next_event("report").await.unwrap();
        assert_eq!(report["session_id"], s[1].as_str());
        assert_eq!(report["space"], "Garden");
    }

    // A person writes in the other session's chart.
    let conf = server.api("GET", &path(&id, ""), Some(&read), None);
    let chart = conf.body["sessions"][0]["chart_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edit = server.api(
        "POST",
        &path(&id, "/links"),
        Some(&org),
        Some(json!({"role": "edit"})),
    );
    let edit = edit.body["token"].as_str().unwrap().to_owned();
    let client = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    client.wait_synced().await;
    client.push_text("scratch", "hello");
    let edited = organizer.next_event("edited").await.unwrap();
    let at: jiff::Timestamp = edited["charts"][chart.as_str()]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(jiff::Timestamp::now().duration_since(at).as_secs() < 60);
    // That text is outside the notes: the dashboard still counts the chart
    // blank, and a blank chart shows no last edit.
    let d = server.api("GET", &path(&id, "/dashboard"), Some(&org), None);
    let row = d.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["chart_id"] == chart.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["has_notes"], false);
    assert!(row["last_edit_at"].is_null(), "{row}");
    assert_eq!(row["head_count"], 1);

    // The public stream never carried presence or edits: the next event
    // it gets is the agenda of the next change, not a count.
    server.api(
        "PATCH",
        &path(&id, &format!("/sessions/{}", s[0])),
        Some(&org),
        Some(json!({"topic": "Renamed"})),
    );
    let mut names = Vec::new();
    loop {
        let ev = public.next_any().await.unwrap();
        names.push(ev.clone());
        if ev == "agenda" {
            break;
        }
    }
    assert_eq!(
        names,
        ["agenda"],
        "a public stream sends agenda and report events only"
    );
}
