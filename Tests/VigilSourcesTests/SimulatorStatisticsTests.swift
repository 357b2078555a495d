import Testing
import VigilCore
@testable import VigilSources

/// The long-run behaviour matches the documented model.
@Suite struct SimulatorStatisticsTests {
    struct Params: Sendable, CustomTestStringConvertible {
        var recalibration: Double
        var walkPoints: Int
        var walkShare: Double
        var testDescription: String { "r=\(recalibration) n=\(walkPoints) walkShare=\(walkShare)" }
    }

    static let parameterSets: [Params] = [
        Params(recalibration: 0.05, walkPoints: 30, walkShare: 0.5),
        Params(recalibration: 0, walkPoints: 10, walkShare: 0.5),
        Params(recalibration: 0.05, walkPoints: 30, walkShare: 0),
        Params(recalibration: 0.05, walkPoints: 30, walkShare: 1),
        Params(recalibration: 0, walkPoints: 10, walkShare: 1),
        Params(recalibration: 1, walkPoints: 5, walkShare: 1),
        Params(recalibration: 0.002, walkPoints: 1_000, walkShare: 0.8),
    ]

    /// Lag-1 autocorrelation of a reading by the model: L = Σ c_j s_{t−j} with c_j = φ^j (j < n),
    /// φ^j − φ^(j−n) (j ≥ n); ρ(1) = walkShare · Σ c_j c_{j+1} / Σ c_j².
    static func theoreticalLag1(_ p: Params) -> Double {
        let phi = 1 - p.recalibration
        var c: [Double] = []
        var power = 1.0
        var powers: [Double] = []
        for _ in 0..<(p.walkPoints + 20_000) { powers.append(power); power *= phi }
        for j in powers.indices { c.append(j < p.walkPoints ? powers[j] : powers[j] - powers[j - p.walkPoints]) }
        var g0 = 0.0, g1 = 0.0
        for j in 0..<(c.count - 1) { g0 += c[j] * c[j]; g1 += c[j] * c[j + 1] }
        return p.walkShare * g1 / g0
    }

    @Test(arguments: parameterSets)
    func longRunMeanAndStdMatchTheConfiguredOnes(_ p: Params) throws {
        let ch = channel("x", mean: 10, std: 2, walkPoints: p.walkPoints, recalibration: p.recalibration, walkShare: p.walkShare)
        var m = try SimulatorModel(channels: [ch], faults: [], rateHz: 10, seed: 20_240_601)
        let xs = m.record(200_000).series(0)
        let (mean, std) = meanAndStd(xs)
        // Standard error of the mean is ≤ 0.005·std here (it is largest for r = 0: √(n·walkShare/N)).
        #expect(abs(mean - 10) < 0.03 * 2, "mean \(mean)")
        // A variance scaling off by a factor of 1.2 (std by ~10%) fails this.
        #expect(abs(std / 2 - 1) < 0.05, "std \(std)")
        // The walk's share shows up in the autocorrelation: 0 for white noise, near 1 for a slow walk.
        let rho = lag1Autocorrelation(xs), want = Self.theoreticalLag1(p)
        #expect(abs(rho - want) < 0.03, "lag-1 autocorrelation \(rho), model says \(want)")
    }

    @Test func scalingHitsTheConfiguredVarianceExactly() {
        // σ_s² · 2(1 − φⁿ)/(1 − φ²) + σ_ε² = std², computed the textbook way.
        for p in Self.parameterSets {
            let ch = channel("x", std: 2, walkPoints: p.walkPoints, recalibration: p.recalibration, walkShare: p.walkShare)
            let s = ChannelScaling(ch)
            let phi = 1 - p.recalibration
            var phiN = 1.0
            for _ in 0..<p.walkPoints { phiN *= phi }
            let factor = p.recalibration == 0 ? Double(p.walkPoints) : 2 * (1 - phiN) / (1 - phi * phi)
            let total = s.stepStd * s.stepStd * factor + s.noiseStd * s.noiseStd
            #expect(abs(total - 4) < 1e-9, "\(p.testDescription): \(total)")
        }
    }

    /// The very first readings already have the long-run spread: no start-up transient.
    @Test(arguments: [Params(recalibration: 0.05, walkPoints: 30, walkShare: 1),
                      Params(recalibration: 0.2, walkPoints: 3, walkShare: 1),
                      Params(recalibration: 0, walkPoints: 20, walkShare: 0.5)])
    func startsInTheStationaryDistribution(_ p: Params) throws {
        let ch = channel("x", mean: 0, std: 1, walkPoints: p.walkPoints, recalibration: p.recalibration, walkShare: p.walkShare)
        var first: [Double] = [], tenth: [Double] = []
        for seed in 0..<3_000 as Range<UInt64> {
            var m = try SimulatorModel(channels: [ch], faults: [], rateHz: 1, seed: seed)
            let t = m.record(10).series(0)
            first.append(t[0]); tenth.append(t[9])
        }
        for xs in [first, tenth] {
            let (mean, std) = meanAndStd(xs)
            // 3000 samples: standard errors 0.018 (mean) and ~1.3% (std). Starting the walk at 0
            // with only n warm-up steps would give std 0.78 for the first case.
            #expect(abs(mean) < 0.08, "mean \(mean)")
            #expect(abs(std - 1) < 0.05, "std \(std)")
        }
    }
}
