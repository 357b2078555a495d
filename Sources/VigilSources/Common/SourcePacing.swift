import VigilCore

/// Delay before the next attempt to open a device: starts at `min`, doubles after each failure up
/// to `max`, and starts over at `reset` (once a session worked).
public struct Backoff: Sendable {
    public let min: Int64
    public let max: Int64
    public private(set) var current: Int64

    public init(min: Int64, max: Int64) {
        self.min = min; self.max = Swift.max(max, min); current = min
    }

    /// The delay to wait now; the next one is twice as long (up to `max`).
    public mutating func next() -> Int64 {
        defer { current = Swift.min(current * 2, max) }
        return current
    }

    public mutating func reset() { current = min }
}

/// Waiting between reads without going deaf: sleeps until `deadline`, waking only when the sink
/// has time-driven work due (`ReadingSink.nextIdleDeadline`: a summary, a dropout check) to call
/// `sink.idle`, and at once when `stop` is raised.
enum SourcePacing {
    /// Returns false when it ended because `stop` was raised.
    @discardableResult
    static func sleep(untilMonotonic deadline: Int64, _ sink: ReadingSink, _ stop: StopSignal) -> Bool {
        while !stop.isRaised {
            let now = Clock.monotonicNanos()
            if now >= deadline { return true }
            // At least a millisecond, so a sink whose deadline does not move cannot make this spin.
            stop.sleep(untilMonotonic: min(deadline, max(sink.nextIdleDeadline(monoNanos: now), now + 1_000_000)))
            sink.idle(monoNanos: Clock.monotonicNanos(), wallNanos: Clock.wallNanos())
        }
        return false
    }
}
