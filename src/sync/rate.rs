//! `--limit-rate`: a rate like `200k`, `1.5M` or `1m` (bytes per second, suffixes in multiples of 1024 as
//! curl reads them) and the token bucket that holds a transfer to it.

use std::time::{Duration, Instant};

/// Bytes per second from `200k`, `1.5M`, `1G`, `65536` (k/M/G case-insensitive, multiples of 1024).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale = match c.to_ascii_lowercase() {
                'k' => 1u64 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                _ => return Err(format!("`{s}`: unknown rate suffix `{c}` (use k, M or G)")),
            };
            (&t[..i], scale)
        }
        _ => (t, 1),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{s}`: not a rate (for example 200k, 1.5M)"))?;
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(format!("`{s}`: a rate must be at least 1 byte per second"));
    }
    Ok(bytes as u64)
}

/// A token bucket: [`Throttle::take`] sleeps as long as it takes to keep the average at `rate` bytes per
/// second, with bursts of at most a tenth of a second's worth.
#[derive(Debug)]
pub struct Throttle {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Throttle {
    pub fn new(rate: u64) -> Throttle {
        let rate = rate.max(1) as f64;
        let burst = (rate / 10.0).max(1024.0);
        Throttle { rate, burst, tokens: 0.0, last: Instant::now() }
    }

    /// How many bytes the next read may ask for, to keep sleeps short.
    pub fn chunk(&self) -> usize {
        (self.burst as usize).clamp(1024, 64 * 1024)
    }

    /// Accounts for `n` bytes just transferred, sleeping while the bucket is in debt.
    pub fn take(&mut self, n: usize) {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= n as f64;
        if self.tokens < 0.0 {
            std::thread::sleep(Duration::from_secs_f64(-self.tokens / self.rate));
            self.tokens = 0.0;
            self.last = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_like_curl() {
        assert_eq!(parse_rate("200k"), Ok(200 * 1024));
        assert_eq!(parse_rate("1.5M"), Ok(1_572_864));
        assert_eq!(parse_rate("1m"), Ok(1 << 20));
        assert_eq!(parse_rate("2G"), Ok(2 << 30));
        assert_eq!(parse_rate("65536"), Ok(65536));
        for bad in ["", "k", "fast", "10x", "-5k", "0"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_bucket_holds_the_average() {
        let mut throttle = Throttle::new(1 << 20);
        let started = Instant::now();
        for _ in 0..64 {
            throttle.take(8 * 1024);
        }
        // 512 KiB at 1 MiB/s: about half a second (less the first burst).
        let secs = started.elapsed().as_secs_f64();
        assert!((0.35..0.8).contains(&secs), "{secs}");
    }
}
