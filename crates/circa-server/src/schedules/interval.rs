//! The floor under how often a schedule fires: a cron line whose ticks come closer together
//! than the server's shortest interval (one minute unless configured) is refused, from the
//! API and from a config's legacy `triggers: schedule`.
//!
//! A cron line repeats its inner fields inside every unit of its outer ones, so the shortest
//! interval shows within its first few hundred ticks from any moment.

use std::time::Duration;

use circa_store::Millis;
use serde_json::Value;

use super::timetable::{CronForm, Ticks, TimetableError};

/// The ticks looked at for the shortest interval.
const TICKS_LOOKED_AT: usize = 512;

/// The shortest interval between consecutive ticks of `ticks` after `from`, among the first
/// [`TICKS_LOOKED_AT`]; `None` when there are fewer than two.
pub fn shortest_interval(ticks: &Ticks, from: Millis) -> Option<Duration> {
    let mut previous = ticks.next_after(from)?;
    let mut shortest: Option<Millis> = None;
    for _ in 1..TICKS_LOOKED_AT {
        let Some(next) = ticks.next_after(previous) else {
            break;
        };
        let gap = next - previous;
        shortest = Some(shortest.map_or(gap, |s| s.min(gap)));
        if gap < 1000 {
            break;
        }
        previous = next;
    }
    shortest.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// The interval a cron line fires at when it is shorter than `floor`.
pub fn too_frequent(ticks: &Ticks, floor: Duration, from: Millis) -> Option<Duration> {
    shortest_interval(ticks, from).filter(|gap| *gap < floor)
}

/// Refuses an API timetable whose ticks come closer than `floor`; the message names the field
/// (`timetable.cron`, or `timetable.per-hour` for CircleCI's form).
pub fn check_timetable(
    timetable: &Value,
    form: &CronForm,
    floor: Duration,
    now: Millis,
) -> Result<(), TimetableError> {
    let ticks = Ticks::stored(&form.cron, &form.timezone)?;
    let Some(gap) = too_frequent(&ticks, floor, now) else {
        return Ok(());
    };
    let field = if timetable.get("cron").is_some() {
        "timetable.cron"
    } else {
        "timetable.per-hour"
    };
    Err(TimetableError(format!(
        "{field}: fires every {}; this server runs a schedule at most once every {}",
        seconds(gap),
        seconds(floor)
    )))
}

/// A duration in whole seconds, as `60s`.
pub fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Millis = 1_772_000_000_000;
    const MINUTE: Duration = Duration::from_secs(60);

    fn gap(cron: &str) -> Option<Duration> {
        shortest_interval(&Ticks::stored(cron, "UTC").unwrap(), NOW)
    }

    #[test]
    fn the_shortest_interval_is_found_wherever_it_falls() {
        assert_eq!(gap("* * * * * *"), Some(Duration::from_secs(1)));
        assert_eq!(gap("*/3 * * * * *"), Some(Duration::from_secs(3)));
        assert_eq!(gap("* * * * *"), Some(MINUTE));
        assert_eq!(gap("0,59 * * * *"), Some(MINUTE));
        assert_eq!(gap("0,30 3 * * *"), Some(30 * MINUTE));
        assert_eq!(gap("10,11 9 * * 1"), Some(MINUTE));
        assert_eq!(gap("0 3 * * *"), Some(24 * 60 * MINUTE));
    }

    #[test]
    fn timetables_firing_more_often_than_the_floor_are_refused_naming_the_field() {
        let every_second = json!({"cron": "* * * * * *", "timezone": "UTC"});
        let form = super::super::timetable::read_timetable(&every_second).unwrap();
        let e = check_timetable(&every_second, &form, MINUTE, NOW).unwrap_err();
        assert_eq!(
            e.0,
            "timetable.cron: fires every 1s; this server runs a schedule at most once every 60s"
        );
        assert!(check_timetable(&every_second, &form, Duration::from_secs(1), NOW).is_ok());
        let every_minute = json!({"cron": "* * * * *"});
        let form = super::super::timetable::read_timetable(&every_minute).unwrap();
        assert!(check_timetable(&every_minute, &form, MINUTE, NOW).is_ok());
        let circleci = json!({"per-hour": 60, "hours-of-day": [1], "days-of-week": ["MON"]});
        let form = super::super::timetable::read_timetable(&circleci).unwrap();
        let e = check_timetable(&circleci, &form, 2 * MINUTE, NOW).unwrap_err();
        assert!(
            e.0.starts_with("timetable.per-hour: fires every 60s"),
            "{e}"
        );
    }
}
