/// Which statistic a channel's readings are scored against.
public enum DetectorKind: String, Sendable, Hashable, CaseIterable {
    /// Mean and sample standard deviation of the sliding window (O(1) per reading).
    case zscore
    /// Median and MAD (×1.4826) of the sliding window: spikes do not move the band
    /// (O(log n) to update, O(log² n) for the MAD).
    case robust
    /// Exponentially weighted mean and variance: follows slow drifts, no window (O(1)).
    case ewma
}

/// How one channel decides what is anomalous. Defaults are for a reading a second; see
/// docs/detection.md "How the defaults were chosen".
public struct DetectorSettings: Sendable, Hashable {
    public var kind: DetectorKind = .zscore
    /// Most readings the window holds (for `ewma`: sets the default `alpha` = 2 / (window + 1)).
    public var windowSize: Int = 600
    /// Readings older than this leave the window; nil keeps the window by count only.
    public var windowDuration: ConfigDuration? = nil
    /// No verdict until the window holds this many readings.
    public var warmup: Int = 20
    /// An episode starts at |z| ≥ zOn …
    public var zOn: Double = 4.0
    /// … and ends after `endAfter` readings in a row with |z| < zOff.
    public var zOff: Double = 2.5
    public var endAfter: Int = 5
    /// Lower bound on the standard deviation used for z, in the channel's unit (e.g. the
    /// sensor's resolution), so a flat signal does not make every small change infinite.
    public var stdFloor: Double = 1e-9
    /// Inside an episode, anomalous readings (|z| ≥ z_off) are kept out of the window for at most
    /// this many readings; after that the episode's readings join it, so a genuine level shift
    /// becomes the new normal. 0 lets every reading in at once.
    public var holdOut: Int = 300
    /// Weight of the newest reading in an exponential pre-filter (1 = none): the detector scores
    /// and learns s = smoothing·x + (1 − smoothing)·s. Small values find small sustained shifts
    /// in noisy signals and blunt single spikes.
    public var smoothing: Double = 1
    /// `ewma` only: weight of the newest reading in the mean and variance; nil = 2 / (window + 1).
    public var alpha: Double? = nil
    /// Sensor health checks, applied before the detector.
    public var health = HealthSettings()

    public init() {}

    public init(kind: DetectorKind = .zscore, windowSize: Int = 600, windowDuration: ConfigDuration? = nil, warmup: Int = 20,
                zOn: Double = 4.0, zOff: Double = 2.5, endAfter: Int = 5, stdFloor: Double = 1e-9,
                holdOut: Int = 300, smoothing: Double = 1, alpha: Double? = nil, health: HealthSettings = HealthSettings()) {
        self.kind = kind
        self.windowSize = windowSize; self.windowDuration = windowDuration; self.warmup = warmup
        self.zOn = zOn; self.zOff = zOff; self.endAfter = endAfter; self.stdFloor = stdFloor
        self.holdOut = holdOut; self.smoothing = smoothing; self.alpha = alpha; self.health = health
    }

    /// Defaults of a multivariate (T²) detector: a longer window, since a d×d covariance needs
    /// many more readings than a variance to settle.
    public static var multivariateDefaults: DetectorSettings {
        DetectorSettings(windowSize: 600, warmup: 100, zOn: 4, zOff: 2.5, endAfter: 5, stdFloor: 1e-9, holdOut: 300)
    }

    /// The EWMA weight in use.
    public var effectiveAlpha: Double { alpha ?? 2 / (Double(windowSize) + 1) }

    /// Problems with these settings as (field, message) pairs; empty when valid.
    public func problems() -> [(field: String, message: String)] {
        var p: [(String, String)] = []
        if windowSize < 2 { p.append(("window.size", "must be at least 2, got \(windowSize)")) }
        if windowSize > 1_000_000 { p.append(("window.size", "must be at most 1000000, got \(windowSize)")) }
        if let d = windowDuration, d.nanoseconds <= 0 { p.append(("window.duration", "must be more than 0")) }
        if warmup < 2 { p.append(("warmup", "must be at least 2, got \(warmup)")) }
        p += ChannelBaseline.problems(of: self)
        if !(zOn.isFinite && zOn > 0) { p.append(("z_on", "must be a number above 0, got \(zOn)")) }
        if !(zOff.isFinite && zOff >= 0) { p.append(("z_off", "must be a number of 0 or more, got \(zOff)")) }
        else if zOff > zOn { p.append(("z_off", "must not exceed z_on (\(zOn)), got \(zOff)")) }
        if endAfter < 1 { p.append(("end_after", "must be at least 1, got \(endAfter)")) }
        if !(stdFloor.isFinite && stdFloor >= 0) { p.append(("std_floor", "must be 0 or more, got \(stdFloor)")) }
        if holdOut < 0 { p.append(("hold_out", "must be 0 or more, got \(holdOut)")) }
        if !(smoothing > 0 && smoothing <= 1) { p.append(("smoothing", "must be above 0 and at most 1, got \(smoothing)")) }
        if let a = alpha, !(a > 0 && a <= 1) { p.append(("alpha", "must be above 0 and at most 1, got \(a)")) }
        p += health.problems().map { ("health.\($0.field)", $0.message) }
        return p
    }
}

/// Per-channel sensor health checks. A check that is nil is off. On by default: stuck after 10 min
/// without any change, dropout after 2 min without a valid reading.
public struct HealthSettings: Sendable, Hashable {
    /// `stuck`: the value has not moved by more than `resolution` for this long.
    public var stuckAfter: ConfigDuration? = .seconds(600)
    /// Changes of at most this much do not count as changes (the sensor's resolution).
    public var resolution: Double = 0
    /// `dropout`: no valid reading for this long.
    public var dropoutAfter: ConfigDuration? = .seconds(120)
    /// `out_of_range`: readings below `min` or above `max` (the sensor's physical range).
    public var min: Double? = nil
    public var max: Double? = nil
    /// `rate_of_change`: faster than this many units per second from the last good reading.
    public var maxRate: Double? = nil

    public init() {}

    public init(stuckAfter: ConfigDuration? = .seconds(600), resolution: Double = 0, dropoutAfter: ConfigDuration? = .seconds(120),
                min: Double? = nil, max: Double? = nil, maxRate: Double? = nil) {
        self.stuckAfter = stuckAfter; self.resolution = resolution; self.dropoutAfter = dropoutAfter
        self.min = min; self.max = max; self.maxRate = maxRate
    }

    public var isEmpty: Bool { stuckAfter == nil && dropoutAfter == nil && min == nil && max == nil && maxRate == nil }

    public func problems() -> [(field: String, message: String)] {
        var p: [(String, String)] = []
        if let d = stuckAfter, d.nanoseconds <= 0 { p.append(("stuck_after", "must be more than 0")) }
        if let d = dropoutAfter, d.nanoseconds <= 0 { p.append(("dropout_after", "must be more than 0")) }
        if !(resolution.isFinite && resolution >= 0) { p.append(("resolution", "must be 0 or more, got \(resolution)")) }
        if let lo = min, !lo.isFinite { p.append(("min", "must be a finite number")) }
        if let hi = max, !hi.isFinite { p.append(("max", "must be a finite number")) }
        if let lo = min, let hi = max, lo.isFinite, hi.isFinite, lo >= hi { p.append(("max", "must be above min (\(lo)), got \(hi)")) }
        if let r = maxRate, !(r.isFinite && r > 0) { p.append(("max_rate", "must be a number above 0, got \(r)")) }
        return p
    }
}
