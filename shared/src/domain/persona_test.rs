//! Unit tests of `persona`.

use super::*;

fn brief(json: serde_json::Value) -> PersonaBrief {
    serde_json::from_value(json).unwrap()
}

#[test]
fn briefs_are_checked_field_by_field() {
    let bad = brief(
        serde_json::json!({"brief": "short", "count": 9, "locale": "en IN", "segment": "Not A Tag"}),
    );
    let fields: Vec<_> = bad
        .validate()
        .unwrap_err()
        .into_vec()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["brief", "locale", "count", "segment"]);
    let ok = brief(serde_json::json!({"brief": "Urban runners training for a first marathon"}));
    assert!(ok.validate().is_ok());
    assert_eq!(
        (ok.count(), ok.locale(), ok.segment().as_str()),
        (3, "en-IN", "urban-runners-training")
    );
}

fn profile() -> serde_json::Value {
    serde_json::json!({
        "name": "Asha Rao", "age_range": "25-34", "occupation": "Nurse", "location": "Pune, IN",
        "goals": ["Train for a 10k"], "pain_points": ["Blisters"], "buying_motivations": ["Comfort"],
        "objections": ["Price"], "preferred_channels": ["Instagram"], "quote": "\"I just want to run.\"",
        "product_fit": [{"product_id": "p1", "reason": "Light shoe"}]
    })
}

#[test]
fn output_is_parsed_and_checked_against_the_schema() {
    let ok = serde_json::json!({"personas": [profile()]}).to_string();
    assert_eq!(
        parse_output(&ok, 1, &["p1".into()]).unwrap()[0].name,
        "Asha Rao"
    );
    let fenced = format!("```json\n{ok}\n```");
    assert!(parse_output(&fenced, 1, &["p1".into()]).is_ok());
    assert!(
        parse_output(&ok, 2, &["p1".into()])
            .unwrap_err()
            .contains("exactly 2")
    );
    let foreign = parse_output(&ok, 1, &["p2".into()]).unwrap_err();
    assert!(
        foreign.contains("personas[0].product_fit[0].product_id"),
        "{foreign}"
    );
    let mut bad = profile();
    bad["age_range"] = "young".into();
    bad["goals"] = serde_json::json!([]);
    let err = parse_output(
        &serde_json::json!({"personas": [bad]}).to_string(),
        1,
        &["p1".into()],
    )
    .unwrap_err();
    assert!(err.contains("age_range") && err.contains("goals"), "{err}");
    let missing = parse_output(r#"{"personas": [{"name": "X"}]}"#, 1, &[]).unwrap_err();
    assert!(missing.contains("missing field"), "{missing}");
    assert!(parse_output("not json", 1, &[]).is_err());
}
