//! How provider failures answer: the conversions live here, where the providers and the HTTP
//! errors meet, so neither layer knows the other.

use axum::http::StatusCode;

use crate::http::{ApiError, UpstreamFailure};
use crate::payments::PaymentError;
use crate::personas::ProviderError;

impl From<ProviderError> for ApiError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::Unavailable(_) => ApiError::Unavailable {
                dependency: "persona provider",
                source: e.to_string().into(),
            },
            ProviderError::InvalidOutput(_) | ProviderError::Refused(_) => {
                ApiError::BadGateway(e.to_string())
            }
        }
    }
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        let (status, slug, title, detail) = match &e {
            PaymentError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "payment-provider-unavailable",
                "Payment provider unavailable",
                "the payment provider did not answer in time; nothing was charged, retry shortly"
                    .to_owned(),
            ),
            PaymentError::Rejected { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "payment-rejected",
                "Payment provider refused the request",
                e.to_string(),
            ),
            PaymentError::ProviderFailed { .. } => (
                StatusCode::BAD_GATEWAY,
                "payment-provider-error",
                "Payment provider error",
                "the payment provider failed; nothing was charged, retry shortly".to_owned(),
            ),
            _ => (
                StatusCode::BAD_GATEWAY,
                "payment-provider-error",
                "Payment provider error",
                "the payment provider could not be used; this has been logged with the request id"
                    .to_owned(),
            ),
        };
        let field = match &e {
            PaymentError::Rejected { field, .. } => field.clone(),
            _ => None,
        };
        ApiError::Upstream(Box::new(UpstreamFailure {
            status,
            slug,
            title,
            detail,
            field,
            retryable: e.retryable(),
            source: Box::new(e),
        }))
    }
}
