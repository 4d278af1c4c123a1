//! Timetables: CircleCI's (`per-hour`, `hours-of-day`, `days-of-week` or `days-of-month`,
//! `months`, in UTC) and Circa's (`cron` with a `timezone`), both turned into a cron line; and
//! the ticks of a cron line in a time zone, DST-correct through `croner` on `jiff`.

use circa_store::Millis;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff_02::Timestamp;
use jiff_02::tz::TimeZone;
use serde_json::Value;

/// A timetable that cannot be used; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimetableError(pub String);

fn bad(message: impl Into<String>) -> TimetableError {
    TimetableError(message.into())
}

/// Day names of `days-of-week`, Sunday first (cron's 0).
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/// Month names of `months`, January first (cron's 1).
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// A timetable read from an API body: the cron line and time zone it fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronForm {
    /// 5 fields, or 6 with seconds first (Circa's form only).
    pub cron: String,
    /// An IANA time zone name.
    pub timezone: String,
}

/// Reads an API timetable: Circa's `{"cron", "timezone"}` or CircleCI's fields. Checks that
/// the cron line parses and the time zone exists.
pub fn read_timetable(value: &Value) -> Result<CronForm, TimetableError> {
    let Some(map) = value.as_object() else {
        return Err(bad("timetable: must be an object"));
    };
    let form = if map.contains_key("cron") {
        if let Some(key) = map
            .keys()
            .find(|k| !["cron", "timezone"].contains(&k.as_str()))
        {
            return Err(bad(format!(
                "timetable.{key}: not allowed beside timetable.cron (give either a cron line or \
                 CircleCI's timetable fields)"
            )));
        }
        let cron = match map.get("cron") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                return Err(bad(
                    "timetable.cron: must be a cron line such as \"0 3 * * *\"",
                ));
            }
        };
        let timezone = match map.get("timezone") {
            None | Some(Value::Null) => "UTC".to_string(),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(_) => return Err(bad("timetable.timezone: must be a time zone name")),
        };
        CronForm { cron, timezone }
    } else {
        CronForm {
            cron: circleci_cron(map)?,
            timezone: "UTC".to_string(),
        }
    };
    Ticks::new(&form.cron, &form.timezone, Seconds::Optional)?;
    Ok(form)
}

/// CircleCI's timetable fields as a 5-field cron line (UTC).
fn circleci_cron(map: &serde_json::Map<String, Value>) -> Result<String, TimetableError> {
    const KNOWN: [&str; 5] = [
        "per-hour",
        "hours-of-day",
        "days-of-week",
        "days-of-month",
        "months",
    ];
    if let Some(key) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!("timetable.{key}: unknown field")));
    }
    let per_hour = match map.get("per-hour") {
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=60).contains(n))
            .ok_or_else(|| bad("timetable.per-hour: must be a whole number from 1 to 60"))?,
        None => return Err(bad("timetable.per-hour: is required")),
    };
    // `per-hour` times an hour, evenly spread from the top of the hour.
    let minutes: Vec<String> = (0..per_hour)
        .map(|i| (i * 60 / per_hour).to_string())
        .collect();
    let hours = numbers(map, "hours-of-day", 0, 23)?
        .ok_or_else(|| bad("timetable.hours-of-day: is required"))?;
    let dom = numbers(map, "days-of-month", 1, 31)?;
    let dow = names(map, "days-of-week", &DAYS, 0)?;
    let (dom, dow) = match (dom, dow) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "timetable.days-of-week: give days-of-week or days-of-month, not both",
            ));
        }
        (None, None) => {
            return Err(bad(
                "timetable.days-of-week: days-of-week or days-of-month is required",
            ));
        }
        (Some(dom), None) => (dom, "*".to_string()),
        (None, Some(dow)) => ("*".to_string(), dow),
    };
    let months = names(map, "months", &MONTHS, 1)?.unwrap_or_else(|| "*".to_string());
    Ok(format!(
        "{} {hours} {dom} {months} {dow}",
        minutes.join(",")
    ))
}

/// A non-empty list of whole numbers in `lo..=hi`, as a cron field; `None` when absent.
fn numbers(
    map: &serde_json::Map<String, Value>,
    key: &str,
    lo: u64,
    hi: u64,
) -> Result<Option<String>, TimetableError> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let message = || {
        bad(format!(
            "timetable.{key}: must be a non-empty list of whole numbers from {lo} to {hi}"
        ))
    };
    let items = value
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(message)?;
    let mut out: Vec<u64> = Vec::new();
    for item in items {
        let n = item
            .as_u64()
            .filter(|n| (lo..=hi).contains(n))
            .ok_or_else(message)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(Some(
        out.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
    ))
}

/// A non-empty list of three-letter names, as a cron field of their numbers (`first` is the
/// number of the first name); `None` when absent.
fn names(
    map: &serde_json::Map<String, Value>,
    key: &str,
    all: &[&str],
    first: usize,
) -> Result<Option<String>, TimetableError> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let message = || {
        bad(format!(
            "timetable.{key}: must be a non-empty list of {}",
            all.join(", ")
        ))
    };
    let items = value
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(message)?;
    let mut out: Vec<usize> = Vec::new();
    for item in items {
        let name = item.as_str().ok_or_else(message)?;
        let index = all
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
            .ok_or_else(message)?;
        if !out.contains(&(index + first)) {
            out.push(index + first);
        }
    }
    out.sort_unstable();
    Ok(Some(
        out.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
    ))
}

/// The ticks of a cron line in a time zone.
#[derive(Debug, Clone)]
pub struct Ticks {
    cron: Cron,
    zone: TimeZone,
}

impl Ticks {
    /// Parses a cron line (with `seconds`: whether a leading seconds field may be given) and
    /// finds the time zone.
    pub fn new(cron: &str, timezone: &str, seconds: Seconds) -> Result<Ticks, TimetableError> {
        let parsed = CronParser::builder()
            .seconds(seconds)
            .year(Year::Disallowed)
            .build()
            .parse(cron)
            .map_err(|e| bad(format!("timetable.cron: {cron:?} is not a cron line: {e}")))?;
        let zone = TimeZone::get(timezone).map_err(|_| {
            bad(format!(
                "timetable.timezone: {timezone:?} is not a known time zone (an IANA name such \
                 as \"Europe/Berlin\" or \"UTC\")"
            ))
        })?;
        Ok(Ticks { cron: parsed, zone })
    }

    /// Parses a stored schedule's cron line (either form).
    pub fn stored(cron: &str, timezone: &str) -> Result<Ticks, TimetableError> {
        Ticks::new(cron, timezone, Seconds::Optional)
    }

    /// The first tick strictly after `after`.
    pub fn next_after(&self, after: Millis) -> Option<Millis> {
        let start = Timestamp::from_millisecond(after)
            .ok()?
            .to_zoned(self.zone.clone());
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        Some(next.timestamp().as_millisecond())
    }

    /// The latest tick at or before `at`.
    pub fn latest_at_or_before(&self, at: Millis) -> Option<Millis> {
        // Ticks fall on whole seconds; a search from the whole second at or before `at`
        // includes it.
        let whole = at.div_euclid(1000) * 1000;
        let start = Timestamp::from_millisecond(whole)
            .ok()?
            .to_zoned(self.zone.clone());
        let previous = self.cron.find_previous_occurrence(&start, true).ok()?;
        Some(previous.timestamp().as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn ms(text: &str) -> Millis {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn at(value: Millis) -> String {
        Timestamp::from_millisecond(value).unwrap().to_string()
    }

    #[test]
    fn circleci_timetables_become_cron_lines() {
        let form = read_timetable(&json!({
            "per-hour": 3, "hours-of-day": [15, 1], "days-of-week": ["WED", "MON"]
        }))
        .unwrap();
        assert_eq!(form.cron, "0,20,40 1,15 * * 1,3");
        assert_eq!(form.timezone, "UTC");
        let form = read_timetable(&json!({
            "per-hour": 1, "hours-of-day": [0], "days-of-month": [1, 15], "months": ["DEC", "JAN"]
        }))
        .unwrap();
        assert_eq!(form.cron, "0 0 1,15 1,12 *");
        let every_minute = read_timetable(&json!({
            "per-hour": 60, "hours-of-day": (0..24).collect::<Vec<_>>(),
            "days-of-week": DAYS,
        }))
        .unwrap();
        let ticks = Ticks::stored(&every_minute.cron, "UTC").unwrap();
        assert_eq!(
            at(ticks.next_after(ms("2026-03-04T10:11:12.5Z")).unwrap()),
            "2026-03-04T10:12:00Z"
        );
        // 7 times an hour: spread from the top of the hour, rounded down.
        let form = read_timetable(&json!({
            "per-hour": 7, "hours-of-day": [2], "days-of-week": ["SUN"]
        }))
        .unwrap();
        assert_eq!(form.cron, "0,8,17,25,34,42,51 2 * * 0");
    }

    #[test]
    fn bad_timetables_name_the_field() {
        let cases = [
            (json!([]), "timetable:"),
            (
                json!({"hours-of-day": [1], "days-of-week": ["MON"]}),
                "timetable.per-hour",
            ),
            (
                json!({"per-hour": 0, "hours-of-day": [1], "days-of-week": ["MON"]}),
                "timetable.per-hour",
            ),
            (
                json!({"per-hour": 61, "hours-of-day": [1], "days-of-week": ["MON"]}),
                "timetable.per-hour",
            ),
            (
                json!({"per-hour": 1, "days-of-week": ["MON"]}),
                "timetable.hours-of-day",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [24], "days-of-week": ["MON"]}),
                "timetable.hours-of-day",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [], "days-of-week": ["MON"]}),
                "timetable.hours-of-day",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [1]}),
                "timetable.days-of-week",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [1], "days-of-week": ["MON"], "days-of-month": [1]}),
                "timetable.days-of-week",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [1], "days-of-week": ["MONDAY"]}),
                "timetable.days-of-week",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [1], "days-of-month": [0]}),
                "timetable.days-of-month",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [1], "days-of-month": [1], "months": ["JANUARY"]}),
                "timetable.months",
            ),
            (
                json!({"per-hour": 1, "hours-of-day": [1], "days-of-month": [1], "weeks": [1]}),
                "timetable.weeks",
            ),
            (json!({"cron": "61 * * * *"}), "timetable.cron"),
            (json!({"cron": ""}), "timetable.cron"),
            (json!({"cron": "* * * * * * *"}), "timetable.cron"),
            (
                json!({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}),
                "timetable.timezone",
            ),
            (
                json!({"cron": "0 3 * * *", "per-hour": 1}),
                "timetable.per-hour",
            ),
        ];
        for (value, field) in cases {
            let error = read_timetable(&value).unwrap_err().to_string();
            assert!(error.starts_with(field), "{value}: {error}");
        }
    }

    #[test]
    fn circa_cron_lines_take_a_time_zone_and_seconds() {
        let form =
            read_timetable(&json!({"cron": "30 2 * * *", "timezone": "Europe/Berlin"})).unwrap();
        let ticks = Ticks::stored(&form.cron, &form.timezone).unwrap();
        // 02:30 in Berlin is 01:30 UTC in winter.
        assert_eq!(
            at(ticks.next_after(ms("2026-01-10T00:00:00Z")).unwrap()),
            "2026-01-10T01:30:00Z"
        );
        let seconds = Ticks::stored("*/5 * * * * *", "UTC").unwrap();
        assert_eq!(
            at(seconds.next_after(ms("2026-01-10T00:00:03.9Z")).unwrap()),
            "2026-01-10T00:00:05Z"
        );
        assert_eq!(
            at(seconds.next_after(ms("2026-01-10T00:00:05Z")).unwrap()),
            "2026-01-10T00:00:10Z"
        );
        assert_eq!(
            at(seconds
                .latest_at_or_before(ms("2026-01-10T00:00:09.999Z"))
                .unwrap()),
            "2026-01-10T00:00:05Z"
        );
        assert_eq!(
            at(seconds
                .latest_at_or_before(ms("2026-01-10T00:00:10Z"))
                .unwrap()),
            "2026-01-10T00:00:10Z"
        );
        // CircleCI's own forms allow no seconds field.
        assert!(Ticks::new("*/5 * * * * *", "UTC", Seconds::Disallowed).is_err());
    }

    #[test]
    fn ticks_across_daylight_saving_time() {
        // Berlin springs forward on 2026-03-29: 02:00 becomes 03:00, so 02:30 does not exist
        // that day and the tick moves to the first valid time after the gap.
        let ticks = Ticks::stored("30 2 * * *", "Europe/Berlin").unwrap();
        let day_before = ticks.next_after(ms("2026-03-28T00:00:00Z")).unwrap();
        assert_eq!(at(day_before), "2026-03-28T01:30:00Z");
        let gap_day = ticks.next_after(day_before).unwrap();
        assert!(
            gap_day > ms("2026-03-29T00:00:00Z") && gap_day <= ms("2026-03-29T01:30:00Z"),
            "{}",
            at(gap_day)
        );
        let after = ticks.next_after(gap_day).unwrap();
        assert_eq!(at(after), "2026-03-30T00:30:00Z", "02:30 CEST is 00:30 UTC");

        // Falling back on 2026-10-25, 02:30 happens twice; a daily job fires once.
        let fall = ticks.next_after(ms("2026-10-24T12:00:00Z")).unwrap();
        let next = ticks.next_after(fall).unwrap();
        assert!(
            next - fall >= 23 * 3_600_000,
            "{} then {}",
            at(fall),
            at(next)
        );
        assert_eq!(at(ticks.next_after(next).unwrap()), "2026-10-27T01:30:00Z");

        // Hourly in New York across its spring gap: no tick is lost or doubled in UTC terms.
        let hourly = Ticks::stored("0 * * * *", "America/New_York").unwrap();
        let mut t = ms("2026-03-08T05:00:00Z");
        let mut seen = Vec::new();
        for _ in 0..4 {
            t = hourly.next_after(t).unwrap();
            seen.push(at(t));
        }
        assert_eq!(
            seen,
            [
                "2026-03-08T06:00:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T08:00:00Z",
                "2026-03-08T09:00:00Z"
            ]
        );
    }

    #[test]
    fn latest_tick_after_downtime_is_the_last_one_missed() {
        let ticks = Ticks::stored("0 * * * *", "UTC").unwrap();
        assert_eq!(
            at(ticks
                .latest_at_or_before(ms("2026-05-01T17:42:10Z"))
                .unwrap()),
            "2026-05-01T17:00:00Z"
        );
    }
}
