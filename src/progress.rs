//! Progress of long work: a bar on a terminal, or a log line every few seconds without one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::info;

/// How often progress is logged when there is no bar.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Progress of a build, zoom by zoom.
pub struct Progress {
    bar: Option<ProgressBar>,
    zoom: AtomicU64,
    total: AtomicU64,
    done: AtomicU64,
    last_log: Mutex<Instant>,
    zoom_started: Mutex<Instant>,
}

impl Progress {
    /// `bar` asks for an interactive bar (it is drawn only if stderr is a terminal).
    pub fn new(bar: bool) -> Progress {
        let bar = bar.then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:>6} [{bar:40}] {human_pos}/{human_len} tiles, {elapsed} elapsed, about {eta} left",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Progress {
            bar,
            zoom: AtomicU64::new(0),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            last_log: Mutex::new(Instant::now()),
            zoom_started: Mutex::new(Instant::now()),
        }
    }

    /// Starts the encoding of zooms `first..=last` (one bar for the batch).
    pub fn start_zooms(&self, first: u8, last: u8, tiles: u64) {
        self.zoom.store(u64::from(last), Ordering::Relaxed);
        self.total.store(tiles, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        *lock(&self.zoom_started) = Instant::now();
        if let Some(bar) = &self.bar {
            bar.set_prefix(zooms_label(first, last));
            bar.set_length(tiles);
            bar.set_position(0);
        }
    }

    pub fn inc(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
            return;
        }
        let mut last = lock(&self.last_log);
        if last.elapsed() >= LOG_EVERY {
            *last = Instant::now();
            let total = self.total.load(Ordering::Relaxed);
            info!(last_zoom = self.zoom.load(Ordering::Relaxed), done, total, "encoding");
        }
    }

    pub fn finish_zooms(&self, first: u8, last: u8) {
        let seconds = lock(&self.zoom_started).elapsed().as_secs_f64();
        let tiles = self.done.load(Ordering::Relaxed);
        let zooms = zooms_label(first, last);
        match &self.bar {
            Some(bar) => bar.println(format!("  {zooms}: {tiles} tiles encoded in {seconds:.2} s")),
            None => info!(zooms, tiles, seconds, "encoded"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn zooms_label(first: u8, last: u8) -> String {
    if first == last { format!("z{first}") } else { format!("z{first}-{last}") }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
