//! The store's interface, by area: one trait per area ([`ProjectStore`], [`PeopleStore`],
//! [`PipelineStore`], [`WorkflowStore`], [`QueueStore`], [`OutputStore`], [`SecretStore`],
//! [`ScheduleStore`], [`PageStore`], [`DeliveryStore`], [`CheckoutKeyStore`], [`GitAccessStore`], [`SshKeyStore`], [`ForgeStore`], [`OutboxStore`], [`MetricsStore`], [`ReplicaStore`]), each with a SQLite and a PostgreSQL implementation, and
//! [`Store`], every area at once: the one object the server holds (`Arc<dyn Store>`).
//!
//! Every method is one transaction. On a `dyn Store` every area's methods are callable as
//! they are; elsewhere `use circa_store::prelude::*;` brings them into scope.

use crate::error::StoreError;

mod checkout_keys;
mod deliveries;
mod forges;
mod git_access;
mod metrics;
mod output;
mod pages;
mod people;
mod pipelines;
mod projects;
mod queue;
mod replicas;
mod schedules;
mod secrets;
mod ssh_keys;
mod workflows;

pub use checkout_keys::CheckoutKeyStore;
pub use deliveries::{DELIVERY_RETENTION_MS, DeliveryStore};
pub use forges::{ForgeStore, OutboxStore};
pub use git_access::GitAccessStore;
pub use metrics::MetricsStore;
pub use output::OutputStore;
pub use pages::PageStore;
pub use people::PeopleStore;
pub use pipelines::PipelineStore;
pub use projects::ProjectStore;
pub use queue::QueueStore;
pub use replicas::ReplicaStore;
pub use schedules::ScheduleStore;
pub use secrets::SecretStore;
pub use ssh_keys::SshKeyStore;
pub use workflows::WorkflowStore;

/// A shorthand for the store's results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The server's state: every area of the store, behind one object.
pub trait Store:
    ProjectStore
    + PeopleStore
    + PipelineStore
    + WorkflowStore
    + QueueStore
    + OutputStore
    + SecretStore
    + ScheduleStore
    + PageStore
    + DeliveryStore
    + CheckoutKeyStore
    + ForgeStore
    + OutboxStore
    + GitAccessStore
    + SshKeyStore
    + MetricsStore
    + ReplicaStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: ProjectStore
        + PeopleStore
        + PipelineStore
        + WorkflowStore
        + QueueStore
        + OutputStore
        + SecretStore
        + ScheduleStore
        + PageStore
        + DeliveryStore
        + CheckoutKeyStore
        + ForgeStore
        + OutboxStore
        + GitAccessStore
        + SshKeyStore
        + MetricsStore
        + ReplicaStore
        + Send
        + Sync
        + 'static
{
}
