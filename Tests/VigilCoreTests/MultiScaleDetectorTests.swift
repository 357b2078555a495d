import Foundation
import Testing
import VigilCore

/// The two-scale detector (fast: the raw step from the smoothed value; slow: the smoothed value
/// against the window) and thresholds from a false-alarm budget: exact values on hand-computed
/// sequences, then properties on seeded noise.
@Suite struct MultiScaleDetectorTests {
    static let second: Int64 = 1_000_000_000
    static let noHealth = HealthSettings(stuckAfter: nil, dropoutAfter: nil)

    /// Seeded standard normal noise (SplitMix64 + Box–Muller): the same series on every machine.
    static func noise(_ n: Int, seed: UInt64 = 42) -> [Double] {
        var state = seed
        func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (Double((z ^ (z >> 31)) >> 11) + 0.5) / 9_007_199_254_740_992.0
        }
        return (0..<n).map { _ in (-2 * log(next())).squareRoot() * cos(2 * .pi * next()) }
    }

    static func run(_ settings: DetectorSettings, _ values: [Double], interval: Int64 = second) -> (ChannelDetector, [Verdict]) {
        var d = ChannelDetector(settings: settings)
        let v = values.enumerated().map { i, x in d.process(x, monoNanos: Int64(i) * interval, wallNanos: Int64(i) * interval) }
        return (d, v)
    }

    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool { abs(a - b) <= tolerance * max(1, abs(b)) }

    @Test func normalQuantileMatchesReferenceValues() {
        // References: Python's statistics.NormalDist().inv_cdf (Wichura's AS 241).
        let cases: [(Double, Double)] = [(0.975, 1.9599639845400536), (0.5, 0), (1e-10, -6.361340902404056),
                                         (0.02, -2.0537489106318225), (1 - 1 / 345_600.0, 4.534024287426884)]
        for (q, z) in cases { #expect(Self.close(FalseAlarmBudget.normalQuantile(q), z), "Φ⁻¹(\(q))") }
        #expect(FalseAlarmBudget.normalQuantile(0) == -.infinity && FalseAlarmBudget.normalQuantile(1) == .infinity)
        #expect(FalseAlarmBudget.normalQuantile(1.5).isNaN)
    }

    @Test func aBudgetBecomesATailProbabilityAndAThresholdAtTheCadence() {
        #expect(FalseAlarmBudget.tailProbability(perDay: 1, intervalNanos: Self.second, scales: 2) == 1 / 172_800.0)
        #expect(Self.close(FalseAlarmBudget.zOn(perDay: 1, intervalNanos: Self.second, scales: 2), 4.534024287426884))
        #expect(Self.close(FalseAlarmBudget.zOn(perDay: 1, intervalNanos: Self.second, scales: 1), 4.385460348950163))
        #expect(Self.close(FalseAlarmBudget.zOn(perDay: 1, intervalNanos: 300 * Self.second, scales: 2), 3.132014820751144))
        // clamped: a budget of a false alarm every reading, and one of none
        #expect(FalseAlarmBudget.zOn(perDay: 1e9, intervalNanos: Self.second, scales: 2) == 2)
        #expect(FalseAlarmBudget.zOn(perDay: 1e-12, intervalNanos: Self.second, scales: 2) == 8)
    }

    @Test func theCadenceIsLearntAndOneGapBarelyMovesIt() {
        var c = CadenceEstimator()
        c.note(monoNanos: 0)
        #expect(!c.isKnown && c.intervalNanos == 0)
        for t in 1...3 { c.note(monoNanos: Int64(t) * Self.second) }
        #expect(c.isKnown && c.gaps == 3 && c.intervalNanos == Self.second)
        c.note(monoNanos: 13 * Self.second)         // a 10 s gap counts as 2 s: 1 + (2 − 1)/8
        #expect(c.intervalNanos == 1_125_000_000)
        c.note(monoNanos: 13 * Self.second)         // no time passed: not a gap
        #expect(c.gaps == 4)
    }

    @Test func bothScalesOnAHandComputedSequence() {
        let s = DetectorSettings(windowSize: 10, warmup: 2, zOn: 100, zOff: 50, endAfter: 1, holdOut: 0, smoothing: 0.5,
                                 health: Self.noHealth, spikes: true)
        let (d, v) = Self.run(s, [0, 2, 0, 2, 20])
        // smoothed 0, 1, 0.5, 1.25, 10.625; steps 2, −1, 1.5, 18.75 (reading − smoothed before it)
        #expect(v.map(\.scored) == [0, 1, 0.5, 1.25, 10.625])
        #expect(v[2].zFast.isNaN && v[2].zSlow.isNaN && v[2].z == 0)      // one step learnt: the fast scale waits
        // steps 2, −1: mean 0.5, variance ½·(0 + 3·1.5) = 2.25 → (1.5 − 0.5) / 1.5
        #expect(Self.close(v[3].zFast, 2.0 / 3))
        // window 0, 1, 0.5: mean 0.5, std 0.5 → (1.25 − 0.5) / 0.5; z is the larger
        #expect(Self.close(v[3].zSlow, 1.5) && v[3].z == v[3].zSlow)
        // steps 2, −1, 1.5 (weight ⅓): mean 5/6, variance ⅔·(2.25 + ⅓) = 31/18
        #expect(Self.close(v[4].zFast, (18.75 - 5.0 / 6) / (31.0 / 18).squareRoot()))
        // window 0, 1, 0.5, 1.25: mean 0.6875, variance 0.921875 / 3
        #expect(Self.close(v[4].zSlow, (10.625 - 0.6875) / (0.921875 / 3).squareRoot(), 1e-9))
        #expect(v[4].z == v[4].zSlow && v[4].mean == 0.6875)
        #expect(d.steps.count == 4 && d.zOn == 100)  // fixed thresholds without a budget
    }

    @Test func withoutSmoothingThereIsOneScale() {
        let s = DetectorSettings(windowSize: 10, warmup: 2, health: Self.noHealth, spikes: true)
        #expect(s.scales == 1)
        let (d, v) = Self.run(s, [0, 2, 0, 2])
        #expect(v[3].zFast.isNaN && d.steps.count == 0)
        #expect(DetectorSettings.defaults.scales == 2)
    }

    @Test func theBudgetSetsTheThresholdsFromTheObservedCadence() {
        let x = Self.noise(40)
        let (fast, _) = Self.run(.defaults, x, interval: Self.second)
        #expect(Self.close(fast.zOn, 4.534024287426884) && Self.close(fast.zOff, 0.6 * 4.534024287426884))
        let (slow, _) = Self.run(.defaults, x, interval: 300 * Self.second)
        #expect(Self.close(slow.zOn, 3.132014820751144))
        // an explicit z_on (no budget) is kept as it is
        var fixed = DetectorSettings.defaults
        fixed.falseAlarmsPerDay = nil
        #expect(Self.run(fixed, x).0.zOn == 4.5)
    }

    /// A one-reading spike of k·σ, k a little above the threshold, at every noise level.
    @Test func aSpikeAboveTheThresholdIsFoundAtAnyNoiseLevelAndOnlyWithTheFastScale() {
        let base = Self.noise(700)
        for sigma in [0.001, 1, 1000.0] {
            var x = base.map { 20 * sigma + sigma * $0 }
            x[650] += 6.5 * sigma
            let (d, v) = Self.run(.defaults, x)
            #expect(v[650].started != nil, "σ \(sigma): z \(v[650].z)")
            #expect(abs(v[650].zFast) > abs(v[650].zSlow))
            #expect(d.episodesTotal == 1 && v.filter { $0.started != nil }.count == 1, "σ \(sigma)")
            var smoothedOnly = DetectorSettings.defaults
            smoothedOnly.spikes = false
            #expect(Self.run(smoothedOnly, x).0.episodesTotal == 0, "σ \(sigma): smoothing alone blunts the spike")
        }
    }

    @Test func multiplyingASeriesBy1000ChangesNoVerdict() {
        var x = Self.noise(900)
        x[650] += 7
        for i in 700..<760 { x[i] += 2 }
        let a = Self.run(.defaults, x).1.map(\.state)
        let b = Self.run(.defaults, x.map { $0 * 1000 }).1.map(\.state)
        #expect(a == b)
        #expect(a.contains(.anomalous))
    }

    @Test func aSmallSustainedShiftIsFoundByTheSlowScaleAlone() throws {
        var x = Self.noise(800)
        for i in 600..<700 { x[i] += 1.5 }          // 1.5σ: no single reading stands out
        var rawOnly = DetectorSettings.defaults
        rawOnly.smoothing = 1
        #expect(Self.run(rawOnly, x).0.episodesTotal == 0)
        let (d, v) = Self.run(.defaults, x)
        let start = try #require(v.firstIndex { $0.started != nil })
        #expect(start >= 600 && start < 630, "started at \(start)")
        #expect(d.episodesTotal == 1)
        #expect(abs(v[start].zSlow) > abs(v[start].zFast))
    }

    @Test func aLargeShiftIsOneEpisodeAcrossBothScales() {
        var x = Self.noise(800)
        for i in 600..<650 { x[i] += 10 }
        let (d, v) = Self.run(.defaults, x)
        #expect(v[600].started != nil && abs(v[600].zFast) > abs(v[600].zSlow))   // the fast scale opens it …
        #expect(v[610].state == .anomalous && abs(v[610].zSlow) > abs(v[610].zFast)) // … the slow one carries it
        #expect(d.episodesTotal == 1 && !d.inEpisode)
    }

    @Test func aConstantOffsetBecomesNormalAfterTheHoldOut() {
        var x = Self.noise(2600)
        for i in 600..<2600 { x[i] += 10 }
        let (d, v) = Self.run(.defaults, x)
        #expect(d.episodesTotal == 1 && !d.inEpisode)
        #expect(v[1800...].allSatisfy { $0.state == .normal })
    }
}
