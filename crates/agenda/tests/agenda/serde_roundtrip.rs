//! Serialization: round-trips, wire shape, and re-validation on load.

use easel_agenda::{Conference, SessionState};

use super::sample;

#[test]
fn conference_roundtrip() {
    let mut conf = sample();
    conf.set_description("Bring sticky notes.\nAnd tea.")
        .unwrap();
    conf.propose_session("s1", "ch1", "Async retros", "Ana", "r1", "kitchen")
        .unwrap();
    conf.propose_session("s2", "ch2", "Pairing", "Bo", "r2", "garden")
        .unwrap();
    conf.set_state("s2", SessionState::Live).unwrap();
    conf.set_published(true);
    let json = conf.to_json().unwrap();
    let back = Conference::from_json(&json).unwrap();
    assert_eq!(back, conf);
    // Through serde_json::Value too (what the REST layer will do).
    let value = serde_json::to_value(&conf).unwrap();
    assert_eq!(value["time_zone"], "UTC");
    assert_eq!(value["start_date"], "2026-11-02");
    assert_eq!(value["rounds"][0]["starts_at"], "2026-11-02T09:00:00Z");
    assert_eq!(value["rounds"][0]["kind"], "opening_circle");
    assert_eq!(value["sessions"][1]["state"], "live");
    assert_eq!(
        value["spaces"][0]["video_url"],
        "https://meet.example.org/kitchen"
    );
    assert!(value["spaces"][1].get("video_url").is_none());
    let back: Conference = serde_json::from_value(value).unwrap();
    assert_eq!(back, conf);
}

#[test]
fn days_and_errors_serialize() {
    let days = sample().days();
    let json = serde_json::to_value(&days).unwrap();
    assert_eq!(json[0]["label"], "Day 1 — Mon 2 Nov 2026");
    assert_eq!(
        json[0]["round_ids"],
        serde_json::json!(["open", "r1", "r2"])
    );
}

#[test]
fn minimal_json_uses_defaults() {
    let conf = Conference::from_json(
        r#"{"id":"c","name":"Min","time_zone":"Europe/Lisbon","start_date":"2026-03-28","end_date":"2026-03-29"}"#,
    )
    .unwrap();
    assert!(conf.rounds().is_empty());
    assert!(!conf.is_published());
    assert_eq!(conf.description(), "");
}

/// A named way to corrupt a serialized conference.
type Mutation = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn loading_revalidates_the_rules() {
    let good = serde_json::to_value(sample()).unwrap();
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "time zone",
            Box::new(|v| v["time_zone"] = "Mars/Base".into()),
        ),
        (
            "overlap",
            Box::new(|v| v["rounds"][1]["starts_at"] = "2026-11-02T09:30:00Z".into()),
        ),
        (
            "outside",
            Box::new(|v| v["rounds"][2]["starts_at"] = "2026-12-02T09:30:00Z".into()),
        ),
        (
            "bad url",
            Box::new(|v| v["spaces"][0]["video_url"] = "javascript:x".into()),
        ),
        (
            "breakout",
            Box::new(|v| {
                v["sessions"] = serde_json::json!([{ "id": "s", "topic": "t", "convener": "c",
                "round_id": "open", "space_id": "kitchen", "chart_id": "ch", "state": "proposed" }]);
            }),
        ),
        (
            "cell",
            Box::new(|v| {
                v["sessions"] = serde_json::json!([
                    { "id": "s1", "topic": "t", "convener": "c", "round_id": "r1", "space_id": "kitchen", "chart_id": "ch1", "state": "proposed" },
                    { "id": "s2", "topic": "t", "convener": "c", "round_id": "r1", "space_id": "kitchen", "chart_id": "ch2", "state": "final" }
                ]);
            }),
        ),
        (
            "untrimmed topic",
            Box::new(|v| {
                v["sessions"] = serde_json::json!([{ "id": "s", "topic": " t", "convener": "c",
                "round_id": "r1", "space_id": "kitchen", "chart_id": "ch", "state": "proposed" }]);
            }),
        ),
        (
            "state",
            Box::new(|v| {
                v["sessions"] = serde_json::json!([{ "id": "s", "topic": "t", "convener": "c",
                "round_id": "r1", "space_id": "kitchen", "chart_id": "ch", "state": "done" }]);
            }),
        ),
    ];
    for (name, mutate) in cases {
        let mut value = good.clone();
        mutate(&mut value);
        assert!(
            serde_json::from_value::<Conference>(value).is_err(),
            "{name} accepted"
        );
    }
}
