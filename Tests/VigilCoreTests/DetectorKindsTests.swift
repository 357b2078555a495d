import Testing
import VigilCore

/// Exact verdicts of the robust and EWMA detectors, the smoothing pre-filter and the hold-out.
@Suite struct DetectorKindsTests {
    static let second: Int64 = 1_000_000_000

    static func run(_ d: inout ChannelDetector, _ values: [Double], from t0: Int = 0) -> [Verdict] {
        values.enumerated().map { i, x in
            let t = Int64(t0 + i) * second
            return d.process(x, monoNanos: t, wallNanos: t)
        }
    }

    static func median(_ a: [Double]) -> Double {
        let s = a.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    // MARK: robust window

    @Test func robustWindowMedianAndMADByHand() {
        var w = RobustWindow(capacity: 5)
        for (i, x) in [3.0, 1, 4, 1, 5].enumerated() { w.push(x, at: Int64(i)) }
        // sorted 1 1 3 4 5 → median 3; |x − 3| = 0 2 1 2 2 → sorted 0 1 2 2 2 → MAD 2
        #expect(w.median == 3)
        #expect(w.mad == 2)
        w.push(9, at: 5)  // drops the 3: 1 4 1 5 9 → median 4; deviations 3 0 3 1 5 → MAD 3
        #expect(w.contents == [1, 4, 1, 5, 9])
        #expect(w.median == 4)
        #expect(w.mad == 3)
        w.push(2, at: 6)  // 4 1 5 9 2 → median 4; deviations 0 3 1 5 2 → MAD 2
        #expect(w.median == 4)
        #expect(w.mad == 2)
    }

    @Test func robustWindowMatchesSortingOverLongRandomRuns() {
        var rng: UInt64 = 42
        func next() -> Double {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            // integers 0…19 give many ties; that is where off-by-one errors hide
            return Double((rng >> 33) % 20)
        }
        for capacity in [2, 3, 4, 7, 16, 61] {
            var w = RobustWindow(capacity: capacity, maxAgeNanos: 40)
            var mirror: [(Double, Int64)] = []
            for t in 0..<3000 {
                let time = Int64(t) + 50 * Int64(t / 97)  // a gap every 97 readings ages readings out
                w.evict(before: time)
                mirror.removeAll { $0.1 < time - 40 }
                let x = next()
                w.push(x, at: time)
                mirror.append((x, time))
                if mirror.count > capacity { mirror.removeFirst() }
                let xs = mirror.map(\.0)
                #expect(w.count == xs.count)
                let m = Self.median(xs)
                #expect(w.median == m)
                if xs.count >= 2 { #expect(w.mad == Self.median(xs.map { abs($0 - m) })) }
                for k in [0, xs.count / 2, xs.count - 1] { #expect(w.select(k) == xs.sorted()[k]) }
            }
        }
    }

    @Test func robustDetectorIgnoresSpikesInItsBand() {
        // A window with one wild reading: the z-score's std balloons and hides the next fault;
        // median and MAD do not move.
        let base: [Double] = [10, 11, 10, 11, 10, 11, 10, 11, 10, 500]
        var robust = ChannelDetector(settings: DetectorSettings(kind: .robust, windowSize: 20, warmup: 10, zOn: 4, zOff: 2, stdFloor: 0.01, holdOut: 0))
        var plain = ChannelDetector(settings: DetectorSettings(kind: .zscore, windowSize: 20, warmup: 10, zOn: 4, zOff: 2, stdFloor: 0.01, holdOut: 0))
        _ = Self.run(&robust, base)
        _ = Self.run(&plain, base)
        // window: five 10s, four 11s, one 500 → median 10.5? sorted: 10×5, 11×4, 500 → median (10 + 11)/2 = 10.5
        // deviations: 0.5 ×9, 489.5 → MAD 0.5 → scale 0.741
        let r = robust.process(14, monoNanos: 100 * Self.second, wallNanos: 0)
        #expect(r.mean == 10.5)
        #expect(abs(r.std - 1.482602218505602 * 0.5) < 1e-12)
        #expect(abs(r.z - 3.5 / (1.482602218505602 * 0.5)) < 1e-9)
        #expect(r.state == .anomalous)
        #expect(r.started?.detector == .robust)
        let p = plain.process(14, monoNanos: 100 * Self.second, wallNanos: 0)
        #expect(p.state == .normal)  // std ≈ 155: z ≈ −0.2
    }

    // MARK: EWMA

    @Test func ewmaStatsByHand() {
        var e = EwmaStats(alpha: 0.5)
        e.push(2)
        #expect(e.mean == 2 && e.variance == 0)
        e.push(4)  // a = max(0.5, 1/2) = 0.5: mean 3, var = 0.5·(0 + 2·1) = 1
        #expect(e.mean == 3)
        e.push(6)  // a = 0.5: d = 3 → mean 4.5, var = 0.5·(1 + 3·1.5) = 2.75
        #expect(e.mean == 4.5)
        #expect(e.variance == 2.75)
        var f = EwmaStats(alpha: 0.1)
        for x in [1.0, 2, 3] { f.push(x) }  // weights 1/n while above alpha: plain mean 2, population variance 2/3
        #expect(abs(f.mean - 2) < 1e-12)
        #expect(abs(f.variance - 2.0 / 3) < 1e-12)
    }

    @Test func ewmaDetectorFollowsASlowDrift() {
        // A ramp of 0.05 a reading on alternating ±0.5 noise: the EWMA keeps up with it.
        let values = (0..<400).map { i in Double(i) * 0.05 + (i % 2 == 0 ? 0.5 : -0.5) }
        var ewma = ChannelDetector(settings: DetectorSettings(kind: .ewma, windowSize: 9, warmup: 10, zOn: 4, zOff: 2.5, stdFloor: 0.01, holdOut: 0))
        let ve = Self.run(&ewma, values)
        #expect(ewma.settings.effectiveAlpha == 0.2)
        #expect(ve.allSatisfy { $0.started == nil })
        #expect(ewma.episodesTotal == 0)
        // and a real jump is still found at once
        let jump = ewma.process(values.last! + 10, monoNanos: 500 * Self.second, wallNanos: 0)
        #expect(jump.state == .anomalous)
        #expect(jump.started?.detector == .ewma)
    }

    // MARK: smoothing and hold-out

    @Test func smoothingScoresTheFilteredValue() {
        var d = ChannelDetector(settings: DetectorSettings(windowSize: 10, warmup: 3, zOn: 100, zOff: 50, stdFloor: 0, holdOut: 0, smoothing: 0.5))
        let v = Self.run(&d, [0, 4, 4, 10])
        #expect(v.map(\.scored) == [0, 2, 3, 6.5])
        #expect(d.baseline.contents == [0, 2, 3, 6.5])
        // the fourth reading is scored as 6.5 against [0, 2, 3]: mean 5/3
        #expect(abs(v[3].z - (6.5 - 5.0 / 3) / d.baseline.contents.dropLast().sampleStd) < 1e-12)
    }

    @Test func holdOutKeepsAFaultOutOfTheWindowThenAcceptsTheShift() {
        // Alternating 0/1 (std ≈ 0.5), then a lasting shift to 10.
        let s = DetectorSettings(windowSize: 20, warmup: 20, zOn: 4, zOff: 2.5, endAfter: 3, stdFloor: 0.01, holdOut: 6)
        var d = ChannelDetector(settings: s)
        _ = Self.run(&d, (0..<20).map { Double($0 % 2) })
        let v = Self.run(&d, [Double](repeating: 10, count: 30), from: 20)
        // The first 6 anomalous readings are held out: the window is unchanged and z stays high.
        #expect(v[0].started != nil)
        #expect(v[0..<6].allSatisfy { $0.heldOut && $0.state == .anomalous })
        #expect(v[0].z == v[5].z)
        #expect(!v[6].heldOut)
        // From the 7th on the shift joins the window; the episode ends once 10 is normal.
        let end = v.firstIndex { $0.ended != nil }!
        #expect(v[end].ended!.anomalous >= 7)
        #expect(v[(end + 1)...].allSatisfy { $0.state == .normal })
        #expect(d.episodesTotal == 1)
        // Without a hold-out the same shift is absorbed sooner: fewer anomalous readings.
        var quick = ChannelDetector(settings: DetectorSettings(windowSize: 20, warmup: 20, zOn: 4, zOff: 2.5, endAfter: 3, stdFloor: 0.01, holdOut: 0))
        _ = Self.run(&quick, (0..<20).map { Double($0 % 2) })
        let q = Self.run(&quick, [Double](repeating: 10, count: 30), from: 20)
        #expect(q.compactMap(\.ended).first!.anomalous < v[end].ended!.anomalous)
    }

    // MARK: one baseline per kind

    @Test func eachKindBuildsItsOwnBaseline() {
        for kind in DetectorKind.allCases {
            let d = ChannelDetector(settings: DetectorSettings(kind: kind, windowSize: 30, windowDuration: .seconds(5), alpha: 0.25))
            #expect(d.baseline.kind == kind)
            #expect(d.baseline.count == 0)
            #expect(d.baseline.band(wallNanos: 0).center.isNaN)
        }
        // Each case holds the state of its kind, built from the settings.
        guard case .zscore(let w) = ChannelBaseline(settings: DetectorSettings(kind: .zscore, windowSize: 30, windowDuration: .seconds(5))),
              case .robust(let r) = ChannelBaseline(settings: DetectorSettings(kind: .robust, windowSize: 40)),
              case .ewma(let e) = ChannelBaseline(settings: DetectorSettings(kind: .ewma, windowSize: 9)) else {
            Issue.record("a kind built another kind's baseline")
            return
        }
        #expect(w.capacity == 30 && w.maxAgeNanos == 5 * Self.second)
        #expect(r.capacity == 40 && r.maxAgeNanos == nil)
        #expect(e.alpha == 0.2)
    }

    @Test func aBaselineLearnsWhatIsNotHeldOutAndAgesItOut() {
        var b = ChannelBaseline(settings: DetectorSettings(kind: .robust, windowSize: 4, windowDuration: .seconds(3)))
        for (i, x) in [5.0, 1, 3].enumerated() { b.learn(x, monoNanos: Int64(i) * Self.second, wallNanos: 0) }
        #expect(b.contents == [5, 1, 3])
        #expect(b.score(4, wallNanos: 0, floor: 0.5) == Score(z: 1 / (1.482602218505602 * 2), band: Band(center: 3, spread: 1.482602218505602 * 2)))
        b.evict(before: 4 * Self.second)  // older than 1 s: the 5 leaves
        #expect(b.contents == [1, 3])
        var e = ChannelBaseline(settings: DetectorSettings(kind: .ewma, windowSize: 3))
        for x in [2.0, 4, 6] { e.learn(x, monoNanos: 0, wallNanos: 0) }
        e.evict(before: .max)  // an EWMA holds no readings: nothing ages out
        #expect(e.count == 3 && e.contents.isEmpty)
        #expect(e.band(wallNanos: 0) == Band(center: 4.5, spread: 2.75.squareRoot()))
    }

    @Test func settingsValidationCoversTheNewFields() {
        let bad = DetectorSettings(windowSize: 10, warmup: 5, holdOut: -1, smoothing: 0, alpha: 2,
                                   health: HealthSettings(stuckAfter: .seconds(0), resolution: -1, min: 5, max: 1, maxRate: 0))
        #expect(bad.problems().map(\.field) == ["hold_out", "smoothing", "alpha", "health.stuck_after", "health.resolution", "health.max", "health.max_rate"])
        // an EWMA has no window to fill: its warm-up may exceed `window`
        #expect(DetectorSettings(kind: .ewma, windowSize: 10, warmup: 50).problems().isEmpty)
    }
}

extension Collection where Element == Double {
    var sampleStd: Double {
        let n = Double(count), m = reduce(0, +) / n
        return (map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot()
    }
}
