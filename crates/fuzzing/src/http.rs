//! The HTTP body fuzz entry point: a real router over a real store (in a
//! temporary dir kept for the whole process), one conference set up with a
//! round, a space and a session, and every input sent as the JSON body of
//! one of the routes that take a body, with the organizer's token.
//! Invariant: bad input gets a 4xx answer; a 5xx or a panic is a bug.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use easel::access::{OriginPolicy, RateLimiter, RateLimits};
use easel::{AppState, ServeConfig};
use easel_conferences::Conferences;
use easel_hub::Hub;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Every route that takes a JSON body: method and path, with `{c}`,
/// `{round}`, `{space}` and `{session}` standing for the fixture's ids.
pub const BODY_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/conferences"),
    ("PATCH", "/api/v1/conferences/{c}"),
    ("POST", "/api/v1/conferences/{c}/rounds"),
    ("POST", "/api/v1/conferences/{c}/rounds/pattern"),
    ("POST", "/api/v1/conferences/{c}/spaces"),
    ("PATCH", "/api/v1/conferences/{c}/spaces/{space}"),
    ("POST", "/api/v1/conferences/{c}/sessions"),
    ("PATCH", "/api/v1/conferences/{c}/sessions/{session}"),
    ("POST", "/api/v1/conferences/{c}/sessions/{session}/merge"),
    ("POST", "/api/v1/conferences/{c}/links"),
];

struct Harness {
    rt: tokio::runtime::Runtime,
    router: Router,
    organizer: String,
    ids: [(&'static str, String); 4],
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = ServeConfig::for_data_dir(dir.path().join("data"));
        config.no_demo = true;
        let router = rt.block_on(async {
            let store = easel::open_store(&config.data_dir).await.expect("store");
            let hub = Hub::new(store.clone(), config.hub_config());
            let conferences = Conferences::new(store.clone(), hub.clone());
            let search = easel_search::Search::start(
                &config.search_dir(),
                conferences.clone(),
                config.search_config(),
                CancellationToken::new(),
            )
            .expect("search index");
            easel::http::router(AppState {
                hub,
                store,
                conferences,
                search,
                origins: Arc::new(OriginPolicy::new(&[])),
                limits: Arc::new(RateLimits {
                    auth_failures: RateLimiter::new(0),
                    connections: RateLimiter::new(0),
                    creates: RateLimiter::new(0),
                }),
                config: Arc::new(config),
                shutdown: CancellationToken::new(),
            })
        });
        let call = |method: &str, path: &str, token: Option<&str>, body: &str| {
            let (status, text) = rt.block_on(send(&router, method, path, token, body.as_bytes()));
            assert!(status.is_success(), "{method} {path}: {status} {text}");
            serde_json::from_str::<serde_json::Value>(&text).expect("json")
        };
        let created = call(
            "POST",
            "/api/v1/conferences",
            None,
            r#"{"name":"Fuzz","time_zone":"Europe/Lisbon","start_date":"2030-03-29","end_date":"2030-03-30"}"#,
        );
        let c = created["conference"]["id"].as_str().expect("id").to_owned();
        let organizer = created["organizer_token"].as_str().expect("token").to_owned();
        let base = format!("/api/v1/conferences/{c}");
        let spaced = call("POST", &format!("{base}/spaces"), Some(&organizer), r#"{"name":"Room"}"#);
        let space = spaced["spaces"][0]["id"].as_str().expect("space").to_owned();
        let rounded = call(
            "POST",
            &format!("{base}/rounds"),
            Some(&organizer),
            r#"{"starts_at":"2030-03-29T09:00:00Z","duration_minutes":50,"kind":"breakout"}"#,
        );
        let round = rounded["rounds"][0]["id"].as_str().expect("round").to_owned();
        let proposed = call(
            "POST",
            &format!("{base}/sessions"),
            Some(&organizer),
            &format!(r#"{{"topic":"T","convener":"A","round_id":"{round}","space_id":"{space}"}}"#),
        );
        let session = proposed["session"]["id"]
            .as_str()
            .expect("session")
            .to_owned();
        Harness {
            rt,
            router,
            organizer,
            ids: [
                ("{c}", c),
                ("{round}", round),
                ("{space}", space),
                ("{session}", session),
            ],
            _dir: dir,
        }
    })
}

async fn send(
    router: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req.body(Body::from(body.to_vec())).expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Byte 0 picks the route from [`BODY_ROUTES`]; the rest is the body, in
/// which `{c}`, `{round}`, `{space}` and `{session}` name the fixture's.
pub fn http_body(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let h = harness();
    let (method, template) = BODY_ROUTES[pick as usize % BODY_ROUTES.len()];
    let mut path = template.to_owned();
    for (name, id) in &h.ids {
        path = path.replace(name, id);
    }
    // Placeholders in the body too, so seeds can name real rounds,
    // spaces and sessions.
    let mut body = body.to_vec();
    if let Ok(text) = std::str::from_utf8(&body) {
        let mut text = text.to_owned();
        for (name, id) in &h.ids {
            text = text.replace(name, id);
        }
        body = text.into_bytes();
    }
    let (status, text) =
        h.rt.block_on(send(&h.router, method, &path, Some(&h.organizer), &body));
    assert!(
        !status.is_server_error(),
        "{method} {path} answered {status} to {:?}: {text}",
        String::from_utf8_lossy(&body)
    );
}
