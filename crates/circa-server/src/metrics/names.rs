//! The metrics' names, units and help texts, by Prometheus' conventions: a `circa_` prefix,
//! base units (seconds, bytes) in the name, `_total` on counters.

/// Queued tasks per resource class (gauge, label `resource_class`).
pub const QUEUE_DEPTH: &str = "circa_queue_depth";
/// Age of the oldest queued task per resource class (gauge, label `resource_class`).
pub const QUEUE_OLDEST_AGE: &str = "circa_queue_oldest_age_seconds";
/// Jobs whose first task a runner claimed (counter).
pub const JOBS_STARTED: &str = "circa_jobs_started_total";
/// Jobs that reached a final status (counter, label `status`).
pub const JOBS_FINISHED: &str = "circa_jobs_finished_total";
/// From the trigger that made a workflow to the claim of its first jobs' tasks (histogram).
pub const TRIGGER_TO_START: &str = "circa_trigger_to_start_seconds";
/// HTTP requests by route template, method and status class (histogram).
pub const HTTP_DURATION: &str = "circa_http_request_duration_seconds";
/// Runners that asked for work within the lease, per resource class (gauge).
pub const RUNNERS_CONNECTED: &str = "circa_runners_connected";
/// Database connections open (gauge).
pub const DB_CONNECTIONS_OPEN: &str = "circa_database_connections_open";
/// Database connections idle (gauge).
pub const DB_CONNECTIONS_IDLE: &str = "circa_database_connections_idle";
/// How long the scrape's database ping took (gauge).
pub const DB_PING: &str = "circa_database_ping_duration_seconds";
/// How long the scrape's grouped queue query took (gauge).
pub const DB_QUEUE_QUERY: &str = "circa_database_queue_query_duration_seconds";
/// Commit statuses waiting in the forge outbox (gauge).
pub const OUTBOX_BACKLOG: &str = "circa_forge_outbox_backlog";
/// Age of the oldest commit status waiting in the forge outbox (gauge).
pub const OUTBOX_OLDEST_AGE: &str = "circa_forge_outbox_oldest_age_seconds";
/// The server's version (gauge, always 1, label `version`).
pub const BUILD_INFO: &str = "circa_build_info";

/// Every metric the recorder holds, with its help text.
pub const DESCRIBED: [(&str, &str); 14] = [
    (
        QUEUE_DEPTH,
        "Tasks queued, waiting for a runner, per resource class.",
    ),
    (
        QUEUE_OLDEST_AGE,
        "Seconds the oldest queued task of a resource class has waited.",
    ),
    (JOBS_STARTED, "Jobs whose first task a runner claimed."),
    (
        JOBS_FINISHED,
        "Jobs that reached a final status, by status (approvals are not counted).",
    ),
    (
        TRIGGER_TO_START,
        "Seconds from the trigger that made a workflow to the claim of each of its first jobs.",
    ),
    (
        HTTP_DURATION,
        "Seconds to answer an HTTP request (to its headers), by route template, method and status class.",
    ),
    (
        RUNNERS_CONNECTED,
        "Runners that asked for work within the last lease, per resource class.",
    ),
    (DB_CONNECTIONS_OPEN, "Database connections open."),
    (
        DB_CONNECTIONS_IDLE,
        "Database connections not serving a query.",
    ),
    (
        DB_PING,
        "Seconds the database took to answer the scrape's ping.",
    ),
    (
        DB_QUEUE_QUERY,
        "Seconds the database took to count the queue for the scrape.",
    ),
    (
        OUTBOX_BACKLOG,
        "Commit statuses waiting in the forge outbox to be sent.",
    ),
    (
        OUTBOX_OLDEST_AGE,
        "Seconds the oldest commit status in the forge outbox has waited; 0 when none waits.",
    ),
    (BUILD_INFO, "The server's version, as a label; always 1."),
];

/// Buckets of the trigger-to-start histogram: from a fast dispatch to an hour's wait.
pub const TRIGGER_BUCKETS: [f64; 15] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// Buckets of the HTTP histogram: from a cached read to a long-poll claim.
pub const HTTP_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
