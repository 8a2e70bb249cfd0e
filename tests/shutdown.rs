//! Graceful shutdown (issue #13, item 6): a `sync-server` told SIGTERM stops taking new
//! connections but finishes the sync it is in the middle of — the device gets its answer and
//! what it sent is stored — and then exits cleanly. A rolling upgrade behind the balancer
//! relies on this. The real server process; the request written by hand on a raw socket, so
//! the signal lands while the server is still reading its body.
//!
//! And the limits on a client that keeps the server waiting: a stalled request holds a
//! stopping server no longer than its grace period, and a connection whose headers or body
//! stop coming, or that stops taking its answer, is cut off after the idle timeout, while one
//! that keeps sending, or keeps taking its answer slowly, is not.

use homerehab_scenarios::*;
use homerehab_shared::sync::{wire, ClientRound};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_sync_in_flight_then_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(&tmp.path().join("server"));
    server.create_team("Hjemmepleje Nord");
    server.create_user("terapeut", "therapist", "Hjemmepleje Nord");
    server.create_user("assistent", "assistant", "Hjemmepleje Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let cit = citizen("Bodil Madsen");
    laptop.store().put_citizen(&cit).unwrap();
    let course = create_course(&laptop, cit.id);
    laptop.sync().await;

    // The tablet logs a session offline; its sync request is written by hand.
    let tablet = Device::login(&tmp.path().join("tablet"), &server, "assistent").await;
    tablet.sync().await;
    let session = log_session(&tablet, course);
    let body = {
        let mut store = tablet.store();
        let (_, req) = ClientRound::begin(&mut *store).unwrap();
        wire::encode(&req)
    };
    let token = tablet.me().token;
    let port = server.url().rsplit(':').next().unwrap().to_string();
    let mut socket = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let half = body.len() / 2;
    socket.write_all(head.as_bytes()).unwrap();
    socket.write_all(&body[..half]).unwrap();
    socket.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // SIGTERM while the server reads the body.
    let pid = server.pid().expect("the server runs") as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    // New connections are no longer taken...
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(format!("127.0.0.1:{port}")).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server still takes new connections 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // ...but the process lives on for the sync in flight.
    assert!(
        server.try_exit_status().is_none(),
        "the server exited with a sync in flight"
    );

    socket.write_all(&body[half..]).unwrap();
    socket.flush().unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]).to_string();
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "the sync in flight was answered: {text}"
    );
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block")
        + 4;
    assert!(
        answer[..split]
            .windows(b"connection: close".len())
            .any(|w| w.eq_ignore_ascii_case(b"connection: close")),
        "a shutting-down server closes the connection after the answer"
    );

    let status = server
        .wait_exit(Duration::from_secs(15))
        .expect("the server exits once the sync in flight is answered");
    assert!(status.success(), "a clean exit after SIGTERM: {status:?}");

    // What the tablet sent in that sync is stored: a colleague's fresh device receives it.
    server.restart();
    let other = Device::login(&tmp.path().join("other"), &server, "terapeut").await;
    other.sync().await;
    let sessions = other.store().sessions(course).unwrap();
    let stored = sessions
        .iter()
        .find(|s| s.id == session)
        .expect("the session sent during the shutdown is on the server");
    assert_eq!(stored.set_count, 24, "every set of it");
}

/// A sign-in whose body stops after its first bytes (100 declared).
const STALLED_SIGN_IN: &[u8] =
    b"POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
    Content-Length: 100\r\n\r\n{\"username\":";

/// A raw connection to `server` with a read timeout far beyond the limits tested.
fn raw_connection(server: &Server) -> TcpStream {
    let port = server.url().rsplit(':').next().unwrap().to_string();
    let socket = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    socket
}

/// Reads until the server closes the connection; what it said and how long it took. A read
/// that times out (the server still holding the connection open) fails the test.
fn read_until_closed(socket: &mut TcpStream) -> (String, Duration) {
    let start = Instant::now();
    let mut answer = Vec::new();
    match socket.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!(
            "the server still held the connection after {:?}: {e}",
            start.elapsed()
        ),
    }
    (
        String::from_utf8_lossy(&answer).to_string(),
        start.elapsed(),
    )
}

/// Sends `bytes` on a new connection and reads until the server closes it, which it must do
/// within 5 s (the limit tested is 1 s); what it answered.
fn cut_off(server: &Server, bytes: &[u8], what: &str) -> String {
    let mut socket = raw_connection(server);
    socket.write_all(bytes).unwrap();
    let (answer, waited) = read_until_closed(&mut socket);
    assert!(
        waited < Duration::from_secs(5),
        "{what} held the connection for {waited:?}"
    );
    answer
}

#[test]
fn a_stalled_request_holds_a_stopping_server_only_for_its_grace() {
    let tmp = tempfile::tempdir().unwrap();
    // The idle limit far off, so only the grace period can end the wait.
    let mut server = Server::start_with(
        &tmp.path().join("server"),
        &["--shutdown-grace-secs", "1", "--idle-timeout-secs", "600"],
    );
    let mut socket = raw_connection(&server);
    socket.write_all(STALLED_SIGN_IN).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let pid = server.pid().expect("the server runs") as libc::pid_t;
    let signalled = Instant::now();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("a request that never finishes does not keep the server from stopping");
    assert!(status.success(), "a clean exit: {status:?}");
    assert!(
        signalled.elapsed() >= Duration::from_millis(900),
        "the request in flight got its grace period first ({:?})",
        signalled.elapsed()
    );
}

#[test]
fn a_connection_that_stops_sending_is_cut_off_and_a_slow_steady_one_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(&tmp.path().join("server"), &["--idle-timeout-secs", "1"]);

    // Headers begun, never ended.
    cut_off(
        &server,
        b"POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Ty",
        "half a header block",
    );
    // Headers whole, the body stops after its first bytes: refused, closed.
    let answer = cut_off(&server, STALLED_SIGN_IN, "a stalled body");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a stalled body is not taken as a request: {answer}"
    );
    // A kept-alive connection with nothing more to ask is closed too.
    let answer = cut_off(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "an idle kept-alive connection",
    );
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "answered first: {answer}"
    );

    // A body sent a piece at a time, each well within the limit, takes longer than the limit
    // in all and is answered as usual (a wrong password: 401, so the request was read whole).
    let body = br#"{"username":"nobody","password":"not the password","actor_id":"00112233445566778899aabbccddeeff"}"#;
    let mut socket = raw_connection(&server);
    socket
        .write_all(
            format!(
                "POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Connection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    let started = Instant::now();
    for piece in body.chunks(body.len().div_ceil(5)) {
        std::thread::sleep(Duration::from_millis(500));
        socket.write_all(piece).unwrap();
    }
    let (answer, _) = read_until_closed(&mut socket);
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "the upload took longer than the limit in all"
    );
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "a slow but steady request is served: {answer}"
    );
}

/// Reads until the server closes the connection (or resets it): the bytes that arrived.
fn bytes_until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    match socket.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server still held the connection: {e}"),
    }
    answer
}

/// A client that asks for a big answer and stops taking it is cut off after the idle limit,
/// as one that stops sending is: it would otherwise hold the connection, and what is left of
/// the answer, for ever. One that takes it at once gets all of it, and so does one that takes
/// it slowly, a piece well within the limit at a time, for longer than the limit in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_the_client_stops_taking_is_given_up() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(&tmp.path().join("server"), &["--idle-timeout-secs", "3"]);
    server.create_team("Nord");
    server.create_user("terapeut", "therapist", "Nord");
    let laptop = Device::login(&tmp.path().join("laptop"), &server, "terapeut").await;
    let token = laptop.me().token;
    // Videos of 32 and 8 MiB: far more than the loopback socket's buffers take while nobody
    // reads (Debian's defaults: at most 6 MiB received and 4 MiB sent), and enough to take a
    // few seconds read slowly.
    let upload = |size: usize| {
        let (url, token) = (server.url(), token.clone());
        async move {
            let mut video = vec![0u8; size];
            let mut x: u32 = 2_654_435_761 ^ size as u32;
            for b in video.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            let sha256 = {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(&video))
            };
            let put = reqwest::Client::new()
                .put(format!("{url}/v1/media/{sha256}"))
                .bearer_auth(&token)
                .header("Content-Type", "video/mp4")
                .body(video.clone())
                .send()
                .await
                .unwrap();
            assert!(put.status().is_success(), "stored: {}", put.status());
            (video, sha256)
        }
    };
    let (big, big_sha) = upload(32 << 20).await;
    let (small, small_sha) = upload(8 << 20).await;
    let ask = |sha256: &str| {
        let mut socket = raw_connection(&server);
        socket
            .write_all(
                format!(
                    "GET /v1/media/{sha256} HTTP/1.1\r\nHost: x\r\n\
                     Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        socket
    };
    let whole = tokio::task::block_in_place(|| bytes_until_closed(&mut ask(&big_sha)));
    assert!(
        whole.starts_with(b"HTTP/1.1 200") && whole.ends_with(&big[big.len() - 1024..]),
        "taken at once, the whole video comes ({} bytes)",
        whole.len()
    );
    let stopped = tokio::task::block_in_place(|| {
        let mut socket = ask(&big_sha);
        std::thread::sleep(Duration::from_secs(8));
        bytes_until_closed(&mut socket)
    });
    assert!(
        stopped.starts_with(b"HTTP/1.1 200") && stopped.len() < whole.len() / 2,
        "not taken for 8 s with a limit of 3 s: given up after {} of {} bytes",
        stopped.len(),
        whole.len()
    );
    // A quarter of a MiB every fifth of a second: 8 MiB take 6.4 s, twice the limit. (A writer
    // the kernel blocked wakes once a third of its send buffer, some MiB, is taken: about a
    // second at this pace.)
    let (slowly, took) = tokio::task::block_in_place(|| {
        let mut socket = ask(&small_sha);
        let started = Instant::now();
        let mut got = Vec::new();
        let mut piece = vec![0u8; 256 << 10];
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let mut filled = 0;
            while filled < piece.len() {
                match socket.read(&mut piece[filled..]).unwrap() {
                    0 => break,
                    n => filled += n,
                }
            }
            got.extend_from_slice(&piece[..filled]);
            if filled < piece.len() {
                return (got, started.elapsed());
            }
        }
    });
    assert!(took > Duration::from_secs(5), "read for {took:?}");
    assert!(
        slowly.starts_with(b"HTTP/1.1 200") && slowly.ends_with(&small[small.len() - 1024..]),
        "taken slowly but steadily, the whole video comes ({} bytes)",
        slowly.len()
    );
}
