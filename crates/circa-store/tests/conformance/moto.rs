//! A `moto_server` (an S3 stand-in) for tests; shared by path with circa's integration tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `moto_server` on a free port with a bucket `circa`, killed when dropped.
pub struct Moto {
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    child: Child,
}

impl Moto {
    /// Starts `executable` and makes the bucket `circa`.
    pub fn start(executable: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", executable.display()));
        let moto = Moto { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while moto.request("GET", "/") != Some(200) {
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            moto.request("PUT", "/circa"),
            Some(200),
            "create the bucket"
        );
        moto
    }

    /// A bare HTTP/1.1 request (moto does not check signatures); the response status.
    fn request(&self, method: &str, path: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
