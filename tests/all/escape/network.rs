//! Sockets and the network.

use super::*;
use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A unix (or TCP) server on the host answering every connection with a secret.
struct Server {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    path: Option<PathBuf>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn unix_path(path: PathBuf) -> Server {
        let _ = std::fs::remove_file(&path);
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        Server::serve_unix(l, Some(path))
    }

    fn unix_abstract(name: &str) -> Server {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let l = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
        Server::serve_unix(l, None)
    }

    fn serve_unix(l: std::os::unix::net::UnixListener, path: Option<PathBuf>) -> Server {
        l.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        let handle = std::thread::spawn(move || {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = std::io::Write::write_all(&mut c, b"socket-secret-value\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            stop,
            path,
            handle: Some(handle),
        }
    }

    fn tcp() -> (Server, u16) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        let handle = std::thread::spawn(move || {
            while !st.load(std::sync::atomic::Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = std::io::Write::write_all(&mut c, b"socket-secret-value\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        (
            Server {
                stop,
                path: None,
                handle: Some(handle),
            },
            port,
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

const UNIX_CONNECT: &str = r#"
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    addr = A[0].encode()
    if addr.startswith(b'@'):
        addr = b'\0' + addr[1:]
    s.connect(addr)
    return recv_all(s)
report('r', conn)
"#;

// A path socket under /run served outside the box (docker.sock, systemd, D-Bus live there):
// /run is masked.
#[test]
fn unix_socket_in_run_unreachable() {
    let path = PathBuf::from(format!("/run/agentbox-test-{}.sock", std::process::id()));
    if !require("/run", Path::new("/run").is_dir()) {
        return;
    }
    let _srv = Server::unix_path(path.clone());
    let p = path.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "connect /run socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "connect /run socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &[(FULL, &["ENOENT"])],
        );
    }
}

// A path socket under /tmp served outside the box (ssh-agent, tmux, X11 live there): the box
// has a private /tmp.
#[test]
fn unix_socket_in_tmp_unreachable() {
    let path = PathBuf::from(format!("/tmp/agentbox-test-{}.sock", std::process::id()));
    let _srv = Server::unix_path(path.clone());
    let p = path.to_str().unwrap();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "connect /tmp socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "connect /tmp socket",
            UNIX_CONNECT,
            &[p],
            "r",
            &[(FULL, &["ENOENT"])],
        );
    }
}

// An abstract unix socket served outside (D-Bus, X11 and containerd use these): the network
// namespace separates them; without it, Landlock's abstract-socket scope must refuse.
#[test]
fn abstract_unix_socket_unreachable() {
    let name = format!("agentbox-test-{}", std::process::id());
    let _srv = Server::unix_abstract(&name);
    let at = format!("@{name}");
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "connect abstract",
            UNIX_CONNECT,
            &[&at],
            "r",
            &["LEAK"],
        );
        expect_box(
            &f,
            "connect abstract socket",
            UNIX_CONNECT,
            &[&at],
            "r",
            &[
                (FULL, &["ECONNREFUSED"]),
                (NO_NS, &["EPERM"]),
                (NO_SECCOMP, &["ECONNREFUSED"]),
            ],
        );
    }
}

// A TCP service on the host's loopback (databases, dev servers, cloud metadata proxies) and the
// outside network: network mode off.
#[test]
fn tcp_to_host_loopback_and_network_unreachable() {
    let (_srv, port) = Server::tcp();
    let body = r#"
def tcp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect((host, port))
    return recv_all(s)
report('loopback', lambda: tcp('127.0.0.1', int(A[0])))
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b'x', ('192.0.2.1', 53))
report('udp_out', udp)
report('tcp_out', lambda: tcp('192.0.2.1', 80))
"#;
    let p = port.to_string();
    for who in who() {
        let f = Fixture::new(who);
        expect_host(
            who,
            &f.ws,
            "tcp loopback",
            body,
            &[&p],
            "loopback",
            &["LEAK"],
        );
        let (out, v) = py_box(&f, FULL, body, &[&p]);
        let ctx = format!("[{who:?}] network");
        want(&ctx, &out, &v, "loopback", &["ECONNREFUSED"]);
        want(&ctx, &out, &v, "udp_out", &["ENETUNREACH"]);
        want(&ctx, &out, &v, "tcp_out", &["ENETUNREACH"]);
    }
}
