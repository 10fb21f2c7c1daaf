//! Mending DynamoDB Local's untagged empty maps.

use super::*;

#[test]
fn untagged_empty_maps_get_their_tag_and_nothing_else_changes() {
    let mut item = json!({
        "attributes": {},
        "tagged": {"M": {}},
        "nested": {"M": {"inner": {}, "s": {"S": "x"}}},
        "list": {"L": [{}, {"N": "1"}]},
        "name": {"S": "Mug"},
    });
    mend_map(&mut item);
    assert_eq!(
        item,
        json!({
            "attributes": {"M": {}},
            "tagged": {"M": {}},
            "nested": {"M": {"inner": {"M": {}}, "s": {"S": "x"}}},
            "list": {"L": [{"M": {}}, {"N": "1"}]},
            "name": {"S": "Mug"},
        })
    );
}
