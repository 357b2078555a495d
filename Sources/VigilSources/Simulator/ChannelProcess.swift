import VigilCore

/// How one channel's variance is split between the walk and the white noise.
/// See `SimulatorModel` for the model.
struct ChannelScaling: Equatable {
    /// φ = 1 − recalibration.
    var phi: Double
    /// σ_s: standard deviation of one walk step.
    var stepStd: Double
    /// Standard deviation of the white noise: √(1 − walkShare)·std.
    var noiseStd: Double
    /// Standard deviation, in units of σ_s, of the part of the stationary level that comes from
    /// steps older than the `walkPoints` kept in the buffer (drawn once at start).
    var tailStdPerStep: Double

    init(_ ch: SimulatedChannel) {
        let r = ch.recalibration
        let n = ch.walkPoints
        phi = 1 - r
        // G = Σ_{k<n} φ^k = (1 − φ^n)/r (= n when r = 0), summed directly: no cancellation near r = 0.
        var g = 0.0
        var power = 1.0
        for _ in 0..<n {
            g += power
            power *= phi
            if power == 0 { break }
        }
        // Stationary variance of L per unit step variance:
        //   2(1 − φ^n)/(1 − φ²) = 2·r·G / (r(2 − r)) = 2G/(2 − r)   (→ n as r → 0).
        let levelVariancePerStep = 2 * g / (2 - r)
        stepStd = (ch.walkShare * ch.std * ch.std / levelVariancePerStep).squareRoot()
        noiseStd = ((1 - ch.walkShare) * ch.std * ch.std).squareRoot()
        // Old steps' share: (1 − φ^n)²/(1 − φ²) = r·G²/(2 − r)   (0 when r = 0).
        tailStdPerStep = (r * g * g / (2 - r)).squareRoot()
    }
}

/// One channel's running state: its generator, its level L, and where its last `walkPoints` walk
/// steps sit in the model's shared step buffer.
struct ChannelProcess {
    var rng: Xoshiro256StarStar
    let mean: Double
    let scaling: ChannelScaling
    let rounding: Rounding
    /// L, the walk's deviation from `mean`.
    var level: Double
    /// The channel's ring of walk steps is `steps[base ..< base + count]`; `head` is the oldest.
    let base: Int
    let count: Int
    var head: Int

    // The last reading emitted (for `stuck`).
    var lastEmitted: Double = 0
    var hasEmitted = false

    // Per-tick fault state, rebuilt at each tick from the active faults.
    var offset: Double = 0
    var noiseFactor: Double = 1
    var stuckSlot: Int = -1
    var droppedOut = false

    /// Draws the channel's starting state from its stationary distribution: the buffer gets
    /// `walkPoints` fresh steps, L their φ-weighted sum (as if the walk had run from L = 0 with an
    /// empty buffer, the newest step weighted 1), plus one Gaussian standing in for every older
    /// step (independent of the buffered ones, variance σ_s²(1 − φ^n)²/(1 − φ²)).
    init(channel ch: SimulatedChannel, seed: UInt64, steps: inout [Double], base: Int) {
        rng = Xoshiro256StarStar(seed: StreamSeed.channel(seed, name: ch.name))
        mean = ch.mean
        scaling = ChannelScaling(ch)
        rounding = Rounding(resolution: ch.resolution)
        self.base = base
        count = ch.walkPoints
        head = 0
        var l = 0.0
        var i = 0
        while i < count {
            let (a, b) = rng.nextNormalPair()
            steps[base + i] = scaling.stepStd * a
            l = scaling.phi * l + steps[base + i]
            i += 1
            if i < count {
                steps[base + i] = scaling.stepStd * b
                l = scaling.phi * l + steps[base + i]
                i += 1
            }
        }
        let (tail, _) = rng.nextNormalPair()
        level = l + scaling.stepStd * scaling.tailStdPerStep * tail
    }

    /// One tick of the clean process: a new walk step replaces the oldest in the ring, L moves by
    /// the change in the window sum and is pulled toward 0, and a white-noise draw is added.
    /// Returns (mean + L, the white-noise term). Always draws exactly one normal pair.
    @inline(__always)
    mutating func advance(steps: inout [Double]) -> (level: Double, noise: Double) {
        let (z1, z2) = rng.nextNormalPair()
        let step = scaling.stepStd * z1
        let slot = base + head
        let oldest = steps[slot]
        steps[slot] = step
        head += 1
        if head == count { head = 0 }
        level = scaling.phi * level + (step - oldest)
        return (mean + level, scaling.noiseStd * z2)
    }
}

/// Rounding to a sensor's resolution. When 1/resolution is a whole number (0.1, 0.01, 0.5 …) the
/// result is `(v·k).rounded() / k`, the double nearest the decimal value (22.13, not
/// 22.130000000000003); otherwise `(v / resolution).rounded() · resolution`. Halves go away from 0.
struct Rounding: Equatable {
    private enum Mode: Equatable { case none, byInverse(Double), byStep(Double) }
    private let mode: Mode

    init(resolution: Double) {
        if resolution <= 0 {
            mode = .none
        } else {
            let inverse = 1 / resolution
            let whole = inverse.rounded()
            if whole >= 1 && abs(inverse - whole) <= 1e-9 * whole && whole < 0x1p52 {
                mode = .byInverse(whole)
            } else {
                mode = .byStep(resolution)
            }
        }
    }

    @inline(__always)
    func apply(_ v: Double) -> Double {
        switch mode {
        case .none: return v
        case .byInverse(let k): return (v * k).rounded() / k
        case .byStep(let step): return (v / step).rounded() * step
        }
    }
}
