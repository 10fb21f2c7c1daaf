//! Shipments: the parcels a paid order leaves in, one per warehouse it ships from, and their
//! way to the customer.
//!
//! Staff pack and ship a parcel (naming the carrier and tracking number); after that the
//! carrier's updates (in transit, out for delivery, a failed attempt, delivered, returned)
//! arrive late, twice or out of order. A shipment therefore keeps every checkpoint it heard
//! of, and its status is a function of that set, never of the order they arrived in:
//! a final checkpoint (delivered, returned) wins, the latest of them by its own time; else the
//! latest tracking checkpoint; else how far staff got. A repeated carrier event (same id)
//! changes nothing.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::order::Order;
use super::validation::{FieldErrors, bounded_text, code_characters};

/// Most checkpoints one shipment keeps. Past it the oldest news from the road (`in_transit`,
/// `out_for_delivery`, `failed`) makes room: it no longer decides the status, so a chatty
/// carrier cannot block the delivery that ends the parcel's way.
pub const MAX_CHECKPOINTS: usize = 50;

/// How far ahead of our clock a carrier's timestamp may be.
pub const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// Where a shipment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Created with the order's payment; waiting to be packed.
    Pending,
    /// Packed; waiting for the carrier.
    Packed,
    /// Handed to the carrier (carrier and tracking number known).
    Shipped,
    /// The carrier reports it moving.
    InTransit,
    /// On the van to the customer.
    OutForDelivery,
    /// A delivery attempt failed; the carrier may try again or send it back.
    Failed,
    /// With the customer. Final.
    Delivered,
    /// Back with us. Final.
    Returned,
}

impl ShipmentStatus {
    /// Every status.
    pub const ALL: [ShipmentStatus; 8] = [
        ShipmentStatus::Pending,
        ShipmentStatus::Packed,
        ShipmentStatus::Shipped,
        ShipmentStatus::InTransit,
        ShipmentStatus::OutForDelivery,
        ShipmentStatus::Failed,
        ShipmentStatus::Delivered,
        ShipmentStatus::Returned,
    ];

    /// The status's name in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::Pending => "pending",
            ShipmentStatus::Packed => "packed",
            ShipmentStatus::Shipped => "shipped",
            ShipmentStatus::InTransit => "in_transit",
            ShipmentStatus::OutForDelivery => "out_for_delivery",
            ShipmentStatus::Failed => "failed",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Returned => "returned",
        }
    }

    /// Parses a status name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether nothing follows it.
    pub fn is_final(self) -> bool {
        matches!(self, ShipmentStatus::Delivered | ShipmentStatus::Returned)
    }

    /// Whether it is news from the road (decided by its time, not by staff progress).
    fn is_tracking(self) -> bool {
        matches!(
            self,
            ShipmentStatus::InTransit | ShipmentStatus::OutForDelivery | ShipmentStatus::Failed
        )
    }

    /// Whether the parcel has left us (carrier updates apply).
    pub fn is_on_its_way(self) -> bool {
        self >= ShipmentStatus::Shipped
    }
}

/// Who reported a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reporter {
    /// Stockroom itself (the shipment was created).
    System,
    /// A member of staff.
    Staff,
    /// The carrier, through the signed update endpoint.
    Carrier,
}

/// One step of a shipment's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub status: ShipmentStatus,
    /// When it happened, by the reporter's clock.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub reported_by: Reporter,
    /// The carrier's id for the update (repeats are ignored).
    #[serde(default)]
    pub event_id: Option<String>,
    /// Where, as the carrier names it.
    #[serde(default)]
    pub location: Option<String>,
    /// A short note.
    #[serde(default)]
    pub note: Option<String>,
}

/// One product's units in a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// Id: derived from the order and the warehouse, so the order's payment creates it once
    /// however often it is applied.
    pub id: String,
    pub order_id: String,
    pub customer_id: String,
    /// Where it ships from.
    pub warehouse_id: String,
    pub lines: Vec<ShipmentLine>,
    /// Derived from `timeline` ([`Shipment::status_of`]).
    pub status: ShipmentStatus,
    /// Set when shipped.
    pub carrier: Option<String>,
    /// Set when shipped; unique per carrier.
    pub tracking_number: Option<String>,
    /// Every checkpoint heard of, oldest first.
    pub timeline: Vec<Checkpoint>,
    /// Incremented by every change.
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Why a shipment change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShipmentRefused {
    /// The step does not follow from where the shipment is.
    Transition {
        from: ShipmentStatus,
        to: ShipmentStatus,
    },
    /// The timeline is full of checkpoints that all decide the status ([`MAX_CHECKPOINTS`]).
    TimelineFull,
}

impl std::fmt::Display for ShipmentRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShipmentRefused::Transition { from, to } => write!(
                f,
                "a {} shipment cannot become {}",
                from.as_str(),
                to.as_str()
            ),
            ShipmentRefused::TimelineFull => write!(
                f,
                "the shipment has {MAX_CHECKPOINTS} checkpoints already; no more are kept"
            ),
        }
    }
}

/// The id of the shipment of `order` from `warehouse`.
pub fn shipment_id(order_id: &str, warehouse_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("shipment:{order_id}:{warehouse_id}").as_bytes(),
    )
    .to_string()
}

impl Shipment {
    /// The shipments a paid order leaves in: one per warehouse its lines ship from, in the
    /// order the warehouses first appear among its lines.
    pub fn for_order(order: &Order, now: OffsetDateTime) -> Vec<Shipment> {
        let mut shipments: Vec<Shipment> = Vec::new();
        for line in &order.lines {
            let item = ShipmentLine {
                product_id: line.product_id.clone(),
                sku: line.sku.clone(),
                name: line.name.clone(),
                quantity: line.quantity,
            };
            match shipments
                .iter_mut()
                .find(|s| s.warehouse_id == line.warehouse_id)
            {
                Some(s) => s.lines.push(item),
                None => shipments.push(Shipment {
                    id: shipment_id(&order.id, &line.warehouse_id),
                    order_id: order.id.clone(),
                    customer_id: order.customer_id.clone(),
                    warehouse_id: line.warehouse_id.clone(),
                    lines: vec![item],
                    status: ShipmentStatus::Pending,
                    carrier: None,
                    tracking_number: None,
                    timeline: vec![Checkpoint {
                        status: ShipmentStatus::Pending,
                        at: now,
                        reported_by: Reporter::System,
                        event_id: None,
                        location: None,
                        note: None,
                    }],
                    version: 1,
                    created_at: now,
                    updated_at: now,
                }),
            }
        }
        shipments
    }

    /// The status a set of checkpoints means, whatever order they arrived in: the latest
    /// final one; else the latest from the road; else how far staff got.
    pub fn status_of(timeline: &[Checkpoint]) -> ShipmentStatus {
        let latest = |keep: fn(ShipmentStatus) -> bool| {
            timeline
                .iter()
                .filter(|c| keep(c.status))
                .max_by_key(|c| (c.at, c.status))
                .map(|c| c.status)
        };
        latest(ShipmentStatus::is_final)
            .or_else(|| latest(ShipmentStatus::is_tracking))
            .or_else(|| timeline.iter().map(|c| c.status).max())
            .unwrap_or(ShipmentStatus::Pending)
    }

    /// The shipment with `checkpoint` added (the oldest news from the road making room when
    /// the timeline is full); `None` when that leaves the timeline as it was.
    fn with(
        &self,
        checkpoint: Checkpoint,
        now: OffsetDateTime,
    ) -> Result<Option<Shipment>, ShipmentRefused> {
        let mut next = self.clone();
        // Ordered by time, then status and event id: the same set in any arrival order makes
        // the same timeline.
        let key = |c: &Checkpoint| (c.at, c.status, c.event_id.clone());
        let position = next
            .timeline
            .partition_point(|c| key(c) <= key(&checkpoint));
        next.timeline.insert(position, checkpoint);
        if next.timeline.len() > MAX_CHECKPOINTS {
            let oldest = next
                .timeline
                .iter()
                .position(|c| c.status.is_tracking())
                .ok_or(ShipmentRefused::TimelineFull)?;
            next.timeline.remove(oldest);
            if next.timeline == self.timeline {
                return Ok(None);
            }
        }
        next.status = Shipment::status_of(&next.timeline);
        next.version += 1;
        next.updated_at = now;
        Ok(Some(next))
    }

    /// Staff packed it.
    pub fn packed(&self, now: OffsetDateTime) -> Result<Option<Shipment>, ShipmentRefused> {
        match self.status {
            ShipmentStatus::Packed => Ok(None),
            ShipmentStatus::Pending => self.with(staff(ShipmentStatus::Packed, now), now),
            from => Err(ShipmentRefused::Transition {
                from,
                to: ShipmentStatus::Packed,
            }),
        }
    }

    /// Staff handed it to `carrier` under `tracking`. Shipping again with the same carrier
    /// and number changes nothing; with others it is refused.
    pub fn shipped(
        &self,
        carrier: &Carrier,
        now: OffsetDateTime,
    ) -> Result<Option<Shipment>, ShipmentRefused> {
        if self.status.is_on_its_way() {
            if self.carrier.as_deref() == Some(carrier.name.as_str())
                && self.tracking_number.as_deref() == Some(carrier.tracking_number.as_str())
            {
                return Ok(None);
            }
            return Err(ShipmentRefused::Transition {
                from: self.status,
                to: ShipmentStatus::Shipped,
            });
        }
        let Some(mut next) = self.with(staff(ShipmentStatus::Shipped, now), now)? else {
            return Ok(None);
        };
        next.carrier = Some(carrier.name.clone());
        next.tracking_number = Some(carrier.tracking_number.clone());
        Ok(Some(next))
    }

    /// A checkpoint from the road, reported by staff or the carrier. Refused before the
    /// parcel left us, or for a status only staff set; a repeated carrier event changes
    /// nothing.
    pub fn tracked(
        &self,
        checkpoint: Checkpoint,
        now: OffsetDateTime,
    ) -> Result<Option<Shipment>, ShipmentRefused> {
        let repeated = match &checkpoint.event_id {
            Some(id) => self
                .timeline
                .iter()
                .any(|c| c.event_id.as_ref() == Some(id)),
            // Staff saying again what the shipment already says.
            None => checkpoint.status == self.status,
        };
        if repeated {
            return Ok(None);
        }
        if !self.status.is_on_its_way() || checkpoint.status <= ShipmentStatus::Shipped {
            return Err(ShipmentRefused::Transition {
                from: self.status,
                to: checkpoint.status,
            });
        }
        self.with(checkpoint, now)
    }
}

fn staff(status: ShipmentStatus, now: OffsetDateTime) -> Checkpoint {
    Checkpoint {
        status,
        at: now,
        reported_by: Reporter::Staff,
        event_id: None,
        location: None,
        note: None,
    }
}

/// A carrier and the tracking number it gave a parcel, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    /// Lowercase code, e.g. `delhivery`.
    pub name: String,
    /// As the carrier prints it, uppercased.
    pub tracking_number: String,
}

impl Carrier {
    /// Parses a carrier code (letters, digits, `-`/`_`, up to 40) and a tracking number
    /// (letters, digits, `-`, up to 64), naming each bad field.
    pub fn parse(name: &str, tracking_number: &str) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = e.check("carrier", carrier_code(name));
        let tracking = e.check("tracking_number", tracking_code(tracking_number));
        e.finish(|| {
            Some(Self {
                name: name?,
                tracking_number: tracking?,
            })
        })
    }
}

fn carrier_code(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_lowercase();
    if code.is_empty() || code.len() > 40 {
        return Err("must be 1 to 40 characters".into());
    }
    code_characters(&code)?;
    Ok(code)
}

fn tracking_code(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty() || code.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!("'{code}' may hold only letters, digits and '-'"));
    }
    Ok(code)
}

/// A checkpoint as a client reports it (staff or carrier).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointInput {
    /// `in_transit`, `out_for_delivery`, `failed`, `delivered` or `returned`.
    pub status: String,
    /// When it happened (RFC 3339); default: now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl CheckpointInput {
    /// Parses the checkpoint, naming each bad field: a status from the road, a time not
    /// beyond [`CLOCK_SKEW`] ahead of `now`, short texts.
    pub fn parse(
        &self,
        reported_by: Reporter,
        event_id: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Checkpoint, FieldErrors> {
        let mut e = FieldErrors::new();
        let status = ShipmentStatus::parse(&self.status).filter(|s| *s > ShipmentStatus::Shipped);
        if status.is_none() {
            e.add(
                "status",
                format!(
                    "'{}' is not one of in_transit, out_for_delivery, failed, delivered, returned",
                    self.status
                ),
            );
        }
        let at = self.occurred_at.unwrap_or(now);
        if at > now + CLOCK_SKEW {
            e.add("occurred_at", "must not be in the future");
        }
        // Blank is absent: a carrier that sends "" must not lose its update over it.
        let present = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let location =
            present(&self.location).and_then(|l| e.check("location", bounded_text(&l, 1, 120)));
        let note = present(&self.note).and_then(|n| e.check("note", bounded_text(&n, 1, 500)));
        e.finish(|| {
            Some(Checkpoint {
                status: status?,
                at,
                reported_by,
                event_id,
                location,
                note,
            })
        })
    }
}

impl Shipment {
    /// The shipment as its reader may see it: staff see everything; its customer does not
    /// see the carrier's event ids.
    pub fn shown(&self, staff: bool) -> serde_json::Value {
        let mut v = serde_json::json!(self);
        if !staff
            && let Some(timeline) = v
                .get_mut("timeline")
                .and_then(serde_json::Value::as_array_mut)
        {
            for checkpoint in timeline
                .iter_mut()
                .filter_map(serde_json::Value::as_object_mut)
            {
                checkpoint.remove("event_id");
            }
        }
        v
    }
}

#[cfg(test)]
#[path = "shipment_test.rs"]
mod tests;
