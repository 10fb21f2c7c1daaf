//! How failures from the layers below answer: storage errors and the domain's refusals
//! (stock movements, pricing, refunds, receipts) each become the problem a client can act on.

use super::ApiError;
use crate::domain::MAX_MINOR_UNITS;
use crate::domain::pricing::PricingRefused;
use crate::domain::purchasing::{OVER_RECEIPT_TOLERANCE_PERCENT, ReceiptRefused};
use crate::domain::refund::RefundRefused;
use crate::domain::shipment::ShipmentRefused;
use crate::domain::stock::MovementRefused;
use crate::store::{StoreError, Uniqueness};

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::NotFound("not found".into()),
            StoreError::Duplicate(Uniqueness::Sku) => {
                ApiError::Conflict("another product already has this SKU".into())
            }
            StoreError::Duplicate(Uniqueness::Barcode) => {
                ApiError::Conflict("another product already has this barcode".into())
            }
            StoreError::Duplicate(Uniqueness::WarehouseCode) => {
                ApiError::Conflict("another warehouse already has this code".into())
            }
            StoreError::Duplicate(Uniqueness::TrackingNumber) => ApiError::Conflict(
                "another shipment already has this carrier's tracking number".into(),
            ),
            StoreError::Duplicate(Uniqueness::WebhookDelivery) => {
                ApiError::Conflict("this delivery was already applied".into())
            }
            StoreError::Duplicate(Uniqueness::Email) => {
                ApiError::Conflict("an account with this e-mail address already exists".into())
            }
            StoreError::Duplicate(Uniqueness::GoogleAccount) => ApiError::Conflict(
                "this Google account already signs in to another account".into(),
            ),
            StoreError::LastAdmin => ApiError::Conflict(
                "this is the last active admin; promote another admin first".into(),
            ),
            StoreError::LimitReached => {
                ApiError::Conflict("a limit on open items was reached".into())
            }
            StoreError::Gone => ApiError::NotFound("revoked or expired".into()),
            StoreError::VersionMismatch => ApiError::PreconditionFailed(
                "the resource changed since you read it; fetch it again for its current ETag"
                    .into(),
            ),
            StoreError::BadCursor => ApiError::BadRequest(
                "the cursor does not belong to this listing; use next_cursor from the previous page"
                    .into(),
            ),
            StoreError::Rejected(source) => {
                tracing::warn!(error = %source, "dynamodb refused a value of a request");
                ApiError::BadRequest(
                    "a value in the request is empty or too long to look up".into(),
                )
            }
            StoreError::Unavailable(source) => ApiError::Unavailable {
                dependency: "DynamoDB",
                source,
            },
            StoreError::Internal(source) => ApiError::Internal(source),
        }
    }
}

/// Answers a missing item with a problem that names it, instead of the generic 404.
pub trait OrMissing<T> {
    /// `NotFound` becomes a 404 saying `no {what} with id '{id}'`.
    fn or_404(self, what: &str, id: &str) -> Result<T, ApiError>;
    /// `NotFound` becomes `missing()` (a 404, or a 422 naming the field that pointed at it).
    fn or_missing(self, missing: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T> OrMissing<T> for Result<T, StoreError> {
    fn or_404(self, what: &str, id: &str) -> Result<T, ApiError> {
        self.or_missing(|| ApiError::NotFound(format!("no {what} with id '{id}'")))
    }

    fn or_missing(self, missing: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            StoreError::NotFound => missing(),
            other => other.into(),
        })
    }
}

impl From<MovementRefused> for ApiError {
    fn from(refused: MovementRefused) -> Self {
        match refused {
            MovementRefused::Insufficient {
                available,
                requested,
            } => ApiError::InsufficientStock {
                available,
                requested,
            },
            MovementRefused::BelowReserved { counted, reserved } => ApiError::Conflict(format!(
                "counted {counted} is below the {reserved} units reserved; release reservations first"
            )),
        }
    }
}

impl From<RefundRefused> for ApiError {
    fn from(refused: RefundRefused) -> Self {
        match refused {
            RefundRefused::NotPaid(status) => ApiError::Conflict(format!(
                "the order is {}; only paid orders can be refunded",
                status.as_str()
            )),
            RefundRefused::RefundedInFull => {
                ApiError::Conflict("the order has been refunded in full".into())
            }
            RefundRefused::Invalid(errors) => errors.into(),
        }
    }
}

impl From<PricingRefused> for ApiError {
    fn from(refused: PricingRefused) -> Self {
        match refused {
            PricingRefused::MixedCurrencies {
                line,
                currency,
                earlier,
            } => ApiError::invalid(
                format!("lines[{line}].product_id"),
                format!(
                    "is priced in {currency} but earlier lines are in {earlier}; order them separately"
                ),
            ),
            PricingRefused::LineTooLarge { line } => ApiError::invalid(
                format!("lines[{line}].quantity"),
                "makes the order total too large",
            ),
            PricingRefused::TotalOutOfRange { total } => ApiError::invalid(
                "lines",
                format!(
                    "the order total must be above zero and at most {MAX_MINOR_UNITS}, got {total}"
                ),
            ),
        }
    }
}

impl From<ReceiptRefused> for ApiError {
    fn from(refused: ReceiptRefused) -> Self {
        match refused {
            ReceiptRefused::NotOpen(status) => ApiError::Conflict(format!(
                "the purchase order is {}; goods are received only against submitted orders",
                status.as_str()
            )),
            ReceiptRefused::NotOnOrder(product) => ApiError::invalid(
                "lines",
                format!("product '{product}' is not on this purchase order"),
            ),
            ReceiptRefused::OverReceipt {
                product_id,
                ordered,
                received,
                acceptable,
            } => ApiError::Conflict(format!(
                "product '{product_id}': {ordered} ordered, {received} received; at most {acceptable} more may be received ({}% over-receipt tolerance)",
                OVER_RECEIPT_TOLERANCE_PERCENT
            )),
        }
    }
}

impl From<ShipmentRefused> for ApiError {
    fn from(refused: ShipmentRefused) -> Self {
        ApiError::Conflict(refused.to_string())
    }
}
