#if canImport(Glibc)
import Glibc
#endif

/// What one window of an analog sound sensor's output measured.
public struct AnalogLevelWindow: Sendable, Equatable {
    /// The RMS of the signal's AC part (its mean taken out: the sensor's bias, often VCC/2), in
    /// volts.
    public var rmsVolts: Double
    /// Largest minus smallest sample, in volts.
    public var peakToPeakVolts: Double
    /// Samples in the window.
    public var samples: Int

    /// 20·log10(RMS volts) (dBV) plus `calibration`; a flat signal reads `SoundLevelMeter.floorDB`.
    public func levelDB(calibration: Double) -> Double {
        SoundLevelMeter.decibels(power: rmsVolts * rmsVolts) + calibration
    }
}

/// Sums samples in volts into windows of `samplesPerWindow`: mean, mean square, smallest and
/// largest. Pure, no allocation.
public struct AnalogLevelMeter: Sendable {
    public let samplesPerWindow: Int
    private var sum = 0.0
    private var sumOfSquares = 0.0
    private var low = Double.infinity
    private var high = -Double.infinity
    private var count = 0

    public init(samplesPerWindow: Int) { self.samplesPerWindow = max(samplesPerWindow, 1) }

    /// Adds one sample; returns the window it completes, if any.
    public mutating func add(_ volts: Double) -> AnalogLevelWindow? {
        sum += volts
        sumOfSquares += volts * volts
        low = min(low, volts)
        high = max(high, volts)
        count += 1
        guard count == samplesPerWindow else { return nil }
        let n = Double(count)
        let mean = sum / n
        // Mean square minus squared mean; never below 0 (rounding, on a flat signal).
        let variance = max(sumOfSquares / n - mean * mean, 0)
        let window = AnalogLevelWindow(rmsVolts: variance.squareRoot(), peakToPeakVolts: high - low, samples: count)
        sum = 0; sumOfSquares = 0; low = .infinity; high = -.infinity; count = 0
        return window
    }
}
