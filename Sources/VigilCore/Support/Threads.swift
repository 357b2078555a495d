import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thread that could not be started: `pthread_create`'s error number.
///
/// The one way a failed thread start is handled: the service starting the thread stops what of it
/// already runs and throws this from its `start`; the service runner reports it once, stops the services
/// already started (in reverse) and the process exits with `EX_OSERR` — systemd restarts it later, when
/// the resources (threads, memory) may be back. Nothing asserts, nothing is swallowed.
public struct ThreadStartError: Error, Sendable, CustomStringConvertible {
    public var errno: Int32
    public init(errno: Int32) { self.errno = errno }
    public var description: String { "pthread_create: " + String(cString: strerror(errno)) }
}

/// Plain POSIX threads for the agent's long-running loops (sources, uplink, outbox sync, timers):
/// each blocks in its own system calls, which Swift concurrency's cooperative pool must not do.
public enum Threads {
    #if canImport(Darwin)
    public typealias Handle = pthread_t?
    #else
    public typealias Handle = pthread_t
    #endif

    /// Runs `body` on a new thread; join it with `pthread_join`. The closure (and what it captures)
    /// lives until the thread returns.
    public static func start(_ body: @escaping () -> Void) throws(ThreadStartError) -> Handle {
        final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw ThreadStartError(errno: rc)
        }
        return thread
    }
}

/// The threads one service runs, started one by one and joined together once the service told their
/// loops to end. Joining twice, or with none started, does nothing.
public final class ThreadGroup: Sendable {
    private let handles = Mutex<[Threads.Handle]>([])

    public init() {}

    /// Starts `body` on a new thread of the group. Throws `ThreadStartError` when it cannot: the caller
    /// ends the loops already started, `join`s them and passes the error on.
    public func start(_ body: @escaping () -> Void) throws(ThreadStartError) {
        let handle = try Threads.start(body)
        handles.withLock { $0.append(handle) }
    }

    /// Waits for every thread started so far to return.
    public func join() {
        for handle in handles.withLock({ h in defer { h = [] }; return h }) {
            #if canImport(Darwin)
            if let handle { pthread_join(handle, nil) }
            #else
            pthread_join(handle, nil)
            #endif
        }
    }
}
