import Testing
@testable import VigilSources

@Suite struct DHTReadSchedulerTests {
    static let s: Int64 = 1_000_000_000

    @Test func goodReadsAreIntervalApartAndTheFirstIsUp() {
        var sch = DHTReadScheduler(interval: 10 * Self.s, retries: 2, start: 0)
        #expect(sch.nextRead == 0)
        #expect(sch.record(success: true, startedAt: 0) == .up)
        #expect(sch.nextRead == 10 * Self.s)
        #expect(sch.record(success: true, startedAt: 10 * Self.s + 3_000) == nil)
        #expect(sch.nextRead == 20 * Self.s + 3_000)
    }

    @Test func failuresRetryAfterTwoThenFourSecondsAndGoDownAfterAWholeCycle() {
        var sch = DHTReadScheduler(interval: 30 * Self.s, retries: 2, start: 0)
        #expect(sch.record(success: true, startedAt: 0) == .up)
        #expect(sch.record(success: false, startedAt: 30 * Self.s) == nil)
        #expect(sch.nextRead == 32 * Self.s)
        #expect(sch.record(success: false, startedAt: 32 * Self.s) == nil)
        #expect(sch.nextRead == 36 * Self.s)
        #expect(sch.record(success: false, startedAt: 36 * Self.s) == .down)
        #expect(sch.failuresInARow == 3)
        // The next regular read keeps the cycle: 30 s after the cycle's first read.
        #expect(sch.nextRead == 60 * Self.s)
        // Still failing: no second down.
        #expect(sch.record(success: false, startedAt: 60 * Self.s) == nil)
        #expect(sch.nextRead == 62 * Self.s)
        #expect(sch.record(success: true, startedAt: 62 * Self.s) == .up)
        #expect(sch.failuresInARow == 0)
        #expect(sch.nextRead == 90 * Self.s)
    }

    @Test func retriesNeverPassTheNextRegularRead() {
        var sch = DHTReadScheduler(interval: 5 * Self.s, retries: 5, start: 0)
        #expect(sch.record(success: false, startedAt: 0) == nil)
        #expect(sch.nextRead == 2 * Self.s)
        #expect(sch.record(success: false, startedAt: 2 * Self.s) == nil)
        #expect(sch.nextRead == 5 * Self.s, "backoff 4 s would pass the regular read at 5 s")
        // The read at 5 s starts a new cycle: its retry comes 2 s later again.
        #expect(sch.record(success: false, startedAt: 5 * Self.s) == nil)
        #expect(sch.nextRead == 7 * Self.s)
    }

    @Test func readsNeverComeSoonerThanTwoSecondsApart() {
        // An interval under the 2 s minimum is raised to it.
        var sch = DHTReadScheduler(interval: Self.s / 2, retries: 0, start: 0)
        #expect(sch.interval == 2 * Self.s)
        #expect(sch.record(success: true, startedAt: 0) == .up)
        #expect(sch.nextRead == 2 * Self.s)
        // A read that started late still leaves 2 s before the next.
        #expect(sch.record(success: true, startedAt: 3_900_000_000) == nil)
        #expect(sch.nextRead == 5_900_000_000)
    }

    @Test func noRetriesMeansDownAtTheFirstFailure() {
        var sch = DHTReadScheduler(interval: 10 * Self.s, retries: 0, start: 0)
        #expect(sch.record(success: false, startedAt: 0) == .down)
        #expect(sch.nextRead == 10 * Self.s)
    }

    @Test func postponeMovesTheNextReadAndStartsAFreshCycle() {
        var sch = DHTReadScheduler(interval: 10 * Self.s, retries: 1, start: 0)
        #expect(sch.record(success: false, startedAt: 0) == nil)
        sch.postpone(until: 7 * Self.s)
        #expect(sch.nextRead == 7 * Self.s)
        #expect(sch.record(success: false, startedAt: 7 * Self.s) == .down)
        #expect(sch.nextRead == 9 * Self.s)
    }
}
