//! A copy of Apache's scoreboard (what mod_status shows) as plain data: the fence reads it
//! from Apache's shared memory; `mod_wsgi.server_metrics()` turns it into Python data. An
//! exec'd daemon, which does not map that memory, asks its supervisor for a copy: one
//! request byte, answered by an [`answer`] frame (docs/daemon.md "Launch styles").

/// The scoreboard's global part plus every process slot that holds a live process.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub server_limit: i32,
    pub thread_limit: i32,
    pub running_generation: i32,
    /// Microseconds since the epoch of Apache's last (re)start.
    pub restart_time_us: i64,
    pub processes: Vec<ProcessScore>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProcessScore {
    /// Index of the slot (Apache's child number).
    pub slot: i32,
    pub pid: i32,
    pub generation: i32,
    pub quiescing: bool,
    pub workers: Vec<WorkerScore>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Length of the little-endian byte count that starts an answer.
pub const ANSWER_HEADER: usize = 4;

/// The supervisor's answer to one request: the JSON's length (4 bytes, little-endian),
/// then the JSON of the snapshot (`null` when it has none).
pub fn answer(snapshot: Option<&Snapshot>) -> Vec<u8> {
    // Plain data with string keys: serialising it cannot fail.
    let json = serde_json::to_vec(&snapshot).unwrap_or_else(|_| b"null".to_vec());
    let mut frame = Vec::with_capacity(ANSWER_HEADER + json.len());
    frame.extend_from_slice(&(json.len() as u32).to_le_bytes());
    frame.extend_from_slice(&json);
    frame
}

/// The length an answer's header announces.
pub fn answer_len(header: [u8; ANSWER_HEADER]) -> usize {
    u32::from_le_bytes(header) as usize
}

/// Why an answer's JSON could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("its answer is not a scoreboard: {0}")]
pub struct AnswerError(#[from] serde_json::Error);

/// An answer's JSON, read back: `None` when the supervisor had no scoreboard.
pub fn from_json(json: &[u8]) -> Result<Option<Snapshot>, AnswerError> {
    Ok(serde_json::from_slice(json)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            server_limit: 2,
            thread_limit: 25,
            running_generation: 3,
            restart_time_us: 1_760_000_000_123_456,
            processes: vec![ProcessScore {
                slot: 1,
                pid: 4242,
                generation: 3,
                quiescing: false,
                workers: vec![
                    WorkerScore {
                        thread_num: 0,
                        generation: 3,
                        status: 'W',
                        access_count: 17,
                        bytes_served: 1 << 40,
                        start_time_us: -1,
                        stop_time_us: 0,
                        last_used_us: 1_760_000_001_000_000,
                        client: "::1".into(),
                        request: "GET /m?\"ü\" HTTP/1.1".into(),
                        vhost: "localhost:80".into(),
                    },
                    idle_worker(),
                ],
            }],
        }
    }

    fn idle_worker() -> WorkerScore {
        WorkerScore {
            thread_num: 1,
            generation: 3,
            status: '_',
            access_count: 0,
            bytes_served: 0,
            start_time_us: 0,
            stop_time_us: 0,
            last_used_us: 0,
            client: String::new(),
            request: String::new(),
            vhost: String::new(),
        }
    }

    fn read_back(frame: &[u8]) -> Option<Snapshot> {
        let (header, json) = frame.split_at(ANSWER_HEADER);
        assert_eq!(answer_len(header.try_into().unwrap()), json.len());
        from_json(json).unwrap()
    }

    #[test]
    fn a_snapshot_survives_an_answer() {
        let board = snapshot();
        assert_eq!(read_back(&answer(Some(&board))), Some(board));
    }

    #[test]
    fn no_scoreboard_is_null() {
        let frame = answer(None);
        assert_eq!(&frame[ANSWER_HEADER..], b"null");
        assert_eq!(read_back(&frame), None);
    }

    #[test]
    fn a_truncated_answer_is_an_error() {
        let frame = answer(Some(&snapshot()));
        assert!(from_json(&frame[ANSWER_HEADER..frame.len() - 1]).is_err());
    }
}
