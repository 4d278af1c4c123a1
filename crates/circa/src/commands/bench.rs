//! `circa bench config`: workload W1 — process every corpus config many times and compare with
//! parsing the same YAML alone. Prints `name: value unit` lines.

use crate::orb_dir::OrbDir;
use anyhow::{Context, bail};
use circa_config::{CompileOptions, OrbCache, compile, yaml};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Per-config timings.
struct Sample {
    name: String,
    process: Vec<Duration>,
    parse: Vec<Duration>,
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs W1 over `corpus/configs/*.yml` with orbs from `orb_dir` (default `corpus/orbs`).
pub fn config(
    corpus: &Path,
    orb_dir: Option<&Path>,
    iterations: usize,
) -> anyhow::Result<ExitCode> {
    if iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let configs_dir = corpus.join("configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&configs_dir)
        .with_context(|| format!("cannot list {}", configs_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    let orbs = OrbDir::new(orb_dir.map_or_else(|| corpus.join("orbs"), Path::to_path_buf));
    let cache = OrbCache::new();
    let mut options = CompileOptions::new(&orbs);
    options.orb_cache = Some(&cache);
    let mut samples = Vec::new();
    // The largest processed config: (bytes its expansion built, its YAML's length, its name).
    let mut largest = (0usize, 0usize, String::new());
    for file in &files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let limits = yaml::Limits::default();
        for _ in 0..3 {
            let compiled = compile(&bytes, &options);
            let processed = compiled.processed_yaml().map_or(0, |y| y.len());
            if compiled.built_bytes > largest.0 {
                largest = (compiled.built_bytes, processed, file.display().to_string());
            }
            let _ = yaml::load(&text, &limits);
        }
        let mut process = Vec::with_capacity(iterations);
        let mut parse = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            let out = compile(&bytes, &options).processed_yaml();
            process.push(t.elapsed());
            std::hint::black_box(out);
            let t = Instant::now();
            let tree = yaml::load(&text, &limits);
            parse.push(t.elapsed());
            std::hint::black_box(tree);
        }
        process.sort();
        parse.sort();
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        samples.push(Sample {
            name,
            process,
            parse,
        });
    }
    let mut medians = Vec::new();
    let mut all = Vec::new();
    let (mut total, mut parse_total) = (Duration::ZERO, Duration::ZERO);
    for s in &samples {
        let median = quantile(&s.process, 0.5);
        let parse_median = quantile(&s.parse, 0.5);
        println!("w1.{}.median: {:.3} ms", s.name, ms(median));
        println!(
            "w1.{}.p99: {:.3} ms",
            s.name,
            ms(quantile(&s.process, 0.99))
        );
        println!(
            "w1.{}.ratio: {:.2}",
            s.name,
            median.as_secs_f64() / parse_median.as_secs_f64().max(1e-9)
        );
        medians.push(median);
        all.extend_from_slice(&s.process);
        total += median;
        parse_total += parse_median;
    }
    medians.sort();
    all.sort();
    println!("w1.configs: {}", samples.len());
    println!("w1.median: {:.3} ms", ms(quantile(&medians, 0.5)));
    println!("w1.p99: {:.3} ms", ms(quantile(&all, 0.99)));
    println!("w1.total: {:.3} ms", ms(total));
    println!("w1.parse_total: {:.3} ms", ms(parse_total));
    // What the limits on expansion (circa_config::budget) are measured against.
    println!("w1.built_max: {} bytes ({})", largest.0, largest.2);
    println!("w1.built_max_processed_yaml: {} bytes", largest.1);
    println!(
        "w1_ratio: {:.2}",
        total.as_secs_f64() / parse_total.as_secs_f64().max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
