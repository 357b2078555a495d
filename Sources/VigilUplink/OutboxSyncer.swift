import Synchronization
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// When the outbox's writes become durable: the thread that runs the `batch` and `interval` sync policies
/// (`every_event` syncs in the appending thread), and the gate that lets one sync run at a time, so
/// appenders waiting at once share one `fdatasync` (group commit).
final class OutboxSyncer: Sendable {
    let policy: OutboxConfig.Sync
    /// Seconds between syncs under `.interval`.
    let interval: Double
    private let gate = Mutex<Void>(())
    private let wakeup = WakePipe()
    private let thread = Mutex<pthread_t?>(nil)
    private let stopping = Atomic<Bool>(false)

    init(policy: OutboxConfig.Sync, interval: Double) {
        self.policy = policy
        self.interval = interval
    }

    /// Runs `body` while no other sync runs (the outbox also closes its files only under it).
    func exclusive(_ body: () -> Void) {
        gate.withLock { _ in body() }
    }

    /// Starts the thread: `tick` runs soon after each append under `batch`, and every `interval` seconds
    /// under `.interval`; besides, a second after start and then a second after each `tick` that
    /// returned true (a failed disk to retry). The thread holds `tick` until `stop`.
    func start(_ tick: @escaping @Sendable () -> Bool) throws(ThreadStartError) {
        let handle = try Threads.start { [self] in run(tick) }
        thread.withLock { $0 = handle }
    }

    /// Something was written: under `batch`, sync it soon.
    func appended() {
        if policy == .batch { wakeup.signal() }
    }

    /// Stops the thread and waits for it. Safe to call twice, and when it never started.
    func stop() {
        let running = thread.withLock { t -> pthread_t? in defer { t = nil }; return t }
        stopping.store(true, ordering: .sequentiallyConsistent)
        if let running {
            wakeup.signal()
            pthread_join(running, nil)
        }
    }

    private var stopRequested: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    private func run(_ tick: () -> Bool) {
        var again = true
        while true {
            switch policy {
            case .interval:
                let deadline = ContinuousClock.now + .seconds(interval)
                while ContinuousClock.now < deadline, !stopRequested {
                    wakeup.wait(seconds: (deadline - ContinuousClock.now).seconds)
                }
            default:
                // Without a retry due, an idle outbox sleeps until an append or `stop` signals.
                wakeup.wait(seconds: again || policy != .batch ? 1 : 86_400)
            }
            if stopRequested { return }
            again = tick()
        }
    }
}
