import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// Why a run stopped.
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    /// SIGTERM (systemd's stop), SIGINT (Ctrl-C), or SIGHUP where it does not reload.
    case signal(Int32)
    /// The run's `--duration` elapsed.
    case durationElapsed
    /// Something in the process asked (`vigil read --count` reached its count).
    case requested

    /// `Terminated`, `Interrupt`, `duration elapsed`, `stop requested`.
    public var description: String {
        switch self {
        case .signal(let n): return String(cString: strsignal(n))
        case .durationElapsed: return "duration elapsed"
        case .requested: return "stop requested"
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP, blocked in the calling thread and in every thread it starts afterwards, so they
/// stay pending until a `StopTrigger` waits for them: no handler runs in a random thread. Block them
/// first thing, before any thread starts (the outbox starts one when it opens). A hangup left blocked
/// stays pending until the trigger sees it, instead of killing the process (the default action) before
/// it can reload.
public struct StopSignals: @unchecked Sendable {
    fileprivate var set: sigset_t

    public static func block() -> StopSignals {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        return StopSignals(set: set)
    }
}

/// What ends a run: the runner calls `wait` once every service started, and stops them when it returns.
public struct StopTrigger: Sendable {
    public let wait: @Sendable () -> StopReason

    /// Any wait, e.g. a test's.
    public init(wait: @escaping @Sendable () -> StopReason) { self.wait = wait }

    /// Whichever comes first: one of `signals`, `after` seconds, or `requested` raised (checked every
    /// 100 ms; without it the thread sleeps in `sigwait`/`sigtimedwait` until a signal or the deadline).
    /// With `onHangup`, SIGHUP does not stop: it runs `onHangup` on the waiting thread and waits on.
    public static func signals(_ signals: StopSignals, after seconds: Double? = nil, orWhen requested: StopSignal? = nil,
                               onHangup: (@Sendable () -> Void)? = nil) -> StopTrigger {
        StopTrigger {
            var set = signals.set
            let deadline = seconds.map { Clock.monotonicNanos() + Int64(max(0, $0) * 1e9) }
            while true {
                if requested?.isRaised == true { return .requested }
                let now = Clock.monotonicNanos()
                var slice = deadline.map { $0 - now }
                if requested != nil { slice = min(slice ?? Int64.max, 100_000_000) }
                guard let slice else {
                    var received: Int32 = 0
                    if sigwait(&set, &received) == 0 {
                        if received == SIGHUP, let onHangup { onHangup(); continue }
                        return .signal(received)
                    }
                    continue
                }
                if slice <= 0 { return .durationElapsed }
                var timeout = timespec(tv_sec: Int(slice / 1_000_000_000), tv_nsec: Int(slice % 1_000_000_000))
                let received = sigtimedwait(&set, nil, &timeout)
                if received == SIGHUP, let onHangup { onHangup(); continue }
                if received > 0 { return .signal(received) }
            }
        }
    }
}
