//! Persona summaries in the table (the full documents are in the media bucket).

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

use super::codec;
use super::keys::*;
use super::{Cursor, Guard, IndexListing, Item, StoreError, Table, Write, sortable};
use crate::domain::persona::PersonaSummary;

/// Which personas to list.
#[derive(Debug, Clone, Default)]
pub struct PersonaFilter {
    /// Only this segment's.
    pub segment: Option<String>,
    /// Only those of this category.
    pub category: Option<String>,
    /// Only those whose brief named this product.
    pub product_id: Option<String>,
}

/// Persona summaries in the single table.
#[derive(Debug, Clone)]
pub struct PersonaStore {
    table: Table,
}

impl PersonaStore {
    /// Personas in `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The write creating `p`'s summary.
    pub fn create_write(&self, p: &PersonaSummary) -> Result<Write, StoreError> {
        let mut item: Item = codec::encode(p)?;
        let sort = format!("{}#{}", sortable(p.provenance.created_at), p.id);
        for (name, value) in [
            (PK, persona_pk(&p.id)),
            (SK, PERSONA_SK.into()),
            (ENTITY, "persona".into()),
            (GSI1PK, PERSONAS_PARTITION.into()),
            (GSI1SK, sort.clone()),
            (GSI2PK, personas_of_segment(&p.provenance.segment)),
            (GSI2SK, sort),
        ] {
            item.insert(name.into(), AttributeValue::S(value));
        }
        Ok(Write(Guard::Version, self.table.versioned_put(item, None)?))
    }

    /// The write deleting persona `id` (which must exist).
    pub fn delete_write(&self, id: &str) -> Result<Write, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table.name())
            .key(PK, AttributeValue::S(persona_pk(id)))
            .key(SK, AttributeValue::S(PERSONA_SK.into()))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(StoreError::internal)?;
        Ok(Write(
            Guard::Version,
            TransactWriteItem::builder().delete(delete).build(),
        ))
    }

    /// Commits `writes` as one transaction.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.table.transact(writes).await
    }

    /// The summary of persona `id`.
    pub async fn summary(&self, id: &str) -> Result<PersonaSummary, StoreError> {
        self.table.get_as(persona_pk(id), PERSONA_SK).await
    }

    /// One page of summaries, newest first.
    pub async fn list(
        &self,
        filter: &PersonaFilter,
        limit: u32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<PersonaSummary>, Option<Cursor>), StoreError> {
        let (index, partition) = match &filter.segment {
            Some(s) => (BY_GSI2, personas_of_segment(s)),
            None => (BY_GSI1, PERSONAS_PARTITION.to_owned()),
        };
        let listing = IndexListing::new(index, partition, "PERSONA#", PERSONA_SK)
            .newest_first()
            .equal("category", filter.category.clone())
            .containing("product_ids", filter.product_id.clone());
        let (items, next) = self.table.query_page(&listing, limit, after).await?;
        let summaries = items
            .into_iter()
            .map(codec::decode)
            .collect::<Result<_, _>>()?;
        Ok((summaries, next))
    }
}
