//! Items to and from the table: `serde_dynamo` with the store's error, plus the key
//! attributes an item is stored under.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Item, StoreError};

/// `value` as an item.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(StoreError::internal)
}

/// `value` as an item with the string attributes `keys` (partition, sort and index keys).
pub(crate) fn encode_keyed<T: Serialize>(
    value: &T,
    keys: &[(&str, String)],
) -> Result<Item, StoreError> {
    Ok(keyed(encode(value)?, keys))
}

/// `item` with the string attributes `keys` added.
pub(crate) fn keyed(mut item: Item, keys: &[(&str, String)]) -> Item {
    for (name, value) in keys {
        item.insert((*name).to_owned(), AttributeValue::S(value.clone()));
    }
    item
}

/// An item read back.
pub(crate) fn decode<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::internal)
}

/// Items read back, in order.
pub(crate) fn decode_all<T: DeserializeOwned>(items: Vec<Item>) -> Result<Vec<T>, StoreError> {
    items.into_iter().map(decode).collect()
}
