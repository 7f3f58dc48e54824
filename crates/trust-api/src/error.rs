//! Errors as RFC 9457 problem documents (`application/problem+json`) with a stable `code`.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use trust_sigstore::embedded::local::LocalError;
use trust_sigstore::embedded::log::LogError;

/// An API error: HTTP status, stable code, human detail.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code (`request.invalid_json`, `store.unavailable` ...).
    pub code: String,
    /// What went wrong, for humans.
    pub detail: String,
}

/// The problem document body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary (the HTTP reason phrase).
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong.
    pub detail: String,
    /// Stable machine code.
    pub code: String,
}

impl ApiError {
    /// An error with status, code and detail.
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            detail: detail.into(),
        }
    }

    /// 400 with a code and message.
    pub fn bad_request(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 404 with a code and message.
    pub fn not_found(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("https://certus.dev/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], bytes).into_response()
    }
}

impl From<trust_store::Error> for ApiError {
    fn from(e: trust_store::Error) -> Self {
        let status = match e {
            trust_store::Error::NotFound(_) => StatusCode::NOT_FOUND,
            trust_store::Error::Conflict(_) => StatusCode::CONFLICT,
            trust_store::Error::InvalidInput(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<trust_sigstore::embedded::store::StoreError> for ApiError {
    fn from(e: trust_sigstore::embedded::store::StoreError) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, e.code(), e.to_string())
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        let status = match e {
            LogError::OutOfRange(_) => StatusCode::BAD_REQUEST,
            LogError::Duplicate(_) => StatusCode::CONFLICT,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<LocalError> for ApiError {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::InvalidInput(_) => Self::bad_request(e.code(), e.to_string()),
            LocalError::Log(l) => l.into(),
            other => Self::new(StatusCode::SERVICE_UNAVAILABLE, other.code(), other.to_string()),
        }
    }
}

/// A JSON request body, parsed with problem-document errors: 413 over the body limit, 400 with
/// the parser's line and column for malformed JSON or wrong fields.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(inner) if inner.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request.too_large",
                    "the request body exceeds the limit",
                )
            }
            other => ApiError::bad_request("request.unreadable", other.body_text()),
        })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                "request.empty",
                "the request body is empty; send a JSON object",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request("request.invalid_json", format!("invalid request: {e}")))
    }
}
