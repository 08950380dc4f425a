import NIOCore

/// Runs a task's jobs on one NIO event loop: a task that prefers it writes to that loop's
/// channels synchronously, in order with everything else the loop does.
///
/// `EventStore.withTransaction` runs each transaction on its connection's loop for that
/// order. A statement sent from another thread travels to the loop as a job of its own,
/// which can arrive after NIO has removed a closed channel's handlers (a job that a close
/// queues) and is then dropped unanswered: PostgresNIO 1.33 passes no promise with the
/// write. On the loop, the job that sends a statement was queued when the previous step on
/// the connection finished, before any removal that a later close queues, so the statement
/// meets a live connection or a closed one whose handler fails it at once.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
