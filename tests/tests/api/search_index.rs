//! The search index published to S3 (files first, manifest last) and loaded back, on the local
//! stack; a reader notices a newer version with one HEAD request; a changed index uploads only
//! its new files; clean-up keeps what readers may still need.

use std::collections::BTreeSet;

use shared::search::{Catalogue, Change, IndexStore, SearchDoc, SearchQuery};
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

async fn keys(app: &TestApp) -> BTreeSet<String> {
    let listed = app
        .clients
        .s3
        .list_objects_v2()
        .bucket(&app.config.media_bucket)
        .prefix("search/")
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_published_index_loads_back_and_readers_see_new_versions() {
    let app = TestApp::spawn().await;
    let store = IndexStore::new(app.clients.s3.clone(), app.config.media_bucket.clone());
    assert!(
        store.load(None).await.unwrap().is_none(),
        "nothing published yet"
    );

    let first = Catalogue::build([doc(1, "Waterproof jacket"), doc(2, "Hiking socks")]).unwrap();
    let v1 = store.publish(&first, None).await.unwrap();
    assert_eq!(v1.uploaded, v1.manifest.files.len());
    let loaded = store.load(None).await.unwrap().unwrap();
    assert_eq!(loaded.fetched.manifest, v1.manifest);
    assert_eq!(loaded.fetched.etag, v1.etag);
    assert_eq!(loaded.catalogue.len(), 2);
    assert_eq!(names(&loaded.catalogue, "jackt"), ["Waterproof jacket"]);
    assert!(!store.changed_since(&loaded.fetched.etag).await.unwrap());

    let second = Catalogue::build([doc(1, "Waterproof jacket"), doc(3, "Trail shoes")]).unwrap();
    let v2 = store.publish(&second, None).await.unwrap();
    assert!(v2.manifest.version > v1.manifest.version);
    assert!(
        store.changed_since(&loaded.fetched.etag).await.unwrap(),
        "the reader notices"
    );
    let reloaded = store.load(Some(&loaded.fetched)).await.unwrap().unwrap();
    assert_eq!(names(&reloaded.catalogue, "trail"), ["Trail shoes"]);
    assert!(names(&reloaded.catalogue, "socks").is_empty());

    // Old versions go once readers have moved on; the current one stays loadable.
    let deleted = store.clean_up(1, std::time::Duration::ZERO).await.unwrap();
    assert!(deleted > 0);
    let mut expected: BTreeSet<String> = v2.manifest.files.values().cloned().collect();
    expected.insert(format!("search/v{}/manifest.json", v2.manifest.version));
    expected.insert("search/manifest.json".into());
    assert_eq!(keys(&app).await, expected);
    let last = store.load(None).await.unwrap().unwrap();
    assert_eq!(last.fetched.manifest, v2.manifest);
    assert_eq!(names(&last.catalogue, "trail"), ["Trail shoes"]);
}

#[tokio::test]
async fn a_changed_index_uploads_only_new_files_and_readers_reuse_the_rest() {
    let app = TestApp::spawn().await;
    let store = IndexStore::new(app.clients.s3.clone(), app.config.media_bucket.clone());
    let docs: Vec<SearchDoc> = (1..=50).map(|n| doc(n, &format!("Jacket {n}"))).collect();
    let built = Catalogue::build(docs).unwrap();
    let v1 = store.publish(&built, None).await.unwrap();
    let reader = store.load(None).await.unwrap().unwrap();

    let writable = Catalogue::writable(reader.fetched.files()).unwrap();
    let changed = writable
        .apply(&[
            Change::Upsert(doc(51, "Trail shoes")),
            Change::Remove("p7".into()),
            // Already exactly so: not rewritten.
            Change::Upsert(doc(8, "Jacket 8")),
        ])
        .unwrap();
    assert_eq!(changed, 2);
    let v2 = store.publish(&writable, Some(&v1.manifest)).await.unwrap();
    let shared_files = v2
        .manifest
        .files
        .values()
        .filter(|k| v1.manifest.files.values().any(|old| old == *k))
        .count();
    assert!(shared_files > 0, "the first segment is reused");
    assert_eq!(v2.uploaded, v2.manifest.files.len() - shared_files);
    assert_eq!(v2.manifest.documents, 50);

    let fresh = store.load(Some(&reader.fetched)).await.unwrap().unwrap();
    assert_eq!(fresh.catalogue.len(), 50);
    assert_eq!(names(&fresh.catalogue, "trail"), ["Trail shoes"]);
    assert!(!names(&fresh.catalogue, "jacket").contains(&"Jacket 7".to_owned()));
    // Nothing changed: no new version is needed.
    assert_eq!(
        writable
            .apply(&[Change::Upsert(doc(51, "Trail shoes"))])
            .unwrap(),
        0
    );

    // A version published within the grace period keeps its files for readers still loading it.
    store
        .clean_up(1, std::time::Duration::from_secs(600))
        .await
        .unwrap();
    let after = keys(&app).await;
    assert!(v1.manifest.files.values().all(|k| after.contains(k)));
}
