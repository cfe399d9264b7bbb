//! Threads that run events through the components, each driving a single-threaded tokio
//! runtime of its own.
//!
//! A request through a component hops between three tasks (the guest's call, the send
//! wasmtime spawns for it, the connection): on the service's work-stealing runtime each
//! hop may wake another thread, and the events of one account, which run one after
//! another, wait for whichever thread is free. On an executor thread an event's guest,
//! its requests and its connections stay on one thread, and accepting POSTs or writing the
//! queue never takes that thread's turn.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tokio::runtime::{Builder, Handle};
use tokio::task::{JoinError, JoinHandle};

/// Stops its threads when dropped (what still runs on them is dropped with them).
pub struct Executor {
    threads: Vec<Handle>,
    next: AtomicUsize,
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Executor {
    /// `threads` executor threads (at least one).
    pub fn new(threads: usize) -> std::io::Result<Executor> {
        let (mut handles, mut stops) = (Vec::new(), Vec::new());
        for index in 0..threads.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            handles.push(runtime.handle().clone());
            stops.push(stop);
            std::thread::Builder::new()
                .name(format!("domain-host-events-{index}"))
                .spawn(move || {
                    let _ = runtime.block_on(stopped);
                })?;
        }
        Ok(Executor {
            threads: handles,
            next: AtomicUsize::new(0),
            _stop: stops,
        })
    }

    /// Runs `work` on the next executor thread, in turn.
    pub fn spawn<F>(&self, work: F) -> Running<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.threads.len();
        Running(self.threads[index].spawn(work))
    }
}

/// Work on an executor thread: awaiting it gives its output (or how it stopped); dropping
/// it stops the work, as dropping the same future awaited in place would (a service that
/// gives up on a running event at the end of its shutdown grace leaves nothing running).
pub struct Running<T>(JoinHandle<T>);

impl<T> Future for Running<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Running<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_string()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_and_the_tasks_it_spawns_stay_on_one_executor_thread() {
        let executor = Executor::new(1).unwrap();
        let (outer, inner) = executor
            .spawn(async {
                let outer = thread_name();
                // What the work spawns (wasmtime's request futures, connection tasks)
                // lands on the same thread.
                let inner = tokio::spawn(async { thread_name() }).await.unwrap();
                (outer, inner)
            })
            .await
            .unwrap();
        assert_eq!(outer, "domain-host-events-0");
        assert_eq!(inner, "domain-host-events-0");
    }

    #[tokio::test]
    async fn several_threads_take_work_in_turn() {
        let executor = Executor::new(2).unwrap();
        let mut names = Vec::new();
        for _ in 0..4 {
            names.push(executor.spawn(async { thread_name() }).await.unwrap());
        }
        assert_eq!(
            names,
            [
                "domain-host-events-0",
                "domain-host-events-1",
                "domain-host-events-0",
                "domain-host-events-1"
            ]
        );
    }

    #[tokio::test]
    async fn a_panic_in_one_piece_of_work_is_its_own_error_and_the_thread_goes_on() {
        let executor = Executor::new(1).unwrap();
        let failed = executor.spawn(async { panic!("boom") }).await;
        assert!(failed.unwrap_err().is_panic());
        assert_eq!(executor.spawn(async { 7 }).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn dropping_the_handle_stops_the_work() {
        let executor = Executor::new(1).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let running = executor.spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        drop(running);
        // The work, and the sender it held, are gone.
        assert_eq!(
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await,
            Ok(None)
        );
    }

    #[test]
    fn dropping_the_executor_stops_its_threads() {
        let executor = Executor::new(1).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // A task that never finishes holds `tx`; it is dropped with the thread's runtime.
        let running = executor.spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await
        });
        drop(executor);
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(5)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
        drop(running);
    }
}
