//! A real `nats-server -js` for a test: on a free loopback port, its store in a scratch
//! folder, stopped when dropped; and a client to look at its streams.
// Shared by the bus test binaries, each of which uses a part.
#![allow(dead_code)]

use super::common::Scratch;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running JetStream server.
pub struct Nats {
    child: Child,
    pub url: String,
    port: u16,
    store: Scratch,
}

impl Nats {
    /// Starts a server, or returns `None` (saying so in one line) when `nats-server` is not
    /// installed, unless `XDRMAP_REQUIRE_NATS=1` makes that a failure.
    pub fn start(name: &str) -> Option<Nats> {
        if Command::new("nats-server").arg("--version").output().is_err() {
            let required = std::env::var("XDRMAP_REQUIRE_NATS").is_ok_and(|v| v == "1");
            assert!(!required, "nats-server is missing and XDRMAP_REQUIRE_NATS=1: apt-get install nats-server");
            eprintln!("skipped: nats-server is not installed (apt-get install nats-server)");
            return None;
        }
        let store = Scratch::new(&format!("nats-{name}"));
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = spawn(port, &store);
        Some(Nats { child, url: format!("nats://127.0.0.1:{port}"), port, store })
    }

    /// Kills the server (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server killed, on the same port and store.
    pub fn start_again(&mut self) {
        self.child = spawn(self.port, &self.store);
    }

    /// A JetStream context on a client of this server.
    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(async_nats::connect(&self.url).await.expect("connects"))
    }
}

/// Starts `nats-server -js` on `port` with its store in `store`, and waits until it listens.
fn spawn(port: u16, store: &Scratch) -> Child {
    let child = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(&**store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many messages `stream` holds (0 while it does not exist).
pub async fn count(js: &async_nats::jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut s) => s.info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

/// Waits until `done` says yes, checking every 50 ms, for at most `secs`.
pub async fn wait_until<F: std::future::Future<Output = bool>>(secs: u64, mut done: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
