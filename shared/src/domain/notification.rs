//! Live updates: who hears of a published domain event, and what they are sent.
//!
//! A customer hears of their own business (orders, payments, refunds, shipments) without
//! asking, except a review flag, which is for staff. Staff subscribe to topics, each guarded
//! by the permission that lets them read that business over the API, so the socket never
//! shows anyone more than their role may read.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Permission, Role};

/// How far back `resume` reaches: events made more than this long before the request are not
/// replayed (read the current state over the HTTP API instead).
pub const RESUME_WINDOW: time::Duration = time::Duration::hours(24);

/// The most events one `resume` replays; past it, the reply says `more` and names the last
/// one sent, to resume after.
pub const RESUME_LIMIT: usize = 200;

/// API Gateway closes a WebSocket connection after two hours; it is not kept longer.
pub const MAX_CONNECTION: time::Duration = time::Duration::hours(2);

/// A family of event types staff may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// `order.*`, `payment.failed`, `refund.*`.
    Orders,
    /// `shipment.*`.
    Shipments,
    /// `stock.*`.
    Stock,
    /// `product.*`.
    Products,
    /// `purchase_order.*`.
    Purchasing,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 5] = [
        Topic::Orders,
        Topic::Shipments,
        Topic::Stock,
        Topic::Products,
        Topic::Purchasing,
    ];

    /// The topic's name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Orders => "orders",
            Topic::Shipments => "shipments",
            Topic::Stock => "stock",
            Topic::Products => "products",
            Topic::Purchasing => "purchasing",
        }
    }

    /// Parses a topic a client named.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
                format!(
                    "'{}' is not a topic; one of: {}",
                    name.chars().take(40).collect::<String>(),
                    names.join(", ")
                )
            })
    }

    /// The permission a subscriber needs: the one that reads this business over the API.
    pub fn permission(self) -> Permission {
        match self {
            Topic::Orders | Topic::Shipments => Permission::ReadAllOrders,
            Topic::Stock | Topic::Products => Permission::ReadStock,
            Topic::Purchasing => Permission::ManagePurchasing,
        }
    }

    /// The topic of an event type; `None` for a type of no topic.
    pub fn of(kind: &str) -> Option<Self> {
        let family = kind.split('.').next()?;
        match family {
            "order" | "payment" | "refund" => Some(Topic::Orders),
            "shipment" => Some(Topic::Shipments),
            "stock" => Some(Topic::Stock),
            "product" => Some(Topic::Products),
            "purchase_order" => Some(Topic::Purchasing),
            _ => None,
        }
    }
}

/// A domain event as the bus carries it (`detail`), read back: enough to route and send it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Published {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: String,
    pub data: serde_json::Value,
}

/// What a socket is sent: `{"id", "type", "occurred_at", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub occurred_at: &'a str,
    pub data: &'a serde_json::Value,
}

impl Published {
    /// The message sent for it.
    pub fn message(&self) -> Message<'_> {
        Message {
            id: &self.id,
            kind: &self.kind,
            occurred_at: &self.occurred_at,
            data: &self.data,
        }
    }

    /// The topic staff hear it under.
    pub fn topic(&self) -> Option<Topic> {
        Topic::of(&self.kind)
    }

    /// The customer who hears of it unasked: the one whose order, payment, refund, shipment
    /// or badge it is, unless it is a review flag (staff business).
    pub fn customer(&self) -> Option<&str> {
        if self.kind == "order.flagged" {
            return None;
        }
        if self.kind.starts_with("achievement.") {
            return self.data.get("customer_id")?.as_str();
        }
        match self.topic()? {
            Topic::Orders | Topic::Shipments => self.data.get("customer_id")?.as_str(),
            _ => None,
        }
    }
}

/// Who a listener listens as: an account hearing of its own business, or a subscriber to a
/// topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Audience {
    /// The account with this id.
    Account(String),
    /// Subscribers to this topic.
    Topic(Topic),
}

impl Published {
    /// Everyone who hears of it: its customer, and its topic's subscribers.
    pub fn audiences(&self) -> Vec<Audience> {
        let mut audiences: Vec<Audience> = self
            .customer()
            .map(|c| Audience::Account(c.to_owned()))
            .into_iter()
            .collect();
        audiences.extend(self.topic().map(Audience::Topic));
        audiences
    }
}

/// An open WebSocket connection: who opened it, with what, and what they subscribed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// API Gateway's connection id.
    pub id: String,
    /// The account whose token opened it.
    pub user_id: String,
    /// The token's role.
    pub role: Role,
    /// The token's generation (a later one in the account revokes it).
    pub generation: u64,
    /// Topics subscribed to.
    #[serde(default)]
    pub topics: BTreeSet<Topic>,
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
    /// When it stops hearing anything: its token's expiry, at most [`MAX_CONNECTION`] after
    /// it opened. The client reconnects with a fresh token and resumes.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Bumped by every change, so concurrent messages of one connection cannot undo each
    /// other.
    #[serde(default)]
    pub version: u64,
}

impl Connection {
    /// A connection opened at `now` with a token expiring at `token_expires_at`.
    pub fn opened(
        id: &str,
        user_id: &str,
        role: Role,
        generation: u64,
        token_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            role,
            generation,
            topics: BTreeSet::new(),
            connected_at: now,
            ends_at: token_expires_at.min(now + MAX_CONNECTION),
            version: 0,
        }
    }
}

/// What a client may ask over the socket (`{"action": ...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Hear of these topics too.
    Subscribe(BTreeSet<Topic>),
    /// Stop hearing of these topics.
    Unsubscribe(BTreeSet<Topic>),
    /// Send what this connection would have heard since the event with this id.
    Resume { after: uuid::Uuid },
}

/// Why a client's message was refused: the `status` and `title` of its error reply, and a
/// detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub title: &'static str,
    pub detail: String,
}

impl Refusal {
    fn malformed(detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            title: "Malformed message",
            detail: detail.into(),
        }
    }

    fn invalid(detail: impl Into<String>) -> Self {
        Self {
            status: 422,
            title: "Invalid message",
            detail: detail.into(),
        }
    }

    /// The reply sent for it.
    pub fn reply(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "error", "status": self.status, "title": self.title, "detail": self.detail
        })
    }
}

/// The most topics one message names (there are five).
const MAX_TOPICS: usize = 16;

impl Action {
    /// Reads a client's message.
    pub fn parse(text: &str) -> Result<Self, Refusal> {
        let message: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| Refusal::malformed("messages are JSON objects with an \"action\""))?;
        let action = message
            .get("action")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| Refusal::malformed("messages are JSON objects with an \"action\""))?;
        match action {
            "subscribe" | "unsubscribe" => {
                let topics = message
                    .get("topics")
                    .and_then(serde_json::Value::as_array)
                    .filter(|t| !t.is_empty() && t.len() <= MAX_TOPICS)
                    .ok_or_else(|| {
                        Refusal::invalid(format!(
                            "\"topics\" must be a list of 1 to {MAX_TOPICS} topic names"
                        ))
                    })?;
                let topics = topics
                    .iter()
                    .map(|t| {
                        t.as_str()
                            .ok_or_else(|| "topics are names".to_owned())
                            .and_then(Topic::parse)
                    })
                    .collect::<Result<BTreeSet<_>, _>>()
                    .map_err(Refusal::invalid)?;
                Ok(if action == "subscribe" {
                    Action::Subscribe(topics)
                } else {
                    Action::Unsubscribe(topics)
                })
            }
            "resume" => {
                let after = message
                    .get("after")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|id| uuid::Uuid::try_parse(id).ok())
                    .filter(|id| id.get_version_num() == 7)
                    .ok_or_else(|| {
                        Refusal::invalid("\"after\" must be the id of an event you were sent")
                    })?;
                Ok(Action::Resume { after })
            }
            other => Err(Refusal::malformed(format!(
                "unknown action '{}'; one of: subscribe, unsubscribe, resume",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// When the event with UUIDv7 `id` was made.
pub fn made_at(id: uuid::Uuid) -> Option<OffsetDateTime> {
    let (seconds, nanos) = id.get_timestamp()?.to_unix();
    let at = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    OffsetDateTime::from_unix_timestamp_nanos(at).ok()
}

/// The smallest event id made at `at` (ids after it were made at or after `at`).
pub fn first_id_at(at: OffsetDateTime) -> uuid::Uuid {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut bytes = [0_u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    uuid::Uuid::from_bytes(bytes)
}

#[cfg(test)]
#[path = "notification_test.rs"]
mod tests;
