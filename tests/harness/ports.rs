//! Free ports for test servers; shared by the module's and rwsgi-express's tests.

use std::net::TcpListener;

/// A port nothing listens on. The kernel may hand the same free port to two tests running
/// side by side; one of them would then find the other's server "ready". Ports given out in
/// this process are never given out again.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}
