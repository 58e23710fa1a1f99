//! The per-request metrics `mod_wsgi.request_metrics()` reports, aggregated over an
//! interval (from one call to the next), with mod_wsgi's phases and histogram.
//!
//! Phases of a request: *server* (Apache accepted it until the application, or until the
//! daemon was asked, in daemon mode), *queue* (waiting for a daemon thread), *daemon* (the
//! daemon thread until the application), *application* (the application ran); *request*
//! is their sum.

use std::collections::HashMap;

/// Histogram buckets per phase: 16 octaves from 1 ms by 4 linear steps each, below 1 ms
/// in the first, 65.536 s and over in the last.
pub const BUCKETS: usize = 65;

/// The histogram bucket of a duration in seconds.
pub fn bucket(seconds: f64) -> usize {
    let ms = seconds * 1000.0;
    if ms.is_nan() || ms < 1.0 {
        return 0;
    }
    if ms >= 65536.0 {
        return BUCKETS - 1;
    }
    // ms = m × 2^e with m in [1, 2): octave e, and the step within it from m.
    let octave = ms.log2().floor() as usize;
    let mantissa = ms / f64::powi(2.0, octave as i32);
    let step = (((mantissa - 1.0) * 4.0) as usize).min(3);
    octave * 4 + step
}

/// One phase over an interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub total_seconds: f64,
    pub buckets: [u64; BUCKETS],
    pub min_us: Option<u64>,
    pub max_us: Option<u64>,
}

impl Default for Phase {
    fn default() -> Phase {
        Phase {
            total_seconds: 0.0,
            buckets: [0; BUCKETS],
            min_us: None,
            max_us: None,
        }
    }
}

impl Phase {
    fn record(&mut self, us: u64) {
        let seconds = us as f64 / 1e6;
        self.total_seconds += seconds;
        self.min_us = Some(self.min_us.map_or(us, |m| m.min(us)));
        self.max_us = Some(self.max_us.map_or(us, |m| m.max(us)));
        self.buckets[bucket(seconds)] += 1;
    }
}

/// One finished request. Times are µs since the epoch; `queue_start_us` is 0 in
/// embedded mode.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub request_start_us: u64,
    pub queue_start_us: u64,
    pub daemon_start_us: u64,
    pub application_start_us: u64,
    pub application_finish_us: u64,
    pub input_bytes: u64,
    pub input_reads: u64,
    pub input_read_us: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    pub output_write_us: u64,
    pub gil_wait_count: u64,
    pub gil_wait_us: u64,
    /// The response status; 0 if the application never called `start_response`.
    pub status: u16,
    pub thread_id: u32,
}

/// What an interval's requests add up to.
#[derive(Clone, Debug, Default)]
pub struct Interval {
    pub requests: u64,
    pub server: Phase,
    pub queue: Phase,
    pub daemon: Phase,
    pub application: Phase,
    pub request: Phase,
    pub gil_wait: Phase,
    pub input_read: Phase,
    pub output_write: Phase,
    pub gil_wait_count: u64,
    /// Requests by status class: 1xx … 5xx (no status counts as 5xx).
    pub status: [u64; 5],
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    /// Requests completed, per thread id.
    pub completed_by_thread: HashMap<u32, u64>,
}

impl Interval {
    pub fn record(&mut self, s: &Sample) {
        let since = |later: u64, earlier: u64| later.saturating_sub(earlier);
        let (server, queue, daemon) = if s.queue_start_us != 0 {
            (
                since(s.queue_start_us, s.request_start_us),
                since(s.daemon_start_us, s.queue_start_us),
                since(s.application_start_us, s.daemon_start_us),
            )
        } else {
            (since(s.application_start_us, s.request_start_us), 0, 0)
        };
        let application = since(s.application_finish_us, s.application_start_us);
        self.requests += 1;
        self.server.record(server);
        if s.queue_start_us != 0 {
            self.queue.record(queue);
            self.daemon.record(daemon);
        }
        self.application.record(application);
        self.request.record(server + queue + daemon + application);
        self.gil_wait.record(s.gil_wait_us);
        self.input_read.record(s.input_read_us);
        self.output_write.record(s.output_write_us);
        self.gil_wait_count += s.gil_wait_count;
        let class = match s.status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        };
        self.status[class] += 1;
        self.input_bytes += s.input_bytes;
        self.input_reads += s.input_reads;
        self.output_bytes += s.output_bytes;
        self.output_writes += s.output_writes;
        *self.completed_by_thread.entry(s.thread_id).or_default() += 1;
    }

    /// The mean of `phase` per request of the interval.
    pub fn mean(&self, phase: &Phase) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            phase.total_seconds / self.requests as f64
        }
    }
}

/// Time spent with requests running, integrated over threads: with `n` requests running
/// for `t` seconds it grows by `n × t`.
#[derive(Clone, Debug, Default)]
pub struct Busy {
    running: u32,
    since_us: u64,
    busy_us: u64,
    started: u64,
}

impl Busy {
    fn advance(&mut self, now_us: u64) {
        self.busy_us += u64::from(self.running) * now_us.saturating_sub(self.since_us);
        self.since_us = now_us.max(self.since_us);
    }

    pub fn request_started(&mut self, now_us: u64) {
        self.advance(now_us);
        self.running += 1;
        self.started += 1;
    }

    pub fn request_ended(&mut self, now_us: u64) {
        self.advance(now_us);
        self.running = self.running.saturating_sub(1);
    }

    /// (busy seconds so far, requests started so far, requests running now).
    pub fn read(&mut self, now_us: u64) -> (f64, u64, u32) {
        self.advance(now_us);
        (self.busy_us as f64 / 1e6, self.started, self.running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_octaves_of_a_millisecond() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(0.0009), 0);
        assert_eq!(bucket(0.001), 0); // [1, 1.25) ms
        assert_eq!(bucket(0.00125), 1);
        assert_eq!(bucket(0.0019), 3);
        assert_eq!(bucket(0.002), 4); // [2, 2.5) ms
        assert_eq!(bucket(0.003), 6);
        assert_eq!(bucket(1.0), 39); // 1000 ms = 1.953 × 2^9
        assert_eq!(bucket(65.535), 63);
        assert_eq!(bucket(65.536), BUCKETS - 1);
        assert_eq!(bucket(f64::NAN), 0);
    }

    #[test]
    fn an_embedded_request_is_server_then_application_time() {
        let mut interval = Interval::default();
        interval.record(&Sample {
            request_start_us: 1_000,
            application_start_us: 1_500,
            application_finish_us: 11_500,
            status: 200,
            thread_id: 1,
            output_bytes: 12,
            output_writes: 1,
            ..Sample::default()
        });
        assert_eq!(interval.requests, 1);
        assert_eq!(interval.server.min_us, Some(500));
        assert_eq!(interval.application.max_us, Some(10_000));
        assert_eq!(interval.request.max_us, Some(10_500));
        assert_eq!(interval.queue.min_us, None);
        assert_eq!(interval.status, [0, 1, 0, 0, 0]);
        assert_eq!(interval.application.buckets[bucket(0.01)], 1);
        assert!((interval.mean(&interval.application) - 0.01).abs() < 1e-9);
    }

    #[test]
    fn a_daemon_request_has_queue_and_daemon_phases() {
        let mut interval = Interval::default();
        interval.record(&Sample {
            request_start_us: 100,
            queue_start_us: 300,
            daemon_start_us: 700,
            application_start_us: 800,
            application_finish_us: 1_800,
            status: 0,
            ..Sample::default()
        });
        assert_eq!(interval.server.max_us, Some(200));
        assert_eq!(interval.queue.max_us, Some(400));
        assert_eq!(interval.daemon.max_us, Some(100));
        assert_eq!(interval.request.max_us, Some(1_700));
        // No status at all is a server error.
        assert_eq!(interval.status, [0, 0, 0, 0, 1]);
    }

    #[test]
    fn busy_time_integrates_running_requests() {
        let mut busy = Busy::default();
        busy.request_started(1_000_000);
        busy.request_started(1_500_000);
        busy.request_ended(2_000_000);
        let (seconds, started, running) = busy.read(3_000_000);
        // One request for 1 s and another for 1.5 s so far.
        assert!((seconds - 2.5).abs() < 1e-9, "{seconds}");
        assert_eq!((started, running), (2, 1));
    }
}
