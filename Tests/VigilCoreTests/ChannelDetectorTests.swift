import Testing
import VigilCore

@Suite struct ChannelDetectorTests {
    static let second: Int64 = 1_000_000_000

    /// Feeds values one a second and returns the verdicts.
    static func run(_ detector: inout ChannelDetector, _ values: [Double], from t0: Int = 0) -> [Verdict] {
        values.enumerated().map { i, x in
            let t = Int64(t0 + i) * second
            return detector.process(x, monoNanos: t, wallNanos: 1_700_000_000 * second + t)
        }
    }

    @Test func handComputedEpisode() {
        let s = DetectorSettings(windowSize: 5, warmup: 3, zOn: 3, zOff: 1.5, endAfter: 2, stdFloor: 0.1, holdOut: 0)
        var d = ChannelDetector(settings: s)
        let v = Self.run(&d, [1, 2, 3, 2, 6, 7, 4, 4.4])
        #expect(v[0..<3].allSatisfy { $0.state == .warmingUp && $0.z.isNaN })
        // against [1,2,3]: mean 2, sample std 1
        #expect(v[3].state == .normal)
        #expect(v[3].z == 0)
        // against [1,2,3,2]: mean 2, variance 2/3
        let z4 = 4 / (2.0 / 3).squareRoot()
        #expect(v[4].state == .anomalous)
        #expect(abs(v[4].z - z4) < 1e-12)
        #expect(v[4].started == EpisodeStart(id: 1, wallNanos: 1_700_000_004 * Self.second, value: 6, z: v[4].z, mean: 2, std: v[4].std))
        // against [1,2,3,2,6]: mean 2.8, variance 3.7 → z = 4.2/√3.7 ≥ z_off
        #expect(abs(v[5].z - 4.2 / 3.7.squareRoot()) < 1e-12)
        #expect(v[5].state == .anomalous)
        // against [2,3,2,6,7]: mean 4 → z 0, first calm reading
        #expect(v[6].state == .settling)
        #expect(abs(v[6].z) < 1e-12)
        // against [3,2,6,7,4]: mean 4.4 → z 0, second calm reading ends the episode
        #expect(v[7].state == .normal)
        let e = v[7].ended!
        #expect(e.id == 1)
        #expect(e.startWallNanos == 1_700_000_004 * Self.second)
        #expect(e.lastWallNanos == 1_700_000_005 * Self.second)
        #expect(e.endWallNanos == 1_700_000_007 * Self.second)
        #expect(e.durationNanos == Self.second)
        #expect(abs(e.peakZ - z4) < 1e-12)
        #expect(e.peakValue == 6)
        #expect(e.anomalous == 2)
        #expect(e.readings == 4)
        #expect(e.reason == .recovered)
        #expect(v.compactMap(\.started).count == 1)
        #expect(v.compactMap(\.ended).count == 1)
    }

    @Test func aReadingIsScoredBeforeItJoinsTheWindow() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 2, zOn: 100, zOff: 50, stdFloor: 0, holdOut: 0))
        _ = Self.run(&d, [0, 2])
        // window [0, 2]: mean 1, std √2. Were 100 inside, the mean would be 34.
        let v = d.process(100, monoNanos: 5, wallNanos: 5)
        #expect(v.mean == 1)
        #expect(abs(v.z - 99 / 2.0.squareRoot()) < 1e-12)
        #expect(d.baseline.count == 3)
    }

    @Test func stdFloorBoundsTheZOfAFlatSignal() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 5, zOn: 4, zOff: 2, stdFloor: 0.1, holdOut: 0))
        _ = Self.run(&d, [20, 20, 20, 20, 20])
        let small = d.process(20.05, monoNanos: 10 * Self.second, wallNanos: 0)
        #expect(abs(small.z - 0.5) < 1e-9)
        #expect(small.state == .normal)
        var flat = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 5, zOn: 4, zOff: 2, stdFloor: 0, holdOut: 0))
        _ = Self.run(&flat, [20, 20, 20, 20, 20])
        #expect(flat.process(20.05, monoNanos: 10 * Self.second, wallNanos: 0).z == .infinity)
    }

    @Test func warmupHoldsVerdictsUntilTheWindowIsFullEnough() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 4, zOn: 3, zOff: 2, stdFloor: 0.01, holdOut: 0))
        let v = Self.run(&d, [1, 1000, -1000, 5, 1])
        #expect(v.map(\.state) == [.warmingUp, .warmingUp, .warmingUp, .warmingUp, .normal])
        #expect(d.episodesTotal == 0)
    }

    @Test func nonFiniteReadingsAreDroppedCountedAndNeverEnterTheWindow() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 3, zOn: 3, zOff: 2, stdFloor: 0.01, holdOut: 0))
        let v = Self.run(&d, [1, .nan, 2, .infinity, 3, -.infinity, 2])
        #expect(v.map(\.state) == [.warmingUp, .dropped, .warmingUp, .dropped, .warmingUp, .dropped, .normal])
        #expect(d.droppedTotal == 3)
        #expect(d.baseline.contents == [1, 2, 3, 2])
        let s = d.takeSummary(endingAt: 0)
        #expect(s.count == 4)
        #expect(s.dropped == 3)
        #expect(s.mean == 2)
    }

    @Test func oneFaultIsOneEpisodeNotAMessagePerReading() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 60, warmup: 20, zOn: 4, zOff: 2.5, endAfter: 5, stdFloor: 0.01, holdOut: 0))
        var values: [Double] = (0..<100).map { Double($0 % 2) }  // alternating 0, 1: std ≈ 0.5
        values += [10, 10, 10, 10, 10]                                // five-reading level shift
        values += (0..<50).map { Double($0 % 2) }
        let v = Self.run(&d, values)
        #expect(v.compactMap(\.started).count == 1)
        let ended = v.compactMap(\.ended)
        #expect(ended.count == 1)
        #expect(ended[0].peakValue == 10)
        #expect(ended[0].anomalous >= 4)
    }

    @Test func timeWindowForgetsOldReadings() {
        let s = DetectorSettings(windowSize: 1000, windowDuration: .seconds(3), warmup: 2, zOn: 4, zOff: 2, stdFloor: 0.01, holdOut: 0)
        var d = ChannelDetector(settings: s)
        _ = Self.run(&d, [100, 100, 100, 1, 2, 3])
        // at t=6 the window keeps readings from t ≥ 3: [1, 2, 3]
        let v = d.process(2, monoNanos: 6 * Self.second, wallNanos: 0)
        #expect(v.mean == 2)
        #expect(v.z == 0)
    }

    @Test func shutdownClosesAnOpenEpisode() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 3, zOn: 3, zOff: 2, stdFloor: 0.1, holdOut: 0))
        _ = Self.run(&d, [1, 1, 1, 50])
        #expect(d.inEpisode)
        let e = d.closeForShutdown(wallNanos: 99)
        #expect(e?.reason == .shutdown)
        #expect(e?.endWallNanos == 99)
        #expect(!d.inEpisode)
        #expect(d.closeForShutdown(wallNanos: 100) == nil)
    }

    @Test func summaryCountsAndRestarts() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 3, zOn: 3, zOff: 2, endAfter: 1, stdFloor: 0.1, holdOut: 0))
        _ = Self.run(&d, [1, 1, 1, 50, 1, .nan])
        let s = d.takeSummary(endingAt: 1_700_000_010 * Self.second)
        #expect(s.fromWallNanos == 1_700_000_000 * Self.second)
        #expect(s.toWallNanos == 1_700_000_010 * Self.second)
        #expect(s.count == 5)
        #expect(s.min == 1)
        #expect(s.max == 50)
        #expect(s.mean == 54.0 / 5)
        #expect(abs(s.std - (4 * (54.0 / 5 - 1) * (54.0 / 5 - 1) + (50 - 54.0 / 5) * (50 - 54.0 / 5)).squareRoot() / 2) < 1e-12)
        #expect(s.anomalies == 1)
        #expect(s.episodes == 1)
        #expect(s.dropped == 1)
        let next = d.takeSummary(endingAt: 1_700_000_020 * Self.second)
        #expect(next.fromWallNanos == 1_700_000_010 * Self.second)
        #expect(next.count == 0)
        #expect(next.mean.isNaN)
    }

    @Test func settingsProblemsNameTheirFields() {
        let bad = DetectorSettings(windowSize: 1, warmup: 5, zOn: 2, zOff: 3, endAfter: 0, stdFloor: -1)
        let fields = bad.problems().map(\.field)
        #expect(fields == ["window.size", "warmup", "z_off", "end_after", "std_floor"])
        #expect(DetectorSettings().problems().isEmpty)
    }
}
