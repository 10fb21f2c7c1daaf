//! Catalogue products: the stored shape, the client's input, and the rules between them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::money::check_price_amount;
use super::validation::{bounded_text, canonical_uuid, code_characters};
use super::{Barcode, Currency, FieldErrors, Money};

/// Most attributes a product may carry.
pub const MAX_ATTRIBUTES: usize = 50;
/// Most images a product may carry.
pub const MAX_IMAGES: usize = 20;
/// Largest image accepted, in bytes (5 MiB): the upload grant's `content-length-range`, and
/// checked again before an image is listed.
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// Content types accepted for product images, with the file extension used in S3 keys.
pub const IMAGE_CONTENT_TYPES: [(&str, &str); 4] = [
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/avif", "avif"),
];

/// A product's id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductId(String);

impl ProductId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// Parses an id from a path or a stored key.
    pub fn parse(raw: &str) -> Result<Self, String> {
        canonical_uuid(raw)
            .map(Self)
            .ok_or_else(|| format!("'{raw}' is not a product id (expected a UUID)"))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProductId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stock-keeping unit: 1 to 64 letters, digits, `-`, `_` or `.`, stored upper-case so
/// `abc-1` and `ABC-1` are the same SKU.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// Parses and normalises a SKU.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let sku = raw.trim();
        if sku.is_empty() {
            return Err("must not be empty".into());
        }
        if sku.chars().count() > 64 {
            return Err(format!(
                "must be at most 64 characters, got {}",
                sku.chars().count()
            ));
        }
        code_characters(sku)?;
        Ok(Self(sku.to_ascii_uppercase()))
    }

    /// The normalised SKU.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(s: Sku) -> Self {
        s.0
    }
}

/// An image attached to a product, stored in the media bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductImage {
    /// The image's id.
    pub id: String,
    /// Its object key in the media bucket once listed; the upload goes to
    /// [`ProductImage::upload_key`] first.
    pub key: String,
    /// Its content type, one of [`IMAGE_CONTENT_TYPES`].
    pub content_type: String,
    /// When the upload grant was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
    /// Whether its bytes were checked and it is listed.
    #[serde(default)]
    pub status: ImageStatus,
    /// Its size in pixels, read from its bytes when it was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// See `width`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// Where an image stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// An upload grant was issued; the bytes are not checked yet and the image is not listed.
    Pending,
    /// Checked to be an image of its type, copied to its key and listed. (Images stored before
    /// uploads were checked are listed too.)
    #[default]
    Ready,
}

/// Checks that `bytes` are one image of `content_type` (its header parses, its size is
/// read) and at most [`MAX_IMAGE_BYTES`] long; answers its width and height, or why not.
pub fn inspect_image(content_type: &str, bytes: &[u8]) -> Result<(u32, u32), String> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > MAX_IMAGE_BYTES {
        return Err(format!(
            "the upload is {len} bytes; images may be at most {MAX_IMAGE_BYTES} bytes"
        ));
    }
    let found = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Png) => "image/png",
        Ok(imagesize::ImageType::Webp) => "image/webp",
        Ok(imagesize::ImageType::Heif(imagesize::Compression::Av1)) => "image/avif",
        _ => return Err("the upload is not a JPEG, PNG, WebP or AVIF image".into()),
    };
    if found != content_type {
        return Err(format!(
            "the upload is {found}, not the {content_type} the grant was issued for"
        ));
    }
    let size = imagesize::blob_size(bytes)
        .map_err(|_| format!("the upload starts like {found} but its header is damaged"))?;
    match (u32::try_from(size.width), u32::try_from(size.height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(format!(
            "the upload claims {} x {} pixels",
            size.width, size.height
        )),
    }
}

impl ProductImage {
    /// Where the client uploads the bytes: never served, and the only key its grant allows.
    pub fn upload_key(&self) -> String {
        format!("uploads/{}", self.key)
    }
}

/// A catalogue product as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The product's id.
    pub id: ProductId,
    /// Unique SKU.
    pub sku: Sku,
    /// Display name.
    pub name: String,
    /// Longer description, possibly empty.
    pub description: String,
    /// Category, compared case-insensitively when filtering.
    pub category: String,
    /// Brand, if any.
    pub brand: Option<String>,
    /// Unit price.
    pub price: Money,
    /// Unique barcode, if any.
    pub barcode: Option<Barcode>,
    /// Free-form attributes (colour, size, ...).
    pub attributes: BTreeMap<String, String>,
    /// Stock level at or below which the product needs reordering.
    pub reorder_level: u32,
    /// Level a reorder fills up to (default: twice the reorder level, at least one above it).
    #[serde(default)]
    pub target_level: Option<u32>,
    /// The supplier reorder suggestions buy it from (else the cheapest active one).
    #[serde(default)]
    pub preferred_supplier_id: Option<String>,
    /// Images, oldest first.
    pub images: Vec<ProductImage>,
    /// Archived products are not listed but stay readable and restorable.
    pub archived: bool,
    /// Incremented by every change; the `ETag`.
    pub version: u64,
    /// When the product was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the product last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Product {
    /// A new product from validated input, at version 1.
    pub fn create(draft: ProductDraft, now: OffsetDateTime) -> Self {
        Self {
            id: ProductId::generate(),
            sku: draft.sku,
            name: draft.name,
            description: draft.description,
            category: draft.category,
            brand: draft.brand,
            price: draft.price,
            barcode: draft.barcode,
            attributes: draft.attributes,
            reorder_level: draft.reorder_level,
            target_level: draft.target_level,
            preferred_supplier_id: draft.preferred_supplier_id,
            images: Vec::new(),
            archived: false,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The normalised category used for filtering.
    pub fn category_key(&self) -> String {
        category_key(&self.category)
    }

    /// This product with `patch` applied, as the next version; `None` when nothing changes.
    pub fn patched(
        &self,
        patch: ProductPatch,
        now: OffsetDateTime,
    ) -> Result<Option<Self>, FieldErrors> {
        let mut next = self.clone();
        if let Some(sku) = patch.sku {
            next.sku = sku;
        }
        if let Some(name) = patch.name {
            next.name = name;
        }
        if let Some(description) = patch.description {
            next.description = description;
        }
        if let Some(category) = patch.category {
            next.category = category;
        }
        if let Some(brand) = patch.brand {
            next.brand = brand;
        }
        if let Some(price) = patch.price {
            next.price = price;
        }
        if let Some(barcode) = patch.barcode {
            next.barcode = barcode;
        }
        if let Some(reorder_level) = patch.reorder_level {
            next.reorder_level = reorder_level;
        }
        if let Some(target_level) = patch.target_level {
            next.target_level = target_level;
        }
        if let Some(supplier) = patch.preferred_supplier_id {
            next.preferred_supplier_id = supplier;
        }
        for (key, value) in patch.attributes {
            match value {
                Some(v) => next.attributes.insert(key, v),
                None => next.attributes.remove(&key),
            };
        }
        if next.attributes.len() > MAX_ATTRIBUTES {
            let mut errors = FieldErrors::new();
            errors.add(
                "attributes",
                format!(
                    "must have at most {MAX_ATTRIBUTES} entries, the change would leave {}",
                    next.attributes.len()
                ),
            );
            return Err(errors);
        }
        if next == *self {
            return Ok(None);
        }
        Ok(Some(next.next_version(now)))
    }

    /// This product archived (or restored), as the next version; `None` if already so.
    pub fn with_archived(&self, archived: bool, now: OffsetDateTime) -> Option<Self> {
        (self.archived != archived).then(|| {
            let mut next = self.clone();
            next.archived = archived;
            next.next_version(now)
        })
    }

    /// This product with one more (pending) image, as the next version; pending images whose
    /// grant was issued before `stale_before` were never uploaded and make room.
    pub fn with_image(
        &self,
        image: ProductImage,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Self, String> {
        let mut next = self.clone();
        next.images
            .retain(|i| i.status == ImageStatus::Ready || i.added_at >= stale_before);
        if next.images.len() >= MAX_IMAGES {
            return Err(format!("a product may have at most {MAX_IMAGES} images"));
        }
        next.images.push(image);
        Ok(next.next_version(now))
    }

    /// The pending image `id`, if there is one.
    pub fn pending_image(&self, id: &str) -> Option<&ProductImage> {
        self.images
            .iter()
            .find(|i| i.id == id && i.status == ImageStatus::Pending)
    }

    /// This product with pending image `id` checked and listed, as the next version.
    pub fn with_image_ready(&self, id: &str, width: u32, height: u32, now: OffsetDateTime) -> Self {
        let mut next = self.clone();
        for image in next.images.iter_mut().filter(|i| i.id == id) {
            image.status = ImageStatus::Ready;
            image.width = Some(width);
            image.height = Some(height);
        }
        next.next_version(now)
    }

    /// This product without image `id`, as the next version.
    pub fn without_image(&self, id: &str, now: OffsetDateTime) -> Self {
        let mut next = self.clone();
        next.images.retain(|i| i.id != id);
        next.next_version(now)
    }

    fn next_version(mut self, now: OffsetDateTime) -> Self {
        self.version += 1;
        self.updated_at = now;
        self
    }
}

/// The normalised form of a category name used for filtering.
pub fn category_key(category: &str) -> String {
    category.trim().to_lowercase()
}

/// A price as a client sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// The body of `POST /v1/products`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProductInput {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub category: String,
    #[serde(default)]
    pub brand: Option<String>,
    pub price: PriceInput,
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub reorder_level: Option<u32>,
    /// Target level for reorders.
    #[serde(default)]
    pub target_level: Option<u32>,
    /// Preferred supplier's id.
    #[serde(default)]
    pub preferred_supplier_id: Option<String>,
}

/// A validated new product.
#[derive(Debug, Clone)]
pub struct ProductDraft {
    sku: Sku,
    name: String,
    description: String,
    category: String,
    brand: Option<String>,
    price: Money,
    barcode: Option<Barcode>,
    attributes: BTreeMap<String, String>,
    reorder_level: u32,
    target_level: Option<u32>,
    preferred_supplier_id: Option<String>,
}

impl ProductDraft {
    /// Validates every field of `input`, reporting all problems at once.
    pub fn parse(input: NewProductInput) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let sku = e.check("sku", Sku::parse(&input.sku));
        let name = e.check("name", bounded_text(&input.name, 1, 200));
        let description = e.check(
            "description",
            bounded_text(input.description.as_deref().unwrap_or(""), 0, 5000),
        );
        let category = e.check("category", bounded_text(&input.category, 1, 100));
        let brand = match input.brand.as_deref() {
            Some(b) => e.check("brand", bounded_text(b, 1, 100)).map(Some),
            None => Some(None),
        };
        let price = parse_price(&mut e, &input.price);
        let barcode = match input.barcode.as_deref() {
            Some(b) => e.check("barcode", Barcode::parse(b)).map(Some),
            None => Some(None),
        };
        let attributes = parse_attributes(
            &mut e,
            input
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, Some(v))),
        )
        .map(|attrs| {
            attrs
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect()
        });
        let reorder_level = e.check(
            "reorder_level",
            check_reorder_level(input.reorder_level.unwrap_or(0)),
        );
        let target_level = match input.target_level {
            Some(t) => e.check("target_level", check_reorder_level(t)).map(Some),
            None => Some(None),
        };
        let preferred_supplier_id = match input.preferred_supplier_id.as_deref() {
            Some(id) => e.check("preferred_supplier_id", check_id(id)).map(Some),
            None => Some(None),
        };
        e.finish(|| {
            Some(Self {
                sku: sku?,
                name: name?,
                description: description?,
                category: category?,
                brand: brand?,
                price: price?,
                barcode: barcode?,
                attributes: attributes?,
                reorder_level: reorder_level?,
                target_level: target_level?,
                preferred_supplier_id: preferred_supplier_id?,
            })
        })
    }

    /// The SKU the product will have.
    pub fn sku(&self) -> &Sku {
        &self.sku
    }
}

pub use super::patch::Patch;

/// The body of `PATCH /v1/products/{id}`: a JSON merge patch (RFC 7396).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchInput {
    /// New SKU.
    #[serde(default)]
    pub sku: Patch<String>,
    /// New name.
    #[serde(default)]
    pub name: Patch<String>,
    /// New description (`null` empties it).
    #[serde(default)]
    pub description: Patch<String>,
    /// New category.
    #[serde(default)]
    pub category: Patch<String>,
    /// New brand (`null` removes it).
    #[serde(default)]
    pub brand: Patch<String>,
    /// New price.
    #[serde(default)]
    pub price: Patch<PriceInput>,
    /// New barcode (`null` removes it).
    #[serde(default)]
    pub barcode: Patch<String>,
    /// Attributes to set; a `null` value removes that attribute.
    #[serde(default)]
    pub attributes: Patch<BTreeMap<String, Option<String>>>,
    /// New reorder level.
    #[serde(default)]
    pub reorder_level: Patch<u32>,
    /// New target level (`null`: the default).
    #[serde(default)]
    pub target_level: Patch<u32>,
    /// New preferred supplier (`null`: none).
    #[serde(default)]
    pub preferred_supplier_id: Patch<String>,
}

/// A validated product change.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    sku: Option<Sku>,
    name: Option<String>,
    description: Option<String>,
    category: Option<String>,
    brand: Option<Option<String>>,
    price: Option<Money>,
    barcode: Option<Option<Barcode>>,
    attributes: Vec<(String, Option<String>)>,
    reorder_level: Option<u32>,
    target_level: Option<Option<u32>>,
    preferred_supplier_id: Option<Option<String>>,
}

impl ProductPatch {
    /// Validates every field of `input`, reporting all problems at once.
    pub fn parse(input: ProductPatchInput) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let patch = ProductPatch {
            sku: required(&mut e, "sku", input.sku, |s| Sku::parse(&s)),
            name: required(&mut e, "name", input.name, |s| bounded_text(&s, 1, 200)),
            description: match input.description {
                Patch::Absent => None,
                Patch::Null => Some(String::new()),
                Patch::Value(d) => e.check("description", bounded_text(&d, 0, 5000)),
            },
            category: required(&mut e, "category", input.category, |s| {
                bounded_text(&s, 1, 100)
            }),
            brand: optional(&mut e, "brand", input.brand, |s| bounded_text(&s, 1, 100)),
            price: match input.price {
                Patch::Absent => None,
                Patch::Null => {
                    e.add("price", "cannot be removed");
                    None
                }
                Patch::Value(p) => parse_price(&mut e, &p),
            },
            barcode: optional(&mut e, "barcode", input.barcode, |s| Barcode::parse(&s)),
            attributes: match input.attributes {
                Patch::Absent => Vec::new(),
                Patch::Null => {
                    e.add(
                        "attributes",
                        "cannot be null; set single attributes to null to remove them",
                    );
                    Vec::new()
                }
                Patch::Value(map) => parse_attributes(&mut e, map.into_iter()).unwrap_or_default(),
            },
            reorder_level: required(&mut e, "reorder_level", input.reorder_level, |n| {
                check_reorder_level(n)
            }),
            target_level: optional(&mut e, "target_level", input.target_level, |n| {
                check_reorder_level(n)
            }),
            preferred_supplier_id: optional(
                &mut e,
                "preferred_supplier_id",
                input.preferred_supplier_id,
                |id| check_id(&id),
            ),
        };
        e.finish(|| Some(patch))
    }
}

fn required<T, U>(
    e: &mut FieldErrors,
    field: &str,
    value: Patch<T>,
    parse: impl FnOnce(T) -> Result<U, String>,
) -> Option<U> {
    match value {
        Patch::Absent => None,
        Patch::Null => {
            e.add(field, "cannot be removed");
            None
        }
        Patch::Value(v) => e.check(field, parse(v)),
    }
}

fn optional<T, U>(
    e: &mut FieldErrors,
    field: &str,
    value: Patch<T>,
    parse: impl FnOnce(T) -> Result<U, String>,
) -> Option<Option<U>> {
    match value {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(v) => e.check(field, parse(v)).map(Some),
    }
}

fn parse_price(e: &mut FieldErrors, price: &PriceInput) -> Option<Money> {
    let currency = e.check("price.currency", Currency::parse(&price.currency));
    let amount = e.check("price.amount_minor", check_price_amount(price.amount_minor));
    Money::price(amount?, currency?).ok()
}

/// An id of another item: printable, no spaces, at most 64 characters.
fn check_id(id: &str) -> Result<String, String> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(id.to_owned())
    } else {
        Err(format!("'{id}' is not an id"))
    }
}

fn check_reorder_level(n: u32) -> Result<u32, String> {
    if n > 1_000_000_000 {
        return Err(format!("must be at most 1000000000, got {n}"));
    }
    Ok(n)
}

/// Validates attribute entries; `None` values (removals) pass through unchecked.
fn parse_attributes(
    e: &mut FieldErrors,
    entries: impl Iterator<Item = (String, Option<String>)>,
) -> Option<Vec<(String, Option<String>)>> {
    let entries: Vec<_> = entries.collect();
    if entries.len() > MAX_ATTRIBUTES {
        e.add(
            "attributes",
            format!(
                "must have at most {MAX_ATTRIBUTES} entries, got {}",
                entries.len()
            ),
        );
        return None;
    }
    let mut ok = true;
    let mut parsed = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let key_len = key.chars().count();
        if key_len == 0 || key_len > 64 {
            e.add(
                format!("attributes.{key}"),
                format!("attribute names must be 1 to 64 characters, got {key_len}"),
            );
            ok = false;
            continue;
        }
        if let Some(bad) = key
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | ' ')))
        {
            e.add(
                format!("attributes.{key}"),
                format!("'{bad}' is not allowed in attribute names; use letters, digits, '_', '-' or spaces"),
            );
            ok = false;
            continue;
        }
        let value = match value {
            None => None,
            Some(v) => match bounded_text(&v, 0, 500) {
                Ok(v) => Some(v),
                Err(msg) => {
                    e.add(format!("attributes.{key}"), msg);
                    ok = false;
                    continue;
                }
            },
        };
        parsed.push((key, value));
    }
    ok.then_some(parsed)
}

#[cfg(test)]
#[path = "product_test.rs"]
mod tests;
