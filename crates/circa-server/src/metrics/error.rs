//! Why a scrape is not answered with metrics (`crate::error` turns it into an answer).

use circa_store::StoreError;

/// A scrape refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// No metrics token is configured: the main listener does not serve `/metrics`.
    #[error("metrics are not served here")]
    NotServed,
    /// No bearer token, or not the metrics token.
    #[error("a valid metrics bearer token is required")]
    Unauthorized,
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}
