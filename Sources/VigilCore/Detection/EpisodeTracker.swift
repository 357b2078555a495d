/// The reading that opened an anomaly episode (reported at once).
public struct EpisodeStart: Sendable, Equatable {
    public var id: Int
    public var wallNanos: Int64
    public var value: Double
    public var z: Double
    public var mean: Double
    public var std: Double
    /// `zscore`, `robust` or `ewma`.
    public var detector: DetectorKind

    public init(id: Int, wallNanos: Int64, value: Double, z: Double, mean: Double, std: Double, detector: DetectorKind = .zscore) {
        self.id = id; self.wallNanos = wallNanos; self.value = value; self.z = z; self.mean = mean; self.std = std
        self.detector = detector
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

/// Hysteresis from scores to episodes: |z| ≥ z_on opens one, |z| ≥ z_off keeps it going,
/// `end_after` calm readings in a row close it. Shared by the per-channel and multivariate detectors.
public struct EpisodeTracker: Sendable {
    public private(set) var zOn: Double
    public private(set) var zOff: Double
    public let endAfter: Int
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

    public init(zOn: Double, zOff: Double, endAfter: Int) {
        self.zOn = zOn; self.zOff = zOff; self.endAfter = endAfter
    }

    public var isOpen: Bool { open != nil }

    /// New thresholds (a false-alarm budget re-derived for a new cadence); an open episode goes on.
    public mutating func setThresholds(zOn: Double, zOff: Double) {
        self.zOn = zOn; self.zOff = zOff
    }

    public enum Step: Sendable, Equatable {
        case normal
        /// Opened an episode (its id).
        case started(Int)
        case anomalous
        case settling
        /// Closed an episode.
        case ended(Episode)
    }

    public mutating func step(z: Double, value: Double, wallNanos: Int64) -> Step {
        let magnitude = abs(z)
        guard var e = open else {
            guard magnitude >= zOn else { return .normal }
            episodesTotal += 1
            open = OpenEpisode(id: episodesTotal, startWall: wallNanos, lastWall: wallNanos, peakZ: magnitude,
                               peakSignedZ: z, peakValue: value, anomalous: 1, readings: 1, calm: 0)
            return .started(episodesTotal)
        }
        e.readings += 1
        if magnitude >= zOff {
            e.anomalous += 1
            e.calm = 0
            e.lastWall = wallNanos
            if magnitude > e.peakZ { e.peakZ = magnitude; e.peakSignedZ = z; e.peakValue = value }
            open = e
            return .anomalous
        }
        e.calm += 1
        if e.calm >= endAfter {
            open = nil
            return .ended(Self.close(e, at: wallNanos, reason: .recovered))
        }
        open = e
        return .settling
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
}
