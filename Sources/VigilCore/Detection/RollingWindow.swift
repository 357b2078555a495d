/// A sliding window of readings bounded by count and, optionally, by age.
///
/// O(1) per reading and no allocation after `init`: values live in a fixed ring buffer and the
/// mean and variance come from running sums. The sums are taken around a shift `K` (Σ(x−K),
/// Σ(x−K)²) so that large offsets do not cancel, and they are recomputed exactly from the buffer
/// every `capacity` pushes — an amortised O(1) step that stops rounding error from accumulating,
/// however long the agent runs.
public struct RollingWindow: Sendable {
    public let capacity: Int
    /// Readings older than this (by their monotonic time) leave the window; nil = count only.
    public let maxAgeNanos: Int64?

    private var values: [Double]
    private var times: [Int64]
    private var head = 0          // index of the oldest reading
    public private(set) var count = 0
    private var shift = 0.0
    private var sum = 0.0         // Σ(x − shift)
    private var sumSquares = 0.0  // Σ(x − shift)²
    private var pushesSinceRecompute = 0

    public init(capacity: Int, maxAgeNanos: Int64? = nil) {
        precondition(capacity >= 2, "a window needs room for at least two readings")
        self.capacity = capacity
        self.maxAgeNanos = maxAgeNanos
        self.values = [Double](repeating: 0, count: capacity)
        self.times = [Int64](repeating: 0, count: capacity)
    }

    public var isEmpty: Bool { count == 0 }

    public var mean: Double { count == 0 ? .nan : shift + sum / Double(count) }

    /// Sample variance (n − 1 in the denominator); NaN below two readings.
    public var variance: Double {
        guard count >= 2 else { return .nan }
        let n = Double(count)
        return max(0, (sumSquares - sum * sum / n) / (n - 1))
    }

    public var standardDeviation: Double { variance.squareRoot() }

    /// Drops readings older than `now − maxAgeNanos`.
    public mutating func evict(before now: Int64) {
        guard let maxAge = maxAgeNanos else { return }
        let oldest = now - maxAge
        while count > 0 && times[head] < oldest { removeOldest() }
    }

    /// Adds a reading, pushing out the oldest when full.
    public mutating func push(_ x: Double, at time: Int64) {
        if count == capacity { removeOldest() }
        if count == 0 { shift = x; sum = 0; sumSquares = 0 }
        var tail = head + count
        if tail >= capacity { tail -= capacity }
        values[tail] = x
        times[tail] = time
        count += 1
        let d = x - shift
        sum += d
        sumSquares += d * d
        pushesSinceRecompute += 1
        if pushesSinceRecompute >= capacity { recompute() }
    }

    public mutating func removeAll() {
        head = 0; count = 0; sum = 0; sumSquares = 0; pushesSinceRecompute = 0
    }

    private mutating func removeOldest() {
        let d = values[head] - shift
        sum -= d
        sumSquares -= d * d
        head += 1
        if head == capacity { head = 0 }
        count -= 1
        if count == 0 { sum = 0; sumSquares = 0 }
    }

    /// Re-centres the shift on the current mean and rebuilds both sums exactly.
    private mutating func recompute() {
        pushesSinceRecompute = 0
        guard count > 0 else { return }
        shift = mean
        var s = 0.0, s2 = 0.0
        var i = head
        for _ in 0..<count {
            let d = values[i] - shift
            s += d
            s2 += d * d
            i += 1
            if i == capacity { i = 0 }
        }
        sum = s
        sumSquares = s2
    }

    /// The readings in the window, oldest first (for tests and diagnostics; allocates).
    public var contents: [Double] {
        (0..<count).map { values[(head + $0) % capacity] }
    }
}

/// The `zscore` baseline: mean and sample standard deviation of the window.
extension RollingWindow: WindowedBaseline {
    @inline(__always)
    public func band(wallNanos: Int64) -> Band { Band(center: mean, spread: standardDeviation) }
}
