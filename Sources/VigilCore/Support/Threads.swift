#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thread that could not be started: `pthread_create`'s error number.
public struct ThreadStartError: Error, Sendable, CustomStringConvertible {
    public var errno: Int32
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
