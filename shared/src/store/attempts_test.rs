//! Unit tests of `attempts`.

use super::*;

#[test]
fn locks_start_at_the_threshold_and_double_up_to_the_cap() {
    let p = LockPolicy::ACCOUNT;
    assert_eq!(p.lock_for(4), None);
    assert_eq!(p.lock_for(5), Some(Duration::from_secs(30)));
    assert_eq!(p.lock_for(6), Some(Duration::from_secs(60)));
    assert_eq!(p.lock_for(8), Some(Duration::from_secs(240)));
    assert_eq!(p.lock_for(40), Some(Duration::from_secs(900)));
    assert_eq!(p.lock_for(u32::MAX), Some(Duration::from_secs(900)));
}
