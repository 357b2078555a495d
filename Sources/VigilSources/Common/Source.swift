import Synchronization
import VigilCore
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

/// A sensor of some kind. Each runs on its own thread until told to stop; a failing source
/// retries on its own and never takes the rest of the agent down.
public protocol Source: AnyObject, Sendable {
    var name: String { get }
    var channels: [ChannelInfo] { get }
    /// Blocks, delivering readings, counters and up/down transitions to `sink`, until `stop` is raised.
    func run(into sink: ReadingSink, until stop: StopSignal)
}

/// A source's config that cannot be used: its `validate()` issues, or problems found when building it.
public struct SourceConfigError: Error, Sendable, CustomStringConvertible {
    /// Paths relative to the source entry, as the config's `validate()` gives them.
    public var issues: [ConfigIssue]
    public init(issues: [ConfigIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "; ") }
}

/// How loud a source's log line is; the agent maps it onto its logger.
public enum SourceLogLevel: Int, Sendable, Comparable {
    case debug, info, warning, error
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Where a source's log lines go (the agent's logger, with the source's name attached).
public typealias SourceLogger = @Sendable (SourceLogLevel, String) -> Void

/// A source whose device can go away and come back (a serial port, a gpiochip, a sysfs file): it
/// pushes each transition through its sink (`ReadingSink.sourceState`), and the agent publishes
/// them as `source_up`/`source_down` health events.
public protocol DeviceStateReporting: AnyObject {
    /// The device as the config names it: `/dev/ttyUSB0`, `vigil-sim line 4`.
    var portDescription: String { get }
}

/// The two clocks every reading carries.
public enum Clock {
    public static func monotonicNanos() -> Int64 { read(CLOCK_MONOTONIC) }
    public static func wallNanos() -> Int64 { read(CLOCK_REALTIME) }

    private static func read(_ id: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Sleeps until the monotonic clock reaches `deadline` (or returns at once if past).
    public static func sleep(untilMonotonic deadline: Int64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = Interrupts.retryReturningError { clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) }
    }
}
