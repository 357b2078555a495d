/// When a DHT sensor is read next, and when it counts as down or up again. Pure: the source feeds
/// it the outcome of each read and the monotonic time, so the timing rules are tested without a
/// sensor.
///
/// - Reads start at least `minGap` (2 s) apart, however they turn out: a DHT read sooner answers
///   with stale data or not at all.
/// - A failed read is retried after `minGap`, then after twice that, … (backoff), at most `retries`
///   times, and never past the next regular read.
/// - Regular reads are `interval` apart, counted from the first read of the previous cycle.
/// - The sensor is down once `retries + 1` reads in a row failed (a whole cycle: the read and all
///   its retries), and up again at the next good read.
public struct DHTReadScheduler: Sendable, Equatable {
    public enum Transition: Sendable, Equatable { case up, down }

    public let interval: Int64
    public let retries: Int
    public let minGap: Int64
    /// Monotonic nanoseconds of the next read.
    public private(set) var nextRead: Int64
    /// Failed reads since the last good one.
    public private(set) var failuresInARow = 0
    /// nil until the first cycle ends one way or the other.
    public private(set) var isUp: Bool?
    private var cycleStart: Int64
    private var attempt = 0

    public static let defaultMinGap: Int64 = 2_000_000_000

    public init(interval: Int64, retries: Int, start: Int64, minGap: Int64 = defaultMinGap) {
        self.interval = max(interval, minGap)
        self.retries = retries
        self.minGap = minGap
        nextRead = start
        cycleStart = start
    }

    /// Records the outcome of the read that started at `startedAt`; returns a transition when the
    /// sensor went down or came back.
    public mutating func record(success: Bool, startedAt t: Int64) -> Transition? {
        // A retry that reached the next regular read is that read: a new cycle starts.
        if attempt > 0 && t >= cycleStart + interval { attempt = 0 }
        if attempt == 0 { cycleStart = t }
        var nextCycle = cycleStart + interval
        while nextCycle < t + minGap { nextCycle += interval }
        if success {
            failuresInARow = 0
            attempt = 0
            nextRead = nextCycle
            if isUp != true { isUp = true; return .up }
            return nil
        }
        failuresInARow += 1
        var transition: Transition? = nil
        if failuresInARow > retries && isUp != false { isUp = false; transition = .down }
        if attempt < retries {
            let backoff = minGap << min(attempt, 20)
            attempt += 1
            nextRead = min(t + backoff, nextCycle)
        } else {
            attempt = 0
            nextRead = nextCycle
        }
        return transition
    }

    /// After a failure that is not the sensor's (the chip could not be opened): try again at `at`.
    public mutating func postpone(until at: Int64) {
        nextRead = at
        attempt = 0
    }
}
