import Testing
import VigilCore

/// Exact verdicts of every sensor health check, and that a sick reading stays out of the window.
@Suite struct HealthChecksTests {
    static let second: Int64 = 1_000_000_000

    static func settings(_ h: HealthSettings) -> DetectorSettings {
        DetectorSettings(windowSize: 50, warmup: 3, zOn: 4, zOff: 2.5, endAfter: 2, stdFloor: 0.01, holdOut: 0, health: h)
    }

    static func run(_ d: inout ChannelDetector, _ values: [Double], from t0: Int = 0) -> [Verdict] {
        values.enumerated().map { i, x in
            let t = Int64(t0 + i) * second
            return d.process(x, monoNanos: t, wallNanos: t)
        }
    }

    @Test func stuckStartsAfterTheConfiguredTimeAndEndsOnAChange() {
        let h = HealthSettings(stuckAfter: .seconds(5), resolution: 0.25, dropoutAfter: nil, stuckIntervals: nil)
        var d = ChannelDetector(settings: Self.settings(h))
        // changes of ≤ 0.25 are not changes: 20 … 20.25 is one flat run from t = 2
        let v = Self.run(&d, [19, 21, 20, 20.25, 20, 20.125, 20.25, 20, 20.25, 20, 22])
        let started = v.indices.filter { v[$0].health.started.contains(.stuck) }
        #expect(started == [7])  // t = 7 is 5 s after the run began at t = 2
        #expect(d.health.lastStart(.stuck) == HealthStart(check: .stuck, wallNanos: 7 * Self.second, sinceWallNanos: 2 * Self.second, value: 20, detail: 0.25))
        #expect(v[7...9].allSatisfy { $0.state == .unhealthy })
        #expect(v[10].health.ended == .stuck)
        #expect(v[10].state != .unhealthy)
        #expect(d.health.lastEnd(.stuck) == HealthEnd(check: .stuck, startWallNanos: 7 * Self.second, endWallNanos: 10 * Self.second, readings: 3))
        // the stuck readings never reached the window, nor the summary's statistics, but it counts them
        #expect(d.baseline.contents == [19, 21, 20, 20.25, 20, 20.125, 20.25, 22])
        let s = d.takeSummary(endingAt: 11 * Self.second)
        #expect(s.count == 8 && s.unhealthy == 3 && s.dropped == 0)
    }

    @Test func dropoutIsNoticedWithoutAReadingAndEndsWithTheNextOne() {
        var d = ChannelDetector(settings: Self.settings(HealthSettings(stuckAfter: nil, dropoutAfter: .seconds(10))))
        _ = Self.run(&d, [1, 2, 3])                       // last valid reading at t = 2
        let early = d.checkIdle(monoNanos: 11 * Self.second, wallNanos: 11 * Self.second)
        #expect(!early)
        let nan = d.process(.nan, monoNanos: 11 * Self.second, wallNanos: 0)
        #expect(nan.state == .dropped)  // NaN is no reading
        let due = d.checkIdle(monoNanos: 12 * Self.second, wallNanos: 12 * Self.second)
        #expect(due)
        let s = d.health.lastStart(.dropout)
        #expect(s.check == .dropout && s.wallNanos == 12 * Self.second && s.sinceWallNanos == 2 * Self.second)
        #expect(s.value.isNaN && s.detail == 10)
        let again = d.checkIdle(monoNanos: 13 * Self.second, wallNanos: 13 * Self.second)
        #expect(!again)   // once per dropout
        let v = d.process(2, monoNanos: 20 * Self.second, wallNanos: 20 * Self.second)
        #expect(v.health.ended == .dropout)
        #expect(v.state == .normal)                        // the reading itself is fine
        #expect(d.health.lastEnd(.dropout).durationNanos == 8 * Self.second)
        // A gap seen only by the next reading (replay): the dropout starts and ends on it.
        let late = d.process(2, monoNanos: 40 * Self.second, wallNanos: 40 * Self.second)
        #expect(late.health.started == .dropout && late.health.ended == .dropout)
    }

    @Test func outOfRangeReadingsAreKeptOutUntilBackInRange() {
        // DHT22 temperature: −40 … 80 °C
        var d = ChannelDetector(settings: Self.settings(HealthSettings(stuckAfter: nil, dropoutAfter: nil, min: -40, max: 80)))
        let v = Self.run(&d, [21, 22, 21, 85, 85.5, 22, -41, 21])
        #expect(v.map(\.state) == [.warmingUp, .warmingUp, .warmingUp, .unhealthy, .unhealthy, .normal, .unhealthy, .normal])
        #expect(v[3].health.started == .outOfRange)
        #expect(d.health.lastStart(.outOfRange).detail == -40)  // the last start was the low one
        #expect(v[5].health.ended == .outOfRange)
        #expect(v[6].health.started == .outOfRange)
        #expect(d.baseline.contents == [21, 22, 21, 22, 21])
        #expect(d.unhealthyTotal == 3)
        #expect(d.episodesTotal == 0)                           // no anomaly from a sick sensor
    }

    @Test func rateOfChangeRejectsASpikeButAcceptsAConfirmedJump() {
        var d = ChannelDetector(settings: Self.settings(HealthSettings(stuckAfter: nil, dropoutAfter: nil, maxRate: 2)))
        // one reading a second; at most 2 units per second
        let v = Self.run(&d, [10, 11, 12, 30, 12.5, 13, 25, 25.5, 26])
        #expect(v[3].state == .unhealthy && v[3].health.started == .rateOfChange)
        #expect(v[3].health.started.contains(.rateOfChange))
        #expect(v[4].health.ended == .rateOfChange)          // 12.5 is 0.25/s from the last good 12
        #expect(v[6].state == .unhealthy)                     // 13 → 25: implausible …
        #expect(d.health.lastStart(.rateOfChange).detail == 12)  // 12 units in 1 s
        #expect(v[7].health.ended == .rateOfChange)           // … but 25.5 confirms it: the jump is real
        #expect(v[7].state != .unhealthy)
        #expect(d.baseline.contents == [10, 11, 12, 12.5, 13, 25.5, 26])
    }

    @Test func healthEndsAtShutdown() {
        var d = ChannelDetector(settings: Self.settings(HealthSettings(stuckAfter: nil, dropoutAfter: nil, max: 5)))
        _ = Self.run(&d, [1, 9])
        #expect(d.health.problems == .outOfRange)
        let closed = d.closeHealthForShutdown(wallNanos: 99)
        #expect(closed == .outOfRange)
        #expect(d.health.lastEnd(.outOfRange).endWallNanos == 99)
        #expect(d.health.problems.isEmpty)
    }

    @Test func defaultsWatchForStuckAndSilentSensors() {
        let h = HealthSettings()
        #expect(h.stuckAfter == .seconds(600))
        #expect(h.dropoutAfter == .seconds(120))
        #expect(h.min == nil && h.max == nil && h.maxRate == nil)
        #expect(HealthCheck.allCases.map(\.name) == ["stuck", "dropout", "out_of_range", "rate_of_change"])
    }
}
