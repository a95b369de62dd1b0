//! Serving HTTP: one accept loop deals connections round-robin to a fixed set of event-loop
//! threads, each a single-threaded runtime that runs its connections from start to end.
//!
//! Why not the work-stealing runtime: on a small machine its workers wake each other to
//! share every burst of ready connections, and those cross-thread wake-ups cost more than
//! a small request's own work (measured in `bench/RESULTS.md`). A connection never moves,
//! so one thread's sockets, timers and tasks stay on it, as in nginx's worker model. Heavy
//! work (hashing, file writes, metadata commits) already runs on blocking threads or the
//! metadata writer thread, so one long request does not stall its loop's other connections.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum::Router;
use tokio::sync::{mpsc, watch};

/// A connection the accept loop has taken, on its way to one event loop.
type Accepted = (std::net::TcpStream, SocketAddr);

/// How long a loop's idle blocking thread waits for work before it exits. Tokio's 10 s let
/// the pool shrink in every lull of a steady load and grow again in the next burst: each new
/// thread faults in a stack and fills an allocator cache, so RSS swung with the thread count
/// (18 to 32 threads, 3 MiB, in a 500 req/s soak). Kept for minutes, the pool settles at the
/// load's peak concurrency and stays there; the thread count is still bounded by that peak.
/// The main runtime ([`crate::server::main_runtime`]) keeps its idle threads as long.
pub const BLOCKING_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(300);

/// One event loop per core when the configuration leaves the count at 0.
pub fn thread_count(configured: usize) -> NonZeroUsize {
    NonZeroUsize::new(configured)
        .or_else(|| std::thread::available_parallelism().ok())
        .unwrap_or(NonZeroUsize::MIN)
}

/// Serves the router on `listener` with `threads` event loops until `shutdown` completes,
/// then stops accepting and waits for the requests in flight on every loop.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    threads: NonZeroUsize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let mut lanes = Vec::with_capacity(threads.get());
    let mut loops = Vec::with_capacity(threads.get());
    for index in 0..threads.get() {
        let (lane, incoming) = mpsc::unbounded_channel();
        let lane_listener = LaneListener { incoming, local };
        loops.push(spawn_event_loop(
            index,
            lane_listener,
            app.clone(),
            stopped.clone(),
        )?);
        lanes.push(lane);
    }
    accept_until(&listener, &lanes, shutdown).await;
    drop(listener);
    let _ = stop.send(true);
    drop(lanes);
    let results = tokio::task::spawn_blocking(move || {
        loops
            .into_iter()
            .map(|event_loop| event_loop.join())
            .collect::<Vec<_>>()
    })
    .await
    .map_err(std::io::Error::other)?;
    for result in results {
        result.map_err(|_| std::io::Error::other("an HTTP event loop panicked"))??;
    }
    Ok(())
}

/// Accepts until `shutdown`, handing each connection to the next loop in turn.
async fn accept_until(
    listener: &tokio::net::TcpListener,
    lanes: &[mpsc::UnboundedSender<Accepted>],
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(error) => {
                wait_after_accept_error(error).await;
                continue;
            }
        };
        // Leaves this runtime's reactor; the loop that takes it registers it with its own.
        match stream.into_std() {
            Ok(stream) => {
                // A loop only ends after the accept loop has, so its lane is open.
                let _ = lanes[next].send((stream, peer));
                next = (next + 1) % lanes.len();
            }
            Err(error) => tracing::warn!(%error, "cannot hand over an accepted connection"),
        }
    }
}

/// A peer that gave up before `accept` is no fault of ours; anything else (too many open
/// files) is logged, and accepting pauses for a second rather than spin on it.
async fn wait_after_accept_error(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn spawn_event_loop(
    index: usize,
    listener: LaneListener,
    app: Router,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<std::thread::JoinHandle<std::io::Result<()>>> {
    let runtime = event_loop_runtime(index)?;
    std::thread::Builder::new()
        .name(format!("fwrepo-http-{index}"))
        .spawn(move || {
            // Small answers go out at once rather than wait for the previous segment's ACK.
            let listener = listener.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            // The peer address reaches handlers: sign-in attempts are throttled per IP.
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            runtime.block_on(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        })
}

/// Loop `index`'s runtime; its blocking threads are named after it.
fn event_loop_runtime(index: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name(format!("fwrepo-http-{index}-blocking"))
        .thread_keep_alive(BLOCKING_THREAD_KEEP_ALIVE)
        .build()
}

/// The connections the accept loop dealt to one event loop.
struct LaneListener {
    incoming: mpsc::UnboundedReceiver<Accepted>,
    local: SocketAddr,
}

impl axum::serve::Listener for LaneListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some((stream, peer)) = self.incoming.recv().await else {
                // The accept loop has ended; the shutdown signal ends this loop's serving.
                return std::future::pending().await;
            };
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => return (stream, peer),
                Err(error) => tracing::warn!(%error, %peer, "cannot take over a connection"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use std::io::{Read, Write};

    /// Threads of this process whose name starts with `prefix` (the kernel keeps 15 bytes).
    fn threads_named(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    /// Runs a burst of four blocking tasks at once on `runtime`.
    fn blocking_burst(runtime: &tokio::runtime::Runtime) {
        let burst = std::sync::Arc::new(std::sync::Barrier::new(4));
        runtime.block_on(async {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let burst = std::sync::Arc::clone(&burst);
                    // Each waits for the others, so the burst needs four threads at once.
                    tokio::task::spawn_blocking(move || {
                        burst.wait();
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    }

    #[test]
    fn blocking_threads_outlive_a_lull_longer_than_tokios_default_keep_alive() {
        let event_loop = event_loop_runtime(7).unwrap();
        let main = crate::server::main_runtime().unwrap();
        blocking_burst(&event_loop);
        blocking_burst(&main);
        assert_eq!(threads_named("fwrepo-http-7-b"), 4);
        // The main runtime's workers carry its name too.
        let main_threads = threads_named("fwrepo-main");
        assert!(
            main_threads >= 4,
            "{main_threads} threads of the main runtime"
        );
        // Tokio's default keep-alive is 10 s: without ours, the bursts' threads would be gone.
        std::thread::sleep(Duration::from_secs(12));
        assert_eq!(threads_named("fwrepo-http-7-b"), 4);
        assert_eq!(threads_named("fwrepo-main"), main_threads);
    }

    /// The thread that served the request, and the peer address the handler saw.
    async fn whoami(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
        let thread = std::thread::current();
        format!("{} {peer}", thread.name().unwrap_or("unnamed"))
    }

    fn get_over_new_connection(address: SocketAddr) -> (String, SocketAddr) {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let local = stream.local_addr().unwrap();
        write!(
            stream,
            "GET /whoami HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap().to_owned();
        (body, local)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_are_dealt_round_robin_with_their_peer_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().route("/whoami", get(whoami));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            app,
            NonZeroUsize::new(3).unwrap(),
            async move {
                let _ = stopped.await;
            },
        ));
        let answers = tokio::task::spawn_blocking(move || {
            (0..6)
                .map(|_| get_over_new_connection(address))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        let threads: Vec<&str> = answers
            .iter()
            .map(|(body, _)| body.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            threads,
            [
                "fwrepo-http-0",
                "fwrepo-http-1",
                "fwrepo-http-2",
                "fwrepo-http-0",
                "fwrepo-http-1",
                "fwrepo-http-2"
            ]
        );
        for (body, local) in &answers {
            assert_eq!(body.split(' ').nth(1).unwrap(), local.to_string());
        }
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    #[test]
    fn zero_threads_means_one_per_core() {
        let cores = std::thread::available_parallelism().unwrap();
        assert_eq!(thread_count(0), cores);
        assert_eq!(thread_count(3).get(), 3);
    }
}
