//! Security defences through the real binary, each with a test that fails
//! without it: security headers on the web client and the API, static files
//! that cannot escape the web dir, token guessing rate-limited (and the
//! limit recovering), the named body size limit, and tokens never logged.
//! (The Origin check and the auth matrix are tested in `access.rs`.)

use std::time::{Duration, Instant};

use serde_json::json;

use crate::access::ws_status;
use crate::api_support::request;
use crate::support::*;

/// A web dir with an index and an asset, next to a secret file outside it.
fn web_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let web = root.path().join("web");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><p>easel web client</p>",
    )
    .unwrap();
    std::fs::write(web.join("assets/app.js"), "console.log('app')").unwrap();
    std::fs::write(root.path().join("secret.txt"), "TOP-SECRET-OUTSIDE-WEB-DIR").unwrap();
    (root, web)
}

/// Extra request headers.
type Headers<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn security_headers_on_the_web_client_and_the_api() {
    let (_root, web) = web_dir();
    let server = TestServer::start_with(&["--web-dir", web.to_str().unwrap()]);
    let f = server.fixture();
    let chart = server.chart_id("headers");
    let bearer = format!("Bearer {}", f.read);
    let auth = [("Authorization", bearer.as_str())];
    let pages: Vec<(&str, String, Headers)> = vec![
        ("web client", "/".into(), &[]),
        ("web asset", "/assets/app.js".into(), &[]),
        ("missing web file", "/nope.js".into(), &[]),
        (
            "API answer",
            format!("/api/v1/conferences/{}", f.conference_id),
            &auth,
        ),
        ("API error", "/api/v1/conferences/nope".into(), &[]),
        ("API route missing", "/api/v1/nope".into(), &[]),
        ("OpenAPI", "/api/v1/openapi.json".into(), &[]),
        (
            "chart export, inline HTML",
            format!("/api/v1/charts/{chart}/export.html?inline=1"),
            &auth,
        ),
        (
            "chart export, PDF",
            format!("/api/v1/charts/{chart}/export.pdf"),
            &auth,
        ),
        ("health", "/healthz".into(), &[]),
        ("metrics", "/metrics".into(), &[]),
    ];
    for (what, path, headers) in pages {
        let r = request(&server.addr, "GET", &path, headers, None);
        let h = |name: &str| r.headers.get(name).cloned().unwrap_or_default();
        let csp = h("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{what} {path} ({}): CSP {csp:?}",
            r.status
        );
        assert!(csp.contains("default-src"), "{what}: CSP {csp:?}");
        assert!(!csp.contains("unsafe-eval"), "{what}: CSP {csp:?}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{what}");
        assert_eq!(h("x-frame-options"), "DENY", "{what}");
    }
    // The web client may run its own scripts and talk to its own origin.
    let r = request(&server.addr, "GET", "/", &[], None);
    assert_eq!(r.status, 200);
    let csp = &r.headers["content-security-policy"];
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    // API answers load nothing at all.
    let r = request(&server.addr, "GET", "/api/v1/openapi.json", &[], None);
    assert!(r.headers["content-security-policy"].contains("default-src 'none'"));
}

#[tokio::test]
async fn static_files_cannot_escape_the_web_dir() {
    let (root, web) = web_dir();
    let server = TestServer::start_with(&["--web-dir", web.to_str().unwrap()]);
    let ok = request(&server.addr, "GET", "/assets/app.js", &[], None);
    assert_eq!(
        (ok.status, ok.raw.as_str()),
        (200, "console.log('app')"),
        "control"
    );
    let secret = root.path().join("secret.txt");
    let absolute = secret.to_str().unwrap().to_owned();
    let attempts = [
        "/../secret.txt".to_owned(),
        "/assets/../../secret.txt".to_owned(),
        "/%2e%2e/secret.txt".to_owned(),
        "/%2E%2E/secret.txt".to_owned(),
        "/assets/%2e%2e/%2e%2e/secret.txt".to_owned(),
        "/%2e%2e%2fsecret.txt".to_owned(),
        "/..%2fsecret.txt".to_owned(),
        "/..%5csecret.txt".to_owned(),
        "/..\\secret.txt".to_owned(),
        "/%252e%252e/secret.txt".to_owned(),
        "/.%2e/secret.txt".to_owned(),
        "/%c0%ae%c0%ae/secret.txt".to_owned(),
        format!("/{absolute}"),
        format!("/{}", absolute.replace('/', "%2f")),
        "//etc/passwd".to_owned(),
        "/%2fetc%2fpasswd".to_owned(),
        "/../../../../../../etc/passwd".to_owned(),
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd".to_owned(),
    ];
    for path in &attempts {
        let r = request(&server.addr, "GET", path, &[], None);
        assert!(
            !r.raw.contains("TOP-SECRET") && !r.raw.contains("root:"),
            "{path} escaped the web dir ({}): {}",
            r.status,
            r.raw
        );
        assert!(r.status >= 400, "{path}: {} {}", r.status, r.raw);
    }
}

#[tokio::test]
async fn token_guessing_is_rate_limited_per_address_and_the_limit_recovers() {
    // Burst of 5, refilled at 30 a minute: one attempt back every 2 s,
    // slow enough that a loaded CI machine sends the burst and the checks
    // below before the first refill.
    let server = TestServer::start_with(&[
        "--auth-failures-per-minute",
        "30",
        "--auth-failure-burst",
        "5",
    ]);
    let f = server.fixture();
    let chart = server.chart_id("guessing");
    let path = format!("/api/v1/conferences/{}", f.conference_id);
    let started = Instant::now();
    for i in 0..5 {
        let guess = format!("guess-{i}-{}", "x".repeat(38));
        assert_eq!(server.api("GET", &path, Some(&guess), None).status, 401);
    }
    let r = server.api("GET", &path, Some("guess-6"), None);
    assert_eq!((r.status, r.code()), (429, "rate_limited"));
    // Spent: valid tokens from this address are refused too, so guessing
    // cannot be hidden among real requests, on the WebSocket as well.
    assert_eq!(server.api("GET", &path, Some(&f.read), None).status, 429);
    assert_eq!(
        ws_status(&server.ws_url_with(&chart, Some(&f.edit)), None, None).await,
        429
    );
    // Requests without a token are not affected.
    assert_eq!(
        server.api("GET", "/api/v1/openapi.json", None, None).status,
        200
    );
    let limited_for = started.elapsed();
    // The bucket refills: a valid token works again.
    wait_for("the limit to recover", WAIT, || {
        let status = server.api("GET", &path, Some(&f.read), None).status;
        assert!(status == 200 || status == 429, "{status}");
        status == 200
    })
    .await;
    eprintln!(
        "auth limit: 5 failures then 429; recovered {:?} after the first guess",
        started.elapsed()
    );
    assert!(started.elapsed() > limited_for);
    assert_eq!(
        ws_status(&server.ws_url_with(&chart, Some(&f.edit)), None, None).await,
        101
    );
}

#[tokio::test]
async fn api_bodies_past_the_named_limit_get_413() {
    let server = TestServer::start_with(&["--max-api-body-bytes", "2048"]);
    let f = server.fixture();
    let path = format!("/api/v1/conferences/{}", f.conference_id);
    let bearer = format!("Bearer {}", f.organizer);
    let post = |body: Vec<u8>| {
        request(
            &server.addr,
            "PATCH",
            &path,
            &[
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(&body),
        )
    };
    let fits = serde_json::to_vec(&json!({"description": "d".repeat(1500)})).unwrap();
    assert!(fits.len() < 2048);
    let r = post(fits);
    assert_eq!(r.status, 200, "{}", r.raw);
    let big = serde_json::to_vec(&json!({"description": "d".repeat(3000)})).unwrap();
    let r = post(big);
    assert_eq!(
        (r.status, r.code()),
        (413, "payload_too_large"),
        "{}",
        r.raw
    );
    // A body far past the limit gets 413 too (the client may be cut off
    // while still sending; the answer is what counts).
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let huge = 64 * 1024 * 1024;
    write!(
        stream,
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\nContent-Length: {huge}\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < huge && stream.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}

#[tokio::test]
async fn tokens_never_appear_in_the_log_even_at_trace_level() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = TestServer::spawn_with_env(&data, &[], &[("EASEL_LOG", "trace")]);
    let f = server.fixture();
    let chart = server.chart_id("logged?");
    // Use every token every way: header, query, WebSocket, event stream,
    // exports, a revoked one, and guesses.
    let c = TestClient::connect(&server.ws_url_with(&chart, Some(&f.edit))).await;
    wait_for("sync", WAIT, || c.seen.lock().unwrap().synced).await;
    c.push_text("t", "hello");
    let r = TestClient::connect(&server.ws_url_with(&chart, Some(&f.read))).await;
    wait_for("edit seen", WAIT, || r.text("t") == "hello").await;
    let conf = format!("/api/v1/conferences/{}", f.conference_id);
    for token in [&f.organizer, &f.edit, &f.read] {
        assert_eq!(server.api("GET", &conf, Some(token), None).status, 200);
        let q = request(
            &server.addr,
            "GET",
            &format!("{conf}?token={token}"),
            &[],
            None,
        );
        assert_eq!(q.status, 200);
        let export = format!("/api/v1/charts/{chart}/export.md?token={token}");
        assert_eq!(request(&server.addr, "GET", &export, &[], None).status, 200);
    }
    let minted = server.api(
        "POST",
        &format!("{conf}/links"),
        Some(&f.organizer),
        Some(json!({"role": "edit", "label": "x"})),
    );
    let revoked = minted.body["token"].as_str().unwrap().to_owned();
    let id = minted.body["id"].as_str().unwrap();
    server.api(
        "DELETE",
        &format!("{conf}/links/{id}"),
        Some(&f.organizer),
        None,
    );
    assert_eq!(server.api("GET", &conf, Some(&revoked), None).status, 401);
    let guess = "GuessedTokenThatMustNotBeLogged0123456789abc";
    assert_eq!(server.api("GET", &conf, Some(guess), None).status, 401);
    assert_eq!(
        ws_status(&server.ws_url_with(&chart, Some(guess)), None, None).await,
        401
    );
    let mut sse = std::net::TcpStream::connect(&server.addr).unwrap();
    use std::io::Write;
    write!(
        sse,
        "GET {conf}/events?token={} HTTP/1.1\r\nHost: x\r\n\r\n",
        f.read
    )
    .unwrap();
    // The response's head: the server has handled (and logged) the request.
    sse.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = [0u8; 12];
    std::io::Read::read_exact(&mut sse, &mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200", "{}", String::from_utf8_lossy(&head));
    drop(sse);
    c.close().await;
    r.close().await;
    assert_eq!(server.terminate(), Some(0));
    let log = server.log();
    assert!(
        log.lines().count() > 50,
        "the log was written at trace level: {log}"
    );
    assert!(log.contains("TRACE"), "trace level was on");
    for (what, secret) in [
        ("organizer", f.organizer.as_str()),
        ("edit", f.edit.as_str()),
        ("read", f.read.as_str()),
        ("revoked", revoked.as_str()),
        ("guessed", guess),
    ] {
        if let Some(line) = log.lines().find(|l| l.contains(secret)) {
            panic!("the {what} token is in the log: {line}");
        }
    }
}
