/// Statistics of one channel over one summary interval.
public struct Summary: Sendable, Equatable {
    public var fromWallNanos: Int64
    public var toWallNanos: Int64
    public var count: Int
    public var min: Double
    public var max: Double
    public var mean: Double
    /// Sample standard deviation; NaN below two readings.
    public var std: Double
    public var anomalies: Int
    public var episodes: Int
    public var dropped: Int
    /// Readings kept out of the window and the statistics because a health check (stuck, out of
    /// range, rate of change) was failing.
    public var unhealthy: Int
    /// The counters of the source the channel belongs to, when it keeps any (serial).
    public var sourceCounters: SourceCounters? = nil

    public init(fromWallNanos: Int64, toWallNanos: Int64, count: Int, min: Double, max: Double, mean: Double,
                std: Double, anomalies: Int, episodes: Int, dropped: Int, unhealthy: Int = 0) {
        self.fromWallNanos = fromWallNanos; self.toWallNanos = toWallNanos; self.count = count
        self.min = min; self.max = max; self.mean = mean; self.std = std
        self.anomalies = anomalies; self.episodes = episodes; self.dropped = dropped; self.unhealthy = unhealthy
    }
}

/// Running count/min/max/mean/variance (Welford) plus counters; O(1), no allocation.
public struct SummaryAccumulator: Sendable {
    public private(set) var startWallNanos: Int64?
    public private(set) var count = 0
    private var min = Double.infinity
    private var max = -Double.infinity
    private var mean = 0.0
    private var m2 = 0.0
    public private(set) var anomalies = 0
    public private(set) var episodes = 0
    public private(set) var dropped = 0
    public private(set) var unhealthy = 0

    public init(startingAt wallNanos: Int64? = nil) { startWallNanos = wallNanos }

    public mutating func add(_ x: Double, wallNanos: Int64, anomalous: Bool, episodeStarted: Bool) {
        if startWallNanos == nil { startWallNanos = wallNanos }
        count += 1
        if x < min { min = x }
        if x > max { max = x }
        let d = x - mean
        mean += d / Double(count)
        m2 += d * (x - mean)
        if anomalous { anomalies += 1 }
        if episodeStarted { episodes += 1 }
    }

    public mutating func addDropped() { dropped += 1 }
    public mutating func addUnhealthy() { unhealthy += 1 }

    public func finish(endingAt wallNanos: Int64) -> Summary {
        Summary(fromWallNanos: startWallNanos ?? wallNanos, toWallNanos: wallNanos, count: count,
                min: count > 0 ? min : .nan, max: count > 0 ? max : .nan, mean: count > 0 ? mean : .nan,
                std: count > 1 ? (m2 / Double(count - 1)).squareRoot() : .nan,
                anomalies: anomalies, episodes: episodes, dropped: dropped, unhealthy: unhealthy)
    }
}
