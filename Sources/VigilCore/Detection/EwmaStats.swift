/// Exponentially weighted mean and variance (West's recurrence); O(1), no window.
/// The first readings use weight 1/n, so the estimate starts as a plain average.
public struct EwmaStats: Sendable {
    public let alpha: Double
    public private(set) var count = 0
    public private(set) var mean = Double.nan
    public private(set) var variance = Double.nan

    public init(alpha: Double) { self.alpha = alpha }

    public var standardDeviation: Double { variance.squareRoot() }

    public mutating func push(_ x: Double) {
        count += 1
        if count == 1 { mean = x; variance = 0; return }
        let a = max(alpha, 1 / Double(count))
        let d = x - mean
        let inc = a * d
        mean += inc
        variance = (1 - a) * (variance + d * inc)
    }
}

/// The `ewma` baseline: weighted mean and standard deviation, weight `alpha`. Holds no readings,
/// so nothing ages out and the warm-up counts readings seen (it may exceed `window`).
extension EwmaStats: Baseline {
    public init(settings: DetectorSettings) { self.init(alpha: settings.effectiveAlpha) }

    @inline(__always)
    public func band(wallNanos: Int64) -> Band { Band(center: mean, spread: standardDeviation) }

    @inline(__always)
    public mutating func evict(before monoNanos: Int64) {}

    @inline(__always)
    public mutating func learn(_ x: Double, monoNanos: Int64, wallNanos: Int64) { push(x) }

    public var contents: [Double] { [] }
}
