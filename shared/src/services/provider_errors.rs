//! How provider failures answer: the conversions live here, where the providers and the HTTP
//! errors meet, so neither layer knows the other.

use crate::http::ApiError;
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
