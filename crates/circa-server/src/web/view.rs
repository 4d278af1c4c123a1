//! What every page shares: the navigation bar's facts and formatting of times and durations.

use circa_store::Millis;

use super::session::Viewer;

/// The navigation bar: who is signed in, and the CSRF token of the sign-out form.
#[derive(Clone, Debug)]
pub struct Nav {
    /// The user's login.
    pub login: String,
    /// Whether they administer the server (settings links).
    pub admin: bool,
    /// The CSRF token for forms.
    pub csrf: String,
}

impl Nav {
    /// The bar for a signed-in user.
    pub fn of(viewer: &Viewer) -> Nav {
        Nav {
            login: viewer.user.login.clone(),
            admin: viewer.is_admin(),
            csrf: viewer.csrf.clone(),
        }
    }
}

/// A duration for people: `850 ms`, `4.2 s`, `3m 07s`, `1h 02m`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m {:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h {:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// The time between two instants, when both are known.
pub fn span(start: Option<Millis>, stop: Option<Millis>) -> String {
    match (start, stop) {
        (Some(a), Some(b)) => duration(b - a),
        (Some(a), None) => format!("{} so far", duration(crate::state::now_ms() - a)),
        _ => String::new(),
    }
}

/// An instant as `2026-11-24 10:00:03 UTC`.
pub fn time(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The first 8 characters of a commit id.
pub fn short_sha(sha: &str) -> String {
    sha.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(4_200), "4.2 s");
        assert_eq!(duration(187_000), "3m 07s");
        assert_eq!(duration(3_720_000), "1h 02m");
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
    }
}
