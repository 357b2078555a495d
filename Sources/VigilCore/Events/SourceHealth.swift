/// Counters a source keeps about its input (serial lines, reconnects, DHT checksum failures, …),
/// reported in summaries and health events as `source_<name>` fields so a fleet can see a flaky cable
/// or a failing sensor before it sees missing data. Each source kind names its own counters.
public struct SourceCounters: Sendable, Equatable {
    public struct Count: Sendable, Equatable {
        /// `bad_lines`, `dht_checksum`: lower-case, `_`-separated; published as `source_<name>`.
        public var name: String
        public var value: Int
        public init(_ name: String, _ value: Int) { self.name = name; self.value = value }
    }
    public var source: String
    /// In the order they are published.
    public var counts: [Count]
    public init(source: String, counts: [Count] = []) { self.source = source; self.counts = counts }

    /// The count called `name`, 0 when the source does not keep it.
    public subscript(name: String) -> Int {
        get { counts.first { $0.name == name }?.value ?? 0 }
        set {
            if let i = counts.firstIndex(where: { $0.name == name }) { counts[i].value = newValue }
            else { counts.append(Count(name, newValue)) }
        }
    }
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
