//! A project's last 30 days as a server-rendered SVG chart: per day, the mean duration of the
//! workflows that finished (bars) and their success rate (dots). The store sums the days
//! (`Store::workflow_days`), so drawing costs the same with any history.

use circa_store::{Millis, WorkflowDay};

/// Days shown.
pub const DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// The chart's drawing size.
pub const WIDTH: i64 = 600;
/// The chart's drawing height.
pub const HEIGHT: i64 = 120;

/// One day of the chart.
#[derive(Clone, Debug)]
pub struct Day {
    /// Left edge of the bar.
    pub x: i64,
    /// Top of the bar.
    pub y: i64,
    /// Bar width.
    pub w: i64,
    /// Bar height (mean duration).
    pub h: i64,
    /// The success-rate dot's height, when anything finished that day.
    pub rate_y: Option<i64>,
    /// What the day says, for the tooltip.
    pub title: String,
}

/// The whole chart.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// One entry per day, oldest first.
    pub days: Vec<Day>,
    /// Workflows that finished in the period.
    pub finished: usize,
    /// Their success rate, in percent.
    pub success_percent: u32,
}

/// The first instant the chart covers, for the 30 days up to `now`.
pub fn start(now: Millis) -> Millis {
    now - DAYS * DAY_MS
}

/// The length of one day of the chart, milliseconds.
pub const DAY: i64 = DAY_MS;

/// The chart of a project's workflows summed per day (day 0 starting at [`start`]).
pub fn chart(summed: &[WorkflowDay], now: Millis) -> Chart {
    let start = start(now);
    let mut sums = vec![(0i64, 0u32, 0u32); DAYS as usize];
    for d in summed {
        let day = d.day.clamp(0, DAYS - 1) as usize;
        let e = &mut sums[day];
        e.0 += d.total_ms;
        e.1 += u32::try_from(d.finished).unwrap_or(u32::MAX);
        e.2 += u32::try_from(d.succeeded).unwrap_or(u32::MAX);
    }
    let longest = sums
        .iter()
        .filter(|s| s.1 > 0)
        .map(|s| s.0 / i64::from(s.1))
        .max()
        .unwrap_or(1)
        .max(1);
    let slot = WIDTH / DAYS;
    let finished: u32 = sums.iter().map(|s| s.1).sum();
    let succeeded: u32 = sums.iter().map(|s| s.2).sum();
    let days = sums
        .iter()
        .enumerate()
        .map(|(i, &(total, n, ok))| {
            let date = super::view::time(start + i as i64 * DAY_MS);
            let date = date.split(' ').next().unwrap_or_default().to_string();
            if n == 0 {
                return Day {
                    x: i as i64 * slot + 2,
                    y: HEIGHT,
                    w: slot - 4,
                    h: 0,
                    rate_y: None,
                    title: format!("{date}: no workflows"),
                };
            }
            let mean = total / i64::from(n);
            let h = (mean * (HEIGHT - 10) / longest).max(2);
            let rate = f64::from(ok) / f64::from(n);
            Day {
                x: i as i64 * slot + 2,
                y: HEIGHT - h,
                w: slot - 4,
                h,
                rate_y: Some(HEIGHT - 4 - ((HEIGHT - 8) as f64 * rate) as i64),
                title: format!(
                    "{date}: {n} workflow(s), mean {}, {:.0}% succeeded",
                    super::view::duration(mean),
                    rate * 100.0
                ),
            }
        })
        .collect();
    Chart {
        days,
        finished: finished as usize,
        success_percent: (succeeded * 100).checked_div(finished).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_drawn_from_their_sums() {
        let now = 100 * DAY_MS;
        let c = chart(
            &[
                WorkflowDay {
                    day: 0,
                    finished: 2,
                    total_ms: 120_000,
                    succeeded: 1,
                },
                WorkflowDay {
                    day: 29,
                    finished: 1,
                    total_ms: 30_000,
                    succeeded: 1,
                },
            ],
            now,
        );
        assert_eq!(c.days.len(), DAYS as usize);
        assert_eq!((c.finished, c.success_percent), (3, 66));
        assert_eq!(
            c.days[0].h,
            HEIGHT - 10,
            "the longest mean fills the height"
        );
        assert!(
            c.days[0]
                .title
                .contains("2 workflow(s), mean 1m 00s, 50% succeeded")
        );
        assert_eq!(c.days[1].h, 0);
        assert!(c.days[29].h > 0 && c.days[29].h < c.days[0].h);
    }
}
