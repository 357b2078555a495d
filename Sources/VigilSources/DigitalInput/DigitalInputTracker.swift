/// One digital input's state over windows, fed with its edges in time order. Pure: the GPIO source
/// feeds kernel timestamps, tests feed generated traces.
///
/// Debounce is a lockout: a change is taken at once, then the input is not looked at for `debounce`;
/// if it ended up on the other side when the lockout ends, that is the next change, taken at that
/// moment. Bounce therefore never counts, and a change that lasts is never lost, only delayed by at
/// most `debounce`.
public struct DigitalInputTracker: Sendable, Equatable {
    /// What one window gave.
    public struct Window: Sendable, Equatable {
        /// Changes to active in the window.
        public var activeEdges: Int
        /// Fraction of the window the input was active, 0…1.
        public var duty: Double
        /// The state at the end of the window.
        public var active: Bool
    }

    public let debounce: Int64
    /// The debounced state.
    public private(set) var active: Bool
    /// The last level an edge reported (may differ from `active` during a lockout).
    public private(set) var rawActive: Bool
    /// Edges that repeated the level before them: the kernel merged or lost an edge between.
    public private(set) var repeatedEdges = 0
    /// Edges fed in all.
    public private(set) var edges = 0
    public private(set) var windowStart: Int64
    private var since: Int64
    private var lastChange: Int64
    private var activeEdges = 0
    private var activeNanos: Int64 = 0

    public init(active: Bool, at t: Int64, debounce: Int64 = 0) {
        self.debounce = debounce
        self.active = active
        rawActive = active
        windowStart = t
        since = t
        lastChange = t - debounce
    }

    /// An edge at `t`: the input became active (`true`) or inactive.
    public mutating func edge(active newLevel: Bool, at time: Int64) {
        // An edge stamped before the window (read after it closed) counts at its start.
        let t = max(time, windowStart)
        edges += 1
        if newLevel == rawActive { repeatedEdges += 1 }
        settle(before: t)
        rawActive = newLevel
        if newLevel != active && t - lastChange >= debounce { change(to: newLevel, at: t) }
    }

    /// Ends the window at `end` and starts the next one there.
    public mutating func closeWindow(at end: Int64) -> Window {
        settle(before: end)
        if active { activeNanos += end - max(since, windowStart) }
        let length = end - windowStart
        let w = Window(activeEdges: activeEdges,
                       duty: length > 0 ? min(1, Double(activeNanos) / Double(length)) : (active ? 1 : 0),
                       active: active)
        windowStart = end
        activeEdges = 0
        activeNanos = 0
        return w
    }

    /// Takes a change that waited out its lockout before `t`.
    private mutating func settle(before t: Int64) {
        let lockoutEnd = lastChange + debounce
        if rawActive != active && lockoutEnd <= t { change(to: rawActive, at: max(lockoutEnd, windowStart)) }
    }

    private mutating func change(to newLevel: Bool, at t: Int64) {
        if active { activeNanos += t - max(since, windowStart) }
        active = newLevel
        since = t
        lastChange = t
        if newLevel { activeEdges += 1 }
    }
}
