//! Unit tests of `roles`.

use super::*;

#[test]
fn only_managers_and_admins_write_products() {
    let writers: Vec<_> = Role::ALL
        .into_iter()
        .filter(|r| r.allows(Permission::WriteProducts))
        .collect();
    assert_eq!(writers, vec![Role::Admin, Role::Manager]);
}

#[test]
fn every_role_reads_products() {
    assert!(Role::ALL.iter().all(|r| r.allows(Permission::ReadProducts)));
}

#[test]
fn roles_round_trip_through_their_names() {
    for role in Role::ALL {
        let json = serde_json::to_string(&role).unwrap();
        assert_eq!(json, format!("\"{}\"", role.as_str()));
        assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
    }
}

#[test]
fn permissions_round_trip_through_their_api_names() {
    for permission in Permission::ALL {
        let json = serde_json::to_string(&permission).unwrap();
        assert_eq!(json, format!("\"{}\"", permission.as_str()));
        assert_eq!(Permission::parse(permission.as_str()), Ok(permission));
    }
    assert!(
        Permission::parse("root")
            .unwrap_err()
            .contains("manage_orders")
    );
}
