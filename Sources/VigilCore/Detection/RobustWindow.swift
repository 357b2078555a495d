/// A sliding window that answers the median and the MAD (median absolute deviation from the
/// median) of its readings, for the `robust` detector.
///
/// The readings sit in a ring buffer (arrival order, for eviction by count and age) and, at the
/// same slot indices, in an order-statistics treap: a randomised binary search tree whose nodes
/// carry their subtree size, so the k-th smallest reading is found in O(log n).
///
/// Cost per reading, n = readings in the window:
/// - push / evict: O(log n) expected (one treap insert, at most one delete);
/// - median: O(log n) (one or two selections);
/// - MAD: O(log² n) — the k-th smallest deviation is the k-th element of two sorted sequences
///   (distances below and above the median, read off the treap by rank), found by a binary search
///   over how many come from each side, each step one O(log n) selection. For n = 600 that is
///   about 10 × 10 node visits.
/// Memory is fixed at `init` (about 40 bytes per slot); nothing is allocated per reading.
public struct RobustWindow: Sendable {
    public let capacity: Int
    public let maxAgeNanos: Int64?

    private var values: [Double]
    private var times: [Int64]
    private var order: [Int64]      // arrival number: ties between equal values are broken by it
    private var left: [Int32]
    private var right: [Int32]
    private var size: [Int32]
    private var priority: [UInt32]
    private var root: Int32 = -1
    private var head = 0
    public private(set) var count = 0
    private var arrivals: Int64 = 0
    private var rng: UInt64 = 0x9E37_79B9_7F4A_7C15

    public init(capacity: Int, maxAgeNanos: Int64? = nil) {
        precondition(capacity >= 2, "a window needs room for at least two readings")
        self.capacity = capacity
        self.maxAgeNanos = maxAgeNanos
        values = [Double](repeating: 0, count: capacity)
        times = [Int64](repeating: 0, count: capacity)
        order = [Int64](repeating: 0, count: capacity)
        left = [Int32](repeating: -1, count: capacity)
        right = [Int32](repeating: -1, count: capacity)
        size = [Int32](repeating: 0, count: capacity)
        priority = [UInt32](repeating: 0, count: capacity)
    }

    public var isEmpty: Bool { count == 0 }

    /// Drops readings older than `now − maxAgeNanos`.
    public mutating func evict(before now: Int64) {
        guard let maxAge = maxAgeNanos else { return }
        let oldest = now - maxAge
        while count > 0 && times[head] < oldest { removeOldest() }
    }

    /// Adds a reading, pushing out the oldest when full.
    public mutating func push(_ x: Double, at time: Int64) {
        if count == capacity { removeOldest() }
        var slot = head + count
        if slot >= capacity { slot -= capacity }
        values[slot] = x
        times[slot] = time
        arrivals += 1
        order[slot] = arrivals
        left[slot] = -1
        right[slot] = -1
        size[slot] = 1
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        priority[slot] = UInt32(truncatingIfNeeded: rng >> 32)
        root = insert(root, Int32(slot))
        count += 1
    }

    public mutating func removeAll() {
        root = -1; head = 0; count = 0
    }

    private mutating func removeOldest() {
        root = erase(root, Int32(head))
        head += 1
        if head == capacity { head = 0 }
        count -= 1
    }

    // MARK: order statistics

    /// The k-th smallest reading (0-based), k < count.
    public func select(_ k: Int) -> Double {
        var t = root
        var k = Int32(k)
        while true {
            let l = left[Int(t)]
            let ls = l >= 0 ? size[Int(l)] : 0
            if k < ls { t = l }
            else if k == ls { return values[Int(t)] }
            else { k -= ls + 1; t = right[Int(t)] }
        }
    }

    /// How many readings are ≤ x.
    public func countNotAbove(_ x: Double) -> Int {
        var t = root
        var n: Int32 = 0
        while t >= 0 {
            if values[Int(t)] <= x {
                let l = left[Int(t)]
                n += (l >= 0 ? size[Int(l)] : 0) + 1
                t = right[Int(t)]
            } else {
                t = left[Int(t)]
            }
        }
        return Int(n)
    }

    /// Median of the window; NaN when empty.
    public var median: Double {
        guard count > 0 else { return .nan }
        if count % 2 == 1 { return select(count / 2) }
        return (select(count / 2 - 1) + select(count / 2)) / 2
    }

    /// Median absolute deviation from the median (unscaled); NaN below two readings.
    public var mad: Double {
        guard count >= 2 else { return .nan }
        let m = median
        let below = countNotAbove(m)          // readings ≤ m: deviations m − x, ascending by rank from `below − 1` down
        if count % 2 == 1 { return kthDeviation(count / 2, median: m, below: below) }
        return (kthDeviation(count / 2 - 1, median: m, below: below) + kthDeviation(count / 2, median: m, below: below)) / 2
    }

    /// The consistent estimate of the standard deviation for normal data: 1.4826 · MAD.
    public var scale: Double { 1.482_602_218_505_602 * mad }

    /// k-th smallest |x − m| (0-based) as the k-th element of the merge of two ascending lists:
    /// L(i) = m − select(below − 1 − i) and R(j) = select(below + j) − m.
    private func kthDeviation(_ k: Int, median m: Double, below nL: Int) -> Double {
        let nR = count - nL
        @inline(__always) func L(_ i: Int) -> Double { m - select(nL - 1 - i) }
        @inline(__always) func R(_ j: Int) -> Double { select(nL + j) - m }
        // Smallest i (taken from L; k + 1 − i from R) with L(i) ≥ R(k − i).
        var lo = max(0, k + 1 - nR), hi = min(k + 1, nL)
        while lo < hi {
            let i = (lo + hi) / 2
            if L(i) < R(k - i) { lo = i + 1 } else { hi = i }
        }
        let i = lo, j = k + 1 - lo
        var result = -Double.infinity
        if i > 0 { result = L(i - 1) }
        if j > 0 { result = Swift.max(result, R(j - 1)) }
        return result
    }

    // MARK: treap

    @inline(__always) private func less(_ a: Int32, _ b: Int32) -> Bool {
        let va = values[Int(a)], vb = values[Int(b)]
        return va < vb || (va == vb && order[Int(a)] < order[Int(b)])
    }

    @inline(__always) private mutating func update(_ t: Int32) {
        let l = left[Int(t)], r = right[Int(t)]
        size[Int(t)] = 1 + (l >= 0 ? size[Int(l)] : 0) + (r >= 0 ? size[Int(r)] : 0)
    }

    private mutating func insert(_ t: Int32, _ n: Int32) -> Int32 {
        if t < 0 { return n }
        if priority[Int(n)] > priority[Int(t)] {
            let (l, r) = split(t, n)
            left[Int(n)] = l
            right[Int(n)] = r
            update(n)
            return n
        }
        if less(n, t) { left[Int(t)] = insert(left[Int(t)], n) } else { right[Int(t)] = insert(right[Int(t)], n) }
        update(t)
        return t
    }

    /// Splits `t` into the nodes ordered before `key` and the rest.
    private mutating func split(_ t: Int32, _ key: Int32) -> (Int32, Int32) {
        if t < 0 { return (-1, -1) }
        if less(t, key) {
            let (l, r) = split(right[Int(t)], key)
            right[Int(t)] = l
            update(t)
            return (t, r)
        } else {
            let (l, r) = split(left[Int(t)], key)
            left[Int(t)] = r
            update(t)
            return (l, t)
        }
    }

    private mutating func merge(_ a: Int32, _ b: Int32) -> Int32 {
        if a < 0 { return b }
        if b < 0 { return a }
        if priority[Int(a)] > priority[Int(b)] {
            right[Int(a)] = merge(right[Int(a)], b)
            update(a)
            return a
        }
        left[Int(b)] = merge(a, left[Int(b)])
        update(b)
        return b
    }

    private mutating func erase(_ t: Int32, _ n: Int32) -> Int32 {
        if t < 0 { return t }
        if t == n { return merge(left[Int(t)], right[Int(t)]) }
        if less(n, t) { left[Int(t)] = erase(left[Int(t)], n) } else { right[Int(t)] = erase(right[Int(t)], n) }
        update(t)
        return t
    }

    /// The readings in the window, oldest first (for tests and diagnostics; allocates).
    public var contents: [Double] {
        (0..<count).map { values[(head + $0) % capacity] }
    }
}

/// The `robust` baseline: median and 1.4826·MAD of the window.
extension RobustWindow: WindowedBaseline {
    @inline(__always)
    public func band(wallNanos: Int64) -> Band { Band(center: median, spread: scale) }
}
