/// What the multivariate detector made of one complete row (one reading of every channel).
public struct MultivariateVerdict: Sendable, Equatable {
    public var state: Verdict.State
    /// Hotelling's T² of the row against the window's mean and covariance (NaN in warm-up).
    public var t2: Double
    /// T² on the z scale (Wilson–Hilferty), so `z_on`/`z_off` mean what they mean per channel.
    public var z: Double
    public var started: MultivariateStart?
    public var ended: Episode?
    public var heldOut = false
    public var inEpisode: Bool { state == .anomalous || state == .settling }
}

/// The row that opened a multivariate episode.
public struct MultivariateStart: Sendable, Equatable {
    public var id: Int
    public var wallNanos: Int64
    public var t2: Double
    public var z: Double
    /// Each channel's share of T², d_i·(S⁻¹d)_i / T², in channel order (they sum to 1; a negative
    /// share means the channel pulled the row toward normal).
    public var contributions: [Double]
    public var values: [Double]

    public init(id: Int, wallNanos: Int64, t2: Double, z: Double, contributions: [Double], values: [Double]) {
        self.id = id; self.wallNanos = wallNanos; self.t2 = t2; self.z = z; self.contributions = contributions; self.values = values
    }
}

/// Hotelling's T² over a source's channels together: a sliding window of complete rows with
/// running sums of x and x·xᵀ (taken around a shift, recomputed exactly every `window` rows),
/// the row scored against the window's mean and sample covariance *before* it joins, through a
/// Cholesky factorisation. Sees a row that is normal channel by channel but abnormal in
/// combination (temperature up while humidity, which follows it, stays flat).
///
/// Cost per row with d channels: O(d²) for the sums, O(d³/6) for the factorisation — about 100
/// multiply-adds for d = 8 — independent of the window length. Memory: window × d doubles plus
/// a few d×d scratch matrices, all allocated at `init`; nothing per reading.
///
/// Rows: a row is scored when every channel has delivered a reading since the last row. A
/// channel that repeats before the row is complete, or delivers a dropped or unhealthy reading,
/// voids the row (counted in `incompleteRows`): the detector never scores stale or sick values.
public struct MultivariateDetector: Sendable {
    public let settings: DetectorSettings
    public let dimension: Int
    private let floors: [Double]

    private var values: [Double]      // capacity × d, row-major
    private var times: [Int64]
    private var head = 0
    public private(set) var count = 0
    private var shift: [Double]
    private var sum: [Double]         // Σ(x − shift)
    private var sumProducts: [Double] // Σ(x − shift)(x − shift)ᵀ, d × d
    private var pushesSinceRecompute = 0

    private var row: [Double]
    private var fresh: [Bool]
    private var freshCount = 0
    private var void = false
    private var rowWall: Int64 = 0
    private var smoothed: [Double]
    private var hasSmoothed = false
    private var scratchCov: [Double]
    private var scratchVec: [Double]
    private var scratchSolve: [Double]

    private var tracker: EpisodeTracker
    private var heldInEpisode = 0
    public private(set) var rowsScored = 0
    public private(set) var incompleteRows = 0

    /// - Parameter floors: each channel's `std_floor`, added to the variance as floor², so a flat
    ///   channel does not make the covariance singular.
    public init(settings: DetectorSettings, floors: [Double]) {
        precondition(floors.count >= 1)
        self.settings = settings
        self.dimension = floors.count
        self.floors = floors
        let d = floors.count
        values = [Double](repeating: 0, count: settings.windowSize * d)
        times = [Int64](repeating: 0, count: settings.windowSize)
        shift = [Double](repeating: 0, count: d)
        sum = [Double](repeating: 0, count: d)
        sumProducts = [Double](repeating: 0, count: d * d)
        row = [Double](repeating: 0, count: d)
        fresh = [Bool](repeating: false, count: d)
        smoothed = [Double](repeating: 0, count: d)
        scratchCov = [Double](repeating: 0, count: d * d)
        scratchVec = [Double](repeating: 0, count: d)
        scratchSolve = [Double](repeating: 0, count: d)
        tracker = EpisodeTracker(zOn: settings.zOn, zOff: settings.zOff, endAfter: settings.endAfter)
    }

    public var inEpisode: Bool { tracker.isOpen }
    public var episodesTotal: Int { tracker.episodesTotal }

    /// One channel's reading. `usable` is false for a dropped or unhealthy reading. Returns a
    /// verdict when the reading completed a row.
    public mutating func update(channel: Int, value: Double, usable: Bool, monoNanos: Int64, wallNanos: Int64) -> MultivariateVerdict? {
        if fresh[channel] {
            // The channel came round again before the row was complete: void it.
            incompleteRows += 1
            resetRow()
        }
        fresh[channel] = true
        freshCount += 1
        row[channel] = value
        rowWall = wallNanos
        if !usable || !value.isFinite { void = true }
        guard freshCount == dimension else { return nil }
        defer { resetRow() }
        if void { incompleteRows += 1; return nil }
        return score(monoNanos: monoNanos, wallNanos: rowWall)
    }

    /// Scores a complete row directly (replay, tests).
    public mutating func process(_ x: [Double], monoNanos: Int64, wallNanos: Int64) -> MultivariateVerdict {
        precondition(x.count == dimension)
        for i in 0..<dimension { row[i] = x[i] }
        return score(monoNanos: monoNanos, wallNanos: wallNanos)
    }

    private mutating func resetRow() {
        for i in 0..<dimension { fresh[i] = false }
        freshCount = 0
        void = false
    }

    private mutating func score(monoNanos: Int64, wallNanos: Int64) -> MultivariateVerdict {
        let d = dimension
        rowsScored += 1
        if let age = settings.windowDuration?.nanoseconds {
            while count > 0 && times[head] < monoNanos - age { removeOldest() }
        }
        // Optional smoothing pre-filter, per channel.
        if settings.smoothing < 1 && hasSmoothed {
            for i in 0..<d { smoothed[i] = settings.smoothing * row[i] + (1 - settings.smoothing) * smoothed[i] }
        } else {
            for i in 0..<d { smoothed[i] = row[i] }
            hasSmoothed = true
        }
        var verdict = MultivariateVerdict(state: .warmingUp, t2: .nan, z: .nan, started: nil, ended: nil)
        if count >= max(settings.warmup, 2) {
            let t2 = hotelling()
            let z = Self.zEquivalent(t2: t2, dimension: d)
            verdict.t2 = t2
            verdict.z = z
            switch tracker.step(z: z, value: t2, wallNanos: wallNanos) {
            case .normal: verdict.state = .normal
            case .started(let id):
                verdict.state = .anomalous
                var shares = [Double](repeating: 0, count: d)
                for i in 0..<d { shares[i] = t2 > 0 ? scratchVec[i] * scratchSolve[i] / t2 : 0 }
                verdict.started = MultivariateStart(id: id, wallNanos: wallNanos, t2: t2, z: z, contributions: shares,
                                                    values: Array(row[0..<d]))
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
            push(monoNanos: monoNanos)
        }
        return verdict
    }

    /// T² of `smoothed` against the window; leaves x − mean in scratchVec and S⁻¹(x − mean) in scratchSolve.
    private mutating func hotelling() -> Double {
        let d = dimension
        let n = Double(count)
        // Sample covariance (n − 1), with the floor² and a tiny relative ridge on the diagonal.
        for i in 0..<d {
            let mi = sum[i] / n
            scratchVec[i] = smoothed[i] - (shift[i] + mi)
            for j in 0...i {
                let c = (sumProducts[i * d + j] - sum[i] * sum[j] / n) / (n - 1)
                scratchCov[i * d + j] = c
            }
            let v = max(scratchCov[i * d + i], 0)
            scratchCov[i * d + i] = v * (1 + 1e-9) + floors[i] * floors[i] + 1e-300
        }
        // Cholesky, lower triangle in place: S = L·Lᵀ.
        for j in 0..<d {
            var s = scratchCov[j * d + j]
            for k in 0..<j { s -= scratchCov[j * d + k] * scratchCov[j * d + k] }
            // A (numerically) dependent channel adds nothing new: treat its residual as the floor.
            let pivot = s > scratchCov[j * d + j] * 1e-12 ? s.squareRoot() : max(floors[j], 1e-150)
            scratchCov[j * d + j] = pivot
            for i in (j + 1)..<max(d, j + 1) {
                var t = scratchCov[i * d + j]
                for k in 0..<j { t -= scratchCov[i * d + k] * scratchCov[j * d + k] }
                scratchCov[i * d + j] = t / pivot
            }
        }
        // Forward solve L·u = x − mean; T² = |u|²; back solve Lᵀ·y = u for the contributions.
        var t2 = 0.0
        for i in 0..<d {
            var t = scratchVec[i]
            for k in 0..<i { t -= scratchCov[i * d + k] * scratchSolve[k] }
            let u = t / scratchCov[i * d + i]
            scratchSolve[i] = u
            t2 += u * u
        }
        var i = d - 1
        while i >= 0 {
            var t = scratchSolve[i]
            for k in (i + 1)..<max(d, i + 1) { t -= scratchCov[k * d + i] * scratchSolve[k] }
            scratchSolve[i] = t / scratchCov[i * d + i]
            i -= 1
        }
        return t2
    }

    /// Wilson–Hilferty: maps T² (≈ χ² with d degrees of freedom for a normal row) to the standard
    /// normal scale, so a threshold of 4 has the same tail probability as |z| ≥ 4 per channel.
    public static func zEquivalent(t2: Double, dimension d: Int) -> Double {
        let k = Double(d)
        let a = 2 / (9 * k)
        return (cubeRoot(max(t2, 0) / k) - (1 - a)) / a.squareRoot()
    }

    /// x^(1/3) for x ≥ 0 by Newton's method from a power-of-two estimate (VigilCore uses no libm).
    static func cubeRoot(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x }
        var y = Double(sign: .plus, exponent: x.exponent / 3, significand: 1.26)
        for _ in 0..<40 {
            let next = y - (y * y * y - x) / (3 * y * y)
            if abs(next - y) <= 1e-15 * next { return next }
            y = next
        }
        return y
    }

    private mutating func push(monoNanos: Int64) {
        let d = dimension
        let cap = settings.windowSize
        if count == cap { removeOldest() }
        if count == 0 {
            for i in 0..<d { shift[i] = smoothed[i]; sum[i] = 0 }
            for k in 0..<(d * d) { sumProducts[k] = 0 }
        }
        var tail = head + count
        if tail >= cap { tail -= cap }
        times[tail] = monoNanos
        for i in 0..<d {
            values[tail * d + i] = smoothed[i]
            scratchSolve[i] = smoothed[i] - shift[i]
        }
        count += 1
        for i in 0..<d {
            sum[i] += scratchSolve[i]
            for j in 0...i { sumProducts[i * d + j] += scratchSolve[i] * scratchSolve[j] }
        }
        pushesSinceRecompute += 1
        if pushesSinceRecompute >= cap { recompute() }
    }

    private mutating func removeOldest() {
        let d = dimension
        for i in 0..<d {
            let di = values[head * d + i] - shift[i]
            sum[i] -= di
            for j in 0...i { sumProducts[i * d + j] -= di * (values[head * d + j] - shift[j]) }
        }
        head += 1
        if head == settings.windowSize { head = 0 }
        count -= 1
    }

    /// Re-centres the shift on the window mean and rebuilds the sums exactly.
    private mutating func recompute() {
        pushesSinceRecompute = 0
        guard count > 0 else { return }
        let d = dimension
        let cap = settings.windowSize
        for i in 0..<d { shift[i] += sum[i] / Double(count); sum[i] = 0 }
        for k in 0..<(d * d) { sumProducts[k] = 0 }
        var r = head
        for _ in 0..<count {
            for i in 0..<d {
                let di = values[r * d + i] - shift[i]
                sum[i] += di
                for j in 0...i { sumProducts[i * d + j] += di * (values[r * d + j] - shift[j]) }
            }
            r += 1
            if r == cap { r = 0 }
        }
    }

    public mutating func closeForShutdown(wallNanos: Int64) -> Episode? {
        tracker.closeForShutdown(wallNanos: wallNanos)
    }

    /// Mean of the window (for tests and diagnostics; allocates).
    public var mean: [Double] { (0..<dimension).map { shift[$0] + sum[$0] / Double(count) } }
}

