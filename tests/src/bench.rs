//! What the benchmarks share: timing, percentiles, and writing their section of
//! docs/PERFORMANCE.md (each bench owns one section and leaves the others as they are).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::root;

/// Samples of one operation.
pub struct Stats {
    /// What was measured.
    pub name: String,
    /// One duration per run.
    pub samples: Vec<Duration>,
}

impl Stats {
    /// The `p` quantile (0..=1), in milliseconds.
    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i].as_secs_f64() * 1000.0
    }

    /// A Markdown table row: name, samples, p50, p95, p99.
    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} |",
            self.name,
            self.samples.len(),
            self.percentile(0.5),
            self.percentile(0.95),
            self.percentile(0.99)
        )
    }
}

/// Runs `f` once, timed.
pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// Runs `f` `n` times (after `n / 10` warm-up runs).
pub fn micro(name: &str, n: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..n / 10 {
        f();
    }
    let samples = (0..n).map(|_| time(&mut f).1).collect();
    Stats {
        name: name.into(),
        samples,
    }
}

/// Named samples.
pub fn stats(name: &str, samples: Vec<Duration>) -> Stats {
    Stats {
        name: name.into(),
        samples,
    }
}

/// The table header matching [`Stats::row`].
pub fn table(rows: &[Stats]) -> String {
    let mut t =
        String::from("| operation | samples | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|\n");
    for row in rows {
        writeln!(t, "{}", row.row()).unwrap_or_default();
    }
    t
}

/// This machine, for the record.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{} cores, {cpu}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

const HEADER: &str = "# Performance\n\nReproduce with `make bench` (release build; starts its own \
DynamoDB Local and moto S3). This file is written by that command, one section per benchmark; \
the figures are from its last run.\n";

/// Replaces the section `id` of docs/PERFORMANCE.md with `body` (adding it if missing).
pub fn write_section(id: &str, body: &str) {
    let path = root().join("docs/PERFORMANCE.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = (
        format!("<!-- section: {id} -->"),
        format!("<!-- end: {id} -->"),
    );
    let section = format!("{start}\n{body}\n{end}");
    let mut doc = if current.starts_with("# Performance") && current.contains("<!-- section:") {
        current
    } else {
        format!("{HEADER}\n")
    };
    match (doc.find(&start), doc.find(&end)) {
        (Some(s), Some(e)) if s < e => doc.replace_range(s..e + end.len(), &section),
        _ => {
            doc.push('\n');
            doc.push_str(&section);
            doc.push('\n');
        }
    }
    std::fs::write(path, doc).unwrap_or_else(|e| panic!("writing docs/PERFORMANCE.md: {e}"));
}
