//! The process's own metrics, read from `/proc` at each scrape, under the names Prometheus'
//! client libraries give them (`process_*`, no `circa_` prefix) so that dashboards made for
//! them work as they are.

use std::fmt::Write;

/// What `/proc` says about this process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time.
    pub cpu_seconds: f64,
    /// Resident memory.
    pub resident_bytes: u64,
    /// Virtual memory.
    pub virtual_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit of open file descriptors, when it has one.
    pub max_fds: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

/// The process's stats; `None` where `/proc` cannot be read (another system).
pub fn read() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let ticks = clock_ticks()?;
    let times = parse_stat(&stat)?;
    Some(ProcessStats {
        cpu_seconds: (times.utime + times.stime) as f64 / ticks,
        resident_bytes: status_kib(&status, "VmRSS:")? * 1024,
        virtual_bytes: status_kib(&status, "VmSize:")? * 1024,
        open_fds: std::fs::read_dir("/proc/self/fd").ok()?.count() as u64,
        max_fds: max_open_files(&limits),
        start_time_seconds: boot_time(&boot)? as f64 + times.starttime as f64 / ticks,
    })
}

/// Clock ticks per second, the unit of `/proc/self/stat`'s times.
fn clock_ticks() -> Option<f64> {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    (ticks > 0).then_some(ticks as f64)
}

/// The times `/proc/self/stat` gives, in clock ticks.
#[derive(Debug, PartialEq, Eq)]
struct StatTimes {
    utime: u64,
    stime: u64,
    starttime: u64,
}

/// Reads `/proc/self/stat`: the fields after the command name (which is in parentheses and
/// may hold spaces and parentheses itself, so the last `)` ends it).
fn parse_stat(stat: &str) -> Option<StatTimes> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields from the third on (state is field 3): utime is 14, stime 15, starttime 22.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(StatTimes {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
    })
}

/// A `kB` line of `/proc/self/status` (`VmRSS:     1234 kB`).
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The boot time (`btime`) from `/proc/stat`, in seconds since the Unix epoch.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// The soft limit on the `Max open files` line of `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The stats in Prometheus' text format, each with its help and type.
pub fn render(stats: &ProcessStats, out: &mut String) {
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n"
        );
    };
    metric(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        stats.cpu_seconds,
    );
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        stats.resident_bytes as f64,
    );
    metric(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        stats.virtual_bytes as f64,
    );
    metric(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        stats.open_fds as f64,
    );
    if let Some(max) = stats.max_fds {
        metric(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            max as f64,
        );
    }
    metric(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        stats.start_time_seconds,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_is_skipped() {
        let stat = "4242 (circa (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    250 50 0 0 20 0 12 0 987654 123456789 2048 18446744073709551615";
        assert_eq!(
            parse_stat(stat),
            Some(StatTimes {
                utime: 250,
                stime: 50,
                starttime: 987654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_limits_and_boot_time_lines_are_read() {
        let status = "Name:\tcirca\nVmSize:\t  204800 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(status, "VmSize:"), Some(204800));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn this_process_reads_and_renders() {
        let stats = read().expect("/proc is there on Linux");
        assert!(stats.resident_bytes > 0 && stats.open_fds > 0);
        assert!(stats.start_time_seconds > 1_600_000_000.0);
        let mut text = String::new();
        render(&stats, &mut text);
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ")
        );
    }
}
