//! Unit tests of `metrics`.

use super::*;

fn metric(status: u16) -> RequestMetric<'static> {
    RequestMetric {
        namespace: "Stockroom",
        service: "products",
        route: "GET /v1/products/{id}",
        status,
        latency: Duration::from_millis(12),
        request_id: "r-1",
    }
}

#[test]
fn every_declared_metric_has_a_value() {
    let doc = metric(200).document(true, 1);
    let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap();
    for m in declared {
        let name = m["Name"].as_str().unwrap();
        assert!(doc[name].is_number(), "{name} has no value");
    }
    for dims in doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        .as_array()
        .unwrap()
    {
        for d in dims.as_array().unwrap() {
            assert!(doc[d.as_str().unwrap()].is_string());
        }
    }
}

#[test]
fn server_and_client_errors_are_counted_apart() {
    assert_eq!(metric(503).document(false, 1)["Errors"], 1);
    assert_eq!(metric(503).document(false, 1)["ClientErrors"], 0);
    assert_eq!(metric(404).document(false, 1)["ClientErrors"], 1);
    assert_eq!(metric(201).document(false, 1)["Errors"], 0);
    assert!(metric(200).document(false, 1).get("ColdStart").is_none());
}
