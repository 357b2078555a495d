import Testing
import VigilCore
@testable import VigilSources

/// What a run emitted: `values[tick][channel]`, nil where the channel gave no reading.
struct Trace: Equatable {
    var values: [[Double?]]

    subscript(tick: Int, channel: Int) -> Double? { values[tick][channel] }

    /// One channel's readings, skipping ticks without one.
    func series(_ channel: Int) -> [Double] { values.compactMap { $0[channel] } }

    /// Bit-for-bit equality (also tells -0.0 from 0.0 and compares NaNs).
    func bitIdentical(to other: Trace) -> Bool {
        guard values.count == other.values.count else { return false }
        for (a, b) in zip(values, other.values) {
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where x?.bitPattern != y?.bitPattern { return false }
        }
        return true
    }
}

extension SimulatorModel {
    /// Steps `ticks` times, recording what is emitted; checks each channel is emitted at most once
    /// per tick and in channel order.
    mutating func record(_ ticks: Int) -> Trace {
        let n = channels.count
        var out: [[Double?]] = []
        out.reserveCapacity(ticks)
        for _ in 0..<ticks {
            var row = [Double?](repeating: nil, count: n)
            var last = -1
            step { c, v in
                #expect(c > last && c < n)
                last = c
                row[c] = v
            }
            out.append(row)
        }
        return Trace(values: out)
    }
}

/// Sample mean and (population) standard deviation.
func meanAndStd(_ xs: [Double]) -> (mean: Double, std: Double) {
    let m = xs.reduce(0, +) / Double(xs.count)
    let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count)
    return (m, v.squareRoot())
}

/// Lag-1 sample autocorrelation.
func lag1Autocorrelation(_ xs: [Double]) -> Double {
    let (m, s) = meanAndStd(xs)
    var c = 0.0
    for i in 1..<xs.count { c += (xs[i] - m) * (xs[i - 1] - m) }
    return c / Double(xs.count - 1) / (s * s)
}

func channel(_ name: String, mean: Double = 20, std: Double = 0.5, walkPoints: Int = 30,
             recalibration: Double = 0.05, walkShare: Double = 0.5, resolution: Double = 0) -> SimulatedChannel {
    SimulatedChannel(name: name, unit: "", mean: mean, std: std, walkPoints: walkPoints,
                     recalibration: recalibration, walkShare: walkShare, resolution: resolution)
}

/// Two channels, 10 Hz: `temp` (20 ± 0.5) and `hum` (45 ± 2).
let twoChannels = [channel("temp", mean: 20, std: 0.5), channel("hum", mean: 45, std: 2, walkPoints: 10)]
