//! Access control through the real binary: the auth matrix (every role
//! against every endpoint and the WebSocket), read-only connections whose
//! updates are never applied or stored, revocation (4401), finalization of
//! open connections, the Origin check and the rate limits.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::*;

/// HTTP status of a WebSocket handshake (101 when it upgraded).
pub(crate) async fn ws_status(url: &str, origin: Option<&str>, bearer: Option<&str>) -> u16 {
    let mut req = url.into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(o).unwrap());
    }
    if let Some(t) = bearer {
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            assert!(
                !body.contains("Key points"),
                "a refused handshake leaked chart state: {body}"
            );
            resp.status().as_u16()
        }
        Err(e) => panic!("{e}"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Nobody,
    Revoked,
    OtherConference,
    Read,
    Edit,
    Organizer,
}

/// Minimum role of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
enum Need {
    Open,
    Read,
    Edit,
    Organizer,
}

#[tokio::test]
async fn auth_matrix_every_role_against_every_endpoint_and_the_websocket() {
    let server = TestServer::start();
    let f = server.fixture();
    let id = f.conference_id.clone();
    let org = f.organizer.clone();
    // A revoked edit token and another conference's organizer.
    let r = server.api(
        "POST",
        &format!("/api/v1/conferences/{id}/links"),
        Some(&org),
        Some(json!({"role": "edit"})),
    );
    let revoked = r.body["token"].as_str().unwrap().to_owned();
    let revoked_id = r.body["id"].as_str().unwrap().to_owned();
    server.api(
        "DELETE",
        &format!("/api/v1/conferences/{id}/links/{revoked_id}"),
        Some(&org),
        None,
    );
    let other = server
        .api("POST", "/api/v1/conferences", None, Some(json!({"name": "Other", "time_zone": "UTC", "start_date": "2030-01-01", "end_date": "2030-01-02"})))
        .body["organizer_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = |who: Who| -> Option<String> {
        match who {
            Who::Nobody => None,
            Who::Revoked => Some(revoked.clone()),
            Who::OtherConference => Some(other.clone()),
            Who::Read => Some(f.read.clone()),
            Who::Edit => Some(f.edit.clone()),
            Who::Organizer => Some(org.clone()),
        }
    };
    // Sessions and spaces to act on, made by the organizer.
    let chart = server.chart_id("matrix");
    let conf = server
        .api(
            "GET",
            &format!("/api/v1/conferences/{id}"),
            Some(&org),
            None,
        )
        .body;
    let session = conf["sessions"][0]["id"].as_str().unwrap().to_owned();
    let free_round = f.rounds[100].clone();
    let space2 = server
        .api(
            "POST",
            &format!("/api/v1/conferences/{id}/spaces"),
            Some(&org),
            Some(json!({"name": "Second"})),
        )
        .body["spaces"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |rest: &str| format!("/api/v1/conferences/{id}{rest}");
    let endpoints: Vec<(&str, String, Option<Value>, Need)> = vec![
        ("GET", c(""), None, Need::Read),
        (
            "PATCH",
            c(""),
            Some(json!({"description": "changed"})),
            Need::Organizer,
        ),
        (
            "POST",
            c("/rounds"),
            Some(
                json!({"starts_at": "2030-01-09T00:00:00Z", "duration_minutes": 10, "kind": "breakout"}),
            ),
            Need::Organizer,
        ),
        (
            "POST",
            c("/rounds/pattern"),
            Some(
                json!({"segments": [{"kind": "breakout", "count": 1, "start": {"type": "at", "start": {"type": "instant", "at": "2030-01-09T12:00:00Z"}}, "interval_minutes": 10, "duration_minutes": 10}]}),
            ),
            Need::Organizer,
        ),
        (
            "DELETE",
            c(&format!("/rounds/{}", f.rounds[110])),
            None,
            Need::Organizer,
        ),
        (
            "POST",
            c("/spaces"),
            Some(json!({"name": "Third"})),
            Need::Organizer,
        ),
        (
            "PATCH",
            c(&format!("/spaces/{space2}")),
            Some(json!({"capacity": 3})),
            Need::Organizer,
        ),
        (
            "POST",
            c("/sessions"),
            Some(
                json!({"topic": "Mine", "convener": "Me", "round_id": free_round, "space_id": f.space_id}),
            ),
            Need::Edit,
        ),
        (
            "PATCH",
            c(&format!("/sessions/{session}")),
            Some(json!({"topic": "Renamed"})),
            Need::Organizer,
        ),
        (
            "POST",
            c(&format!("/sessions/{session}/merge")),
            Some(json!({"absorb": "s-nope"})),
            Need::Organizer,
        ),
        ("GET", c("/links"), None, Need::Organizer),
        (
            "POST",
            c("/links"),
            Some(json!({"role": "read"})),
            Need::Organizer,
        ),
        (
            "DELETE",
            c("/links/0000000000000000"),
            None,
            Need::Organizer,
        ),
        ("GET", format!("/api/v1/charts/{chart}"), None, Need::Read),
        (
            "DELETE",
            c(&format!("/spaces/{space2}")),
            None,
            Need::Organizer,
        ),
        ("DELETE", c("/sessions/s-nope"), None, Need::Organizer),
        (
            "POST",
            "/api/v1/conferences".into(),
            Some(
                json!({"name": "Open", "time_zone": "UTC", "start_date": "2030-01-01", "end_date": "2030-01-01"}),
            ),
            Need::Open,
        ),
    ];
    let whos = [
        Who::Nobody,
        Who::Revoked,
        Who::OtherConference,
        Who::Read,
        Who::Edit,
        Who::Organizer,
    ];
    for (method, path, body, need) in &endpoints {
        for who in whos {
            let r = server.api(method, path, token(who).as_deref(), body.clone());
            let expect: &[u16] = match (who, need) {
                // A bad token is refused even where none is needed.
                (Who::Revoked, _) => &[401],
                (_, Need::Open) => &[],
                (Who::Nobody, _) => &[401],
                (Who::OtherConference, _) => &[403],
                (Who::Read, Need::Read) => &[],
                (Who::Read, _) => &[403],
                (Who::Edit, Need::Read | Need::Edit) => &[],
                (Who::Edit, _) => &[403],
                (Who::Organizer, _) => &[],
            };
            if expect.is_empty() {
                assert!(
                    r.status < 500 && r.status != 401 && r.status != 403,
                    "{who:?} {method} {path}: {} {}",
                    r.status,
                    r.raw
                );
            } else {
                assert!(
                    expect.contains(&r.status),
                    "{who:?} {method} {path}: expected {expect:?}, got {} {}",
                    r.status,
                    r.raw
                );
                assert!(r.raw.starts_with("{\"error\""), "{}", r.raw);
            }
        }
    }
    // The event stream (no body to wait for: check the status only).
    for (who, status) in [
        (Who::Nobody, 401),
        (Who::Revoked, 401),
        (Who::OtherConference, 403),
    ] {
        let r = server.api("GET", &c("/events"), token(who).as_deref(), None);
        assert_eq!(r.status, status, "{who:?} events");
    }
    // And the WebSocket, by query token and by header.
    for (who, expected) in [
        (Who::Nobody, 401),
        (Who::Revoked, 401),
        (Who::OtherConference, 403),
        (Who::Read, 101),
        (Who::Edit, 101),
        (Who::Organizer, 101),
    ] {
        let t = token(who);
        assert_eq!(
            ws_status(&server.ws_url_with(&chart, t.as_deref()), None, None).await,
            expected,
            "{who:?} ?token="
        );
        assert_eq!(
            ws_status(&server.ws_url_with(&chart, None), None, t.as_deref()).await,
            expected,
            "{who:?} Authorization"
        );
    }
    // A chart of another conference, or one that does not exist: 403 alike.
    assert_eq!(
        ws_status(
            &server.ws_url_with("c-doesnotexist", Some(&f.edit)),
            None,
            None
        )
        .await,
        403
    );
    // What each may do once connected.
    for (who, may_edit) in [
        (Who::Read, false),
        (Who::Edit, true),
        (Who::Organizer, true),
    ] {
        let cl = TestClient::connect(&server.ws_url_with(&chart, token(who).as_deref())).await;
        wait_for("synced", WAIT, || cl.seen.lock().unwrap().synced).await;
        cl.push_text("t", &format!("{who:?};"));
        if may_edit {
            wait_for("echo", WAIT, || {
                cl.seen.lock().unwrap().updates_received >= 2
            })
            .await;
        } else {
            wait_for("denied", WAIT, || !cl.denied().is_empty()).await;
            assert!(cl.denied()[0].contains("read-only"), "{:?}", cl.denied());
        }
        cl.close().await;
    }
    let check = TestClient::connect(&server.ws_url_with(&chart, Some(&f.read))).await;
    wait_for("edits visible", WAIT, || {
        check.text("t").contains("Organizer;")
    })
    .await;
    assert!(check.text("t").contains("Edit;"));
    assert!(!check.text("t").contains("Read;"));
}

#[tokio::test]
async fn read_only_updates_are_never_applied_or_stored() {
    let mut server = TestServer::start();
    let chart = server.chart_id("readonly");
    let f = server.fixture();
    let editor = TestClient::connect(&server.ws_url_with(&chart, Some(&f.edit))).await;
    editor.push_text("t", "by editor;");
    wait_for("echo", WAIT, || editor.text("t") == "by editor;").await;
    let reader = TestClient::connect(&server.ws_url_with(&chart, Some(&f.read))).await;
    wait_for("reader synced", WAIT, || reader.text("t") == "by editor;").await;
    // The reader's client still completes its handshake and sees presence.
    let editor_id = editor.doc.client_id().get();
    editor.set_awareness(1, r#"{"user":{"name":"Ed"}}"#);
    wait_for("reader sees presence", WAIT, || {
        reader.awareness().contains_key(&editor_id)
    })
    .await;
    reader.push_text("t", "by reader;");
    wait_for("denied", WAIT, || !reader.denied().is_empty()).await;
    assert!(
        reader.denied()[0].contains("read-only"),
        "{:?}",
        reader.denied()
    );
    editor.push_text("t", "again;");
    wait_for("editor echo", WAIT, || {
        editor.text("t") == "by editor;again;"
    })
    .await;
    // The reader's edit was refused before the editor typed again: had it
    // been applied, its broadcast would have come before this echo.
    assert!(!editor.text("t").contains("reader"));
    editor.close().await;
    reader.close().await;
    assert_eq!(server.terminate(), Some(0));
    server.restart(&[]);
    let fresh = TestClient::connect(&server.ws_url_with(&chart, Some(&f.edit))).await;
    fresh.wait_synced().await;
    assert_eq!(fresh.text("t"), "by editor;again;");
}

#[tokio::test]
async fn revoking_a_link_closes_its_open_connections_with_4401() {
    let server = TestServer::start();
    let f = server.fixture();
    let chart = server.chart_id("revoke");
    let r = server.api(
        "POST",
        &format!("/api/v1/conferences/{}/links", f.conference_id),
        Some(&f.organizer),
        Some(json!({"role": "edit", "label": "to revoke"})),
    );
    let token = r.body["token"].as_str().unwrap().to_owned();
    let link = r.body["id"].as_str().unwrap().to_owned();
    let doomed = TestClient::connect(&server.ws_url_with(&chart, Some(&token))).await;
    let other = TestClient::connect(&server.ws_url_with(&chart, Some(&f.edit))).await;
    wait_for("synced", WAIT, || doomed.seen.lock().unwrap().synced).await;
    let r = server.api(
        "DELETE",
        &format!("/api/v1/conferences/{}/links/{link}", f.conference_id),
        Some(&f.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    wait_for("closed", WAIT, || doomed.closed().is_some()).await;
    assert_eq!(doomed.closed().unwrap().0, 4401);
    assert_eq!(
        ws_status(&server.ws_url_with(&chart, Some(&token)), None, None).await,
        401
    );
    // Others keep going.
    other.push_text("t", "still here");
    wait_for("other served", WAIT, || {
        other.seen.lock().unwrap().updates_received >= 2
    })
    .await;
    assert!(other.closed().is_none());
}

#[tokio::test]
async fn finalizing_a_session_makes_open_connections_read_only() {
    let server = TestServer::start();
    let f = server.fixture();
    let chart = server.chart_id("finalize");
    let conf = server
        .api(
            "GET",
            &format!("/api/v1/conferences/{}", f.conference_id),
            Some(&f.organizer),
            None,
        )
        .body;
    let session = conf["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["chart_id"] == chart.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = |state: &str| {
        let r = server.api(
            "PATCH",
            &format!("/api/v1/conferences/{}/sessions/{session}", f.conference_id),
            Some(&f.organizer),
            Some(json!({"state": state})),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
    };
    let a = TestClient::connect(&server.ws_url_with(&chart, Some(&f.edit))).await;
    a.push_text("t", "before;");
    wait_for("echo", WAIT, || {
        a.text("t") == "before;" && a.seen.lock().unwrap().updates_received >= 2
    })
    .await;
    set("live");
    set("final");
    // Editors hear of it before they type (#24: the editor switches to
    // read-only at once), with a reason that names the session, not the link.
    wait_for("told final", WAIT, || !a.denied().is_empty()).await;
    assert!(
        a.denied()[0].starts_with("read-only: the session is final"),
        "{:?}",
        a.denied()
    );
    a.push_text("t", "after;");
    wait_for("denied", WAIT, || a.denied().len() >= 2).await;
    assert!(a.denied()[1].starts_with("read-only: the session is final"));
    // A new connection with an edit token is read-only too.
    let b = TestClient::connect(&server.ws_url_with(&chart, Some(&f.edit))).await;
    wait_for("b synced", WAIT, || b.text("t") == "before;").await;
    b.push_text("t", "late;");
    wait_for("b denied", WAIT, || !b.denied().is_empty()).await;
    assert!(b.denied()[0].starts_with("read-only: the session is final"));
    // A read link is refused for what it is.
    let r = TestClient::connect(&server.ws_url_with(&chart, Some(&f.read))).await;
    wait_for("r synced", WAIT, || r.text("t") == "before;").await;
    r.push_text("t", "reader;");
    wait_for("r denied", WAIT, || !r.denied().is_empty()).await;
    assert!(r.denied()[0].contains("with your link"), "{:?}", r.denied());
    let info = server.api(
        "GET",
        &format!("/api/v1/charts/{chart}"),
        Some(&f.edit),
        None,
    );
    assert_eq!(info.body["read_only"], true);
    // Reopening makes it writable again, and what the editors typed while
    // it was final reaches the server without a reconnect.
    set("live");
    let c = TestClient::connect(&server.ws_url_with(&chart, Some(&f.edit))).await;
    c.push_text("t", "reopened;");
    let check = TestClient::connect(&server.ws_url_with(&chart, Some(&f.read))).await;
    wait_for("reopened edits", WAIT, || {
        let t = check.text("t");
        t.contains("reopened;") && t.contains("after;") && t.contains("late;")
    })
    .await;
    assert!(!check.text("t").contains("reader;"));
    assert!(a.closed().is_none() && b.closed().is_none());
}

#[tokio::test]
async fn websocket_origin_is_checked() {
    let server = TestServer::start();
    let (chart, token) = server.new_chart();
    let url = server.ws_url_with(&chart, Some(&token));
    assert_eq!(
        ws_status(&url, None, None).await,
        101,
        "non-browser clients send no Origin"
    );
    assert_eq!(
        ws_status(&url, Some("http://localhost:5173"), None).await,
        101,
        "dev default"
    );
    assert_eq!(
        ws_status(&url, Some(&format!("http://{}", server.addr)), None).await,
        101,
        "same origin"
    );
    assert_eq!(
        ws_status(&url, Some("https://evil.example"), None).await,
        403
    );
    assert_eq!(
        ws_status(&url, Some("http://localhost.evil.example"), None).await,
        403
    );

    let server = TestServer::start_with(&[
        "--allowed-origins",
        "https://easel.example,https://wall.example",
    ]);
    let (chart, token) = server.new_chart();
    let url = server.ws_url_with(&chart, Some(&token));
    assert_eq!(
        ws_status(&url, Some("https://wall.example"), None).await,
        101
    );
    assert_eq!(
        ws_status(&url, Some("http://localhost:5173"), None).await,
        403,
        "dev default replaced"
    );
    assert_eq!(
        ws_status(&url, Some(&format!("http://{}", server.addr)), None).await,
        101
    );
}

#[tokio::test]
async fn failed_token_attempts_are_rate_limited() {
    let server = TestServer::start_with(&["--auth-failures-per-minute", "3"]);
    let f = server.fixture();
    let chart = server.chart_id("ratelimit");
    let path = format!("/api/v1/conferences/{}", f.conference_id);
    for _ in 0..3 {
        assert_eq!(
            server.api("GET", &path, Some("guessed-token"), None).status,
            401
        );
    }
    let r = server.api("GET", &path, Some("guessed-token"), None);
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    // The address is blocked for token checks, valid tokens included, and
    // on the WebSocket too.
    assert_eq!(server.api("GET", &path, Some(&f.read), None).status, 429);
    assert_eq!(
        ws_status(&server.ws_url_with(&chart, Some(&f.edit)), None, None).await,
        429
    );
}

#[tokio::test]
async fn connection_attempts_are_rate_limited() {
    let server = TestServer::start_with(&["--connections-per-minute", "3"]);
    let (chart, token) = server.new_chart();
    let url = server.ws_url_with(&chart, Some(&token));
    for _ in 0..3 {
        assert_eq!(ws_status(&url, None, None).await, 101);
    }
    assert_eq!(ws_status(&url, None, None).await, 429);
    let r = server.api("POST", "/api/v1/conferences", None, Some(json!({"name": "A", "time_zone": "UTC", "start_date": "2030-01-01", "end_date": "2030-01-01"})));
    assert_eq!(r.status, 201, "API calls are not connection attempts");
}
