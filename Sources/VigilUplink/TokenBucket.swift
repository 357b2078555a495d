/// The backlog's drain rate after a reconnect: `rate` tokens a second, one per backlog message, up to
/// `burst` (one second's worth, at least 1) saved up, so a short outage drains at once and in order.
struct TokenBucket: Equatable {
    let rate: Double
    let burst: Double
    private(set) var tokens: Double
    private var lastRefill: ContinuousClock.Instant

    /// Full: a fresh connection may send one second's worth of backlog at once.
    init(rate: Double, now: ContinuousClock.Instant) {
        self.rate = rate
        self.burst = max(1, rate)
        self.tokens = burst
        self.lastRefill = now
    }

    /// Starts the refill clock at `now` without adding tokens (the connection just came up).
    mutating func restart(at now: ContinuousClock.Instant) {
        lastRefill = now
    }

    /// Adds what has accrued since the last refill, up to `burst`.
    mutating func refill(now: ContinuousClock.Instant) {
        tokens = min(burst, tokens + (now - lastRefill).seconds * rate)
        lastRefill = now
    }

    /// A token is there for one backlog message.
    var hasToken: Bool { tokens >= 1 }

    /// Spends one token (the caller checked `hasToken`).
    mutating func take() {
        tokens -= 1
    }

    /// Seconds until the next token (0 when one is there).
    var secondsToNextToken: Double {
        hasToken ? 0 : (1 - tokens) / rate
    }
}
