import Testing
import VigilCore

/// Hotelling's T² over a source's channels together.
@Suite struct DetectorMultivariateTests {
    /// A reproducible sum of uniforms: bounded noise with mean 0 and std √(n/12).
    struct Noise {
        var state: UInt64
        mutating func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        mutating func sum(_ n: Int) -> Double { (0..<n).reduce(0.0) { s, _ in s + uniform() } - Double(n) / 2 }
    }

    /// T² by the textbook: mean, sample covariance and a Gaussian-elimination solve.
    static func bruteT2(_ rows: [[Double]], _ x: [Double], floors: [Double]) -> Double {
        let d = x.count, n = Double(rows.count)
        let mean = (0..<d).map { i in rows.map { $0[i] }.reduce(0, +) / n }
        var a = (0..<d).map { i in (0..<d).map { j in rows.map { ($0[i] - mean[i]) * ($0[j] - mean[j]) }.reduce(0, +) / (n - 1) } }
        for i in 0..<d { a[i][i] = a[i][i] * (1 + 1e-9) + floors[i] * floors[i] + 1e-300 }
        var b = (0..<d).map { x[$0] - mean[$0] }
        let diff = b
        for c in 0..<d {
            for r in (c + 1)..<max(d, c + 1) {
                let f = a[r][c] / a[c][c]
                for k in c..<d { a[r][k] -= f * a[c][k] }
                b[r] -= f * b[c]
            }
        }
        var y = [Double](repeating: 0, count: d)
        for r in stride(from: d - 1, through: 0, by: -1) {
            var t = b[r]
            for k in (r + 1)..<max(d, r + 1) { t -= a[r][k] * y[k] }
            y[r] = t / a[r][r]
        }
        return zip(diff, y).map(*).reduce(0, +)
    }

    @Test func t2MatchesTheTextbookOverASlidingWindow() {
        var noise = Noise(state: 7)
        let s = DetectorSettings(windowSize: 40, warmup: 10, zOn: 1000, zOff: 999, stdFloor: 0.001, holdOut: 0)
        let floors = [0.001, 0.001, 0.001]
        var d = MultivariateDetector(settings: s, floors: floors)
        var past: [[Double]] = []
        for t in 0..<300 {
            let a = noise.sum(4), b = noise.sum(4)
            let x = [1000 + a, 2 * a + 0.3 * b, -a + b + 0.1 * noise.sum(2)]  // correlated, with an offset
            let v = d.process(x, monoNanos: Int64(t), wallNanos: Int64(t))
            if past.count >= 10 {
                let want = Self.bruteT2(past, x, floors: floors)
                #expect(abs(v.t2 - want) <= 1e-6 * max(1, want), "row \(t): \(v.t2) vs \(want)")
                #expect(v.z == MultivariateDetector.zEquivalent(t2: v.t2, dimension: 3))
            } else {
                #expect(v.state == .warmingUp && v.t2.isNaN)
            }
            past.append(x)
            if past.count > 40 { past.removeFirst() }
        }
    }

    @Test func wilsonHilfertyPutsT2OnTheZScale() {
        // For one channel T² = z² and the χ²₁ median 0.4549 maps to about 0.
        #expect(abs(MultivariateDetector.zEquivalent(t2: 0.454936, dimension: 1)) < 0.05)
        // χ²₈'s 99.99th percentile (31.83) is close to z = 3.72
        #expect(abs(MultivariateDetector.zEquivalent(t2: 31.83, dimension: 8) - 3.72) < 0.1)
        #expect(MultivariateDetector.zEquivalent(t2: 100, dimension: 8) > MultivariateDetector.zEquivalent(t2: 50, dimension: 8))
    }

    /// Temperature and humidity move together (humidity falls 2 %RH per °C). The fault lifts
    /// temperature by 0.6 °C (about one standard deviation) while humidity stays flat: every
    /// reading is ordinary on its own channel, the pair is not.
    @Test func flagsACorrelatedChannelFaultThatNoPerChannelDetectorFlags() {
        var noise = Noise(state: 2024)
        let perChannel = DetectorSettings(windowSize: 300, warmup: 50, zOn: 4, zOff: 2.5, endAfter: 5, stdFloor: 0.01, holdOut: 300)
        var temperature = ChannelDetector(settings: perChannel)
        var humidity = ChannelDetector(settings: perChannel)
        var robust = ChannelDetector(settings: DetectorSettings(kind: .robust, windowSize: 300, warmup: 50, zOn: 4, zOff: 2.5, stdFloor: 0.01, holdOut: 300))
        var ewma = ChannelDetector(settings: DetectorSettings(kind: .ewma, windowSize: 300, warmup: 50, zOn: 4, zOff: 2.5, stdFloor: 0.01, holdOut: 300))
        var t2 = MultivariateDetector(settings: DetectorSettings(windowSize: 300, warmup: 50, zOn: 4, zOff: 2.5, endAfter: 5, stdFloor: 0.01, holdOut: 300),
                                      floors: [0.01, 0.01])
        let faultFrom = 400, faultTo = 440
        var perChannelStarts: [Int] = [], t2Starts: [Int] = []
        for t in 0..<500 {
            let s = noise.sum(4)                            // shared driver, |s| ≤ 2, std 0.58
            var temp = 22 + s + 0.02 * noise.sum(4)
            let hum = 45 - 2 * s + 0.04 * noise.sum(4)
            if t >= faultFrom && t < faultTo { temp += 0.6 }
            let ns = Int64(t) * 1_000_000_000
            for v in [temperature.process(temp, monoNanos: ns, wallNanos: ns), humidity.process(hum, monoNanos: ns, wallNanos: ns),
                      robust.process(temp, monoNanos: ns, wallNanos: ns), ewma.process(temp, monoNanos: ns, wallNanos: ns)] where v.started != nil {
                perChannelStarts.append(t)
            }
            // the pipeline hands channels over one at a time; the row completes with humidity
            let half = t2.update(channel: 0, value: temp, usable: true, monoNanos: ns, wallNanos: ns)
            #expect(half == nil)
            let m = t2.update(channel: 1, value: hum, usable: true, monoNanos: ns, wallNanos: ns)!
            if let st = m.started {
                t2Starts.append(t)
                #expect(st.contributions.count == 2)
                #expect(abs(st.contributions.reduce(0, +) - 1) < 1e-9)
                #expect(st.values == [temp, hum])
            }
        }
        #expect(perChannelStarts.filter { $0 >= faultFrom && $0 < faultTo + 10 }.isEmpty, "per-channel starts: \(perChannelStarts)")
        #expect(t2Starts == [faultFrom], "T² starts: \(t2Starts)")
        #expect(t2.rowsScored == 500)
    }

    @Test func rowsWithARepeatedOrSickChannelAreVoid() {
        var d = MultivariateDetector(settings: DetectorSettings(windowSize: 10, warmup: 2, stdFloor: 0.1, holdOut: 0), floors: [0.1, 0.1])
        let steps: [(Int, Double, Bool)] = [(0, 1, true), (0, 2, true), (1, 3, true), (0, 1, false), (1, 3, true), (1, .nan, true), (0, 1, true)]
        var scored: [Bool] = []
        for (t, (c, x, ok)) in steps.enumerated() {
            scored.append(d.update(channel: c, value: x, usable: ok, monoNanos: Int64(t), wallNanos: Int64(t)) != nil)
        }
        // a repeat voids the first row; (2, 3) completes; a sick reading and a NaN void the next two
        #expect(scored == [false, false, true, false, false, false, false])
        #expect(d.incompleteRows == 3)
        #expect(d.rowsScored == 1)
        #expect(d.count == 1)
    }

    @Test func holdOutAndShiftAcceptance() {
        // A lasting shift of both channels: held out for `hold_out` rows, then learnt.
        var noise = Noise(state: 5)
        var d = MultivariateDetector(settings: DetectorSettings(windowSize: 60, warmup: 30, zOn: 4, zOff: 2.5, endAfter: 3, stdFloor: 0.01, holdOut: 10),
                                     floors: [0.01, 0.01])
        var verdicts: [MultivariateVerdict] = []
        for t in 0..<200 {
            let shift = t >= 100 ? 5.0 : 0
            verdicts.append(d.process([noise.sum(4) + shift, noise.sum(4) - shift], monoNanos: Int64(t), wallNanos: Int64(t)))
        }
        #expect(verdicts[100].started != nil)
        #expect(verdicts[100..<110].allSatisfy { $0.heldOut })
        #expect(!verdicts[110].heldOut)
        #expect(verdicts[110...].contains { $0.ended != nil })
        #expect(verdicts[150...].allSatisfy { $0.state == .normal })
    }
}
