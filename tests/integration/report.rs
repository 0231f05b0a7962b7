//! The report and its follow-up through the real server: the conference's
//! report template seeds new charts; circles get plenary charts placed in
//! the proceedings; continuations link both ways in every format; the
//! action register as CSV (parsed with a CSV parser) and iCalendar;
//! anonymous attribution leaves no name in any export (the PDF read back
//! with pdftotext); and bad input is refused with nothing stored.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use yrs::{Array, ArrayPrelim, Map, Transact, Xml, XmlElementPrelim, XmlFragment, XmlTextPrelim};

use crate::api_support::{api, create_conference, Fixture};
use crate::support::*;

fn conf_path(f: &Fixture, p: &str) -> String {
    format!("/api/v1/conferences/{}{p}", f.conference_id)
}

fn get_conf(server: &TestServer, f: &Fixture) -> Value {
    let r = api(
        &server.addr,
        "GET",
        &conf_path(f, ""),
        Some(&f.organizer),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body
}

/// Posts `topic` by `convener` into round `round` (an index into the
/// fixture's rounds); returns (session id, chart id, poster key).
fn propose(
    server: &TestServer,
    f: &Fixture,
    round: usize,
    topic: &str,
    convener: &str,
) -> (String, String, String) {
    let r = api(
        &server.addr,
        "POST",
        &conf_path(f, "/sessions"),
        Some(&f.edit),
        Some(
            json!({"topic": topic, "convener": convener, "round_id": f.rounds[round], "space_id": f.space_id}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let s = &r.body["session"];
    (
        s["id"].as_str().unwrap().to_owned(),
        s["chart_id"].as_str().unwrap().to_owned(),
        r.body["poster_key"].as_str().unwrap().to_owned(),
    )
}

/// A response's body as bytes (the shared client keeps text, lossily).
fn get_bytes(server: &TestServer, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(!head.contains("transfer-encoding: chunked"), "{head}");
    (status, out[split + 4..].to_vec())
}

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every export of the conference and of `charts`, as text (PDFs through
/// pdftotext), with what it is.
fn every_export(server: &TestServer, f: &Fixture, charts: &[&str]) -> Vec<(String, String)> {
    let mut paths = vec![];
    for ext in ["md", "html", "json", "pdf"] {
        paths.push(conf_path(f, &format!("/proceedings.{ext}")));
        for c in charts {
            paths.push(format!("/api/v1/charts/{c}/export.{ext}"));
        }
    }
    paths.push(conf_path(f, "/actions.csv"));
    paths.push(conf_path(f, "/actions.csv?group=owner"));
    paths.push(conf_path(f, "/actions.ics"));
    paths
        .into_iter()
        .map(|p| {
            let (status, bytes) = get_bytes(server, &p, &f.read);
            assert_eq!(status, 200, "{p}: {}", String::from_utf8_lossy(&bytes));
            let text = if p.ends_with(".pdf") {
                pdf_text(&bytes)
            } else {
                String::from_utf8(bytes).unwrap()
            };
            (p, text)
        })
        .collect()
}

/// Writes into a chart as the editor would: a paragraph, a task list with
/// `tasks`, and `people` in `meta.participants`.
async fn write_chart(
    server: &TestServer,
    f: &Fixture,
    chart: &str,
    para: &str,
    tasks: &[&str],
    people: &[&str],
) {
    let client = TestClient::connect(&server.ws_url_with(chart, Some(&f.edit))).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    let notes = client.doc.get_or_insert_xml_fragment("notes");
    let meta = client.doc.get_or_insert_map("meta");
    let update = {
        let mut txn = client.doc.transact_mut();
        let len = notes.len(&txn);
        let p = notes.insert(&mut txn, len, XmlElementPrelim::empty("paragraph"));
        p.insert(&mut txn, 0, XmlTextPrelim::new(para));
        let list = notes.insert(&mut txn, len + 1, XmlElementPrelim::empty("taskList"));
        for (i, t) in tasks.iter().enumerate() {
            let item = list.insert(&mut txn, i as u32, XmlElementPrelim::empty("taskItem"));
            item.insert_attribute(&mut txn, "checked", false);
            let ip = item.insert(&mut txn, 0, XmlElementPrelim::empty("paragraph"));
            ip.insert(&mut txn, 0, XmlTextPrelim::new(*t));
        }
        let arr = match meta.get(&txn, "participants") {
            Some(yrs::Out::YArray(a)) => a,
            _ => meta.insert(&mut txn, "participants", ArrayPrelim::default()),
        };
        for n in people {
            let at = arr.len(&txn);
            arr.insert(&mut txn, at, *n);
        }
        txn.encode_update_v1()
    };
    client.send_raw(easel_protocol::encode_update(update).to_vec());
    let marker = para.to_owned();
    let path = format!("/api/v1/charts/{chart}/export.json");
    wait_for("the written notes in the export", WAIT, || {
        api(&server.addr, "GET", &path, Some(&f.read), None)
            .raw
            .contains(&marker)
    })
    .await;
    client.close().await;
}

fn headings(doc: &yrs::Doc) -> Vec<String> {
    easel_chart::read_chart(doc)
        .blocks
        .iter()
        .filter_map(|b| match b {
            easel_chart::Block::Heading { inlines, .. } => Some(easel_chart::inlines_text(inlines)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn bad_report_input_is_refused_and_nothing_is_stored() {
    let server = TestServer::start();
    let f = create_conference(&server.addr, "Bad input", 4);
    let other = create_conference(&server.addr, "Other", 2);
    let before = get_conf(&server, &f);
    assert_eq!(before["report"]["template"][0]["heading"], "Summary");
    assert_eq!(before["report"]["attribution"], "named");

    let put = |body: Value| {
        api(
            &server.addr,
            "PUT",
            &conf_path(&f, "/report"),
            Some(&f.organizer),
            Some(body),
        )
    };
    let many: Vec<Value> = (0..500)
        .map(|i| json!({"heading": format!("S{i}"), "kind": "text"}))
        .collect();
    for (body, says) in [
        (json!({"template": many}), "at most 50 sections"),
        (
            json!({"template": [{"heading": "  ", "kind": "text"}]}),
            "heading is empty",
        ),
        (
            json!({"template": [{"heading": "x".repeat(201), "kind": "text"}]}),
            "at most 200",
        ),
        (
            json!({"template": [{"heading": "a\nb", "kind": "text"}]}),
            "one line",
        ),
        (
            json!({"template": [{"heading": "A", "kind": "poem"}]}),
            "unknown variant",
        ),
        (
            json!({"template": [], "attribution": "anonymous"}),
            "at least one section",
        ),
        (json!({"attribution": "secret"}), "unknown variant"),
        (json!({"preset": "mine"}), "unknown preset"),
    ] {
        let r = put(body);
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(says),
            "{says}: {}",
            r.raw
        );
    }
    // Edit links cannot change the report.
    let r = api(
        &server.addr,
        "PUT",
        &conf_path(&f, "/report"),
        Some(&f.edit),
        Some(json!({"attribution": "anonymous"})),
    );
    assert_eq!(r.status, 403, "{}", r.raw);

    // Unknown round kind, on add and on change.
    let r = api(
        &server.addr,
        "POST",
        &conf_path(&f, "/rounds"),
        Some(&f.organizer),
        Some(
            json!({"starts_at": "2030-01-05T10:00:00Z", "duration_minutes": 30, "kind": "fishbowl"}),
        ),
    );
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);
    assert!(r.raw.contains("fishbowl"), "{}", r.raw);
    let round = &f.rounds[3];
    let r = api(
        &server.addr,
        "PATCH",
        &conf_path(&f, &format!("/rounds/{round}")),
        Some(&f.organizer),
        Some(json!({"kind": "fishbowl"})),
    );
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);

    // Continuations: itself, another conference's session, a cycle.
    let (a, _, _) = propose(&server, &f, 0, "A", "Ann");
    let (b, _, _) = propose(&server, &f, 1, "B", "Ben");
    let (c, _, _) = propose(&server, &f, 2, "C", "Cy");
    let (foreign, _, _) = propose(&server, &other, 0, "Foreign", "Fay");
    let cont = |s: &str, to: Value| {
        api(
            &server.addr,
            "PUT",
            &conf_path(&f, &format!("/sessions/{s}/continues")),
            Some(&f.organizer),
            Some(json!({"continues": to})),
        )
    };
    assert_eq!(cont(&b, json!(a)).status, 200);
    assert_eq!(cont(&c, json!(b)).status, 200);
    let stored = get_conf(&server, &f);
    for (s, to, says) in [
        (&a, json!(a), "itself"),
        (&a, json!(foreign), "no session"),
        (&a, json!("s-nope"), "no session"),
        (&a, json!(c), "cycle"),
        (&b, json!(c), "cycle"),
    ] {
        let r = cont(s, to);
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.raw);
        assert!(r.raw.contains(says), "{says}: {}", r.raw);
    }
    let r = cont("s-unknown", json!(a));
    assert_eq!(r.status, 404, "{}", r.raw);

    let after = get_conf(&server, &f);
    assert_eq!(
        after["report"], stored["report"],
        "nothing stored by refused edits"
    );
    assert_eq!(after["rounds"], stored["rounds"]);
    assert_eq!(before["report"]["template"], after["report"]["template"]);
    let mut expected = serde_json::Map::new();
    expected.insert(b.clone(), json!(a));
    expected.insert(c.clone(), json!(b));
    assert_eq!(after["report"]["continues"], Value::Object(expected));
}

#[tokio::test]
async fn the_template_seeds_new_charts_and_circles_get_plenary_charts() {
    let server = TestServer::start();
    let f = create_conference(&server.addr, "Templates", 4);
    // The default: the Open Space report form.
    let (_, chart1, _) = propose(&server, &f, 1, "Default form", "Ann");
    let client = TestClient::connect(&server.ws_url_with(&chart1, Some(&f.edit))).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    assert_eq!(
        headings(&client.doc),
        [
            "Summary",
            "Key points and ideas",
            "Recommendations",
            "Questions for further study",
            "Next steps / actions"
        ]
    );
    client.close().await;

    let r = api(
        &server.addr,
        "PUT",
        &conf_path(&f, "/report"),
        Some(&f.organizer),
        Some(
            json!({"template": [{"heading": " Intro ", "kind": "text"}, {"heading": "Todo", "kind": "actions"}]}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(
        r.body["report"]["template"],
        json!([{"heading": "Intro", "kind": "text"}, {"heading": "Todo", "kind": "actions"}])
    );
    let (_, chart2, _) = propose(&server, &f, 2, "Custom form", "Ben");
    let client = TestClient::connect(&server.ws_url_with(&chart2, Some(&f.edit))).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    assert_eq!(headings(&client.doc), ["Intro", "Todo"]);
    client.close().await;
    // The existing chart is left alone.
    let client = TestClient::connect(&server.ws_url_with(&chart1, Some(&f.edit))).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    assert_eq!(headings(&client.doc)[0], "Summary");
    client.close().await;

    // Round 0 becomes the opening circle, round 3 the closing circle.
    for (i, kind) in [(0, "opening_circle"), (3, "closing_circle")] {
        let r = api(
            &server.addr,
            "PATCH",
            &conf_path(&f, &format!("/rounds/{}", f.rounds[i])),
            Some(&f.organizer),
            Some(json!({"kind": kind})),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    // A round with a session cannot become a circle.
    let r = api(
        &server.addr,
        "PATCH",
        &conf_path(&f, &format!("/rounds/{}", f.rounds[1])),
        Some(&f.organizer),
        Some(json!({"kind": "closing_circle"})),
    );
    assert_eq!((r.status, r.code()), (409, "has_sessions"), "{}", r.raw);
    let conf = get_conf(&server, &f);
    let opening = conf["report"]["circles"][&f.rounds[0]]
        .as_str()
        .unwrap()
        .to_owned();
    let closing = conf["report"]["circles"][&f.rounds[3]]
        .as_str()
        .unwrap()
        .to_owned();
    // Editable with an edit link, read-only with a read link.
    let info = api(
        &server.addr,
        "GET",
        &format!("/api/v1/charts/{opening}"),
        Some(&f.edit),
        None,
    );
    assert_eq!(info.status, 200, "{}", info.raw);
    assert_eq!(info.body["read_only"], false, "{}", info.raw);
    assert_eq!(info.body["round"]["kind"], "opening_circle");
    assert!(info.body["session"].is_null());
    let info = api(
        &server.addr,
        "GET",
        &format!("/api/v1/charts/{opening}"),
        Some(&f.read),
        None,
    );
    assert_eq!(info.body["read_only"], true);
    write_chart(
        &server,
        &f,
        &opening,
        "Framing: whoever comes are the right people",
        &["Find a venue for next year @Vera"],
        &[],
    )
    .await;
    write_chart(
        &server,
        &f,
        &closing,
        "News: two new working groups",
        &["Publish the proceedings by 2030-01-20"],
        &[],
    )
    .await;
    let client = TestClient::connect(&server.ws_url_with(&closing, Some(&f.edit))).await;
    wait_for("sync", WAIT, || client.seen.lock().unwrap().synced).await;
    assert_eq!(
        headings(&client.doc),
        ["News", "Reflections", "Commitments"]
    );
    client.close().await;

    // Placed where the circles happened: opening first, closing last.
    for (path, text) in every_export(&server, &f, &[]) {
        if path.contains("actions") {
            continue;
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let at = |needle: &str| {
            flat.find(needle)
                .unwrap_or_else(|| panic!("{path} lacks {needle:?}:\n{text}"))
        };
        assert!(
            at("whoever comes are the right people") < at("two new working groups"),
            "{path}"
        );
        if path.ends_with(".md") {
            assert!(
                at("whoever comes are the right people") < at("#### Default form"),
                "{path}"
            );
            assert!(
                at("#### Custom form") < at("two new working groups"),
                "{path}"
            );
        }
        assert!(
            flat.contains("Opening circle") && flat.contains("Closing circle"),
            "{path}"
        );
    }
    let json = api(
        &server.addr,
        "GET",
        &conf_path(&f, "/proceedings.json"),
        Some(&f.read),
        None,
    );
    assert_eq!(json.body["schema"], "easel.proceedings/v2");
    assert_eq!(
        json.body["summary"]["sessions"], 2,
        "circles are not sessions"
    );
    assert_eq!(
        json.body["days"][0]["rounds"][0]["sessions"][0]["kind"],
        "opening_circle"
    );
    let register = json.body["action_register"].as_array().unwrap();
    assert!(
        register.iter().any(|a| a["owner"] == "Vera"),
        "{register:?}"
    );
}

#[tokio::test]
async fn continuations_link_both_ways_in_every_format() {
    let server = TestServer::start();
    let f = create_conference(&server.addr, "Cohorts", 3);
    let (first, chart1, _) = propose(&server, &f, 0, "Async retros (Europe)", "Ann");
    let (second, chart2, poster) = propose(&server, &f, 2, "Async retros (Americas)", "Ben");
    // The poster of the second topic says it continues the first.
    let r = crate::api_support::request(
        &server.addr,
        "PUT",
        &conf_path(&f, &format!("/sessions/{second}/continues")),
        &[
            ("Authorization", &format!("Bearer {}", f.edit)),
            ("X-Easel-Poster-Key", &poster),
            ("Content-Type", "application/json"),
        ],
        Some(json!({"continues": first}).to_string().as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    // Without the key an edit link may not.
    let r = api(
        &server.addr,
        "PUT",
        &conf_path(&f, &format!("/sessions/{first}/continues")),
        Some(&f.edit),
        Some(json!({"continues": null})),
    );
    assert_eq!(r.status, 403, "{}", r.raw);
    for (path, text) in every_export(&server, &f, &[&chart1, &chart2]) {
        if path.contains("actions") {
            continue;
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if path.ends_with(".json") {
            // Checked field by field below.
        } else if path.contains(&chart1) {
            assert!(flat.contains("Continued in"), "{path}:\n{text}");
        } else if path.contains(&chart2) {
            assert!(flat.contains("Continues"), "{path}:\n{text}");
        } else {
            assert!(
                flat.contains("Continues") && flat.contains("Continued in"),
                "{path}:\n{text}"
            );
        }
        if path.ends_with(".json") {
            let v: Value = serde_json::from_str(&text).unwrap();
            let sessions: Vec<&Value> = v["days"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|d| d["rounds"].as_array().unwrap())
                .flat_map(|r| r["sessions"].as_array().unwrap())
                .collect();
            for s in sessions {
                if s["id"] == first.as_str() {
                    assert_eq!(s["continued_in"][0]["id"], second.as_str());
                }
                if s["id"] == second.as_str() {
                    assert_eq!(s["continues"]["id"], first.as_str());
                    assert_eq!(s["continues"]["anchor"], format!("session-{first}"));
                }
            }
        }
        if path.ends_with("proceedings.html") {
            assert!(
                text.contains(&format!(
                    "<dt>Continues</dt><dd><a href=\"#session-{first}\">"
                )),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn the_action_register_downloads_as_csv_and_calendar() {
    let server = TestServer::start();
    let f = create_conference(&server.addr, "Register", 3);
    let (s1, chart1, _) = propose(&server, &f, 0, "Funding", "Ann");
    let (s2, chart2, _) = propose(&server, &f, 1, "Venue, \"next\" year", "Ben");
    write_chart(
        &server,
        &f,
        &chart1,
        "Funding notes",
        &[
            "Write the grant @Zoe due 2030-02-01",
            "=HYPERLINK(\"x\") @Ana_Lima",
            "Nobody owns this",
        ],
        &[],
    )
    .await;
    write_chart(
        &server,
        &f,
        &chart2,
        "Venue notes",
        &["Call the venue @bo by 2030-01-15"],
        &[],
    )
    .await;

    let (status, bytes) = get_bytes(&server, &conf_path(&f, "/actions.csv"), &f.read);
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        ["session", "topic", "action", "owner", "due", "done", "chart"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(&rows[0][0], s1.as_str());
    assert_eq!(&rows[0][2], "Write the grant @Zoe due 2030-02-01");
    assert_eq!(
        (&rows[0][3], &rows[0][4], &rows[0][5]),
        ("Zoe", "2030-02-01", "no")
    );
    assert!(
        rows[0][6].ends_with(&format!("/#/chart/{chart1}")),
        "{}",
        &rows[0][6]
    );
    assert_eq!(&rows[1][3], "Ana Lima");
    assert!(
        rows[1][2].starts_with("'="),
        "formula neutralised: {}",
        &rows[1][2]
    );
    assert_eq!(&rows[3][1], "Venue, \"next\" year");
    assert_eq!(
        (&rows[3][0], &rows[3][3], &rows[3][4]),
        (s2.as_str(), "bo", "2030-01-15")
    );

    let (_, bytes) = get_bytes(&server, &conf_path(&f, "/actions.csv?group=owner"), &f.read);
    let owners: Vec<String> = csv::Reader::from_reader(bytes.as_slice())
        .records()
        .map(|r| r.unwrap()[3].to_owned())
        .collect();
    assert_eq!(owners, ["Ana Lima", "bo", "Zoe", ""]);
    let bad = api(
        &server.addr,
        "GET",
        &conf_path(&f, "/actions.csv?group=topic"),
        Some(&f.read),
        None,
    );
    assert_eq!((bad.status, bad.code()), (400, "invalid_input"));
    let none = api(
        &server.addr,
        "GET",
        &conf_path(&f, "/actions.csv"),
        None,
        None,
    );
    assert_eq!(none.status, 401);

    let ics = api(
        &server.addr,
        "GET",
        &conf_path(&f, "/actions.ics"),
        Some(&f.read),
        None,
    );
    assert_eq!(ics.status, 200);
    assert!(ics.headers["content-type"].starts_with("text/calendar"));
    let unfolded = ics.raw.replace("\r\n ", "");
    assert_eq!(unfolded.matches("BEGIN:VEVENT").count(), 2, "{unfolded}");
    assert!(
        unfolded.contains("DTSTART;VALUE=DATE:20300201"),
        "{unfolded}"
    );
    assert!(unfolded.contains("DTEND;VALUE=DATE:20300116"), "{unfolded}");
    assert!(
        unfolded.contains("Write the grant @Zoe due 2030-02-01 (@Zoe)"),
        "{unfolded}"
    );
    let again = api(
        &server.addr,
        "GET",
        &conf_path(&f, "/actions.ics"),
        Some(&f.read),
        None,
    );
    assert_eq!(again.raw, ics.raw, "stable UIDs and stamp");
}

/// The names of everyone involved, each to be searched for in every export.
const CONVENERS: [&str; 2] = ["Quentin Convener", "Ruth Host"];
const PARTICIPANTS: [&str; 2] = ["Paula Participant", "Sergei Sitter"];
const OWNER: &str = "Olga Owner";

async fn conference_with_names(server: &TestServer) -> (Fixture, Vec<String>) {
    let f = create_conference(&server.addr, "Names", 3);
    let (_, c1, _) = propose(server, &f, 0, "Budget with Paula Participant", CONVENERS[0]);
    let (_, c2, _) = propose(server, &f, 1, "Garden", CONVENERS[1]);
    write_chart(
        server,
        &f,
        &c1,
        "Marker one: Paula Participant and sergei sitter agreed",
        &[
            "Draft the budget @Olga_Owner due 2030-03-01",
            "Ask Ruth Host",
        ],
        &PARTICIPANTS,
    )
    .await;
    write_chart(
        server,
        &f,
        &c2,
        "Marker two: Olga Owner leads",
        &["Plant trees"],
        &["Paula Participant"],
    )
    .await;
    (f, vec![c1, c2])
}

fn names() -> Vec<&'static str> {
    let mut all = CONVENERS.to_vec();
    all.extend(PARTICIPANTS);
    all.push(OWNER);
    all.push("Olga_Owner");
    all
}

#[tokio::test]
async fn anonymous_attribution_leaves_no_name_in_any_export() {
    let server = TestServer::start();
    let (f, charts) = conference_with_names(&server).await;
    let charts: Vec<&str> = charts.iter().map(String::as_str).collect();
    // Named (the default): the names are there, so the search can find them.
    let named = every_export(&server, &f, &charts);
    for name in names().iter().take(5) {
        assert!(
            named
                .iter()
                .any(|(_, t)| t.to_lowercase().contains(&name.to_lowercase())),
            "{name} in no named export"
        );
    }

    let r = api(
        &server.addr,
        "PUT",
        &conf_path(&f, "/report"),
        Some(&f.organizer),
        Some(json!({"attribution": "anonymous"})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let anonymous = every_export(&server, &f, &charts);
    assert_eq!(anonymous.len(), 15);
    for (path, text) in &anonymous {
        let flat = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        for name in names() {
            assert!(
                !flat.contains(&name.to_lowercase()),
                "{name:?} in {path}:\n{text}"
            );
        }
        if !path.contains("actions") {
            assert!(flat.contains("marker "), "{path} lost the notes:\n{text}");
        }
    }
    let json = api(
        &server.addr,
        "GET",
        &conf_path(&f, "/proceedings.json"),
        Some(&f.read),
        None,
    );
    assert_eq!(json.body["attribution"], "anonymous");
    assert_eq!(json.body["participants"], json!([]));

    // Keeping owners: the owner is back in the register, nobody else.
    let r = api(
        &server.addr,
        "PUT",
        &conf_path(&f, "/report"),
        Some(&f.organizer),
        Some(json!({"keep_owners": true})),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let (_, bytes) = get_bytes(&server, &conf_path(&f, "/actions.csv"), &f.read);
    let owners: Vec<String> = csv::Reader::from_reader(bytes.as_slice())
        .records()
        .map(|r| r.unwrap()[3].to_owned())
        .collect();
    assert!(owners.contains(&OWNER.to_owned()), "{owners:?}");
    let csv_text = String::from_utf8(bytes).unwrap();
    for name in CONVENERS.iter().chain(PARTICIPANTS.iter()) {
        assert!(
            !csv_text.to_lowercase().contains(&name.to_lowercase()),
            "{name} in {csv_text}"
        );
    }
}
