//! A `xdrmap serve` process on loopback ports the system chooses, with its events and
//! rejects in a scratch folder; stopped (killed if need be) when dropped. Every wait is
//! bounded.

use super::common::Scratch;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const LINE: &str = "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443 - Destination 198.51.100.77:51822";

/// A good NetScaler line whose session id is `n` (so the order of events can be read back).
pub fn line(n: u64) -> String {
    LINE.replace("881", &n.to_string())
}

pub struct Server {
    child: Child,
    pub dir: Scratch,
    pub listeners: Vec<(String, SocketAddr)>,
    pub metrics: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `xdrmap serve ARGS -o events.jsonl --rejects rejects.jsonl --metrics …` (with
    /// no listener in ARGS, one TCP and one UDP listener on port 0).
    pub fn start(name: &str, args: &[&str]) -> Server {
        Server::start_in(Scratch::new(name), args)
    }

    pub fn start_in(dir: Scratch, args: &[&str]) -> Server {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if !args.iter().any(|a| matches!(*a, "--tcp" | "--udp" | "--tls")) {
            all.extend(["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"].map(String::from));
        }
        let events = dir.join("events.jsonl").display().to_string();
        let rejects = dir.join("rejects.jsonl").display().to_string();
        all.extend(["-o".into(), events, "--rejects".into(), rejects, "--metrics".into(), "127.0.0.1:0".into()]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_xdrmap"))
            .arg("serve")
            .args(&all)
            .current_dir(&*dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let kept = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let mut server = Server { child, dir, listeners: Vec::new(), metrics: "0.0.0.0:0".parse().unwrap(), stderr };
        assert!(server.wait_for(10, |s| s.stderr().contains("metrics on")), "did not start: {}", server.stderr());
        let text = server.stderr();
        let listening = text.lines().find_map(|l| l.strip_prefix("xdrmap: listening on ")).unwrap().to_string();
        for name in listening.split(", ") {
            let (protocol, addr) = name.split_once("://").unwrap();
            server.listeners.push((protocol.to_string(), addr.parse().unwrap()));
        }
        let metrics = text.lines().find_map(|l| l.strip_prefix("xdrmap: metrics on http://")).unwrap();
        server.metrics = metrics.trim_end_matches("/metrics").parse().unwrap();
        server
    }

    /// The address of the first listener of `protocol`.
    pub fn addr(&self, protocol: &str) -> SocketAddr {
        self.listeners.iter().find(|(p, _)| p == protocol).unwrap().1
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Polls `done` every 20 ms for at most `secs` seconds.
    pub fn wait_for(&self, secs: u64, done: impl Fn(&Server) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if done(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        done(self)
    }

    fn read_jsonl(&self, file: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        // A line still being written is not read yet.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        complete.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn events(&self) -> Vec<serde_json::Value> {
        self.read_jsonl("events.jsonl")
    }

    pub fn rejects(&self) -> Vec<serde_json::Value> {
        self.read_jsonl("rejects.jsonl")
    }

    /// Waits until events and rejects together number `n`.
    pub fn wait_for_results(&self, n: usize) -> bool {
        self.wait_for(20, |s| s.events().len() + s.rejects().len() >= n)
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then waits (at most 30 s) for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.stop_signalled()
    }

    /// Waits (at most 30 s) for the exit, the signal already sent.
    pub fn stop_signalled(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the stderr reader take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(Instant::now() < deadline, "did not stop: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GET `path` on the metrics listener: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(self.metrics).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).unwrap().parse().unwrap();
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
        (status, body)
    }

    /// The value of the metric written exactly as `series` (name and labels), or 0.
    pub fn metric(&self, series: &str) -> f64 {
        let (_, body) = self.get("/metrics");
        body.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection to `addr` that writes without delay.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s
}
