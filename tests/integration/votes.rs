//! Convergence: dot voting through the real server. The rules (phase,
//! dots per voter, who votes as whom), personal links in bulk, the live
//! `votes` and `convergence_closed` events, revocation, bad input, and
//! the Priorities section of the proceedings.

use std::time::Duration;

use serde_json::{json, Value};
use yrs::{Transact, Xml, XmlElementPrelim, XmlFragment, XmlTextPrelim};

use crate::api::EventStream;
use crate::api_support::{create_conference, request, Fixture, Resp};
use crate::support::{poll, TestClient, TestServer};
use easel_protocol as protocol;

fn path(f: &Fixture, p: &str) -> String {
    format!("/api/v1/conferences/{}{p}", f.conference_id)
}

fn set(server: &TestServer, f: &Fixture, body: Value) -> Resp {
    server.api(
        "PATCH",
        &path(f, "/convergence"),
        Some(&f.organizer),
        Some(body),
    )
}

/// A dot placed (or removed) with `token`, and optionally a browser key.
fn dot(
    server: &TestServer,
    f: &Fixture,
    token: &str,
    key: Option<&str>,
    target: Value,
    add: bool,
) -> Resp {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("X-Easel-Voter-Key", k));
    }
    let body = serde_json::to_vec(&target).unwrap();
    request(
        &server.addr,
        if add { "POST" } else { "DELETE" },
        &path(f, "/dots"),
        &headers,
        Some(&body),
    )
}

fn votes(server: &TestServer, f: &Fixture, token: &str) -> Value {
    let r = server.api("GET", &path(f, "/votes"), Some(token), None);
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

/// Personal links for `names` (one per line); their tokens in order.
fn personal(server: &TestServer, f: &Fixture, names: &str) -> Vec<String> {
    let r = server.api(
        "POST",
        &path(f, "/links/personal"),
        Some(&f.organizer),
        Some(json!({"names": names})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    r.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let url = l["url"].as_str().unwrap();
            url.split("token=").nth(1).unwrap().to_owned()
        })
        .collect()
}

fn session_id(server: &TestServer, f: &Fixture, chart_id: &str) -> String {
    let r = server.api(
        "GET",
        &format!("/api/v1/charts/{chart_id}"),
        Some(&f.organizer),
        None,
    );
    r.body["session"]["id"].as_str().unwrap().to_owned()
}

fn sessions(server: &TestServer, f: &mut Fixture, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let chart = server.propose(f, &format!("Topic {i}"));
            (session_id(server, f, &chart), chart)
        })
        .collect()
}

#[tokio::test]
async fn dots_follow_the_rules() {
    let server = TestServer::start();
    let mut f = create_conference(&server.addr, "Votes", 4);
    let s = sessions(&server, &mut f, 2);
    let on = |i: usize| json!({"session_id": s[i].0});
    let voters = personal(&server, &f, "Ada\nGrace\n");
    let (ada, grace) = (&voters[0], &voters[1]);

    // Before the phase opens: refused, nothing stored.
    let r = dot(&server, &f, ada, None, on(0), true);
    assert_eq!((r.status, r.code()), (409, "voting_closed"), "{}", r.raw);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not opened"));

    let r = set(&server, &f, json!({"dots": 2, "action": "open"}));
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["phase"], "open");

    // Two dots each; stacking on one session is allowed.
    assert_eq!(dot(&server, &f, ada, None, on(0), true).status, 200);
    let r = dot(&server, &f, ada, None, on(0), true);
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["remaining"], 0);
    assert_eq!(r.body["tallies"]["sessions"][&s[0].0], 2);
    // The third is refused with a message that says why.
    let r = dot(&server, &f, ada, None, on(1), true);
    assert_eq!((r.status, r.code()), (409, "no_dots_left"), "{}", r.raw);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("2 dots"));

    // Grace's dots are hers: she cannot take Ada's back.
    let r = dot(&server, &f, grace, None, on(0), false);
    assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.raw);
    assert_eq!(dot(&server, &f, grace, None, on(1), true).status, 200);
    let v = votes(&server, &f, grace);
    assert_eq!(v["mine"], json!([{"session_id": s[1].0}]));
    assert_eq!(v["remaining"], 1);
    assert_eq!(v["tallies"]["voters"], 2);

    // A shared edit link and a read link do not vote unless allowed.
    let r = dot(
        &server,
        &f,
        &f.edit,
        Some("browser-key-0123456789"),
        on(1),
        true,
    );
    assert_eq!((r.status, r.code()), (403, "not_a_voter"), "{}", r.raw);
    let r = dot(&server, &f, &f.read, None, on(1), true);
    assert_eq!((r.status, r.code()), (403, "not_a_voter"), "{}", r.raw);
    // Allowed: one vote set per browser key; no key, no vote.
    assert_eq!(
        set(&server, &f, json!({"shared_links_vote": true})).status,
        200
    );
    let r = dot(&server, &f, &f.edit, None, on(1), true);
    assert_eq!((r.status, r.code()), (403, "not_a_voter"), "{}", r.raw);
    for key in [
        "browser-one-0123456789",
        "browser-one-0123456789",
        "browser-two-0123456789",
    ] {
        let r = dot(&server, &f, &f.edit, Some(key), on(1), true);
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    let v = votes(&server, &f, &f.organizer);
    assert_eq!(v["tallies"]["sessions"][&s[1].0], 4);
    assert_eq!(v["tallies"]["voters"], 4);

    // Ada takes one back and places it elsewhere.
    assert_eq!(dot(&server, &f, ada, None, on(0), false).status, 200);
    assert_eq!(dot(&server, &f, ada, None, on(1), true).status, 200);

    // Closing freezes the counts.
    let r = set(&server, &f, json!({"action": "close"}));
    assert_eq!(r.body["phase"], "closed", "{}", r.raw);
    let r = dot(&server, &f, grace, None, on(0), true);
    assert_eq!((r.status, r.code()), (409, "voting_closed"), "{}", r.raw);
    let r = dot(&server, &f, ada, None, on(1), false);
    assert_eq!((r.status, r.code()), (409, "voting_closed"), "{}", r.raw);
    let v = votes(&server, &f, &f.read);
    assert_eq!(v["tallies"]["sessions"][&s[0].0], 1);
    assert_eq!(v["tallies"]["sessions"][&s[1].0], 5);

    // The counts are durable: a restart keeps them.
    let mut server = server;
    server.restart(&[]);
    let v = votes(&server, &f, &f.read);
    assert_eq!(v["tallies"]["sessions"][&s[1].0], 5);
    assert_eq!(v["phase"], "closed");
}

#[tokio::test]
async fn the_phase_follows_the_servers_clock() {
    let server = TestServer::start();
    let mut f = create_conference(&server.addr, "Clock", 2);
    let s = sessions(&server, &mut f, 1);
    let voter = personal(&server, &f, "Ada").remove(0);
    let on = json!({"session_id": s[0].0});
    let now = jiff::Timestamp::now();
    let at = |secs: i64| (now + jiff::SignedDuration::from_secs(secs)).to_string();
    // Wide enough that a loaded machine answers each step in its window.
    let (opens, closes) = (at(5), at(9));
    let r = set(&server, &f, json!({"opens_at": opens, "closes_at": closes}));
    assert_eq!(r.body["phase"], "scheduled", "{}", r.raw);
    let (_, mut events) = EventStream::open(
        &server.addr,
        &path(&f, &format!("/events?token={}", f.read)),
    )
    .await;
    assert_eq!(
        events.next_event("votes").await.unwrap()["phase"],
        "scheduled"
    );
    let r = dot(&server, &f, &voter, None, on.clone(), true);
    assert_eq!(r.code(), "voting_closed", "{}", r.raw);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("opens at"));

    // The server opens it at its time and tells live clients.
    assert_eq!(events.next_event("votes").await.unwrap()["phase"], "open");
    let r = dot(&server, &f, &voter, None, on.clone(), true);
    assert_eq!(r.status, 200, "{}", r.raw);
    // ...and closes it, once, with the final counts.
    let closed = events.next_event("convergence_closed").await.unwrap();
    assert_eq!(closed["tallies"]["sessions"][&s[0].0], 1, "{closed}");
    let r = dot(&server, &f, &voter, None, on, true);
    assert_eq!(r.code(), "voting_closed", "{}", r.raw);

    // Times that make no sense are refused.
    let r = set(
        &server,
        &f,
        json!({"opens_at": at(60), "closes_at": at(30)}),
    );
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);
    let r = set(&server, &f, json!({"opens_at": "tomorrow"}));
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);
    let r = set(&server, &f, json!({"dots": 0}));
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);
    let r = set(&server, &f, json!({"dots": 51}));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-dots"),
        "{}",
        r.raw
    );
    // Only organizers set it up.
    let r = server.api(
        "PATCH",
        &path(&f, "/convergence"),
        Some(&voter),
        Some(json!({"action": "open"})),
    );
    assert_eq!(r.status, 403, "{}", r.raw);
}

#[tokio::test]
async fn live_counts_and_action_items() {
    let server = TestServer::start();
    let mut f = create_conference(&server.addr, "Live", 3);
    let s = sessions(&server, &mut f, 1);
    let voter = personal(&server, &f, "Ada").remove(0);
    set(&server, &f, json!({"action": "open"}));

    // A task item with an actionId, written by a chart client.
    let client = TestClient::connect(&server.ws_url_with(&s[0].1, Some(&f.edit))).await;
    client.wait_synced().await;
    let update = {
        let notes = client.doc.get_or_insert_xml_fragment("notes");
        let mut txn = client.doc.transact_mut();
        let list = notes.push_back(&mut txn, XmlElementPrelim::empty("taskList"));
        let item = list.push_back(&mut txn, XmlElementPrelim::empty("taskItem"));
        item.insert_attribute(&mut txn, "actionId", "act-1");
        let p = item.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
        p.push_back(&mut txn, XmlTextPrelim::new("Write the guide"));
        txn.encode_update_v1()
    };
    client.send_raw(protocol::encode_update(update).to_vec());

    let (_, mut events) = EventStream::open(
        &server.addr,
        &path(&f, &format!("/events?token={}", f.read)),
    )
    .await;
    assert_eq!(
        events.next_event("votes").await.unwrap()["tallies"]["voters"],
        0
    );
    let item = json!({"session_id": s[0].0, "item_id": "act-1"});
    assert!(
        poll(Duration::from_secs(10), || dot(
            &server,
            &f,
            &voter,
            None,
            item.clone(),
            true
        )
        .status
            == 200)
        .await,
        "the action item is votable once its chart has it"
    );
    let ev = events.next_event("votes").await.unwrap();
    assert_eq!(ev["tallies"]["items"][&s[0].0]["act-1"], 1, "{ev}");

    // An item the chart does not have, and malformed ids.
    let r = dot(
        &server,
        &f,
        &voter,
        None,
        json!({"session_id": s[0].0, "item_id": "nope"}),
        true,
    );
    assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.raw);
    let r = dot(
        &server,
        &f,
        &voter,
        None,
        json!({"session_id": s[0].0, "item_id": "a b<"}),
        true,
    );
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);

    // The proceedings open with the ranking, in every format.
    for ext in ["md", "html", "json", "pdf"] {
        let r = server.api(
            "GET",
            &path(&f, &format!("/proceedings.{ext}")),
            Some(&f.read),
            None,
        );
        assert_eq!(r.status, 200, "{ext}");
        if ext == "pdf" {
            continue;
        }
        assert!(
            r.raw.contains("Priorities") || r.raw.contains("priorities"),
            "{ext}: {}",
            &r.raw[..200.min(r.raw.len())]
        );
        assert!(r.raw.contains("Write the guide"), "{ext}");
    }
    let json = server
        .api("GET", &path(&f, "/proceedings.json"), Some(&f.read), None)
        .body;
    assert_eq!(json["schema"], "easel.proceedings/v2");
    assert_eq!(
        json["priorities"]["sessions"][0]["actions"][0]["id"],
        "act-1"
    );
    client.close().await;
}

#[tokio::test]
async fn bad_votes_and_names_store_nothing() {
    let server = TestServer::start();
    let mut f = create_conference(&server.addr, "Ours", 2);
    let mut other = create_conference(&server.addr, "Theirs", 2);
    let ours = sessions(&server, &mut f, 1);
    let theirs = sessions(&server, &mut other, 1);
    let voters = personal(&server, &f, "Ada\nGrace");
    set(&server, &f, json!({"action": "open"}));

    // A session of another conference.
    let r = dot(
        &server,
        &f,
        &voters[0],
        None,
        json!({"session_id": theirs[0].0}),
        true,
    );
    assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.raw);
    // Our token on the other conference's votes.
    let auth = format!("Bearer {}", voters[0]);
    let body = serde_json::to_vec(&json!({"session_id": theirs[0].0})).unwrap();
    let r = request(
        &server.addr,
        "POST",
        &path(&other, "/dots"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&body),
    );
    assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.raw);

    // A revoked personal link: refused, and its dots no longer count.
    assert_eq!(
        dot(
            &server,
            &f,
            &voters[1],
            None,
            json!({"session_id": ours[0].0}),
            true
        )
        .status,
        200
    );
    let links = server
        .api("GET", &path(&f, "/links"), Some(&f.organizer), None)
        .body;
    let grace = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "Grace")
        .unwrap();
    assert_eq!(grace["personal"], true);
    let r = server.api(
        "DELETE",
        &path(&f, &format!("/links/{}", grace["id"].as_str().unwrap())),
        Some(&f.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let r = dot(
        &server,
        &f,
        &voters[1],
        None,
        json!({"session_id": ours[0].0}),
        true,
    );
    assert_eq!((r.status, r.code()), (401, "invalid_token"), "{}", r.raw);
    let v = votes(&server, &f, &f.read);
    assert_eq!(v["tallies"]["sessions"], json!({}), "{v}");
    // Ada's link still works.
    assert_eq!(
        dot(
            &server,
            &f,
            &voters[0],
            None,
            json!({"session_id": ours[0].0}),
            true
        )
        .status,
        200
    );

    // Malformed name lists: a clear error and no link minted.
    let before = server
        .api("GET", &path(&f, "/links"), Some(&f.organizer), None)
        .body
        .as_array()
        .unwrap()
        .len();
    let many: String = (0..10_000).map(|i| format!("v{i}\n")).collect();
    for (names, says) in [
        ("", "no names"),
        ("\n  \n", "no names"),
        (many.as_str(), "at most 2000"),
        (
            "Ada\nBell\u{7}e\n",
            "line 2: the name contains a control character",
        ),
        ("Ada\nada", "twice"),
        ("email,team\na@x,b", "name\" column"),
    ] {
        let r = server.api(
            "POST",
            &path(&f, "/links/personal"),
            Some(&f.organizer),
            Some(json!({"names": names})),
        );
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    }
    let after = server
        .api("GET", &path(&f, "/links"), Some(&f.organizer), None)
        .body
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    // Only organizers mint them.
    let r = server.api(
        "POST",
        &path(&f, "/links/personal"),
        Some(&f.edit),
        Some(json!({"names": "Eve"})),
    );
    assert_eq!(r.status, 403, "{}", r.raw);

    // CSV with a name column; the CSV answer lists name,link.
    let r = server.api(
        "POST",
        &path(&f, "/links/personal"),
        Some(&f.organizer),
        Some(json!({"names": "email,Name\nx@y,\"Hopper, Grace\"\nz@y,=cmd\n"})),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let csv = r.body["csv"].as_str().unwrap();
    assert!(
        csv.starts_with("name,link\n\"Hopper, Grace\",http"),
        "{csv}"
    );
    assert!(
        csv.contains("\n'=cmd,http"),
        "a formula-looking name is defused: {csv}"
    );
}
