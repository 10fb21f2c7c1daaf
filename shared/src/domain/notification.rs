//! Live updates: who hears of a published domain event, and what they are sent.
//!
//! A customer hears of their own business (orders, payments, refunds, shipments) without
//! asking, except a review flag, which is for staff. Staff subscribe to topics, each guarded
//! by the permission that lets them read that business over the API, so the socket never
//! shows anyone more than their role may read.

use serde::{Deserialize, Serialize};

use super::Permission;

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

    /// The customer who hears of it unasked: the one whose order, payment, refund or
    /// shipment it is, unless it is a review flag (staff business).
    pub fn customer(&self) -> Option<&str> {
        if self.kind == "order.flagged" {
            return None;
        }
        match self.topic()? {
            Topic::Orders | Topic::Shipments => self.data.get("customer_id")?.as_str(),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "notification_test.rs"]
mod tests;
