import VigilCore

/// A seeded, deterministic model of a set of sensor channels with injected faults. Pure: no I/O,
/// no clock; the caller decides when a tick happens. Tick `k` stands for the offset
/// `k · periodNanos` from the simulator's start.
///
/// ## One channel
/// reading_t = round(mean + L_t + ε_t), where
/// - the walk keeps the last n = `walkPoints` Gaussian steps s_t ~ N(0, σ_s²) in a ring;
///   w_t = their sum;
/// - L_t = (1 − r)·L_{t−1} + (w_t − w_{t−1}) = φ·L_{t−1} + (s_t − s_{t−n}), r = `recalibration`,
///   φ = 1 − r: a random walk over a moving window, pulled back toward `mean` by r each tick
///   (r = 0: L is the window sum itself; r = 1: L_t = s_t − s_{t−n});
/// - stationary Var(L) = 2σ_s²(1 − φⁿ)/(1 − φ²) (n·σ_s² when r = 0), and σ_s is chosen so that
///   this is `walkShare`·std²;
/// - ε_t ~ N(0, (1 − `walkShare`)·std²) is white noise, so the long-run std of a reading is `std`
///   and the long-run mean is `mean`;
/// - the ring and L start in their stationary distribution (n fresh steps in the ring, L their
///   φ-weighted sum plus one Gaussian standing in for all older steps), so there is no start-up
///   transient;
/// - readings are rounded to `resolution` when it is > 0 (see `Rounding`).
///
/// ## Randomness
/// xoshiro256** seeded through SplitMix64, normals by Marsaglia's polar method, all in pure Swift
/// with a logarithm written here, so a seed gives the same readings on every platform.
/// Each channel has its own stream, derived from (seed, channel name); each rate-driven fault has
/// its own, derived from (seed, its index in the fault list). Adding, removing or reordering
/// channels does not change another channel's readings. Every channel draws exactly one pair of
/// normals per tick (walk step, noise) whatever its faults are, so faults never shift a stream:
/// a run with faults equals the run without them except where the faults act.
///
/// ## Faults
/// `magnitude` is in units of the channel's `std`. An occurrence covers `⌈duration / period⌉`
/// consecutive ticks (a spike: one tick), starting at
/// - fixed-time (`at`): the first tick whose offset is ≥ `at`;
/// - rate-driven (`ratePerHour`): arrivals of a Poisson process (exponential gaps, mean
///   3600 s / rate, independent of the duration) drawn from the fault's stream; each arrival starts
///   at the first tick whose offset is ≥ the arrival time. Occurrences of one fault may overlap.
///
/// In the i-th tick of an occurrence (i = 0 … count − 1) the reading is changed as follows:
/// - `spike`: + magnitude·std (one tick);
/// - `levelShift`: + magnitude·std;
/// - `drift`: + (magnitude·std)·(i + 1) / count — a linear ramp from 0 before the fault to the
///   full magnitude·std at its last tick; afterwards the reading returns to the clean process;
/// - `noiseBurst`: the white-noise term ε_t is multiplied by magnitude (the walk goes on
///   unchanged; with walkShare = 1 there is no white noise and the burst changes nothing);
/// - `stuck`: the reading is the last reading the channel emitted before the fault (if it never
///   emitted one, the reading of the fault's first tick), held for every tick of the fault;
/// - `dropout`: no reading.
///
/// Overlapping faults on one channel: offsets (spike, level shift, drift) add; noise factors
/// multiply; the noise factor applies first, then the offsets, then rounding; then a `stuck`
/// replaces the result with its held value (the earliest-started active stuck wins); a `dropout`
/// suppresses the reading whatever else is active. The process underneath keeps running in every
/// case (a stuck or dropped-out channel resumes where the clean process is, not where it froze).
///
/// `groundTruth` gets one `InjectedFault` per occurrence when its first tick is reached, with its
/// exact first and last tick and their offsets (`startNanos` = firstTick·period, `endNanos` =
/// lastTick·period). Within a tick they are in fault-list order.
///
/// ## Cost
/// `step` does not allocate: the rings live in one buffer made at init. The only allocations after
/// init are the `groundTruth` append when an occurrence starts (at most `groundTruthLimit`; and, rarely, growing the list of
/// active occurrences when more overlap than its reserved capacity).
public struct SimulatorModel: Sendable {
    public let channels: [SimulatedChannel]
    public let faults: [FaultSpec]
    public let rateHz: Double
    public let seed: UInt64
    /// 10⁹ / rateHz, rounded to whole nanoseconds.
    public let periodNanos: Int64
    /// Ticks done so far; the next `step` produces tick `tick`.
    public private(set) var tick: Int = 0
    /// Faults injected so far, in the order they started: the first `groundTruthLimit` of them, so that a
    /// simulator left running for days (a soak) does not grow without bound.
    public private(set) var groundTruth: [InjectedFault] = []
    /// Faults injected after `groundTruth` was full: counted, not listed.
    public private(set) var faultsNotListed = 0
    public static let groundTruthLimit = 4096

    private var processes: [ChannelProcess]
    private var steps: [Double]
    private var schedule: [ScheduledFault]
    private var active: [ActiveFault] = []
    /// The earliest `nextTick` in `schedule`.
    private var nextFaultTick: Int = .max
    /// The earliest `lastTick` in `active`.
    private var earliestEnd: Int = .max

    /// Validates the settings (throwing the first problem, naming its field) and draws the
    /// starting state.
    public init(channels: [SimulatedChannel], faults: [FaultSpec] = [], rateHz: Double, seed: UInt64) throws(SimulatorError) {
        try SimulatorValidation.validate(channels: channels, faults: faults, rateHz: rateHz)
        self.channels = channels
        self.faults = faults
        self.rateHz = rateHz
        self.seed = seed
        let period = Int64((1e9 / rateHz).rounded())
        periodNanos = period

        var steps = [Double](repeating: 0, count: channels.reduce(0) { $0 + $1.walkPoints })
        var processes: [ChannelProcess] = []
        processes.reserveCapacity(channels.count)
        var base = 0
        for ch in channels {
            processes.append(ChannelProcess(channel: ch, seed: seed, steps: &steps, base: base))
            base += ch.walkPoints
        }
        self.steps = steps
        self.processes = processes

        var schedule: [ScheduledFault] = []
        schedule.reserveCapacity(faults.count)
        for (i, spec) in faults.enumerated() {
            let c = channels.firstIndex { $0.name == spec.channel }!   // validated
            schedule.append(ScheduledFault(spec: spec, index: i, channel: c, channelStd: channels[c].std,
                                           periodNanos: period, seed: seed))
        }
        self.schedule = schedule
        nextFaultTick = schedule.reduce(Int.max) { min($0, $1.nextTick) }
        active.reserveCapacity(2 * faults.count + 8)
        groundTruth.reserveCapacity(faults.count + 16)
    }

    /// The offset from start, in ns, of the tick the next `step` produces.
    public var nextOffsetNanos: Int64 { Int64(tick) * periodNanos }

    /// The index of the channel with this name.
    public func channelIndex(named name: String) -> Int? { channels.firstIndex { $0.name == name } }

    /// Advances one tick (at offset `tick · periodNanos` from start) and calls `emit` once per
    /// channel that has a reading this tick, in channel order (channels in dropout are skipped).
    /// Does not allocate, except to record a fault that starts at this tick.
    public mutating func step(_ emit: (_ channel: Int, _ value: Double) -> Void) {
        let k = tick
        if k >= nextFaultTick { startFaults(at: k) }
        let faulty = !active.isEmpty
        if faulty { gatherFaultEffects(at: k) }

        for c in processes.indices {
            let (level, noise) = processes[c].advance(steps: &steps)
            var value: Double
            if faulty {
                let factor = processes[c].noiseFactor
                value = level + (factor == 1 ? noise : noise * factor)
                value = processes[c].rounding.apply(value + processes[c].offset)
                let slot = processes[c].stuckSlot
                if slot >= 0 {
                    if active[slot].hasFrozen {
                        value = active[slot].frozen
                    } else {
                        active[slot].frozen = value
                        active[slot].hasFrozen = true
                    }
                }
                if processes[c].droppedOut { continue }
            } else {
                value = processes[c].rounding.apply(level + noise)
            }
            processes[c].lastEmitted = value
            processes[c].hasEmitted = true
            emit(c, value)
        }

        if k >= earliestEnd { removeEnded(at: k) }
        tick = k + 1
    }

    /// Starts every occurrence whose first tick is `k`, recording each in `groundTruth`.
    private mutating func startFaults(at k: Int) {
        var next = Int.max
        for i in schedule.indices {
            while schedule[i].nextTick <= k {
                let f = schedule[i]
                let last = k + (f.tickCount - 1)
                let c = f.channel
                active.append(ActiveFault(
                    kind: f.kind, channel: c, firstTick: k, lastTick: last, tickCount: f.tickCount,
                    magnitude: f.magnitude, shift: f.shift,
                    frozen: processes[c].lastEmitted, hasFrozen: processes[c].hasEmitted))
                earliestEnd = min(earliestEnd, last)
                if groundTruth.count < Self.groundTruthLimit {
                    groundTruth.append(InjectedFault(
                        kind: f.kind, channel: f.channelName, firstTick: k, lastTick: last,
                        startNanos: offsetNanos(ofTick: k), endNanos: offsetNanos(ofTick: last),
                        magnitude: f.magnitude))
                } else {
                    faultsNotListed += 1
                }
                schedule[i].drawNextArrival(periodNanos: periodNanos)
            }
            next = min(next, schedule[i].nextTick)
        }
        nextFaultTick = next
    }

    /// Drops the occurrences whose last tick was `k`, keeping the others in start order.
    /// (A hand-written loop: the generic `removeAll(where:)` allocates in unoptimized builds.)
    private mutating func removeEnded(at k: Int) {
        var kept = 0
        var end = Int.max
        for i in active.indices where active[i].lastTick > k {
            if kept != i { active[kept] = active[i] }
            end = min(end, active[i].lastTick)
            kept += 1
        }
        while active.count > kept { active.removeLast() }
        earliestEnd = end
    }

    /// Rebuilds each channel's offset, noise factor, stuck and dropout state for tick `k`.
    private mutating func gatherFaultEffects(at k: Int) {
        for c in processes.indices {
            processes[c].offset = 0
            processes[c].noiseFactor = 1
            processes[c].stuckSlot = -1
            processes[c].droppedOut = false
        }
        for slot in active.indices {
            let f = active[slot]
            switch f.kind {
            case .spike, .levelShift:
                processes[f.channel].offset += f.shift
            case .drift:
                processes[f.channel].offset += f.shift * Double(k - f.firstTick + 1) / Double(f.tickCount)
            case .noiseBurst:
                processes[f.channel].noiseFactor *= f.magnitude
            case .stuck:
                if processes[f.channel].stuckSlot < 0 { processes[f.channel].stuckSlot = slot }
            case .dropout:
                processes[f.channel].droppedOut = true
            }
        }
    }

    /// tick · period, saturating at Int64.max.
    private func offsetNanos(ofTick t: Int) -> Int64 {
        let (product, overflow) = Int64(t).multipliedReportingOverflow(by: periodNanos)
        return overflow ? .max : product
    }
}
