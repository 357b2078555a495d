import Foundation
import Testing
import VigilCore
@testable import VigilSources

@Suite struct SimulatorDeterminismTests {
    @Test func sameSeedGivesIdenticalReadings() throws {
        var a = try SimulatorModel(channels: SimulatedChannel.defaults, faults: [], rateHz: 10, seed: 7)
        var b = try SimulatorModel(channels: SimulatedChannel.defaults, faults: [], rateHz: 10, seed: 7)
        let ta = a.record(10_000), tb = b.record(10_000)
        #expect(ta.bitIdentical(to: tb))
        #expect(a.tick == 10_000 && b.tick == 10_000)
        // Every channel emitted every tick.
        #expect(ta.values.allSatisfy { $0.allSatisfy { $0 != nil } })
    }

    @Test func differentSeedGivesDifferentReadings() throws {
        var a = try SimulatorModel(channels: SimulatedChannel.defaults, faults: [], rateHz: 10, seed: 7)
        var b = try SimulatorModel(channels: SimulatedChannel.defaults, faults: [], rateHz: 10, seed: 8)
        let ta = a.record(1_000), tb = b.record(1_000)
        for c in 0..<3 {
            let same = zip(ta.series(c), tb.series(c)).filter { $0 == $1 }.count
            // Rounded readings may coincide now and then, but not often.
            #expect(same < 100, "channel \(c): \(same) of 1000 readings equal")
        }
    }

    @Test func addingOrReorderingChannelsLeavesOthersUnchanged() throws {
        let temp = channel("temp"), hum = channel("hum", mean: 45, std: 2, walkPoints: 10)
        let pressure = channel("pressure", mean: 1013, std: 3, walkPoints: 100, recalibration: 0.01)
        var a = try SimulatorModel(channels: [temp, hum], faults: [], rateHz: 10, seed: 99)
        var b = try SimulatorModel(channels: [pressure, hum, temp], faults: [], rateHz: 10, seed: 99)
        let ta = a.record(5_000), tb = b.record(5_000)
        #expect(ta.series(0).map(\.bitPattern) == tb.series(2).map(\.bitPattern))
        #expect(ta.series(1).map(\.bitPattern) == tb.series(1).map(\.bitPattern))
    }

    @Test func changingAChannelsSettingsKeepsItsStream() throws {
        // The stream is keyed by name: a different std scales the same draws.
        var a = try SimulatorModel(channels: [channel("x", mean: 0, std: 1)], faults: [], rateHz: 10, seed: 3)
        var b = try SimulatorModel(channels: [channel("x", mean: 0, std: 4)], faults: [], rateHz: 10, seed: 3)
        let ta = a.record(1_000).series(0), tb = b.record(1_000).series(0)
        for (x, y) in zip(ta, tb) { #expect(abs(4 * x - y) <= 1e-12 * max(1, abs(y))) }
    }

    @Test func periodIsRoundedNanoseconds() throws {
        #expect(try SimulatorModel(channels: twoChannels, rateHz: 10, seed: 1).periodNanos == 100_000_000)
        #expect(try SimulatorModel(channels: twoChannels, rateHz: 3, seed: 1).periodNanos == 333_333_333)
        #expect(try SimulatorModel(channels: twoChannels, rateHz: 10_000, seed: 1).periodNanos == 100_000)
        #expect(try SimulatorModel(channels: twoChannels, rateHz: 0.5, seed: 1).periodNanos == 2_000_000_000)
        var m = try SimulatorModel(channels: twoChannels, rateHz: 4, seed: 1)
        _ = m.record(3)
        #expect(m.tick == 3 && m.nextOffsetNanos == 750_000_000)
        #expect(m.channelIndex(named: "hum") == 1 && m.channelIndex(named: "nope") == nil)
    }

    @Test func copiesAdvanceIndependently() throws {
        var a = try SimulatorModel(channels: twoChannels, rateHz: 10, seed: 5)
        _ = a.record(100)
        var b = a
        let ta = a.record(500), tb = b.record(500)
        #expect(ta.bitIdentical(to: tb))
    }

    /// The logarithm written for cross-platform determinism agrees with the C library's.
    @Test func naturalLogMatchesLibm() {
        var rng = Xoshiro256StarStar(seed: 11)
        var worst = 0.0
        var inputs: [Double] = [1, 2, 0.5, .ulpOfOne, 1 - .ulpOfOne / 2, 1 + .ulpOfOne, 0x1p-1074, 0x1p-53,
                                .greatestFiniteMagnitude, 1.414_213_562_373_095_1, 1.414_213_562_373_095, 0.707_106_781_186_547_6]
        for _ in 0..<100_000 { inputs.append(rng.nextOpenUnit()) }
        for _ in 0..<10_000 { inputs.append(exp(rng.nextUnit() * 1400 - 700)) }
        for x in inputs {
            let want = Foundation.log(x)
            let got = naturalLog(x)
            let err = abs(got - want) / max(abs(want).ulp, Double.leastNormalMagnitude)
            worst = max(worst, err)
        }
        #expect(naturalLog(1) == 0)
        #expect(worst <= 2, "worst error \(worst) ulp")
    }

    /// The generators reproduce the published reference outputs.
    @Test func generatorsMatchReferenceVectors() {
        var x = Xoshiro256StarStar(state: (1, 2, 3, 4))
        let expected: [UInt64] = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360,
                                  607988272756665600, 16172922978634559625, 8476171486693032832,
                                  10595114339597558777, 2904607092377533576]
        #expect((0..<10).map { _ in x.next() } == expected)
        var sm = SplitMix64(seed: 0)
        #expect([sm.next(), sm.next(), sm.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    /// The normals are standard: mean 0, variance 1, the pair uncorrelated.
    @Test func normalPairsAreStandard() {
        var rng = Xoshiro256StarStar(seed: 2024)
        var a: [Double] = [], b: [Double] = []
        for _ in 0..<200_000 { let (x, y) = rng.nextNormalPair(); a.append(x); b.append(y) }
        for xs in [a, b] {
            let (m, s) = meanAndStd(xs)
            #expect(abs(m) < 0.01 && abs(s - 1) < 0.01)
            let tail = Double(xs.filter { abs($0) > 3 }.count) / Double(xs.count)
            #expect(abs(tail - 0.0027) < 0.0005)   // P(|Z| > 3) = 0.0027
        }
        let (ma, sa) = meanAndStd(a), (mb, sb) = meanAndStd(b)
        let corr = zip(a, b).reduce(0) { $0 + ($1.0 - ma) * ($1.1 - mb) } / Double(a.count) / (sa * sb)
        #expect(abs(corr) < 0.01)
        var e = Xoshiro256StarStar(seed: 5)
        let (me, se) = meanAndStd((0..<200_000).map { _ in e.nextExponential() })
        #expect(abs(me - 1) < 0.01 && abs(se - 1) < 0.015)
    }
}
