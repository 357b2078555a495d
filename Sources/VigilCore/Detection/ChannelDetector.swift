/// What the detector made of one reading.
public struct Verdict: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// NaN or ±inf: counted, never entered the window.
        case dropped
        /// The window does not yet hold `warmup` readings.
        case warmingUp
        case normal
        /// Part of an anomaly episode (|z| ≥ z_on to start, ≥ z_off to continue).
        case anomalous
        /// Inside an episode but below z_off (counting toward its end).
        case settling
    }
    public var state: State
    /// z against the window before this reading joined it; NaN without a verdict.
    public var z: Double
    public var mean: Double
    public var std: Double
    /// Set on the reading that opened an episode.
    public var started: EpisodeStart?
    /// Set on the reading that closed an episode.
    public var ended: Episode?
}

public struct EpisodeStart: Sendable, Equatable {
    public var id: Int
    public var wallNanos: Int64
    public var value: Double
    public var z: Double
    public var mean: Double
    public var std: Double

    public init(id: Int, wallNanos: Int64, value: Double, z: Double, mean: Double, std: Double) {
        self.id = id; self.wallNanos = wallNanos; self.value = value; self.z = z; self.mean = mean; self.std = std
    }
}

/// One anomaly episode, reported when it ends.
public struct Episode: Sendable, Equatable {
    public enum EndReason: String, Sendable { case recovered, shutdown }
    public var id: Int
    public var startWallNanos: Int64
    /// Time of the last anomalous reading.
    public var lastWallNanos: Int64
    /// Time the end was declared.
    public var endWallNanos: Int64
    public var peakZ: Double
    public var peakValue: Double
    /// Readings with |z| ≥ z_off (z_on for the first) in the episode.
    public var anomalous: Int
    /// All readings from the start to the one that ended it.
    public var readings: Int
    public var reason: EndReason
    public var durationNanos: Int64 { lastWallNanos - startWallNanos }

    public init(id: Int, startWallNanos: Int64, lastWallNanos: Int64, endWallNanos: Int64, peakZ: Double,
                peakValue: Double, anomalous: Int, readings: Int, reason: EndReason) {
        self.id = id; self.startWallNanos = startWallNanos; self.lastWallNanos = lastWallNanos
        self.endWallNanos = endWallNanos; self.peakZ = peakZ; self.peakValue = peakValue
        self.anomalous = anomalous; self.readings = readings; self.reason = reason
    }
}

/// The per-channel detector: a rolling window, the windowed z-score with warm-up and a floor on
/// the standard deviation, hysteresis into episodes, and the running summary.
///
/// `process` is the hot path: it allocates nothing and costs a few nanoseconds.
public struct ChannelDetector: Sendable {
    public let settings: DetectorSettings
    public private(set) var window: RollingWindow
    public private(set) var summary = SummaryAccumulator()
    /// Readings dropped as NaN/±inf since start.
    public private(set) var droppedTotal = 0
    public private(set) var episodesTotal = 0

    private var open: OpenEpisode?

    private struct OpenEpisode {
        var id: Int
        var startWall: Int64
        var lastWall: Int64
        var peakZ: Double
        var peakSignedZ: Double
        var peakValue: Double
        var anomalous: Int
        var readings: Int
        var calm: Int
    }

    public init(settings: DetectorSettings) {
        self.settings = settings
        self.window = RollingWindow(capacity: settings.windowSize, maxAgeNanos: settings.windowDuration?.nanoseconds)
    }

    public var inEpisode: Bool { open != nil }

    /// Scores `value` against the window as it was before, then lets it join.
    /// - Parameters:
    ///   - monoNanos: monotonic time of the reading (ages the window).
    ///   - wallNanos: wall-clock time, Unix epoch nanoseconds (reported in events).
    public mutating func process(_ value: Double, monoNanos: Int64, wallNanos: Int64) -> Verdict {
        guard value.isFinite else {
            droppedTotal += 1
            summary.addDropped()
            return Verdict(state: .dropped, z: .nan, mean: window.mean, std: window.standardDeviation, started: nil, ended: nil)
        }
        window.evict(before: monoNanos)
        let mean = window.mean
        let std = window.standardDeviation
        var verdict = Verdict(state: .warmingUp, z: .nan, mean: mean, std: std, started: nil, ended: nil)
        if window.count >= settings.warmup {
            let z = (value - mean) / max(std, settings.stdFloor)
            verdict.z = z
            score(&verdict, value: value, z: z, wallNanos: wallNanos)
        }
        window.push(value, at: monoNanos)
        summary.add(value, wallNanos: wallNanos, anomalous: verdict.state == .anomalous, episodeStarted: verdict.started != nil)
        return verdict
    }

    private mutating func score(_ verdict: inout Verdict, value: Double, z: Double, wallNanos: Int64) {
        let magnitude = abs(z)
        guard var e = open else {
            if magnitude >= settings.zOn {
                episodesTotal += 1
                open = OpenEpisode(id: episodesTotal, startWall: wallNanos, lastWall: wallNanos, peakZ: magnitude,
                                   peakSignedZ: z, peakValue: value, anomalous: 1, readings: 1, calm: 0)
                verdict.state = .anomalous
                verdict.started = EpisodeStart(id: episodesTotal, wallNanos: wallNanos, value: value, z: z,
                                               mean: verdict.mean, std: verdict.std)
            } else {
                verdict.state = .normal
            }
            return
        }
        e.readings += 1
        if magnitude >= settings.zOff {
            e.anomalous += 1
            e.calm = 0
            e.lastWall = wallNanos
            if magnitude > e.peakZ { e.peakZ = magnitude; e.peakSignedZ = z; e.peakValue = value }
            verdict.state = .anomalous
            open = e
            return
        }
        e.calm += 1
        verdict.state = .settling
        if e.calm >= settings.endAfter {
            verdict.ended = Self.close(e, at: wallNanos, reason: .recovered)
            verdict.state = .normal
            open = nil
        } else {
            open = e
        }
    }

    private static func close(_ e: OpenEpisode, at wallNanos: Int64, reason: Episode.EndReason) -> Episode {
        Episode(id: e.id, startWallNanos: e.startWall, lastWallNanos: e.lastWall, endWallNanos: wallNanos,
                peakZ: e.peakSignedZ, peakValue: e.peakValue, anomalous: e.anomalous, readings: e.readings, reason: reason)
    }

    /// Ends an open episode because the agent is stopping; nil when none is open.
    public mutating func closeForShutdown(wallNanos: Int64) -> Episode? {
        guard let e = open else { return nil }
        open = nil
        return Self.close(e, at: wallNanos, reason: .shutdown)
    }

    /// Returns the summary since the last call and starts a new one.
    public mutating func takeSummary(endingAt wallNanos: Int64) -> Summary {
        let s = summary.finish(endingAt: wallNanos)
        summary = SummaryAccumulator(startingAt: wallNanos)
        return s
    }
}
