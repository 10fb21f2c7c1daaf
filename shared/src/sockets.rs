//! The WebSocket API's connections, reached through API Gateway's management API
//! (`POST/DELETE /@connections/{id}` on the stage's endpoint): the adapter the notifications
//! function sends with. SDK types stop here.

use aws_sdk_apigatewaymanagement::primitives::Blob;

/// Why a message did not reach a connection.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The connection has closed (API Gateway answers 410): forget it.
    #[error("the connection is gone")]
    Gone,
    /// API Gateway refused this one message (the client reads too slowly, the message is
    /// too large, the call is not allowed): trying again soon would fare the same.
    #[error("the message was refused: {0}")]
    Refused(String),
    /// Anything else (the endpoint unreachable, a server error): worth another try.
    #[error("posting to the connection failed: {0}")]
    Failed(String),
}

/// The connections of one WebSocket API stage.
#[derive(Debug, Clone)]
pub struct Sockets {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl Sockets {
    /// The connections of the stage whose management endpoint is `endpoint`
    /// (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` in AWS; the local
    /// gateway's address locally).
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }

    /// Sends `text` to `connection` as one message.
    pub async fn post(&self, connection: &str, text: &str) -> Result<(), SocketError> {
        self.client
            .post_to_connection()
            .connection_id(connection)
            .data(Blob::new(text.as_bytes()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_gone_exception() => SocketError::Gone,
                _ => SocketError::Failed(
                    aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&e).to_string(),
                ),
            })
    }

    /// Closes `connection` (one already gone is fine).
    pub async fn close(&self, connection: &str) -> Result<(), SocketError> {
        match self
            .client
            .delete_connection()
            .connection_id(connection)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(()),
            Err(e) => Err(SocketError::Failed(
                aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&e).to_string(),
            )),
        }
    }
}
