//! `template.yaml` as data: tables, buckets, the variables that name them, and routes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Deserialize;
use serde_norway::Value;

/// A parsed SAM template.
#[derive(Debug, Clone)]
pub struct Template {
    resources: BTreeMap<String, Value>,
    globals_env: BTreeMap<String, Value>,
}

/// One HTTP route as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// Upper-case method.
    pub method: String,
    /// Path with `{param}` placeholders.
    pub path: String,
    /// The binary (function) that serves it.
    pub function: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProps {
    attribute_definitions: Vec<AttrDef>,
    key_schema: Vec<KeyDef>,
    #[serde(default)]
    global_secondary_indexes: Vec<IndexDef>,
    #[serde(default)]
    stream_specification: Option<StreamDef>,
    #[serde(default)]
    time_to_live_specification: Option<TtlDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttrDef {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyDef {
    attribute_name: String,
    key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexDef {
    index_name: String,
    key_schema: Vec<KeyDef>,
    projection: ProjectionDef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionDef {
    projection_type: String,
    #[serde(default)]
    non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamDef {
    stream_view_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TtlDef {
    attribute_name: String,
    enabled: bool,
}

impl Template {
    /// Reads and parses the template at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Parses template text.
    pub fn parse(text: &str) -> Result<Self> {
        let doc: Value = serde_norway::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| anyhow!("the template has no Resources"))?
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
            .collect();
        let globals_env = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            resources,
            globals_env,
        })
    }

    /// Logical ids of resources of `kind` (e.g. `AWS::DynamoDB::Table`).
    pub fn resources_of(&self, kind: &str) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// A resource's `Properties`.
    pub fn properties(&self, logical_id: &str) -> Option<&Value> {
        self.resources.get(logical_id)?.get("Properties")
    }

    /// A resource's `Metadata`.
    pub fn metadata(&self, logical_id: &str) -> Option<&Value> {
        self.resources.get(logical_id)?.get("Metadata")
    }

    /// The function environment variables that hold `!Ref <logical id>`, by logical id.
    pub fn variables_naming_resources(&self) -> BTreeMap<String, String> {
        self.globals_env
            .iter()
            .filter_map(|(var, value)| match value {
                Value::Tagged(tagged) if tagged.tag == "Ref" => {
                    Some((tagged.value.as_str()?.to_owned(), var.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Every `HttpApi` event of every function.
    pub fn routes(&self) -> Result<BTreeSet<Route>> {
        let mut routes = BTreeSet::new();
        for id in self.resources_of("AWS::Serverless::Function") {
            let function = self
                .metadata(id)
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("{id} has no Metadata.BuildProperties.Binary"))?;
            let events = self
                .properties(id)
                .and_then(|p| p.get("Events"))
                .and_then(Value::as_mapping);
            for (_, event) in events.into_iter().flatten() {
                if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                    continue;
                }
                let props = event.get("Properties");
                let field = |name: &str| {
                    props
                        .and_then(|p| p.get(name))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow!("an HttpApi event of {id} has no {name}"))
                };
                routes.insert(Route {
                    method: field("Method")?.to_ascii_uppercase(),
                    path: field("Path")?,
                    function: function.to_owned(),
                });
            }
        }
        Ok(routes)
    }

    /// Creates every table of the template, each named by `name_of(logical id)`; existing
    /// tables are left alone. Returns the names by logical id.
    pub async fn create_tables(
        &self,
        client: &aws_sdk_dynamodb::Client,
        name_of: impl Fn(&str) -> String,
    ) -> Result<BTreeMap<String, String>> {
        let mut names = BTreeMap::new();
        for id in self.resources_of("AWS::DynamoDB::Table") {
            let props: TableProps = serde_norway::from_value(
                self.properties(id)
                    .cloned()
                    .ok_or_else(|| anyhow!("{id} has no Properties"))?,
            )
            .with_context(|| format!("reading the definition of table {id}"))?;
            let name = name_of(id);
            create_table(client, &name, &props)
                .await
                .with_context(|| format!("creating table {name} ({id})"))?;
            names.insert(id.to_owned(), name);
        }
        Ok(names)
    }

    /// Creates every bucket of the template, each named by `name_of(logical id)`; existing
    /// buckets are left alone. Returns the names by logical id.
    pub async fn create_buckets(
        &self,
        client: &aws_sdk_s3::Client,
        name_of: impl Fn(&str) -> String,
    ) -> Result<BTreeMap<String, String>> {
        let mut names = BTreeMap::new();
        for id in self.resources_of("AWS::S3::Bucket") {
            let name = name_of(id);
            let exists = client.head_bucket().bucket(&name).send().await.is_ok();
            if !exists {
                client
                    .create_bucket()
                    .bucket(&name)
                    .send()
                    .await
                    .with_context(|| format!("creating bucket {name} ({id})"))?;
            }
            names.insert(id.to_owned(), name);
        }
        Ok(names)
    }
}

fn key_schema(keys: &[KeyDef]) -> Result<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()?)
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    props: &TableProps,
) -> Result<()> {
    if props.key_schema.is_empty() {
        bail!("table {name} has no key schema");
    }
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&props.key_schema)?));
    for attr in &props.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attr.attribute_name)
                .attribute_type(ScalarAttributeType::from(attr.attribute_type.as_str()))
                .build()?,
        );
    }
    for index in &props.global_secondary_indexes {
        let kind = ProjectionType::from(index.projection.projection_type.as_str());
        let projection = Projection::builder()
            .projection_type(kind)
            .set_non_key_attributes(
                (!index.projection.non_key_attributes.is_empty())
                    .then(|| index.projection.non_key_attributes.clone()),
            )
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection)
                .build()?,
        );
    }
    if let Some(stream) = &props.stream_specification {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                .build()?,
        );
    }
    request.send().await?;
    if let Some(ttl) = &props.time_to_live_specification
        && ttl.enabled
    {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}
