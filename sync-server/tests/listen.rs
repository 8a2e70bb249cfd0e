//! The listening socket queues a reconnect burst (issue #13): with the backlog tokio's `bind`
//! asks for (128), the kernel dropped most of a 1,000-device burst and the devices retried a
//! second later. Nobody accepts here, so every connection has to wait in the kernel's queue.

use std::time::Duration;

async fn burst(listener: &tokio::net::TcpListener, n: usize) -> usize {
    let addr = listener.local_addr().unwrap();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                // Under the kernel's first SYN retransmission (1 s): a dropped SYN shows.
                tokio::time::timeout(
                    Duration::from_millis(700),
                    tokio::net::TcpStream::connect(addr),
                )
                .await
            })
        })
        .collect();
    let mut connected = Vec::new();
    for t in tasks {
        if let Ok(Ok(stream)) = t.await.unwrap() {
            connected.push(stream);
        }
    }
    connected.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_connections_is_queued_not_dropped() {
    let n = 400;
    let server = homerehab_sync_server::http::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    assert_eq!(burst(&server, n).await, n, "every connection was queued");
    // The same burst against tokio's default backlog loses connections: what the test guards.
    let default = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let queued = burst(&default, n).await;
    assert!(queued < n, "tokio's default backlog queued all {queued}");
}
