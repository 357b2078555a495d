/// What the detector made of one reading.
public struct Verdict: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// NaN or ±inf: counted, never entered the window.
        case dropped
        /// Failed a health check (out of range, implausible jump, stuck): kept out of the window.
        case unhealthy
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
    /// The centre (mean, median or EWMA mean) and spread (std, 1.4826·MAD or EWMA std) scored against.
    public var mean: Double
    public var std: Double
    /// Set on the reading that opened an episode.
    public var started: EpisodeStart?
    /// Set on the reading that closed an episode.
    public var ended: Episode?
    /// The value that was scored: the reading, or its smoothed value when `smoothing` < 1.
    public var scored: Double = .nan
    /// The reading was anomalous and kept out of the window (`hold_out`).
    public var heldOut = false
    /// Health checks that started or ended on this reading.
    public var health = HealthVerdict()

    /// Inside an anomaly episode after this reading (what evaluation counts as a positive).
    public var inEpisode: Bool { state == .anomalous || state == .settling }
}

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
    public let zOn: Double
    public let zOff: Double
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

/// Exponentially weighted mean and variance (West's recurrence); O(1), no window.
/// The first readings use weight 1/n, so the estimate starts as a plain average.
public struct EwmaStats: Sendable {
    public let alpha: Double
    public private(set) var count = 0
    public private(set) var mean = Double.nan
    public private(set) var variance = Double.nan

    public init(alpha: Double) { self.alpha = alpha }

    public var standardDeviation: Double { variance.squareRoot() }

    public mutating func push(_ x: Double) {
        count += 1
        if count == 1 { mean = x; variance = 0; return }
        let a = max(alpha, 1 / Double(count))
        let d = x - mean
        let inc = a * d
        mean += inc
        variance = (1 - a) * (variance + d * inc)
    }
}

/// The per-channel detector: sensor health, an optional smoothing pre-filter, a baseline
/// (sliding window mean/std, sliding median/MAD, or EWMA mean/variance), the z-score with
/// warm-up and a floor on the spread, hysteresis into episodes, a bounded hold-out of anomalous
/// readings, and the running summary.
///
/// `process` is the hot path: it allocates nothing; O(1) for `zscore` and `ewma`, O(log² n) for `robust`.
public struct ChannelDetector: Sendable {
    public let settings: DetectorSettings
    /// The `zscore` baseline (a two-slot stub for the other kinds).
    public private(set) var window: RollingWindow
    public private(set) var robust: RobustWindow?
    public private(set) var ewma: EwmaStats?
    public private(set) var health: HealthMonitor
    public private(set) var summary = SummaryAccumulator()
    /// Readings dropped as NaN/±inf since start.
    public private(set) var droppedTotal = 0
    /// Readings kept out of the baseline by a health check since start.
    public private(set) var unhealthyTotal = 0
    private var tracker: EpisodeTracker
    private var smoothed = Double.nan
    private var heldInEpisode = 0

    public init(settings: DetectorSettings) {
        self.settings = settings
        let age = settings.windowDuration?.nanoseconds
        switch settings.kind {
        case .zscore:
            window = RollingWindow(capacity: settings.windowSize, maxAgeNanos: age)
        case .robust:
            window = RollingWindow(capacity: 2)
            robust = RobustWindow(capacity: settings.windowSize, maxAgeNanos: age)
        case .ewma:
            window = RollingWindow(capacity: 2)
            ewma = EwmaStats(alpha: settings.effectiveAlpha)
        }
        health = HealthMonitor(settings: settings.health)
        tracker = EpisodeTracker(zOn: settings.zOn, zOff: settings.zOff, endAfter: settings.endAfter)
    }

    public var inEpisode: Bool { tracker.isOpen }
    public var episodesTotal: Int { tracker.episodesTotal }

    /// Readings the baseline holds (for `ewma`: readings it has seen).
    public var baselineCount: Int {
        switch settings.kind {
        case .zscore: return window.count
        case .robust: return robust!.count
        case .ewma: return ewma!.count
        }
    }

    /// The centre and spread a reading would be scored against now.
    public var band: (center: Double, spread: Double) {
        switch settings.kind {
        case .zscore: return (window.mean, window.standardDeviation)
        case .robust: return (robust!.median, robust!.scale)
        case .ewma: return (ewma!.mean, ewma!.standardDeviation)
        }
    }

    /// Scores `value` against the baseline as it was before, then (unless held out) lets it join.
    /// - Parameters:
    ///   - monoNanos: monotonic time of the reading (ages the window).
    ///   - wallNanos: wall-clock time, Unix epoch nanoseconds (reported in events).
    public mutating func process(_ value: Double, monoNanos: Int64, wallNanos: Int64) -> Verdict {
        guard value.isFinite else {
            droppedTotal += 1
            summary.addDropped()
            let b = band
            return Verdict(state: .dropped, z: .nan, mean: b.center, std: b.spread, started: nil, ended: nil)
        }
        let h = health.process(value, monoNanos: monoNanos, wallNanos: wallNanos)
        if h.sick {
            unhealthyTotal += 1
            summary.addUnhealthy()
            let b = band
            var v = Verdict(state: .unhealthy, z: .nan, mean: b.center, std: b.spread, started: nil, ended: nil)
            v.health = h
            return v
        }
        switch settings.kind {
        case .zscore: window.evict(before: monoNanos)
        case .robust: robust!.evict(before: monoNanos)
        case .ewma: break
        }
        let s: Double
        if settings.smoothing >= 1 || smoothed.isNaN { s = value } else {
            s = settings.smoothing * value + (1 - settings.smoothing) * smoothed
        }
        smoothed = s
        let (center, spread) = band
        var verdict = Verdict(state: .warmingUp, z: .nan, mean: center, std: spread, started: nil, ended: nil)
        verdict.scored = s
        verdict.health = h
        if baselineCount >= settings.warmup {
            let z = (s - center) / max(spread, settings.stdFloor)
            verdict.z = z
            switch tracker.step(z: z, value: value, wallNanos: wallNanos) {
            case .normal: verdict.state = .normal
            case .started(let id):
                verdict.state = .anomalous
                verdict.started = EpisodeStart(id: id, wallNanos: wallNanos, value: value, z: z, mean: center, std: spread,
                                               detector: settings.kind)
                heldInEpisode = 0
            case .anomalous: verdict.state = .anomalous
            case .settling: verdict.state = .settling
            case .ended(let e):
                verdict.state = .normal
                verdict.ended = e
            }
        }
        if verdict.state == .anomalous && heldInEpisode < settings.holdOut {
            heldInEpisode += 1
            verdict.heldOut = true
        } else {
            switch settings.kind {
            case .zscore: window.push(s, at: monoNanos)
            case .robust: robust!.push(s, at: monoNanos)
            case .ewma: ewma!.push(s)
            }
        }
        summary.add(value, wallNanos: wallNanos, anomalous: verdict.state == .anomalous, episodeStarted: verdict.started != nil)
        return verdict
    }

    /// Time-driven health check (call when no reading arrived): true when a dropout started now;
    /// its details are `health.lastStart(.dropout)`.
    public mutating func checkIdle(monoNanos: Int64, wallNanos: Int64) -> Bool {
        health.checkDropout(monoNanos: monoNanos, wallNanos: wallNanos)
    }

    /// Ends an open episode because the agent is stopping; nil when none is open.
    public mutating func closeForShutdown(wallNanos: Int64) -> Episode? {
        tracker.closeForShutdown(wallNanos: wallNanos)
    }

    /// Ends open health problems because the agent is stopping; details in `health.lastEnd(_:)`.
    public mutating func closeHealthForShutdown(wallNanos: Int64) -> HealthChecks {
        health.closeAll(wallNanos: wallNanos)
    }

    /// Returns the summary since the last call and starts a new one.
    public mutating func takeSummary(endingAt wallNanos: Int64) -> Summary {
        let s = summary.finish(endingAt: wallNanos)
        summary = SummaryAccumulator(startingAt: wallNanos)
        return s
    }
}
