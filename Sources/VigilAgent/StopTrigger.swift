import VigilSources
#if canImport(Glibc)
import Glibc
#endif

/// Why a run stopped.
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    /// SIGTERM (systemd's stop), SIGINT (Ctrl-C) or SIGHUP (a closed terminal; no reload yet).
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
/// first thing, before any thread starts (the outbox starts one when it opens).
public struct StopSignals: @unchecked Sendable {
    fileprivate var set: sigset_t

    public static func block() -> StopSignals {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        // Until the config can be reloaded, a hangup stops the agent as SIGTERM does, cleanly,
        // instead of killing it (the default action) with no closing status.
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
    public static func signals(_ signals: StopSignals, after seconds: Double? = nil, orWhen requested: StopSignal? = nil) -> StopTrigger {
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
                    if sigwait(&set, &received) == 0 { return .signal(received) }
                    continue
                }
                if slice <= 0 { return .durationElapsed }
                var timeout = timespec(tv_sec: Int(slice / 1_000_000_000), tv_nsec: Int(slice % 1_000_000_000))
                let received = sigtimedwait(&set, nil, &timeout)
                if received > 0 { return .signal(received) }
            }
        }
    }
}
