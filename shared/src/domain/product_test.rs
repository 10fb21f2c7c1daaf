//! Unit tests of `product`.

use super::*;

fn input() -> NewProductInput {
    serde_json::from_value(serde_json::json!({
        "sku": "tee-blk-m",
        "name": "  Black tee, medium ",
        "category": "Apparel",
        "price": {"amount_minor": 49900, "currency": "INR"},
        "barcode": "4006381333931",
        "attributes": {"colour": "black", "size": "M"},
        "reorder_level": 5
    }))
    .unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn a_valid_product_is_normalised() {
    let p = Product::create(ProductDraft::parse(input()).unwrap(), now());
    assert_eq!(p.sku.as_str(), "TEE-BLK-M");
    assert_eq!(p.name, "Black tee, medium");
    assert_eq!(p.version, 1);
    assert_eq!(p.category_key(), "apparel");
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let mut i = input();
    i.sku = "bad sku!".into();
    i.name = String::new();
    i.price.currency = "RUPEES".into();
    i.price.amount_minor = -5;
    i.barcode = Some("4006381333932".into());
    let fields: Vec<String> = ProductDraft::parse(i)
        .unwrap_err()
        .into_vec()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        vec![
            "sku",
            "name",
            "price.currency",
            "price.amount_minor",
            "barcode"
        ]
    );
}

#[test]
fn too_many_attributes_are_refused() {
    let mut i = input();
    i.attributes = Some((0..51).map(|n| (format!("k{n}"), "v".into())).collect());
    let errors = ProductDraft::parse(i).unwrap_err().into_vec();
    assert_eq!(errors[0].field, "attributes");
}

#[test]
fn a_patch_changes_only_what_it_names_and_bumps_the_version() {
    let p = Product::create(ProductDraft::parse(input()).unwrap(), now());
    let patch: ProductPatchInput = serde_json::from_value(serde_json::json!({
        "name": "Black tee (M)",
        "barcode": null,
        "attributes": {"size": null, "fit": "slim"}
    }))
    .unwrap();
    let next = p
        .patched(ProductPatch::parse(patch).unwrap(), now())
        .unwrap()
        .unwrap();
    assert_eq!(next.name, "Black tee (M)");
    assert_eq!(next.barcode, None);
    assert_eq!(next.sku, p.sku);
    assert_eq!(
        next.attributes.keys().collect::<Vec<_>>(),
        vec!["colour", "fit"]
    );
    assert_eq!(next.version, 2);
}

#[test]
fn a_patch_that_changes_nothing_is_not_a_new_version() {
    let p = Product::create(ProductDraft::parse(input()).unwrap(), now());
    let patch: ProductPatchInput =
        serde_json::from_value(serde_json::json!({"name": "Black tee, medium"})).unwrap();
    assert_eq!(
        p.patched(ProductPatch::parse(patch).unwrap(), now())
            .unwrap(),
        None
    );
}

#[test]
fn required_fields_cannot_be_removed_by_a_patch() {
    let patch: ProductPatchInput =
        serde_json::from_value(serde_json::json!({"name": null, "price": null})).unwrap();
    let fields: Vec<_> = ProductPatch::parse(patch)
        .unwrap_err()
        .into_vec()
        .into_iter()
        .map(|e| (e.field, e.message))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("name".into(), "cannot be removed".into()),
            ("price".into(), "cannot be removed".into())
        ]
    );
}

#[test]
fn archiving_twice_is_a_no_op() {
    let p = Product::create(ProductDraft::parse(input()).unwrap(), now());
    let archived = p.with_archived(true, now()).unwrap();
    assert!(archived.archived);
    assert_eq!(archived.version, 2);
    assert!(archived.with_archived(true, now()).is_none());
}

#[test]
fn skus_compare_case_insensitively() {
    assert_eq!(Sku::parse("abc-1").unwrap(), Sku::parse(" ABC-1 ").unwrap());
}

fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}

#[test]
fn only_bytes_of_the_declared_image_type_pass_the_check() {
    assert_eq!(
        inspect_image("image/png", &png_header(640, 480)),
        Ok((640, 480))
    );
    let as_jpeg = inspect_image("image/jpeg", &png_header(640, 480)).unwrap_err();
    assert!(as_jpeg.contains("is image/png"), "{as_jpeg}");
    let script = inspect_image("image/png", b"<svg onload=alert(1)></svg>").unwrap_err();
    assert!(script.contains("not a JPEG, PNG, WebP or AVIF"), "{script}");
    assert!(inspect_image("image/png", &png_header(0, 480)).is_err());
    assert!(inspect_image("image/png", &png_header(640, 480)[..14]).is_err());
    let mut huge = png_header(1, 1);
    huge.resize(usize::try_from(MAX_IMAGE_BYTES).unwrap() + 1, 0);
    assert!(
        inspect_image("image/png", &huge)
            .unwrap_err()
            .contains("at most")
    );
}

fn image(id: &str, status: ImageStatus, added_at: OffsetDateTime) -> ProductImage {
    ProductImage {
        id: id.into(),
        key: format!("products/p/images/{id}.png"),
        content_type: "image/png".into(),
        added_at,
        status,
        width: None,
        height: None,
    }
}

#[test]
fn lapsed_upload_grants_make_room_for_new_images() {
    let mut product = Product::create(ProductDraft::parse(input()).unwrap(), now());
    let long_ago = now() - time::Duration::hours(1);
    for i in 0..MAX_IMAGES {
        product = product
            .with_image(
                image(&format!("p{i}"), ImageStatus::Pending, long_ago),
                long_ago,
                now(),
            )
            .unwrap();
    }
    assert!(
        product
            .with_image(image("x", ImageStatus::Pending, now()), long_ago, now())
            .is_err()
    );
    let next = product
        .with_image(
            image("x", ImageStatus::Pending, now()),
            now() - time::Duration::minutes(15),
            now(),
        )
        .unwrap();
    assert_eq!(next.images.len(), 1);
    let ready = next.with_image_ready("x", 10, 20, now());
    assert_eq!(ready.images[0].status, ImageStatus::Ready);
    assert!(ready.pending_image("x").is_none());
    assert_eq!(
        ready.images[0].upload_key(),
        "uploads/products/p/images/x.png"
    );
}
