#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thresholds from a false-alarm budget: `false_alarms_per_day` at the channel's cadence becomes a
/// tail probability per reading, and that probability the |z| that opens an episode.
///
/// p = budget × interval / 86 400 s / scales (each scored scale gets its share, Bonferroni), and
/// z_on = Φ⁻¹(1 − p/2): a reading of Gaussian noise crosses ±z_on with probability p. At one
/// reading a second, two scales and one false alarm a day that is 4.53; at one reading every five
/// minutes, 3.13. z_off is `offRatio` × z_on (the ratio of the expert defaults 4.5 / 2.7).
public enum FalseAlarmBudget {
    public static let secondsPerDay = 86_400.0
    /// z_off / z_on of a budget-derived pair.
    public static let offRatio = 0.6
    /// Bounds on a derived z_on: below 2 every wobble is an episode; above 8 nothing is (p < 1e-15).
    public static let zRange = 2.0...8.0

    /// The tail probability per reading (two-sided) that spends `perDay` false alarms a day on
    /// readings `intervalNanos` apart, shared by `scales` scored scales; within (0, 1].
    public static func tailProbability(perDay: Double, intervalNanos: Int64, scales: Int) -> Double {
        let readingsPerDay = secondsPerDay / max(Double(intervalNanos) / 1e9, 1e-9)
        return min(1, perDay / readingsPerDay / Double(max(scales, 1)))
    }

    /// z_on for the budget, clamped to `zRange`.
    public static func zOn(perDay: Double, intervalNanos: Int64, scales: Int) -> Double {
        let p = tailProbability(perDay: perDay, intervalNanos: intervalNanos, scales: scales)
        let z = normalQuantile(1 - p / 2)
        return min(max(z.isNaN ? zRange.upperBound : z, zRange.lowerBound), zRange.upperBound)
    }

    // Acklam's coefficients (central region a/b, tails c/d).
    private static let a: [Double] = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    private static let b: [Double] = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                      6.680131188771972e+01, -1.328068155288572e+01]
    private static let c: [Double] = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    private static let d: [Double] = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]

    /// Φ⁻¹(q), the standard normal quantile: Acklam's rational approximation (relative error
    /// < 1.2·10⁻⁹), refined by one Halley step on erfc. NaN outside (0, 1).
    public static func normalQuantile(_ q: Double) -> Double {
        guard q > 0 && q < 1 else { return q == 0 ? -.infinity : q == 1 ? .infinity : .nan }
        let low = 0.02425
        var x: Double
        if q < low || q > 1 - low {
            // Tails: the upper one through the complement, which keeps its digits (1 − q is exact there).
            let t = (-2 * log(q < low ? q : 1 - q)).squareRoot()
            x = (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5])
                / ((((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1)
            if q > 1 - low { x = -x }
        } else {
            let u = q - 0.5, r = u * u
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        // Halley: e = Φ(x) − q, with Φ(x) = erfc(−x/√2)/2.
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - q
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }
}

/// The interval between a channel's readings, learnt from their monotonic times: an exponential
/// average (weight 1/8) of the gaps, each gap capped at twice the estimate so that one outage
/// barely moves it (+12.5 %) while a lasting change of cadence is followed within tens of readings.
/// Known from the second reading on. O(1), no allocation.
public struct CadenceEstimator: Sendable, Equatable {
    /// The estimated interval in nanoseconds; 0 until two readings were seen.
    public private(set) var intervalNanos: Int64 = 0
    /// Gaps measured so far.
    public private(set) var gaps = 0
    private var lastMono: Int64?

    public init() {}

    public var isKnown: Bool { gaps > 0 }

    public mutating func note(monoNanos: Int64) {
        defer { lastMono = monoNanos }
        guard let last = lastMono, monoNanos > last else { return }
        let gap = monoNanos - last
        gaps += 1
        if gaps == 1 { intervalNanos = gap; return }
        let capped = min(gap, 2 * intervalNanos)
        intervalNanos += (capped - intervalNanos) / 8
    }
}
