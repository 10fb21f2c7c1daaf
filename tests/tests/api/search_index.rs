//! The search index published to S3 (files first, manifest last) and loaded back, on the local
//! stack; a reader notices a newer version with one HEAD request.

use shared::search::{Catalogue, IndexStore, SearchDoc, SearchQuery};
use stockroom_tests::TestApp;

fn doc(n: u32, name: &str) -> SearchDoc {
    SearchDoc {
        id: format!("p{n}"),
        name: name.into(),
        description: "A thing of quality".into(),
        brand: Some("Acme".into()),
        category: "Outdoor".into(),
        sku: format!("SKU-{n}"),
        barcode: None,
        price_minor: 10_000 * i64::from(n),
        available: 1,
        created: i64::from(n),
    }
}

fn names(c: &Catalogue, text: &str) -> Vec<String> {
    let q = SearchQuery {
        text: text.into(),
        limit: 10,
        ..SearchQuery::default()
    };
    c.search(&q)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.name)
        .collect()
}

#[tokio::test]
async fn a_published_index_loads_back_and_readers_see_new_versions() {
    let app = TestApp::spawn().await;
    let store = IndexStore::new(app.clients.s3.clone(), app.config.media_bucket.clone());
    assert!(
        store.load().await.unwrap().is_none(),
        "nothing published yet"
    );

    let first = Catalogue::build([doc(1, "Waterproof jacket"), doc(2, "Hiking socks")]).unwrap();
    let v1 = store.publish(&first).await.unwrap();
    let loaded = store.load().await.unwrap().unwrap();
    assert_eq!(loaded.manifest, v1);
    assert_eq!(loaded.catalogue.len(), 2);
    assert_eq!(names(&loaded.catalogue, "jackt"), ["Waterproof jacket"]);
    assert!(!store.changed_since(&loaded.etag).await.unwrap());

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = Catalogue::build([doc(1, "Waterproof jacket"), doc(3, "Trail shoes")]).unwrap();
    let v2 = store.publish(&second).await.unwrap();
    assert!(v2.version > v1.version);
    assert!(
        store.changed_since(&loaded.etag).await.unwrap(),
        "the reader notices"
    );
    let reloaded = store.load().await.unwrap().unwrap();
    assert_eq!(names(&reloaded.catalogue, "trail"), ["Trail shoes"]);
    assert!(names(&reloaded.catalogue, "socks").is_empty());

    // Old versions go once readers have moved on; the current one stays loadable.
    let deleted = store.clean_up(1, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(deleted, v1.files.len());
    assert_eq!(store.load().await.unwrap().unwrap().manifest, v2);
}
