//! A copy of Apache's scoreboard (what mod_status shows) as plain data: the fence reads it
//! from Apache's shared memory; `mod_wsgi.server_metrics()` turns it into Python data.

/// The scoreboard's global part plus every process slot that holds a live process.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub server_limit: i32,
    pub thread_limit: i32,
    pub running_generation: i32,
    /// Microseconds since the epoch of Apache's last (re)start.
    pub restart_time_us: i64,
    pub processes: Vec<ProcessScore>,
}

#[derive(Debug, Clone)]
pub struct ProcessScore {
    /// Index of the slot (Apache's child number).
    pub slot: i32,
    pub pid: i32,
    pub generation: i32,
    pub quiescing: bool,
    pub workers: Vec<WorkerScore>,
}

#[derive(Debug, Clone)]
pub struct WorkerScore {
    pub thread_num: i32,
    pub generation: i32,
    /// mod_status's letter for the worker's state (`_` ready, `W` writing, `.` dead, …).
    pub status: char,
    pub access_count: u64,
    pub bytes_served: i64,
    pub start_time_us: i64,
    pub stop_time_us: i64,
    pub last_used_us: i64,
    pub client: String,
    pub request: String,
    pub vhost: String,
}
