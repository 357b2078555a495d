import VigilCore

/// One entry of the fault list, ready to fire: when its next occurrence starts and how long it lasts.
struct ScheduledFault {
    let kind: FaultKind
    let channel: Int
    let channelName: String
    let magnitude: Double
    /// magnitude · the channel's std: the offset of a spike or level shift, the end of a drift.
    let shift: Double
    /// Ticks one occurrence covers: 1 for a spike, else ⌈duration / period⌉.
    let tickCount: Int
    /// The first tick of the next occurrence; `Int.max` when there is none.
    var nextTick: Int
    /// Rate-driven faults only: their own generator, the time of the latest arrival in ns from
    /// start, and the mean gap between arrivals in ns (3600·10⁹ / rate_per_hour).
    var rng: Xoshiro256StarStar?
    var arrivalNanos: Double
    let meanGapNanos: Double

    init(spec: FaultSpec, index: Int, channel: Int, channelStd: Double, periodNanos: Int64, seed: UInt64) {
        kind = spec.kind
        self.channel = channel
        channelName = spec.channel
        magnitude = spec.magnitude
        shift = spec.magnitude * channelStd
        tickCount = spec.kind == .spike ? 1 : max(1, ScheduledFault.ceilDiv(spec.duration.nanoseconds, periodNanos))
        arrivalNanos = 0
        if let at = spec.at {
            rng = nil
            meanGapNanos = 0
            nextTick = ScheduledFault.ceilDiv(at.nanoseconds, periodNanos)
        } else {
            rng = Xoshiro256StarStar(seed: StreamSeed.fault(seed, index: index))
            meanGapNanos = 3600e9 / (spec.ratePerHour ?? 1)
            nextTick = 0
            drawNextArrival(periodNanos: periodNanos)
        }
    }

    /// After an occurrence has started: the next start (a Poisson process, so gaps are exponential
    /// and independent of the fault's duration), or none for a fixed-time fault.
    mutating func drawNextArrival(periodNanos: Int64) {
        guard rng != nil else { nextTick = .max; return }
        arrivalNanos += meanGapNanos * rng!.nextExponential()
        // The first tick whose offset is ≥ the arrival time.
        let ticks = (arrivalNanos / Double(periodNanos)).rounded(.up)
        nextTick = ticks < 9e18 ? Int(ticks) : .max
    }

    /// ⌈a / b⌉ for a ≥ 0, b > 0, without overflow.
    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return Int(r == 0 ? q : q + 1)
    }
}

/// An occurrence in progress.
struct ActiveFault {
    let kind: FaultKind
    let channel: Int
    let firstTick: Int
    let lastTick: Int
    let tickCount: Int
    let magnitude: Double
    let shift: Double
    /// For `stuck`: the value held, once known.
    var frozen: Double
    var hasFrozen: Bool
}
