use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::*;

fn asking(tags: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for tag in tags {
        headers.append(header::IF_NONE_MATCH, HeaderValue::from_str(tag).unwrap());
    }
    headers
}

fn standard() -> Lifetimes {
    Lifetimes::within(Duration::from_secs(3600))
}

#[test]
fn if_none_match_compares_weakly_and_reads_lists() {
    let fresh = Freshness::public("abc", standard());
    for matching in [
        &["W/\"abc\""][..],
        &["\"abc\""],
        &["\"x\", W/\"abc\""],
        &["\"x\"", "W/\"abc\""],
        &["*"],
    ] {
        let answer = fresh.not_modified(&asking(matching)).expect("304");
        assert_eq!(answer.status(), StatusCode::NOT_MODIFIED, "{matching:?}");
        assert_eq!(answer.headers()[header::ETAG], "W/\"abc\"");
        assert!(answer.headers().contains_key(header::CACHE_CONTROL));
    }
    for other in [&[][..], &["W/\"abd\""], &["abc"], &["\"ab\""]] {
        assert!(fresh.not_modified(&asking(other)).is_none(), "{other:?}");
    }
}

#[test]
fn staff_answers_are_private_and_public_ones_shared() {
    let staff = Freshness::private("\"7\"").apply(StatusCode::OK.into_response());
    assert_eq!(staff.headers()[header::CACHE_CONTROL], "private, no-cache");
    assert_eq!(staff.headers()[header::ETAG], "\"7\"");
    assert_eq!(staff.headers()[header::VARY], "Authorization");
    let public = Freshness::public("f", standard()).apply(StatusCode::OK.into_response());
    assert_eq!(
        public.headers()[header::CACHE_CONTROL],
        "public, max-age=60, stale-while-revalidate=300"
    );
    assert_eq!(public.headers()[header::VARY], "Authorization");
}

#[test]
fn short_lived_links_shorten_what_caches_may_keep() {
    let short = Lifetimes::within(Duration::from_secs(120));
    assert_eq!(short.max_age, Duration::from_secs(10));
    assert_eq!(short.stale_while_revalidate, Duration::from_secs(50));
    assert!(short.max_age + short.stale_while_revalidate <= Duration::from_secs(60));
    let none = Lifetimes::within(Duration::from_secs(1));
    assert_eq!(none.max_age.as_secs(), 0, "not cached at all");
}

#[test]
fn fingerprints_tell_apart_what_differs_including_where_parts_split() {
    assert_eq!(fingerprint(["a", "b"]), fingerprint(["a", "b"]));
    assert_ne!(fingerprint(["a", "b"]), fingerprint(["a", "c"]));
    assert_ne!(fingerprint(["ab", ""]), fingerprint(["a", "b"]));
}

#[test]
fn the_link_epoch_moves_every_half_link_life() {
    let lifetimes = Lifetimes::within(Duration::from_secs(3600));
    let at = |s: i64| time::OffsetDateTime::from_unix_timestamp(s).unwrap();
    assert_eq!(
        lifetimes.link_epoch(at(1_800_000_000)),
        lifetimes.link_epoch(at(1_800_000_001))
    );
    assert_ne!(
        lifetimes.link_epoch(at(1_800_000_000)),
        lifetimes.link_epoch(at(1_800_001_800))
    );
}
