//! A project's last 30 days as a server-rendered SVG chart: per day, the mean duration of the
//! workflows that finished (bars) and their success rate (dots).

use circa_model::WorkflowStatus;
use circa_store::{Millis, Workflow};

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

/// The chart of `workflows` for the 30 days up to `now`.
pub fn chart(workflows: &[Workflow], now: Millis) -> Chart {
    let start = now - DAYS * DAY_MS;
    let mut sums = vec![(0i64, 0u32, 0u32); DAYS as usize];
    for w in workflows {
        let Some(stopped) = w.stopped_at else {
            continue;
        };
        if w.created_at < start {
            continue;
        }
        let day = ((w.created_at - start) / DAY_MS).clamp(0, DAYS - 1) as usize;
        let e = &mut sums[day];
        e.0 += stopped - w.created_at;
        e.1 += 1;
        if w.status == WorkflowStatus::Success {
            e.2 += 1;
        }
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
