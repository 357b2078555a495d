// Adding a detector kind: a type conforming to `Baseline` (its own file, holding its state and
// its rules), its config name as a case of `DetectorKind` (DetectorSettings.swift), and its case
// in `ChannelBaseline` below. The compiler points at every switch to extend; all are in this file.

/// The centre and spread a reading is scored against.
public struct Band: Sendable, Equatable {
    public var center: Double
    public var spread: Double

    public init(center: Double, spread: Double) { self.center = center; self.spread = spread }
}

/// A reading's score: its z and the band it was taken against (reported in verdicts and events).
public struct Score: Sendable, Equatable {
    public var z: Double
    public var band: Band

    public init(z: Double, band: Band) { self.z = z; self.band = band }
}

/// One kind of baseline: what a channel has learnt of its normal readings, and how a new reading
/// is scored against it. A value type holding all its state, fixed in size at `init`: nothing on
/// the per-reading path (`evict`, `score`, `learn`) may allocate.
public protocol Baseline: Sendable {
    /// The baseline a channel with these settings starts with (empty).
    init(settings: DetectorSettings)
    /// Readings that count toward `warmup`: those it holds, or those it has seen if it holds none.
    var count: Int { get }
    /// The centre and spread of a reading taken at `wallNanos` (a seasonal baseline may use it).
    func band(wallNanos: Int64) -> Band
    /// The score of `x` (the reading, or its smoothed value) before it joins. The default is
    /// (x − centre) / max(spread, `floor`); a baseline that scores on several scales overrides it.
    func score(_ x: Double, wallNanos: Int64, floor: Double) -> Score
    /// Lets go of what has aged out by the monotonic time `monoNanos`.
    mutating func evict(before monoNanos: Int64)
    /// Lets `x` join (unless the detector holds it out).
    mutating func learn(_ x: Double, monoNanos: Int64, wallNanos: Int64)
    /// The readings it holds, oldest first (tests and diagnostics; allocates); empty if it holds none.
    var contents: [Double] { get }
    /// Problems with settings that only this kind has, as (field, message) pairs.
    static func problems(of settings: DetectorSettings) -> [(field: String, message: String)]
}

extension Baseline {
    @inline(__always)
    public func score(_ x: Double, wallNanos: Int64, floor: Double) -> Score {
        let b = band(wallNanos: wallNanos)
        return Score(z: (x - b.center) / max(b.spread, floor), band: b)
    }

    public static func problems(of settings: DetectorSettings) -> [(field: String, message: String)] { [] }
}

/// A baseline over a sliding window of readings, bounded by count (`window`) and optionally by
/// age (`window_duration`): what `zscore` and `robust` share.
public protocol WindowedBaseline: Baseline {
    init(capacity: Int, maxAgeNanos: Int64?)
    mutating func push(_ x: Double, at time: Int64)
}

extension WindowedBaseline {
    public init(settings: DetectorSettings) {
        self.init(capacity: settings.windowSize, maxAgeNanos: settings.windowDuration?.nanoseconds)
    }

    @inline(__always)
    public mutating func learn(_ x: Double, monoNanos: Int64, wallNanos: Int64) { push(x, at: monoNanos) }

    /// The warm-up must fit in the window.
    public static func problems(of s: DetectorSettings) -> [(field: String, message: String)] {
        s.warmup > s.windowSize ? [("warmup", "must not exceed window.size (\(s.windowSize)), got \(s.warmup)")] : []
    }
}

/// The baseline of one channel, whichever its kind: each case holds that kind's state.
///
/// A closed enum rather than `any Baseline`: the switch below is static dispatch to concrete
/// types (inlined, no existential box, no witness-table call per reading). Mutations consume
/// `self` first, so the payload's buffers stay uniquely referenced and are never copied.
public enum ChannelBaseline: Sendable {
    case zscore(RollingWindow)
    case robust(RobustWindow)
    case ewma(EwmaStats)

    public init(settings: DetectorSettings) {
        switch settings.kind {
        case .zscore: self = .zscore(RollingWindow(settings: settings))
        case .robust: self = .robust(RobustWindow(settings: settings))
        case .ewma: self = .ewma(EwmaStats(settings: settings))
        }
    }

    /// Problems with `settings` that belong to its kind.
    static func problems(of settings: DetectorSettings) -> [(field: String, message: String)] {
        switch settings.kind {
        case .zscore: return RollingWindow.problems(of: settings)
        case .robust: return RobustWindow.problems(of: settings)
        case .ewma: return EwmaStats.problems(of: settings)
        }
    }

    public var kind: DetectorKind {
        switch self {
        case .zscore: return .zscore
        case .robust: return .robust
        case .ewma: return .ewma
        }
    }

    /// Readings that count toward `warmup` (for `ewma`: readings it has seen).
    public var count: Int {
        switch self {
        case .zscore(let b): return b.count
        case .robust(let b): return b.count
        case .ewma(let b): return b.count
        }
    }

    public func band(wallNanos: Int64) -> Band {
        switch self {
        case .zscore(let b): return b.band(wallNanos: wallNanos)
        case .robust(let b): return b.band(wallNanos: wallNanos)
        case .ewma(let b): return b.band(wallNanos: wallNanos)
        }
    }

    public func score(_ x: Double, wallNanos: Int64, floor: Double) -> Score {
        switch self {
        case .zscore(let b): return b.score(x, wallNanos: wallNanos, floor: floor)
        case .robust(let b): return b.score(x, wallNanos: wallNanos, floor: floor)
        case .ewma(let b): return b.score(x, wallNanos: wallNanos, floor: floor)
        }
    }

    public mutating func evict(before monoNanos: Int64) {
        switch consume self {
        case .zscore(var b): b.evict(before: monoNanos); self = .zscore(b)
        case .robust(var b): b.evict(before: monoNanos); self = .robust(b)
        case .ewma(var b): b.evict(before: monoNanos); self = .ewma(b)
        }
    }

    public mutating func learn(_ x: Double, monoNanos: Int64, wallNanos: Int64) {
        switch consume self {
        case .zscore(var b): b.learn(x, monoNanos: monoNanos, wallNanos: wallNanos); self = .zscore(b)
        case .robust(var b): b.learn(x, monoNanos: monoNanos, wallNanos: wallNanos); self = .robust(b)
        case .ewma(var b): b.learn(x, monoNanos: monoNanos, wallNanos: wallNanos); self = .ewma(b)
        }
    }

    /// The readings it holds, oldest first (tests and diagnostics; allocates); empty for `ewma`.
    public var contents: [Double] {
        switch self {
        case .zscore(let b): return b.contents
        case .robust(let b): return b.contents
        case .ewma(let b): return b.contents
        }
    }
}
