import Testing
import VigilCore

@Suite struct RollingWindowTests {
    @Test func meanAndSampleVarianceOfAFewReadings() {
        var w = RollingWindow(capacity: 10)
        for (i, x) in [2.0, 4, 4, 4, 5, 5, 7, 9].enumerated() { w.push(x, at: Int64(i)) }
        #expect(w.count == 8)
        #expect(w.mean == 5)
        #expect(abs(w.variance - 32.0 / 7.0) < 1e-12)
    }

    @Test func belowTwoReadingsVarianceIsNaN() {
        var w = RollingWindow(capacity: 4)
        #expect(w.mean.isNaN)
        w.push(3, at: 0)
        #expect(w.mean == 3)
        #expect(w.variance.isNaN)
    }

    @Test func countBoundPushesOutTheOldest() {
        var w = RollingWindow(capacity: 3)
        for (i, x) in [1.0, 2, 3, 10].enumerated() { w.push(x, at: Int64(i)) }
        #expect(w.contents == [2, 3, 10])
        #expect(w.mean == 5)
        #expect(abs(w.variance - 19) < 1e-12)  // ((−3)² + (−2)² + 5²) / 2
    }

    @Test func ageBoundEvictsReadingsOlderThanTheDuration() {
        let second: Int64 = 1_000_000_000
        var w = RollingWindow(capacity: 100, maxAgeNanos: 3 * second)
        for t in 0..<10 { w.push(Double(t), at: Int64(t) * second) }
        w.evict(before: 10 * second)
        #expect(w.contents == [7, 8, 9])
        w.evict(before: 100 * second)
        #expect(w.isEmpty)
        #expect(w.mean.isNaN)
        w.push(42, at: 100 * second)
        #expect(w.mean == 42)
    }

    /// Running sums with periodic exact recomputation keep their error bounded, however long the
    /// stream. 10⁹ readings of a large offset plus noise, checked against a two-pass computation.
    @Test func stableOverABillionReadings() {
        let capacity = 60
        var w = RollingWindow(capacity: capacity)
        var rng: UInt64 = 0x9E3779B97F4A7C15
        var last = [Double](repeating: 0, count: capacity)
        var worstMeanError = 0.0, worstStdError = 0.0
        let total = 1_000_000_000
        let offset = 1.0e6
        for i in 0..<total {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            // noise in [−0.5, 0.5) plus a slow triangle wave so the mean keeps moving
            let noise = Double(rng >> 11) * 0x1p-53 - 0.5
            let x = offset + Double(i % 200_000) * 1e-3 + noise
            w.push(x, at: Int64(i))
            last[i % capacity] = x
            if i % 100_000_007 == 0 || i == total - 1, i >= capacity {
                var m = 0.0
                for v in last { m += v }
                m /= Double(capacity)
                var ss = 0.0
                for v in last { ss += (v - m) * (v - m) }
                let sd = (ss / Double(capacity - 1)).squareRoot()
                worstMeanError = max(worstMeanError, abs(w.mean - m))
                worstStdError = max(worstStdError, abs(w.standardDeviation - sd) / sd)
            }
        }
        #expect(worstMeanError < 1e-7, "mean drifted by \(worstMeanError)")
        #expect(worstStdError < 1e-6, "std drifted by a relative \(worstStdError)")
    }
}
