//! Test support for the access-controlled server: a tiny blocking HTTP/1.1
//! client for the REST API, and a fixture conference per data dir so that
//! tests can keep naming charts freely.
//!
//! How tests get tokens: the first time a test asks a server for a chart,
//! the fixture creates a conference through `POST /api/v1/conferences`
//! (which returns the organizer token), adds a space and many breakout
//! rounds, and mints an edit and a read link. Each new chart *name* becomes
//! a real session proposed into the next free cell; `ws_url(name)` is then
//! `ws://ADDR/sync/{chart_id}?token={edit}`. The fixture is keyed by data
//! dir, so it survives restarts (tokens and charts are in the store).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::TestServer;

/// An HTTP response: status, lower-cased headers, body (parsed as JSON if
/// it is JSON, else `Value::String`).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub raw: String,
}

impl Resp {
    /// The machine code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// One request over a fresh connection (`Connection: close`).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    stream.write_all(&bytes).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    parse_response(&out)
}

fn parse_response(out: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let json = serde_json::from_str(&body).unwrap_or(Value::String(body.clone()));
    Resp {
        status,
        headers,
        body: json,
        raw: body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A JSON API call with an optional bearer token.
pub fn api(addr: &str, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
    if bytes.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    request(addr, method, path, &headers, bytes.as_deref())
}

/// The fixture conference of one data dir.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub conference_id: String,
    pub organizer: String,
    pub edit: String,
    pub edit_link_id: String,
    pub read: String,
    pub space_id: String,
    pub rounds: Vec<String>,
    pub charts: HashMap<String, String>,
    pub used: usize,
}

static FIXTURES: Mutex<Option<HashMap<PathBuf, Fixture>>> = Mutex::new(None);

/// Rounds the fixture conference offers (one chart each).
const FIXTURE_ROUNDS: u32 = 120;

fn create_fixture(addr: &str) -> Fixture {
    create_conference(addr, "Fixture", FIXTURE_ROUNDS)
}

/// A conference like the fixture (one space, `rounds` breakout rounds, an
/// edit and a read link), named `name`; not registered as any data dir's
/// fixture, so a test can hold several.
pub fn create_conference(addr: &str, name: &str, rounds: u32) -> Fixture {
    let created = api(
        addr,
        "POST",
        "/api/v1/conferences",
        None,
        Some(
            json!({"name": name, "time_zone": "UTC", "start_date": "2030-01-01", "end_date": "2030-01-10"}),
        ),
    );
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["conference"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let organizer = created.body["organizer_token"].as_str().unwrap().to_owned();
    let path = |p: &str| format!("/api/v1/conferences/{id}{p}");
    let space = api(
        addr,
        "POST",
        &path("/spaces"),
        Some(&organizer),
        Some(json!({"name": "Room"})),
    );
    assert_eq!(space.status, 201, "{}", space.raw);
    let pattern = json!({"segments": [{
        "kind": "breakout", "count": rounds,
        "start": {"type": "at", "start": {"type": "instant", "at": "2030-01-01T00:00:00Z"}},
        "interval_minutes": 60, "duration_minutes": 50
    }]});
    let conf = api(
        addr,
        "POST",
        &path("/rounds/pattern"),
        Some(&organizer),
        Some(pattern),
    );
    assert_eq!(conf.status, 201, "{}", conf.raw);
    let mint = |role: &str| {
        let r = api(
            addr,
            "POST",
            &path("/links"),
            Some(&organizer),
            Some(json!({"role": role, "label": "fixture"})),
        );
        assert_eq!(r.status, 201, "{}", r.raw);
        (
            r.body["token"].as_str().unwrap().to_owned(),
            r.body["id"].as_str().unwrap().to_owned(),
        )
    };
    let (edit, edit_link_id) = mint("edit");
    let (read, _) = mint("read");
    Fixture {
        conference_id: id,
        organizer,
        edit,
        edit_link_id,
        read,
        space_id: conf.body["spaces"][0]["id"].as_str().unwrap().to_owned(),
        rounds: conf.body["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect(),
        charts: HashMap::new(),
        used: 0,
    }
}

/// Proposes a session named `topic` into the next free round of
/// `conference` (with its edit link); returns the new chart's id.
fn propose(addr: &str, conference: &mut Fixture, topic: &str) -> String {
    let round = conference
        .rounds
        .get(conference.used)
        .expect("conference has a free round")
        .clone();
    conference.used += 1;
    let r = api(
        addr,
        "POST",
        &format!("/api/v1/conferences/{}/sessions", conference.conference_id),
        Some(&conference.edit),
        Some(
            json!({"topic": topic, "convener": "test", "round_id": round, "space_id": conference.space_id}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.raw);
    let id = r.body["session"]["chart_id"].as_str().unwrap().to_owned();
    conference.charts.insert(topic.to_owned(), id.clone());
    id
}

impl TestServer {
    /// The fixture conference of this data dir, created on first use.
    pub fn fixture(&self) -> Fixture {
        let mut all = FIXTURES.lock().unwrap();
        let all = all.get_or_insert_with(HashMap::new);
        all.entry(self.data_dir.clone())
            .or_insert_with(|| create_fixture(&self.addr))
            .clone()
    }

    /// Makes `fixture` this data dir's fixture: a server on a restored copy
    /// of another data dir holds the same conference, links and charts.
    pub fn adopt_fixture(&self, fixture: Fixture) {
        let mut all = FIXTURES.lock().unwrap();
        all.get_or_insert_with(HashMap::new)
            .insert(self.data_dir.clone(), fixture);
    }

    /// The real chart id behind a test's chart name, proposing a session
    /// (with a freshly seeded chart) the first time a name is used.
    pub fn chart_id(&self, name: &str) -> String {
        self.fixture();
        let mut all = FIXTURES.lock().unwrap();
        let f = all.as_mut().unwrap().get_mut(&self.data_dir).unwrap();
        if let Some(id) = f.charts.get(name) {
            return id.clone();
        }
        propose(&self.addr, f, name)
    }

    /// Proposes a session into the next free round of `conference` (not
    /// necessarily the fixture) and returns its chart id.
    pub fn propose(&self, conference: &mut Fixture, topic: &str) -> String {
        propose(&self.addr, conference, topic)
    }

    /// A new session's (chart id, edit token).
    pub fn new_chart(&self) -> (String, String) {
        let n = self.fixture().used;
        let id = self.chart_id(&format!("new-chart-{n}"));
        (id, self.fixture().edit)
    }

    /// WebSocket URL of a chart with an explicit token (or none).
    pub fn ws_url_with(&self, chart_id: &str, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("ws://{}/sync/{}?token={}", self.addr, chart_id, t),
            None => format!("ws://{}/sync/{}", self.addr, chart_id),
        }
    }

    /// A JSON API call against this server.
    pub fn api(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        api(&self.addr, method, path, token, body)
    }
}
