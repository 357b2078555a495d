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
    /// With `spikes`: z of the reading's step from the smoothed value (fast scale) and of the
    /// smoothed value against the band (slow scale); `z` is the larger in magnitude. NaN otherwise.
    public var zFast: Double = .nan
    public var zSlow: Double = .nan
    /// The reading was anomalous and kept out of the window (`hold_out`).
    public var heldOut = false
    /// Health checks that started or ended on this reading.
    public var health = HealthVerdict()

    /// Inside an anomaly episode after this reading (what evaluation counts as a positive).
    public var inEpisode: Bool { state == .anomalous || state == .settling }
}

/// The per-channel detector: sensor health, an optional smoothing pre-filter, a baseline of the
/// settings' kind (`ChannelBaseline`), the z-score with warm-up and a floor on the spread, with
/// `spikes` a second (fast) scale, thresholds fixed or derived from a false-alarm budget and the
/// observed cadence, hysteresis into episodes, a bounded hold-out of anomalous readings, and the
/// running summary.
///
/// `process` is the hot path: it allocates nothing; O(1) for `zscore` and `ewma`, O(log² n) for `robust`.
public struct ChannelDetector: Sendable {
    public let settings: DetectorSettings
    /// What the channel has learnt of its normal readings (its state depends on the kind).
    public private(set) var baseline: ChannelBaseline
    public private(set) var health: HealthMonitor
    public private(set) var summary = SummaryAccumulator()
    /// Readings dropped as NaN/±inf since start.
    public private(set) var droppedTotal = 0
    /// Readings kept out of the baseline by a health check since start.
    public private(set) var unhealthyTotal = 0
    private var tracker: EpisodeTracker
    private var smoothed = Double.nan
    private var heldInEpisode = 0
    /// The fast scale: weighted mean and spread of the step x − (smoothed value before x).
    public private(set) var steps: EwmaStats
    /// The cadence the budget-derived thresholds were last computed for (0: not yet).
    private var thresholdCadence: Int64 = 0

    public init(settings: DetectorSettings) {
        self.settings = settings
        baseline = ChannelBaseline(settings: settings)
        health = HealthMonitor(settings: settings.health)
        tracker = EpisodeTracker(zOn: settings.zOn, zOff: settings.zOff, endAfter: settings.endAfter)
        steps = EwmaStats(alpha: 2 / (Double(settings.windowSize) + 1))
    }

    /// The |z| that opens an episode now (derived from the budget once the cadence is known).
    public var zOn: Double { tracker.zOn }
    public var zOff: Double { tracker.zOff }

    /// With a budget, re-derives the thresholds when the cadence moved by more than 1/16 since.
    private mutating func updateThresholds() {
        guard let perDay = settings.falseAlarmsPerDay, health.cadence.isKnown else { return }
        let c = health.cadence.intervalNanos
        guard thresholdCadence == 0 || abs(c - thresholdCadence) > thresholdCadence / 16 else { return }
        thresholdCadence = c
        let on = FalseAlarmBudget.zOn(perDay: perDay, intervalNanos: c, scales: settings.scales)
        tracker.setThresholds(zOn: on, zOff: on * FalseAlarmBudget.offRatio)
    }

    public var inEpisode: Bool { tracker.isOpen }
    public var episodesTotal: Int { tracker.episodesTotal }

    /// Scores `value` against the baseline as it was before, then (unless held out) lets it join.
    /// - Parameters:
    ///   - monoNanos: monotonic time of the reading (ages the window).
    ///   - wallNanos: wall-clock time, Unix epoch nanoseconds (reported in events).
    public mutating func process(_ value: Double, monoNanos: Int64, wallNanos: Int64) -> Verdict {
        guard value.isFinite else {
            droppedTotal += 1
            summary.addDropped()
            let b = baseline.band(wallNanos: wallNanos)
            return Verdict(state: .dropped, z: .nan, mean: b.center, std: b.spread, started: nil, ended: nil)
        }
        let h = health.process(value, monoNanos: monoNanos, wallNanos: wallNanos)
        if h.sick {
            unhealthyTotal += 1
            summary.addUnhealthy()
            let b = baseline.band(wallNanos: wallNanos)
            var v = Verdict(state: .unhealthy, z: .nan, mean: b.center, std: b.spread, started: nil, ended: nil)
            v.health = h
            return v
        }
        baseline.evict(before: monoNanos)
        updateThresholds()
        let s: Double
        if settings.smoothing >= 1 || smoothed.isNaN { s = value } else {
            s = settings.smoothing * value + (1 - settings.smoothing) * smoothed
        }
        // The fast scale's step is taken from the smoothed value before this reading.
        let step = settings.scales == 2 && !smoothed.isNaN ? value - smoothed : Double.nan
        smoothed = s
        var verdict = Verdict(state: .warmingUp, z: .nan, mean: .nan, std: .nan, started: nil, ended: nil)
        verdict.scored = s
        verdict.health = h
        if baseline.count >= settings.warmup {
            let score = baseline.score(s, wallNanos: wallNanos, floor: settings.stdFloor)
            var z = score.z
            if !step.isNaN && steps.count >= settings.warmup {
                let fast = (step - steps.mean) / max(steps.standardDeviation, settings.stdFloor)
                verdict.zFast = fast
                verdict.zSlow = z
                if abs(fast) > abs(z) { z = fast }
            }
            verdict.z = z
            verdict.mean = score.band.center
            verdict.std = score.band.spread
            switch tracker.step(z: z, value: value, wallNanos: wallNanos) {
            case .normal: verdict.state = .normal
            case .started(let id):
                verdict.state = .anomalous
                verdict.started = EpisodeStart(id: id, wallNanos: wallNanos, value: value, z: z, mean: score.band.center,
                                               std: score.band.spread, detector: settings.kind)
                heldInEpisode = 0
            case .anomalous: verdict.state = .anomalous
            case .settling: verdict.state = .settling
            case .ended(let e):
                verdict.state = .normal
                verdict.ended = e
            }
        } else {
            let b = baseline.band(wallNanos: wallNanos)
            verdict.mean = b.center
            verdict.std = b.spread
        }
        if verdict.state == .anomalous && heldInEpisode < settings.holdOut {
            heldInEpisode += 1
            verdict.heldOut = true
        } else {
            baseline.learn(s, monoNanos: monoNanos, wallNanos: wallNanos)
            if !step.isNaN { steps.push(step) }
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
