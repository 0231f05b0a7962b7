//! The REST API through the real binary: every endpoint, bad input (clear
//! 4xx, nothing changed), DST, the live agenda stream, the OpenAPI
//! document and the `easel conference` CLI.

use std::process::Command;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use yrs::{GetString, Transact, XmlFragment};

use crate::api_support::*;
use crate::support::*;

/// A conference set up through the API: organizer token, one space, one
/// breakout round.
struct Setup {
    id: String,
    org: String,
    space: String,
    round: String,
}

fn path(id: &str, rest: &str) -> String {
    format!("/api/v1/conferences/{id}{rest}")
}

fn setup(server: &TestServer) -> Setup {
    let r = server.api(
        "POST",
        "/api/v1/conferences",
        None,
        Some(
            json!({"name": "Easel Open Space", "time_zone": "Europe/Lisbon",
                    "start_date": "2026-03-28", "end_date": "2026-03-30",
                    "description": "Test"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let id = r.body["conference"]["id"].as_str().unwrap().to_owned();
    let org = r.body["organizer_token"].as_str().unwrap().to_owned();
    assert!(r.body["organizer_link"].as_str().unwrap().contains(&org));
    assert_eq!(org.len(), 43, "256-bit base64url token");
    let s = server.api(
        "POST",
        &path(&id, "/spaces"),
        Some(&org),
        Some(json!({"name": "Kitchen", "capacity": 10})),
    );
    assert_eq!(s.status, 201, "{}", s.raw);
    let space = s.body["spaces"][0]["id"].as_str().unwrap().to_owned();
    let r = server.api(
        "POST",
        &path(&id, "/rounds"),
        Some(&org),
        Some(json!({"local_start": "2026-03-28T10:00", "duration_minutes": 60, "kind": "breakout", "label": "First"})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let round = r.body["rounds"][0]["id"].as_str().unwrap().to_owned();
    Setup {
        id,
        org,
        space,
        round,
    }
}

fn get(server: &TestServer, s: &Setup) -> Value {
    let r = server.api("GET", &path(&s.id, ""), Some(&s.org), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

#[tokio::test]
async fn every_endpoint_end_to_end() {
    let server = TestServer::start();
    let s = setup(&server);
    let org = Some(s.org.as_str());

    // Conference metadata.
    let r = server.api(
        "PATCH",
        &path(&s.id, ""),
        org,
        Some(json!({"name": "Renamed", "published": true, "proceedings_public": false})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["name"], "Renamed");
    assert_eq!(r.body["published"], true);

    // Rounds: one more by explicit instant, then a pattern, then delete one.
    let r = server.api("POST", &path(&s.id, "/rounds"), org, Some(json!({"starts_at": "2026-03-28T12:00:00Z", "duration_minutes": 60, "kind": "breakout"})));
    assert_eq!(r.status, 201, "{}", r.raw);
    let second_round = r.body["rounds"][1]["id"].as_str().unwrap().to_owned();
    let r = server.api("POST", &path(&s.id, "/rounds/pattern"), org, Some(json!({"segments": [
        {"kind": "opening_circle", "count": 1, "start": {"type": "at", "start": {"type": "civil", "datetime": "2026-03-30T09:00", "time_zone": "Europe/Lisbon"}}, "interval_minutes": 60, "duration_minutes": 60},
        {"kind": "breakout", "count": 2, "start": {"type": "after_previous", "gap_minutes": 0}, "interval_minutes": 90, "duration_minutes": 60}
    ]})));
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(r.body["rounds"].as_array().unwrap().len(), 5);
    let opening = r.body["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "opening_circle")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = server.api(
        "DELETE",
        &path(&s.id, &format!("/rounds/{opening}")),
        org,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["rounds"].as_array().unwrap().len(), 4);

    // Spaces: add, update, delete.
    let r = server.api(
        "POST",
        &path(&s.id, "/spaces"),
        org,
        Some(json!({"name": "Garden", "video_url": "https://meet.example/garden"})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let garden = r.body["spaces"][1]["id"].as_str().unwrap().to_owned();
    let r = server.api(
        "PATCH",
        &path(&s.id, &format!("/spaces/{garden}")),
        org,
        Some(json!({"name": "Back garden", "capacity": 5})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["spaces"][1]["name"], "Back garden");
    assert_eq!(
        r.body["spaces"][1]["video_url"],
        "https://meet.example/garden"
    );
    assert_eq!(r.body["spaces"][1]["capacity"], 5);

    // Links.
    let r = server.api(
        "POST",
        &path(&s.id, "/links"),
        org,
        Some(json!({"role": "edit", "label": "participants"})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let edit = r.body["token"].as_str().unwrap().to_owned();
    let edit_id = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.body["url"].as_str().unwrap().ends_with(&edit));
    let r = server.api(
        "POST",
        &path(&s.id, "/links"),
        org,
        Some(json!({"role": "read"})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let read = r.body["token"].as_str().unwrap().to_owned();
    let r = server.api("GET", &path(&s.id, "/links"), org, None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let links = r.body.as_array().unwrap();
    assert_eq!(links.len(), 3, "organizer, edit, read: {}", r.raw);
    assert!(
        !r.raw.contains(&edit) && !r.raw.contains(&s.org),
        "secrets never listed"
    );

    // Sessions: the marketplace (edit link), then organizer edits.
    let r = server.api("POST", &path(&s.id, "/sessions"), Some(&edit), Some(json!({"topic": "Async retros", "convener": "Ana", "round_id": s.round, "space_id": s.space})));
    assert_eq!(r.status, 201, "{}", r.raw);
    let a = r.body["session"]["id"].as_str().unwrap().to_owned();
    let a_chart = r.body["session"]["chart_id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["session"]["state"], "proposed");
    let r = server.api(
        "POST",
        &path(&s.id, "/sessions"),
        Some(&edit),
        Some(
            json!({"topic": "Pairing", "convener": "Bo", "round_id": s.round, "space_id": garden}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let b = r.body["session"]["id"].as_str().unwrap().to_owned();
    let b_chart = r.body["session"]["chart_id"].as_str().unwrap().to_owned();
    // Its chart exists, seeded with the template exactly once.
    let c = TestClient::connect(&server.ws_url_with(&a_chart, Some(&edit))).await;
    wait_for("template", WAIT, || {
        c.doc
            .get_or_insert_xml_fragment("notes")
            .get_string(&c.doc.transact())
            .matches("Key points and ideas")
            .count()
            == 1
    })
    .await;
    c.close().await;

    let r = server.api(
        "PATCH",
        &path(&s.id, &format!("/sessions/{a}")),
        org,
        Some(
            json!({"topic": "Async retrospectives", "round_id": second_round, "space_id": s.space}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["session"]["topic"], "Async retrospectives");
    assert_eq!(r.body["session"]["round_id"], second_round.as_str());
    let r = server.api(
        "PATCH",
        &path(&s.id, &format!("/sessions/{a}")),
        org,
        Some(json!({"state": "live"})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["session"]["state"], "live");

    // Chart info for the chart page.
    let r = server.api(
        "GET",
        &format!("/api/v1/charts/{a_chart}"),
        Some(&read),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["session"]["topic"], "Async retrospectives");
    assert_eq!(r.body["conference_name"], "Renamed");
    assert_eq!(r.body["role"], "read");
    assert_eq!(r.body["read_only"], true);
    assert_eq!(r.body["space"]["name"], "Kitchen");
    let r = server.api(
        "GET",
        &format!("/api/v1/charts/{a_chart}"),
        Some(&edit),
        None,
    );
    assert_eq!(r.body["read_only"], false);

    // Merge b into a: b's chart becomes read-only and points at a's.
    let r = server.api(
        "POST",
        &path(&s.id, &format!("/sessions/{a}/merge")),
        org,
        Some(json!({"absorb": b})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["kept"]["topic"], "Async retrospectives + Pairing");
    let r = server.api(
        "GET",
        &format!("/api/v1/charts/{b_chart}"),
        Some(&edit),
        None,
    );
    assert_eq!(r.body["merged_into"], a_chart.as_str());
    assert_eq!(r.body["read_only"], true);

    // Finalize, reopen, cancel.
    let r = server.api(
        "PATCH",
        &path(&s.id, &format!("/sessions/{a}")),
        org,
        Some(json!({"state": "final"})),
    );
    assert_eq!(r.body["session"]["state"], "final");
    let r = server.api(
        "PATCH",
        &path(&s.id, &format!("/sessions/{a}")),
        org,
        Some(json!({"state": "live"})),
    );
    assert_eq!(r.body["session"]["state"], "live", "{}", r.raw);
    let r = server.api("DELETE", &path(&s.id, &format!("/sessions/{a}")), org, None);
    assert_eq!(r.status, 200, "{}", r.raw);
    let conf = get(&server, &s);
    assert!(conf["sessions"].as_array().unwrap().is_empty());
    let r = server.api(
        "DELETE",
        &path(&s.id, &format!("/spaces/{garden}")),
        org,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);

    // Revoke.
    let r = server.api(
        "DELETE",
        &path(&s.id, &format!("/links/{edit_id}")),
        org,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert!(r.body["revoked"].is_string());
    let r = server.api("GET", &path(&s.id, ""), Some(&edit), None);
    assert_eq!((r.status, r.code()), (401, "invalid_token"));

    // Proceedings flag: the agenda becomes readable without a token.
    assert_eq!(server.api("GET", &path(&s.id, ""), None, None).status, 401);
    server.api(
        "PATCH",
        &path(&s.id, ""),
        org,
        Some(json!({"proceedings_public": true})),
    );
    let r = server.api("GET", &path(&s.id, ""), None, None);
    assert_eq!(r.status, 200, "{}", r.raw);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_4xx_and_changes_nothing() {
    let server = TestServer::start_with(&["--max-api-body-bytes", "4096"]);
    let s = setup(&server);
    let org = Some(s.org.as_str());
    let r = server.api(
        "POST",
        &path(&s.id, "/sessions"),
        org,
        Some(json!({"topic": "Taken", "convener": "X", "round_id": s.round, "space_id": s.space})),
    );
    assert_eq!(r.status, 201);
    let session = r.body["session"]["id"].as_str().unwrap().to_owned();
    let r = server.api("POST", &path(&s.id, "/rounds"), org, Some(json!({"local_start": "2026-03-28T08:00", "duration_minutes": 30, "kind": "opening_circle"})));
    assert_eq!(r.status, 201);
    let circle = r.body["rounds"][0]["id"].as_str().unwrap().to_owned();
    let before = get(&server, &s);

    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/conferences".into(),
            json!({"name": "X", "time_zone": "Mars/Olympus", "start_date": "2026-01-01", "end_date": "2026-01-02"}),
            422,
            "invalid_time_zone",
        ),
        (
            "POST",
            "/api/v1/conferences".into(),
            json!({"name": "X", "time_zone": "UTC", "start_date": "2026-13-01", "end_date": "2026-01-02"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/conferences".into(),
            json!({"name": "X", "time_zone": "UTC", "start_date": "2026-01-05", "end_date": "2026-01-02"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/conferences".into(),
            json!({"name": "  ", "time_zone": "UTC", "start_date": "2026-01-01", "end_date": "2026-01-02"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/conferences".into(),
            json!({"name": "X", "time_zone": "UTC", "start_date": "2026-01-01"}),
            400,
            "invalid_input",
        ),
        (
            "PATCH",
            path(&s.id, ""),
            json!({"name": "Ok", "time_zone": "Nowhere/Land"}),
            422,
            "invalid_time_zone",
        ),
        (
            "PATCH",
            path(&s.id, ""),
            json!({"end_date": "2026-03-27"}),
            400,
            "invalid_input",
        ),
        (
            "PATCH",
            path(&s.id, ""),
            json!({"start_date": "2026-03-29"}),
            422,
            "outside_conference_dates",
        ),
        (
            "PATCH",
            path(&s.id, ""),
            json!({"colour": "red"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"duration_minutes": 60, "kind": "breakout"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"starts_at": "2026-03-28T10:00:00Z", "local_start": "2026-03-28T10:00", "duration_minutes": 60, "kind": "breakout"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"starts_at": "2026-03-28T10:00", "duration_minutes": 60, "kind": "breakout"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"local_start": "2026-03-29T01:30", "duration_minutes": 60, "kind": "breakout"}),
            422,
            "nonexistent_local_time",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"local_start": "2026-03-28T10:30", "duration_minutes": 60, "kind": "breakout"}),
            409,
            "rounds_overlap",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"local_start": "2026-04-28T10:30", "duration_minutes": 60, "kind": "breakout"}),
            422,
            "outside_conference_dates",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"local_start": "2026-03-28T14:00", "duration_minutes": 0, "kind": "breakout"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/rounds"),
            json!({"local_start": "2026-03-28T14:00", "duration_minutes": 60, "kind": "party"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/rounds/pattern"),
            json!({"segments": []}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/rounds/pattern"),
            json!({"segments": [{"kind": "breakout", "count": 3, "start": {"type": "at", "start": {"type": "instant", "at": "2026-03-28T13:00:00Z"}}, "interval_minutes": 120, "duration_minutes": 60}, {"kind": "breakout", "count": 1, "start": {"type": "at", "start": {"type": "instant", "at": "2026-03-28T10:00:00Z"}}, "interval_minutes": 60, "duration_minutes": 60}]}),
            409,
            "rounds_overlap",
        ),
        (
            "DELETE",
            path(&s.id, &format!("/rounds/{}", s.round)),
            Value::Null,
            409,
            "has_sessions",
        ),
        (
            "DELETE",
            path(&s.id, "/rounds/r-nope"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "POST",
            path(&s.id, "/spaces"),
            json!({"name": "kitchen"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/spaces"),
            json!({"name": "Call", "video_url": "javascript:alert(1)"}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/spaces"),
            json!({"name": "Tiny", "capacity": 0}),
            400,
            "invalid_input",
        ),
        (
            "PATCH",
            path(&s.id, "/spaces/sp-nope"),
            json!({"name": "X"}),
            404,
            "not_found",
        ),
        (
            "DELETE",
            path(&s.id, &format!("/spaces/{}", s.space)),
            Value::Null,
            409,
            "has_sessions",
        ),
        (
            "POST",
            path(&s.id, "/sessions"),
            json!({"topic": "Second", "convener": "Y", "round_id": s.round, "space_id": s.space}),
            409,
            "cell_taken",
        ),
        (
            "POST",
            path(&s.id, "/sessions"),
            json!({"topic": "In a circle", "convener": "Y", "round_id": circle, "space_id": s.space}),
            422,
            "not_a_breakout",
        ),
        (
            "POST",
            path(&s.id, "/sessions"),
            json!({"topic": "", "convener": "Y", "round_id": s.round, "space_id": s.space}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/sessions"),
            json!({"topic": "x".repeat(201), "convener": "Y", "round_id": s.round, "space_id": s.space}),
            400,
            "invalid_input",
        ),
        (
            "POST",
            path(&s.id, "/sessions"),
            json!({"topic": "Nowhere", "convener": "Y", "round_id": "r-nope", "space_id": s.space}),
            404,
            "not_found",
        ),
        (
            "PATCH",
            path(&s.id, &format!("/sessions/{session}")),
            json!({"state": "final"}),
            409,
            "invalid_transition",
        ),
        (
            "PATCH",
            path(&s.id, &format!("/sessions/{session}")),
            json!({"round_id": s.round}),
            400,
            "invalid_input",
        ),
        (
            "PATCH",
            path(&s.id, &format!("/sessions/{session}")),
            json!({}),
            400,
            "invalid_input",
        ),
        (
            "PATCH",
            path(&s.id, &format!("/sessions/{session}")),
            json!({"topic": "New", "state": "final"}),
            409,
            "invalid_transition",
        ),
        (
            "PATCH",
            path(&s.id, "/sessions/s-nope"),
            json!({"topic": "X"}),
            404,
            "not_found",
        ),
        (
            "POST",
            path(&s.id, &format!("/sessions/{session}/merge")),
            json!({"absorb": session}),
            400,
            "invalid_input",
        ),
        (
            "DELETE",
            path(&s.id, "/sessions/s-nope"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "POST",
            path(&s.id, "/links"),
            json!({"role": "admin"}),
            400,
            "invalid_input",
        ),
        (
            "DELETE",
            path(&s.id, "/links/0000000000000000"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            "/api/v1/no-such-route".into(),
            Value::Null,
            404,
            "not_found",
        ),
        ("PUT", path(&s.id, ""), json!({}), 405, "method_not_allowed"),
    ];
    for (method, p, body, status, code) in cases {
        let body = (!body.is_null()).then_some(body);
        let r = server.api(method, &p, org, body.clone());
        assert_eq!(
            (r.status, r.code()),
            (status, code),
            "{method} {p} {body:?}: {}",
            r.raw
        );
        assert!(r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // Not JSON, wrong content type, too large.
    let auth = format!("Bearer {}", s.org);
    let p = path(&s.id, "/spaces");
    let r = request(
        &server.addr,
        "POST",
        &p,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(b"{\"name\":"),
    );
    assert_eq!((r.status, r.code()), (400, "invalid_json"), "{}", r.raw);
    let r = request(
        &server.addr,
        "POST",
        &p,
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        Some(b"{\"name\":\"X\"}"),
    );
    assert_eq!(
        (r.status, r.code()),
        (415, "unsupported_media_type"),
        "{}",
        r.raw
    );
    let big = serde_json::to_vec(&json!({"name": "y".repeat(10_000)})).unwrap();
    let r = request(
        &server.addr,
        "POST",
        &p,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&big),
    );
    assert_eq!(
        (r.status, r.code()),
        (413, "payload_too_large"),
        "{}",
        r.raw
    );

    // Nothing changed.
    let after = get(&server, &s);
    assert_eq!(before, after);
}

#[tokio::test]
async fn rounds_across_a_dst_change() {
    let server = TestServer::start();
    let s = setup(&server);
    let org = Some(s.org.as_str());
    // Lisbon springs forward on 2026-03-29 at 01:00 UTC (01:00 WET -> 02:00 WEST).
    let r = server.api(
        "POST",
        &path(&s.id, "/rounds"),
        org,
        Some(
            json!({"local_start": "2026-03-29T00:30", "duration_minutes": 120, "kind": "breakout"}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let round = r.body["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["day"] == "2026-03-29")
        .unwrap()
        .clone();
    assert_eq!(round["starts_at"], "2026-03-29T00:30:00Z");
    assert_eq!(round["ends_at"], "2026-03-29T02:30:00Z");
    assert_eq!(round["local_start"], "2026-03-29T00:30:00+00:00");
    assert_eq!(
        round["local_end"], "2026-03-29T03:30:00+01:00",
        "two elapsed hours end at 03:30 summer time"
    );
    assert!(round["local_display"].as_str().unwrap().contains("WET"));
    // 01:30 does not exist that night.
    let r = server.api(
        "POST",
        &path(&s.id, "/rounds"),
        org,
        Some(
            json!({"local_start": "2026-03-29T01:30", "duration_minutes": 30, "kind": "breakout"}),
        ),
    );
    assert_eq!((r.status, r.code()), (422, "nonexistent_local_time"));
    // A pattern keeps elapsed time across the change: 4-hourly rounds.
    let r = server.api("POST", &path(&s.id, "/rounds/pattern"), org, Some(json!({"segments": [
        {"kind": "breakout", "count": 3, "start": {"type": "at", "start": {"type": "civil", "datetime": "2026-03-29T08:00", "time_zone": "Europe/Lisbon"}}, "interval_minutes": 240, "duration_minutes": 120}
    ]})));
    assert_eq!(r.status, 201, "{}", r.raw);
    let starts: Vec<_> = r.body["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["starts_at"].as_str().unwrap() >= "2026-03-29T07:00:00Z")
        .map(|r| r["local_start"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-03-29T08:00:00+01:00",
            "2026-03-29T12:00:00+01:00",
            "2026-03-29T16:00:00+01:00"
        ]
    );
    // Days are grouped by local date.
    let conf = get(&server, &s);
    assert_eq!(conf["days"][1]["label"], "Day 2 — Sun 29 Mar 2026");
    assert_eq!(conf["days"][1]["round_ids"].as_array().unwrap().len(), 4);
}

/// Reads server-sent events from a raw connection.
pub struct EventStream {
    lines: tokio::io::Lines<BufReader<tokio::net::TcpStream>>,
}

impl EventStream {
    pub async fn open(addr: &str, path: &str) -> (u16, EventStream) {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut lines = BufReader::new(tcp).lines();
        let status_line = lines.next_line().await.unwrap().unwrap();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.is_empty() {
                break;
            }
        }
        (status, EventStream { lines })
    }

    /// The name of the next event, or None when the stream ends.
    pub async fn next_any(&mut self) -> Option<String> {
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .expect("event in time")
                .ok()??;
            if let Some(event) = line.strip_prefix("event: ") {
                return Some(event.to_owned());
            } else if line == "0" {
                return None; // last chunk
            }
        }
    }

    /// The next `agenda` event's data, or None when the stream ends.
    pub async fn next_agenda(&mut self) -> Option<Value> {
        self.next_event("agenda").await
    }

    /// The next event called `name` (others are skipped), or None when
    /// the stream ends.
    pub async fn next_event(&mut self, name: &str) -> Option<Value> {
        let mut wanted = false;
        loop {
            let line = tokio::time::timeout(WAIT, self.lines.next_line())
                .await
                .expect("event in time")
                .ok()??;
            if let Some(event) = line.strip_prefix("event: ") {
                wanted = event == name;
            } else if let Some(data) = line
                .strip_prefix("data: ")
                .or_else(|| line.strip_prefix("data:"))
            {
                if wanted {
                    return Some(serde_json::from_str(data).expect("event JSON"));
                }
            } else if line == "0" {
                return None; // last chunk
            }
        }
    }
}

#[tokio::test]
async fn live_agenda_events_show_new_and_moved_sessions() {
    let server = TestServer::start();
    let s = setup(&server);
    let org = Some(s.org.as_str());
    let r = server.api(
        "POST",
        &path(&s.id, "/links"),
        org,
        Some(json!({"role": "read"})),
    );
    let read = r.body["token"].as_str().unwrap().to_owned();
    let read_id = r.body["id"].as_str().unwrap().to_owned();
    let (status, _) = EventStream::open(&server.addr, &path(&s.id, "/events")).await;
    assert_eq!(status, 401, "no token, no stream");
    let (status, mut events) =
        EventStream::open(&server.addr, &path(&s.id, &format!("/events?token={read}"))).await;
    assert_eq!(status, 200);
    let first = events.next_agenda().await.unwrap();
    assert!(first["sessions"].as_array().unwrap().is_empty());

    let r = server.api("POST", &path(&s.id, "/sessions"), org, Some(json!({"topic": "Live topic", "convener": "Ana", "round_id": s.round, "space_id": s.space})));
    let session = r.body["session"]["id"].as_str().unwrap().to_owned();
    let ev = events.next_agenda().await.unwrap();
    assert_eq!(ev["sessions"][0]["topic"], "Live topic");
    assert!(ev["version"].as_u64() > first["version"].as_u64());

    let r = server.api(
        "POST",
        &path(&s.id, "/rounds"),
        org,
        Some(
            json!({"local_start": "2026-03-28T14:00", "duration_minutes": 60, "kind": "breakout"}),
        ),
    );
    let new_round = r.body["rounds"][1]["id"].as_str().unwrap().to_owned();
    let _ = events.next_agenda().await.unwrap();
    server.api(
        "PATCH",
        &path(&s.id, &format!("/sessions/{session}")),
        org,
        Some(json!({"round_id": new_round, "space_id": s.space})),
    );
    let ev = events.next_agenda().await.unwrap();
    assert_eq!(ev["sessions"][0]["round_id"], new_round.as_str());

    // Revoking the token ends its stream.
    server.api(
        "DELETE",
        &path(&s.id, &format!("/links/{read_id}")),
        org,
        None,
    );
    assert!(events.next_agenda().await.is_none());
}

/// Counts of people per chart, for the agenda board: only a token of the
/// conference may read them (also when its proceedings are public), they
/// follow connections opening and closing, and the live stream pushes them.
#[tokio::test]
async fn presence_counts_follow_connections_for_readers_only() {
    let server = TestServer::start();
    let s = setup(&server);
    let org = Some(s.org.as_str());
    let mint = |role: &str| {
        let r = server.api(
            "POST",
            &path(&s.id, "/links"),
            org,
            Some(json!({"role": role})),
        );
        assert_eq!(r.status, 201, "{}", r.raw);
        r.body["token"].as_str().unwrap().to_owned()
    };
    let (read, edit) = (mint("read"), mint("edit"));
    let r = server.api("POST", &path(&s.id, "/sessions"), org, Some(json!({"topic": "Counted", "convener": "Ana", "round_id": s.round, "space_id": s.space})));
    assert_eq!(r.status, 201, "{}", r.raw);
    let chart = r.body["session"]["chart_id"].as_str().unwrap().to_owned();
    let presence = |token: Option<&str>| server.api("GET", &path(&s.id, "/presence"), token, None);

    // Access: none -> 401 (even with public proceedings), another
    // conference's token -> 403, unknown conference -> 403 before lookup.
    let r = server.api(
        "PATCH",
        &path(&s.id, ""),
        org,
        Some(json!({"proceedings_public": true})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(
        server.api("GET", &path(&s.id, ""), None, None).status,
        200,
        "agenda is public"
    );
    let r = presence(None);
    assert_eq!((r.status, r.code()), (401, "unauthorized"), "{}", r.raw);
    let other = setup(&server);
    let r = presence(Some(&other.org));
    assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.raw);
    let r = server.api(
        "GET",
        "/api/v1/conferences/conf-nope/presence",
        Some(&read),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.raw);

    let r = presence(Some(&read));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body, json!({"charts": {chart.as_str(): 0}}));

    let (status, mut events) =
        EventStream::open(&server.addr, &path(&s.id, &format!("/events?token={read}"))).await;
    assert_eq!(status, 200);
    events.next_agenda().await.unwrap();
    assert_eq!(
        events.next_event("presence").await.unwrap()["charts"][&chart],
        0
    );

    // An editor and a read-only reader: both are in the chart.
    let a = TestClient::connect(&server.ws_url_with(&chart, Some(&edit))).await;
    let b = TestClient::connect(&server.ws_url_with(&chart, Some(&read))).await;
    let mut seen = Vec::new();
    while seen.last() != Some(&2) {
        let ev = events.next_event("presence").await.unwrap();
        seen.push(ev["charts"][&chart].as_u64().unwrap());
    }
    assert!(
        seen.iter().all(|n| *n >= 1),
        "only changes are sent: {seen:?}"
    );
    assert_eq!(presence(Some(&read)).body["charts"][&chart], 2);
    assert_eq!(
        presence(Some(&edit)).body["charts"][&chart],
        2,
        "any role of the conference"
    );

    a.close().await;
    assert_eq!(
        events.next_event("presence").await.unwrap()["charts"][&chart],
        1
    );
    b.abort();
    assert_eq!(
        events.next_event("presence").await.unwrap()["charts"][&chart],
        0
    );
    assert_eq!(presence(Some(&read)).body["charts"][&chart], 0);

    // A new session shows up with its count after the agenda event.
    let round2 = server.api(
        "POST",
        &path(&s.id, "/rounds"),
        org,
        Some(
            json!({"local_start": "2026-03-28T14:00", "duration_minutes": 60, "kind": "breakout"}),
        ),
    );
    let round2 = round2.body["rounds"][1]["id"].as_str().unwrap().to_owned();
    let r = server.api(
        "POST",
        &path(&s.id, "/sessions"),
        Some(&edit),
        Some(json!({"topic": "Second", "convener": "Bo", "round_id": round2, "space_id": s.space})),
    );
    let chart2 = r.body["session"]["chart_id"].as_str().unwrap().to_owned();
    let ev = events.next_event("presence").await.unwrap();
    assert_eq!(ev["charts"], json!({chart.as_str(): 0, chart2.as_str(): 0}));
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let server = TestServer::start();
    let r = server.api("GET", "/api/v1/openapi.json", None, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["servers"][0]["url"], "/api/v1");
    let paths = r.body["paths"].as_object().unwrap();
    for (p, methods) in [
        ("/conferences", &["post"][..]),
        ("/conferences/{conference_id}", &["get", "patch"]),
        ("/conferences/{conference_id}/rounds", &["post"]),
        ("/conferences/{conference_id}/rounds/pattern", &["post"]),
        (
            "/conferences/{conference_id}/rounds/{round_id}",
            &["delete"],
        ),
        ("/conferences/{conference_id}/spaces", &["post"]),
        (
            "/conferences/{conference_id}/spaces/{space_id}",
            &["patch", "delete"],
        ),
        ("/conferences/{conference_id}/sessions", &["post"]),
        (
            "/conferences/{conference_id}/sessions/{session_id}",
            &["patch", "delete"],
        ),
        (
            "/conferences/{conference_id}/sessions/{session_id}/merge",
            &["post"],
        ),
        ("/conferences/{conference_id}/links", &["get", "post"]),
        ("/conferences/{conference_id}/links/{link_id}", &["delete"]),
        ("/conferences/{conference_id}/events", &["get"]),
        ("/conferences/{conference_id}/presence", &["get"]),
        ("/charts/{chart_id}", &["get"]),
    ] {
        for m in methods {
            assert!(paths[p][m].is_object(), "{m} {p} missing from openapi.json");
        }
    }
    assert!(r.body["components"]["schemas"]["ErrorBody"].is_object());
    assert!(r.body["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn cli_creates_a_conference_offline_and_refuses_a_busy_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_easel"))
        .args([
            "conference",
            "create",
            "--name",
            "CLI Camp",
            "--tz",
            "Europe/Berlin",
            "--start",
            "2026-06-01",
            "--end",
            "2026-06-02",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Organizer token (shown only now): "))
        .expect("token printed")
        .to_owned();
    assert!(stdout.contains("/#/conference/conf-"), "{stdout}");
    let server = TestServer::spawn(&data, &[]);
    let id = stdout
        .lines()
        .find_map(|l| l.split("(id ").nth(1))
        .unwrap()
        .trim_end_matches(").")
        .to_owned();
    let r = server.api("GET", &path(&id, ""), Some(&token), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["name"], "CLI Camp");
    assert_eq!(r.body["time_zone"], "Europe/Berlin");
    // No demo on a data dir that has a conference.
    let r = server.api("GET", &path(&id, "/links"), Some(&token), None);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    // While the server runs, the CLI refuses clearly.
    let out = Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(["conference", "list", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use"), "{err}");
}

#[tokio::test]
async fn first_start_prints_demo_links_that_work() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_easel"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..5 {
        let mut l = String::new();
        std::io::BufRead::read_line(&mut reader, &mut l).unwrap();
        lines.push(l.trim().to_owned());
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines[0].starts_with("Easel listening on http://"),
        "{lines:?}"
    );
    let addr = lines[0].rsplit("http://").next().unwrap().to_owned();
    let find = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} missing: {lines:?}"))
            .to_owned()
    };
    let organizer = find("Organizer: ");
    let edit = find("Edit link: ");
    let chart = find("Chart: ");
    assert!(organizer.starts_with(&format!("http://{addr}/#/conference/conf-")));
    assert!(edit.contains("?token="));
    assert!(chart.starts_with(&format!("http://{addr}/#/chart/c-")));
    // A restart on the same data dir prints a hint, no new demo.
    let server = TestServer::spawn(&data, &[]);
    let token = edit.rsplit("token=").next().unwrap();
    let id = edit
        .split("/conference/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let r = server.api("GET", &path(id, ""), Some(token), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["name"], "Demo Open Space");
    assert_eq!(r.body["spaces"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);
    let chart_id = chart
        .split("/chart/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let c = TestClient::connect(&server.ws_url_with(chart_id, Some(token))).await;
    wait_for("demo chart has the template", WAIT, || {
        c.doc
            .get_or_insert_xml_fragment("notes")
            .len(&c.doc.transact())
            > 0
    })
    .await;
}

/// The web client's API types are generated from `web-client/openapi.json`
/// (`npm run gen:api`; `npm run check:api` checks the other end): that
/// snapshot must be the document this server serves, or the client's
/// types drift from the API without anyone noticing.
#[tokio::test]
async fn the_web_clients_openapi_snapshot_is_what_the_server_serves() {
    let server = TestServer::start();
    let served = server.api("GET", "/api/v1/openapi.json", None, None);
    assert_eq!(served.status, 200, "{}", served.raw);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web-client/openapi.json");
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        served.body == snapshot,
        "web-client/openapi.json is stale: run `cd web-client && npm run gen:api -- --refresh`"
    );
}

/// #24: the person who posted a topic renames and withdraws it with the key
/// the server gave them when posting; nobody else with an edit link can.
#[tokio::test]
async fn the_poster_of_a_topic_may_rename_and_withdraw_it() {
    let server = TestServer::start();
    let s = setup(&server);
    let links = |role: &str| {
        let r = server.api(
            "POST",
            &path(&s.id, "/links"),
            Some(&s.org),
            Some(json!({"role": role, "label": role})),
        );
        assert_eq!(r.status, 201, "{}", r.raw);
        r.body["token"].as_str().unwrap().to_owned()
    };
    let (edit, other_edit, read) = (links("edit"), links("edit"), links("read"));
    let posted = server.api(
        "POST",
        &path(&s.id, "/sessions"),
        Some(&edit),
        Some(json!({"topic": "Tea", "convener": "Ada", "round_id": s.round, "space_id": s.space})),
    );
    assert_eq!(posted.status, 201, "{}", posted.raw);
    let key = posted.body["poster_key"].as_str().unwrap().to_owned();
    let sid = posted.body["session"]["id"].as_str().unwrap().to_owned();
    // The key is shown once: the agenda never carries it.
    assert!(!get(&server, &s).to_string().contains(&key));
    let session = path(&s.id, &format!("/sessions/{sid}"));
    let call = |method: &str, token: &str, key: Option<&str>, body: Option<Value>| {
        let auth = format!("Bearer {token}");
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        if let Some(k) = key {
            headers.push(("X-Easel-Poster-Key", k));
        }
        let bytes = body.map(|b| b.to_string().into_bytes());
        request(&server.addr, method, &session, &headers, bytes.as_deref())
    };
    let rename = Some(json!({"topic": "Tea and biscuits"}));
    // Without the key, with a wrong one, or with a read link: refused.
    assert_eq!(
        call("PATCH", &other_edit, None, rename.clone()).code(),
        "forbidden"
    );
    assert_eq!(
        call("PATCH", &other_edit, Some("not-the-key"), rename.clone()).code(),
        "forbidden"
    );
    assert_eq!(
        call("PATCH", &read, Some(&key), rename.clone()).code(),
        "forbidden"
    );
    // The poster may rename, not move or finalize.
    let r = call("PATCH", &edit, Some(&key), Some(json!({"state": "final"})));
    assert_eq!(r.code(), "forbidden", "{}", r.raw);
    let r = call("PATCH", &edit, Some(&key), rename);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["session"]["topic"], "Tea and biscuits");
    assert!(r.body.get("poster_key").is_none());
    // Withdrawing: the session leaves the agenda.
    let r = call("DELETE", &other_edit, Some(&key), None);
    assert_eq!(
        r.status, 200,
        "a key works with any edit link of the conference: {}",
        r.raw
    );
    let agenda = get(&server, &s);
    assert!(agenda["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["id"] != sid.as_str()));
}

/// #24: the agenda as a calendar, whole and per session, for readers.
#[tokio::test]
async fn the_agenda_downloads_as_a_calendar() {
    let server = TestServer::start();
    let s = setup(&server);
    let posted = server.api(
        "POST",
        &path(&s.id, "/sessions"),
        Some(&s.org),
        Some(json!({"topic": "Night, owls; and \\ friends", "convener": "Ada", "round_id": s.round, "space_id": s.space})),
    );
    assert_eq!(posted.status, 201, "{}", posted.raw);
    let sid = posted.body["session"]["id"].as_str().unwrap().to_owned();
    let read = server.api(
        "POST",
        &path(&s.id, "/links"),
        Some(&s.org),
        Some(json!({"role": "read", "label": "r"})),
    );
    let read = read.body["token"].as_str().unwrap().to_owned();
    let ics = |p: &str, token: Option<&str>| {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        request(&server.addr, "GET", &path(&s.id, p), &headers, None)
    };
    let whole = ics("/agenda.ics", Some(&read));
    assert_eq!(whole.status, 200, "{}", whole.raw);
    assert!(whole.headers["content-type"].starts_with("text/calendar"));
    let text = whole.raw.replace("\r\n ", "");
    assert!(text.starts_with("BEGIN:VCALENDAR"), "{text}");
    assert!(text.contains("X-WR-TIMEZONE:Europe/Lisbon"));
    // 10:00 in Lisbon on 2026-03-28 is 10:00 UTC (summer time starts the 29th).
    assert!(text.contains("DTSTART:20260328T100000Z"), "{text}");
    assert!(
        text.contains("SUMMARY:Night\\, owls\\; and \\\\ friends"),
        "{text}"
    );
    assert!(text.contains("LOCATION:Kitchen"));
    // One session alone, and the same bytes on a second download.
    let one = ics(&format!("/sessions/{sid}/session.ics"), Some(&read));
    assert_eq!(one.status, 200, "{}", one.raw);
    assert_eq!(one.raw.matches("BEGIN:VEVENT").count(), 1);
    assert_eq!(
        ics(&format!("/sessions/{sid}/session.ics"), Some(&read)).raw,
        one.raw
    );
    // No token, private proceedings: refused; an unknown session: 404.
    assert_eq!(ics("/agenda.ics", None).status, 401);
    assert_eq!(
        ics("/sessions/s-nope/session.ics", Some(&read)).code(),
        "not_found"
    );
}

/// Behind a TLS proxy (`--public-url`), a calendar links to the public
/// address, not to the plain-http host the proxy forwarded.
#[tokio::test]
async fn calendar_links_use_the_public_url() {
    let server = TestServer::start_with(&["--public-url", "https://easel.example.org/"]);
    let s = setup(&server);
    let posted = server.api(
        "POST",
        &path(&s.id, "/sessions"),
        Some(&s.org),
        Some(json!({"topic": "Proxies", "convener": "Ada", "round_id": s.round, "space_id": s.space})),
    );
    assert_eq!(posted.status, 201, "{}", posted.raw);
    let chart = posted.body["session"]["chart_id"].as_str().unwrap();
    let r = request(
        &server.addr,
        "GET",
        &path(&s.id, "/agenda.ics"),
        &[("Authorization", &format!("Bearer {}", s.org))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let text = r.raw.replace("\r\n ", "");
    assert!(
        text.contains(&format!("https://easel.example.org/#/chart/{chart}")),
        "{text}"
    );
    assert!(!text.contains("http://127.0.0.1"), "{text}");
}

/// `GET .../me` names the caller's own link, for any role, and only in its
/// own conference.
#[tokio::test]
async fn a_link_can_ask_what_it_may_do() {
    let server = TestServer::start();
    let s = setup(&server);
    let other = setup(&server);
    for role in ["read", "edit"] {
        let minted = server.api(
            "POST",
            &path(&s.id, "/links"),
            Some(&s.org),
            Some(json!({"role": role, "label": format!("{role} wall")})),
        );
        let token = minted.body["token"].as_str().unwrap();
        let me = server.api("GET", &path(&s.id, "/me"), Some(token), None);
        assert_eq!(me.status, 200, "{}", me.raw);
        assert_eq!(me.body["role"], role);
        assert_eq!(me.body["label"], format!("{role} wall"));
        assert_eq!(me.body["id"], minted.body["id"]);
        assert!(me.body.get("token").is_none(), "never the secret");
        let elsewhere = server.api("GET", &path(&other.id, "/me"), Some(token), None);
        assert_eq!(elsewhere.status, 403, "{}", elsewhere.raw);
    }
    let me = server.api("GET", &path(&s.id, "/me"), Some(&s.org), None);
    assert_eq!(me.body["role"], "organizer");
    assert_eq!(
        server.api("GET", &path(&s.id, "/me"), None, None).status,
        401
    );
}
