//! A read-only copy of Apache's scoreboard (what mod_status shows): the shared memory every
//! Apache child and, when forked after it exists, every daemon process can read.

use std::ffi::CStr;

use super::sys;
pub use rwsgi_core::scoreboard::{ProcessScore, Snapshot, WorkerScore};

/// Whether this process can see a scoreboard (not in the Apache parent before its MPM
/// starts, nor in a process forked before that).
pub fn exists() -> bool {
    // SAFETY: reads one process global.
    unsafe { sys::ap_exists_scoreboard_image() != 0 }
}

/// Copies the scoreboard, or `None` when this process has none.
pub fn snapshot() -> Option<Snapshot> {
    if !exists() {
        return None;
    }
    // SAFETY: the scoreboard exists, so the global record does; it lives until Apache stops.
    let global = unsafe { sys::ap_get_scoreboard_global().as_ref() }?;
    let (server_limit, thread_limit) = (global.server_limit, global.thread_limit);
    let mut processes = Vec::new();
    for slot in 0..server_limit {
        // SAFETY: `slot` is below server_limit, the array's length.
        let Some(ps) = (unsafe { sys::ap_get_scoreboard_process(slot).as_ref() }) else {
            continue;
        };
        if ps.pid == 0 {
            continue;
        }
        let workers = (0..thread_limit)
            .map(|thread| {
                let mut ws = sys::worker_score::default();
                // SAFETY: both indexes are within the limits the scoreboard was sized for;
                // Apache copies the record into our struct.
                unsafe { sys::ap_copy_scoreboard_worker(&mut ws, slot, thread) };
                worker(&ws)
            })
            .collect();
        processes.push(ProcessScore {
            slot,
            pid: ps.pid,
            generation: ps.generation,
            quiescing: ps.quiescing != 0,
            workers,
        });
    }
    Some(Snapshot {
        server_limit,
        thread_limit,
        running_generation: global.running_generation,
        restart_time_us: global.restart_time,
        processes,
    })
}

// `unsigned long` is 32 bits on Windows.
#[allow(clippy::unnecessary_cast)]
fn worker(ws: &sys::worker_score) -> WorkerScore {
    WorkerScore {
        thread_num: ws.thread_num,
        generation: ws.generation,
        status: status_letter(ws.status),
        access_count: ws.access_count as u64,
        bytes_served: ws.bytes_served,
        start_time_us: ws.start_time,
        stop_time_us: ws.stop_time,
        last_used_us: ws.last_used,
        client: text(&ws.client64),
        request: text(&ws.request),
        vhost: text(&ws.vhost),
    }
}

/// mod_status's letters, by the `SERVER_*` value.
fn status_letter(status: u8) -> char {
    const LETTERS: &[u8; 11] = b".S_RWKLDCGI";
    LETTERS.get(status as usize).map_or('?', |&b| b as char)
}

/// A fixed-size, NUL-terminated C field (cut at its end if a writer raced us).
fn text(field: &[std::ffi::c_char]) -> String {
    // SAFETY: c_char and u8 have the same size and alignment.
    let bytes = unsafe { std::slice::from_raw_parts(field.as_ptr().cast::<u8>(), field.len()) };
    CStr::from_bytes_until_nul(bytes)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_letters_follow_mod_status() {
        assert_eq!(status_letter(0), '.');
        assert_eq!(status_letter(2), '_');
        assert_eq!(status_letter(4), 'W');
        assert_eq!(status_letter(10), 'I');
        assert_eq!(status_letter(11), '?');
    }

    #[test]
    fn text_stops_at_nul_and_survives_a_full_field() {
        let mut f = [0 as std::ffi::c_char; 8];
        for (d, s) in f.iter_mut().zip(b"GET /") {
            *d = *s as std::ffi::c_char;
        }
        assert_eq!(text(&f), "GET /");
        let full = [b'x' as std::ffi::c_char; 4];
        assert_eq!(text(&full), "xxxx");
    }
}
