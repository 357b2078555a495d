/// Counters a source keeps about its input (serial lines, reconnects, …), reported in summaries
/// and health events so a fleet can see a flaky cable before it sees missing data.
public struct SourceCounters: Sendable, Equatable {
    public var source: String
    public var lines = 0
    public var readings = 0
    public var badLines = 0
    public var garbageLines = 0
    public var overlongLines = 0
    public var unknownFields = 0
    public var reconnects = 0
    public init(source: String) { self.source = source }
}

/// A source went down (device unplugged, pty closed, cannot open) or came back.
public struct SourceHealth: Sendable, Equatable {
    public var up: Bool
    /// The device, e.g. `/dev/ttyUSB0`.
    public var device: String
    /// Why, in the words of the OS or library (`No such file or directory`, `hang-up`).
    public var reason: String
    public var wallNanos: Int64
    public var counters: SourceCounters
    public init(up: Bool, device: String, reason: String, wallNanos: Int64, counters: SourceCounters) {
        self.up = up; self.device = device; self.reason = reason; self.wallNanos = wallNanos; self.counters = counters
    }
}

extension JSONWriter {
    /// The counters as flat `source_*` fields.
    mutating func sourceCounters(_ c: SourceCounters) {
        string("source", c.source)
        int("source_lines", c.lines)
        int("source_readings", c.readings)
        int("source_bad_lines", c.badLines)
        int("source_garbage_lines", c.garbageLines)
        int("source_overlong_lines", c.overlongLines)
        int("source_unknown_fields", c.unknownFields)
        int("source_reconnects", c.reconnects)
    }
}
