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
    /// With `smoothing` < 1, also score each raw reading on a fast scale: its step from the smoothed
    /// value, against the usual size of that step. A one-reading spike is then caught while the
    /// smoothed (slow) scale catches sustained shifts; both feed one episode.
    public var spikes: Bool = false
    /// When set, z_on and z_off are derived from this budget and the channel's observed cadence
    /// (`FalseAlarmBudget`) instead of `zOn` / `zOff`.
    public var falseAlarmsPerDay: Double? = nil
    /// Sensor health checks, applied before the detector.
    public var health = HealthSettings()

    public init() {}

    public init(kind: DetectorKind = .zscore, windowSize: Int = 600, windowDuration: ConfigDuration? = nil, warmup: Int = 20,
                zOn: Double = 4.0, zOff: Double = 2.5, endAfter: Int = 5, stdFloor: Double = 1e-9,
                holdOut: Int = 300, smoothing: Double = 1, alpha: Double? = nil, health: HealthSettings = HealthSettings(),
                spikes: Bool = false, falseAlarmsPerDay: Double? = nil) {
        self.kind = kind
        self.windowSize = windowSize; self.windowDuration = windowDuration; self.warmup = warmup
        self.zOn = zOn; self.zOff = zOff; self.endAfter = endAfter; self.stdFloor = stdFloor
        self.holdOut = holdOut; self.smoothing = smoothing; self.alpha = alpha; self.health = health
        self.spikes = spikes; self.falseAlarmsPerDay = falseAlarmsPerDay
    }

    /// What a config without detector settings gets (and `vigil replay` without options): two
    /// scales — the raw reading for spikes, a 0.1-smoothed value for shifts — and a budget of one
    /// false alarm a day. See docs/detection.md "How the defaults were chosen".
    public static var defaults: DetectorSettings {
        var s = DetectorSettings()
        s.smoothing = 0.1
        s.spikes = true
        s.falseAlarmsPerDay = 1
        s.zOn = 4.5
        s.zOff = 2.7
        return s
    }

    /// Scales each reading is scored on: 2 with `spikes` over a smoothed value, else 1.
    public var scales: Int { spikes && smoothing < 1 ? 2 : 1 }

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
        if let f = falseAlarmsPerDay, !(f.isFinite && f > 0) {
            p.append(("false_alarms_per_day", "must be a number above 0, got \(f)"))
        }
        p += health.problems().map { ("health.\($0.field)", $0.message) }
        return p
    }
}

/// Per-channel sensor health checks. A check that is nil is off. On by default, judged against the
/// channel's observed cadence: stuck after 20 readings' time without any change, dropout after 10
/// readings' time without a valid reading — never sooner than 10 min and 2 min.
public struct HealthSettings: Sendable, Hashable {
    /// `stuck`: the value has not moved by more than `resolution` for this long.
    public var stuckAfter: ConfigDuration? = .seconds(600)
    /// Changes of at most this much do not count as changes (the sensor's resolution).
    public var resolution: Double = 0
    /// `dropout`: no valid reading for this long.
    public var dropoutAfter: ConfigDuration? = .seconds(120)
    /// When set, `stuck_after` and `dropout_after` are floors: the checks wait this many of the
    /// channel's observed reading intervals if that is longer (once an interval was seen).
    public var stuckIntervals: Double? = 20
    public var dropoutIntervals: Double? = 10
    /// `out_of_range`: readings below `min` or above `max` (the sensor's physical range).
    public var min: Double? = nil
    public var max: Double? = nil
    /// `rate_of_change`: faster than this many units per second from the last good reading.
    public var maxRate: Double? = nil

    public init() {}

    public init(stuckAfter: ConfigDuration? = .seconds(600), resolution: Double = 0, dropoutAfter: ConfigDuration? = .seconds(120),
                min: Double? = nil, max: Double? = nil, maxRate: Double? = nil,
                stuckIntervals: Double? = 20, dropoutIntervals: Double? = 10) {
        self.stuckAfter = stuckAfter; self.resolution = resolution; self.dropoutAfter = dropoutAfter
        self.stuckIntervals = stuckIntervals; self.dropoutIntervals = dropoutIntervals
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
        if let k = stuckIntervals, !(k.isFinite && k >= 1) { p.append(("stuck_intervals", "must be a number of 1 or more, got \(k)")) }
        if let k = dropoutIntervals, !(k.isFinite && k >= 1) { p.append(("dropout_intervals", "must be a number of 1 or more, got \(k)")) }
        return p
    }
}
