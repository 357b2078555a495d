/// One sensor health check; each has its own event kind (`"check"` in the health payload).
public enum HealthCheck: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// The value has not moved by more than the resolution for `stuck_after`.
    case stuck
    /// No valid reading for `dropout_after`.
    case dropout
    /// A reading outside `min` … `max`.
    case outOfRange
    /// Faster than `max_rate` units per second from the last good reading.
    case rateOfChange

    public var name: String {
        switch self {
        case .stuck: return "stuck"
        case .dropout: return "dropout"
        case .outOfRange: return "out_of_range"
        case .rateOfChange: return "rate_of_change"
        }
    }
    public var description: String { name }
}

/// A set of health checks (which started or ended on one reading).
public struct HealthChecks: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ check: HealthCheck) { rawValue = 1 << UInt8(check.rawValue) }
    public static let stuck = HealthChecks(.stuck)
    public static let dropout = HealthChecks(.dropout)
    public static let outOfRange = HealthChecks(.outOfRange)
    public static let rateOfChange = HealthChecks(.rateOfChange)
    public func contains(_ check: HealthCheck) -> Bool { contains(HealthChecks(check)) }
}

/// A health problem that began.
public struct HealthStart: Sendable, Equatable {
    public var check: HealthCheck
    /// When it was declared.
    public var wallNanos: Int64
    /// When the condition began: the start of the flat run (stuck), the last valid reading
    /// (dropout), or the offending reading.
    public var sinceWallNanos: Int64
    /// The reading that triggered it (NaN for a dropout).
    public var value: Double
    /// The bound that was crossed: the resolution (stuck), the silence in seconds (dropout), the
    /// violated `min` or `max` (out_of_range), the measured rate per second (rate_of_change).
    public var detail: Double

    public init(check: HealthCheck, wallNanos: Int64, sinceWallNanos: Int64, value: Double, detail: Double) {
        self.check = check; self.wallNanos = wallNanos; self.sinceWallNanos = sinceWallNanos
        self.value = value; self.detail = detail
    }
}

/// A health problem that ended.
public struct HealthEnd: Sendable, Equatable {
    public var check: HealthCheck
    public var startWallNanos: Int64
    public var endWallNanos: Int64
    /// Readings kept out of the detector because of this problem.
    public var readings: Int
    public var durationNanos: Int64 { endWallNanos - startWallNanos }

    public init(check: HealthCheck, startWallNanos: Int64, endWallNanos: Int64, readings: Int) {
        self.check = check; self.startWallNanos = startWallNanos; self.endWallNanos = endWallNanos; self.readings = readings
    }
}

/// What the health checks made of one reading.
public struct HealthVerdict: Sendable, Equatable {
    /// The reading failed a check (out of range, implausible jump, stuck): it must not feed the
    /// anomaly windows.
    public var sick: Bool = false
    public var started: HealthChecks = []
    public var ended: HealthChecks = []
    public init() {}
}

/// Per-channel sensor health: stuck, dropout, out of physical range, implausible rate of change.
/// O(1) per reading, no allocation.
public struct HealthMonitor: Sendable {
    public let settings: HealthSettings

    private var open: HealthChecks = []
    private var starts: [HealthStart]
    private var ends: [HealthEnd]
    private var keptOut = [Int](repeating: 0, count: 4)

    /// The channel's observed reading interval (what `stuck_intervals` and `dropout_intervals` count in).
    public private(set) var cadence = CadenceEstimator()
    // dropout
    private var lastValidMono: Int64?
    private var lastValidWall: Int64 = 0
    private var firstSeenMono: Int64?
    // stuck
    private var anchorValue = Double.nan
    private var anchorMono: Int64 = 0
    private var anchorWall: Int64 = 0
    // rate of change
    private var goodValue = Double.nan
    private var goodMono: Int64 = 0
    private var previousRejected = false
    private var previousRaw = Double.nan
    private var previousMono: Int64 = 0

    public init(settings: HealthSettings) {
        self.settings = settings
        let blankStart = HealthStart(check: .stuck, wallNanos: 0, sinceWallNanos: 0, value: .nan, detail: .nan)
        starts = HealthCheck.allCases.map { c in var s = blankStart; s.check = c; return s }
        ends = HealthCheck.allCases.map { HealthEnd(check: $0, startWallNanos: 0, endWallNanos: 0, readings: 0) }
    }

    /// Checks whose problem is going on now.
    public var problems: HealthChecks { open }
    public func isOpen(_ check: HealthCheck) -> Bool { open.contains(check) }
    /// The most recent start and end of each check (valid after it was reported).
    public func lastStart(_ check: HealthCheck) -> HealthStart { starts[check.rawValue] }
    public func lastEnd(_ check: HealthCheck) -> HealthEnd { ends[check.rawValue] }

    private mutating func begin(_ check: HealthCheck, wall: Int64, since: Int64, value: Double, detail: Double,
                                into v: inout HealthVerdict) {
        open.insert(HealthChecks(check))
        starts[check.rawValue] = HealthStart(check: check, wallNanos: wall, sinceWallNanos: since, value: value, detail: detail)
        keptOut[check.rawValue] = 0
        v.started.insert(HealthChecks(check))
    }

    private mutating func finish(_ check: HealthCheck, wall: Int64, into v: inout HealthVerdict) {
        open.remove(HealthChecks(check))
        ends[check.rawValue] = HealthEnd(check: check, startWallNanos: starts[check.rawValue].wallNanos,
                                         endWallNanos: wall, readings: keptOut[check.rawValue])
        v.ended.insert(HealthChecks(check))
    }

    /// The silence that makes a dropout now: `dropout_after`, or that many intervals if longer; nil when off.
    public var dropoutNanos: Int64? { Self.limit(settings.dropoutAfter, intervals: settings.dropoutIntervals, cadence) }
    /// The flat run that makes a stuck sensor now, likewise.
    public var stuckNanos: Int64? { Self.limit(settings.stuckAfter, intervals: settings.stuckIntervals, cadence) }

    private static func limit(_ floor: ConfigDuration?, intervals: Double?, _ cadence: CadenceEstimator) -> Int64? {
        guard let floor = floor?.nanoseconds else { return nil }
        guard let k = intervals, cadence.isKnown else { return floor }
        let scaled = k * Double(cadence.intervalNanos)
        return scaled < Double(Int64.max / 2) ? Swift.max(floor, Int64(scaled)) : Int64.max / 2
    }

    /// When `checkDropout` starts a dropout if no valid reading comes first: nil when dropouts are
    /// not checked or one is open, `.min` before the first check.
    public var dropoutDueMono: Int64? {
        guard let after = dropoutNanos, !open.contains(.dropout) else { return nil }
        guard let reference = lastValidMono ?? firstSeenMono else { return .min }
        return reference + after
    }

    /// Time-driven check (no reading needed): starts a dropout when the channel has been silent
    /// for `dropoutNanos`. Returns whether one started now.
    public mutating func checkDropout(monoNanos: Int64, wallNanos: Int64) -> Bool {
        guard let after = dropoutNanos, !open.contains(.dropout) else { return false }
        let firstSeen = firstSeenMono ?? monoNanos
        firstSeenMono = firstSeen
        let reference = lastValidMono ?? firstSeen
        guard monoNanos - reference >= after else { return false }
        var v = HealthVerdict()
        begin(.dropout, wall: wallNanos, since: lastValidMono == nil ? wallNanos : lastValidWall, value: .nan,
              detail: Double(monoNanos - reference) / 1e9, into: &v)
        return true
    }

    /// Runs every check on a finite reading.
    public mutating func process(_ x: Double, monoNanos: Int64, wallNanos: Int64) -> HealthVerdict {
        var v = HealthVerdict()
        // A reading after a long silence: the dropout starts and ends here. Not the second reading
        // when intervals count: its gap is what shows the cadence (a 5-minute channel is on time).
        let firstGap = lastValidMono != nil && !cadence.isKnown && settings.dropoutIntervals != nil
        if !firstGap && checkDropout(monoNanos: monoNanos, wallNanos: wallNanos) { v.started.insert(.dropout) }
        if open.contains(.dropout) { finish(.dropout, wall: wallNanos, into: &v) }
        if firstSeenMono == nil { firstSeenMono = monoNanos }
        cadence.note(monoNanos: monoNanos)
        lastValidMono = monoNanos
        lastValidWall = wallNanos

        // Out of the physical range: nothing else is learned from this reading.
        let crossed: Double? = if let lo = settings.min, x < lo { lo } else if let hi = settings.max, x > hi { hi } else { nil }
        if let limit = crossed {
            if !open.contains(.outOfRange) {
                begin(.outOfRange, wall: wallNanos, since: wallNanos, value: x, detail: limit, into: &v)
            }
            keptOut[HealthCheck.outOfRange.rawValue] += 1
            v.sick = true
            return v
        }
        if open.contains(.outOfRange) { finish(.outOfRange, wall: wallNanos, into: &v) }

        // Rate of change from the last good reading; a jump confirmed by the next reading (which
        // stays near it) is accepted as real.
        if let maxRate = settings.maxRate, !goodValue.isNaN {
            let rate = abs(x - goodValue) / Swift.max(Double(monoNanos - goodMono) / 1e9, 1e-3)
            let confirmed = previousRejected
                && abs(x - previousRaw) / Swift.max(Double(monoNanos - previousMono) / 1e9, 1e-3) <= maxRate
            if rate > maxRate && !confirmed {
                if !open.contains(.rateOfChange) {
                    begin(.rateOfChange, wall: wallNanos, since: wallNanos, value: x, detail: rate, into: &v)
                }
                keptOut[HealthCheck.rateOfChange.rawValue] += 1
                previousRejected = true
                previousRaw = x
                previousMono = monoNanos
                v.sick = true
                return v
            }
        }
        if open.contains(.rateOfChange) { finish(.rateOfChange, wall: wallNanos, into: &v) }
        previousRejected = false
        goodValue = x
        goodMono = monoNanos

        // Stuck: no move beyond the resolution from the start of the current flat run.
        if let after = stuckNanos {
            if anchorValue.isNaN || abs(x - anchorValue) > settings.resolution {
                anchorValue = x
                anchorMono = monoNanos
                anchorWall = wallNanos
                if open.contains(.stuck) { finish(.stuck, wall: wallNanos, into: &v) }
            } else if !open.contains(.stuck) && monoNanos - anchorMono >= after {
                begin(.stuck, wall: wallNanos, since: anchorWall, value: x, detail: settings.resolution, into: &v)
            }
            if open.contains(.stuck) {
                keptOut[HealthCheck.stuck.rawValue] += 1
                v.sick = true
            }
        }
        return v
    }

    /// Ends every open problem (agent shutdown); returns which ended.
    public mutating func closeAll(wallNanos: Int64) -> HealthChecks {
        var v = HealthVerdict()
        for c in HealthCheck.allCases where open.contains(c) { finish(c, wall: wallNanos, into: &v) }
        return v.ended
    }
}
