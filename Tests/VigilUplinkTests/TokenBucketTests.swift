import Testing
@testable import VigilUplink

/// The backlog drain rate on its own, on a clock the test sets (times chosen so the arithmetic is exact).
@Suite("Token bucket (drain rate)")
struct TokenBucketTests {
    let t0 = ContinuousClock.now

    @Test("starts full with one second's worth; each backlog message takes one token")
    func burst() {
        var b = TokenBucket(rate: 4, now: t0)
        #expect(b.burst == 4 && b.tokens == 4 && b.hasToken && b.secondsToNextToken == 0)
        for _ in 0..<4 { b.take() }
        #expect(b.tokens == 0 && !b.hasToken)
        #expect(b.secondsToNextToken == 0.25)
    }

    @Test("refills at the rate, and never past the burst")
    func refill() {
        var b = TokenBucket(rate: 4, now: t0)
        for _ in 0..<4 { b.take() }
        b.refill(now: t0 + .milliseconds(125))
        #expect(b.tokens == 0.5 && !b.hasToken && b.secondsToNextToken == 0.125)
        b.refill(now: t0 + .milliseconds(250))
        #expect(b.tokens == 1 && b.hasToken)
        b.take()
        b.refill(now: t0 + .seconds(60))
        #expect(b.tokens == 4)
    }

    @Test("a rate below one a second still allows one message at once")
    func slowRate() {
        var b = TokenBucket(rate: 0.5, now: t0)
        #expect(b.burst == 1 && b.tokens == 1)
        b.take()
        #expect(b.secondsToNextToken == 2)
        b.refill(now: t0 + .seconds(1))
        #expect(b.tokens == 0.5 && b.secondsToNextToken == 1)
        b.refill(now: t0 + .seconds(2))
        #expect(b.tokens == 1 && b.hasToken)
    }

    @Test("restart moves the refill clock without adding tokens (a connection just came up)")
    func restart() {
        var b = TokenBucket(rate: 4, now: t0)
        for _ in 0..<4 { b.take() }
        b.restart(at: t0 + .seconds(10))
        #expect(b.tokens == 0)
        b.refill(now: t0 + .seconds(10) + .milliseconds(500))
        #expect(b.tokens == 2)
    }
}
