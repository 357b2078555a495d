/// How one channel decides what is anomalous. Defaults are for a reading a second.
public struct DetectorSettings: Sendable, Hashable {
    /// Most readings the window holds.
    public var windowSize: Int = 60
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

    public init() {}

    public init(windowSize: Int = 60, windowDuration: ConfigDuration? = nil, warmup: Int = 20,
                zOn: Double = 4.0, zOff: Double = 2.5, endAfter: Int = 5, stdFloor: Double = 1e-9) {
        self.windowSize = windowSize; self.windowDuration = windowDuration; self.warmup = warmup
        self.zOn = zOn; self.zOff = zOff; self.endAfter = endAfter; self.stdFloor = stdFloor
    }

    /// Problems with these settings as (field, message) pairs; empty when valid.
    public func problems() -> [(field: String, message: String)] {
        var p: [(String, String)] = []
        if windowSize < 2 { p.append(("window.size", "must be at least 2, got \(windowSize)")) }
        if windowSize > 1_000_000 { p.append(("window.size", "must be at most 1000000, got \(windowSize)")) }
        if let d = windowDuration, d.nanoseconds <= 0 { p.append(("window.duration", "must be more than 0")) }
        if warmup < 2 { p.append(("warmup", "must be at least 2, got \(warmup)")) }
        if warmup > windowSize { p.append(("warmup", "must not exceed window.size (\(windowSize)), got \(warmup)")) }
        if !(zOn.isFinite && zOn > 0) { p.append(("z_on", "must be a number above 0, got \(zOn)")) }
        if !(zOff.isFinite && zOff >= 0) { p.append(("z_off", "must be a number of 0 or more, got \(zOff)")) }
        else if zOff > zOn { p.append(("z_off", "must not exceed z_on (\(zOn)), got \(zOff)")) }
        if endAfter < 1 { p.append(("end_after", "must be at least 1, got \(endAfter)")) }
        if !(stdFloor.isFinite && stdFloor >= 0) { p.append(("std_floor", "must be 0 or more, got \(stdFloor)")) }
        return p
    }
}
