//! Reading the table's stream with the key design: which product or stock level a record
//! changed. The search indexer learns what to re-index from here, without knowing keys.

use aws_lambda_events::dynamodb::EventRecord;

use super::keys::{LEVEL_PK_PREFIX, LEVEL_SK, PK, PRODUCT_SK, SK, product_pk};
use crate::domain::stock::StockLevel;

/// What a stream record touched.
#[derive(Debug, Clone, PartialEq)]
pub enum Touched {
    /// A product item changed.
    Product(String),
    /// A stock level changed; `level` is its new image (absent when it was deleted).
    Level {
        /// The product.
        product_id: String,
        /// The level after the change.
        level: Option<StockLevel>,
    },
}

impl Touched {
    /// The product the change concerns.
    pub fn product_id(&self) -> &str {
        match self {
            Touched::Product(id) => id,
            Touched::Level { product_id, .. } => product_id,
        }
    }
}

fn key_text<'a>(record: &'a EventRecord, name: &str) -> Option<&'a str> {
    match record.change.keys.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s),
        _ => None,
    }
}

/// What `record` touched, or `None` for items the index does not use.
pub fn touched(record: &EventRecord) -> Option<Touched> {
    let pk = key_text(record, PK)?;
    match key_text(record, SK)? {
        PRODUCT_SK => Some(Touched::Product(
            pk.strip_prefix(&product_pk(""))?.to_owned(),
        )),
        LEVEL_SK => {
            let (product_id, _warehouse) = pk.strip_prefix(LEVEL_PK_PREFIX)?.split_once('#')?;
            let level = if record.change.new_image.is_empty() {
                None
            } else {
                serde_dynamo::from_item::<_, StockLevel>(record.change.new_image.clone()).ok()
            };
            Some(Touched::Level {
                product_id: product_id.to_owned(),
                level,
            })
        }
        _ => None,
    }
}
