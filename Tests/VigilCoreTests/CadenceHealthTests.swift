import Testing
import VigilCore

/// Stuck and dropout judged against the channel's observed cadence (the defaults), with the fixed
/// durations as floors; explicit durations alone stay fixed.
@Suite struct CadenceHealthTests {
    static let second: Int64 = 1_000_000_000
    static let minutes5 = 300 * second

    static func detector(_ h: HealthSettings = HealthSettings()) -> ChannelDetector {
        ChannelDetector(settings: DetectorSettings(windowSize: 50, warmup: 3, stdFloor: 0.01, holdOut: 0, health: h))
    }

    @Test func fiveMinuteReadingsOnTimeAreNoDropoutButTenIntervalsOfSilenceIs() {
        var d = Self.detector()
        var started = 0
        for i in 0..<200 {
            let t = Int64(i) * Self.minutes5
            let v = d.process(Double(i % 7), monoNanos: t, wallNanos: t)
            started += v.health.started.isEmpty ? 0 : 1
            // Until a second reading shows the cadence, the 2-minute floor applies: checked from then on.
            let idle1 = i > 0 && d.checkIdle(monoNanos: t + Self.minutes5 - 1, wallNanos: t)
            #expect(!idle1)   // just before the next reading
        }
        #expect(started == 0)
        #expect(d.health.cadence.intervalNanos == Self.minutes5 && d.health.dropoutNanos == 10 * Self.minutes5)
        let last = 199 * Self.minutes5
        let idle2 = d.checkIdle(monoNanos: last + 10 * Self.minutes5 - 1, wallNanos: 0)
        #expect(!idle2)
        let idle3 = d.checkIdle(monoNanos: last + 10 * Self.minutes5, wallNanos: 0)
        #expect(idle3)
        #expect(d.health.lastStart(.dropout).detail == 3000)
    }

    @Test func aOneHertzChannelKeepsTheTwoMinuteFloor() {
        var d = Self.detector()
        for i in 0..<30 { _ = d.process(Double(i % 3), monoNanos: Int64(i) * Self.second, wallNanos: 0) }
        #expect(d.health.dropoutNanos == 120 * Self.second && d.health.stuckNanos == 600 * Self.second)
        let early = d.checkIdle(monoNanos: (29 + 119) * Self.second, wallNanos: 0)
        let due = d.checkIdle(monoNanos: (29 + 120) * Self.second, wallNanos: 0)
        #expect(!early && due)
    }

    @Test func aRepeatingFiveMinuteReadingIsStuckAfterTwentyIntervals() {
        var d = Self.detector()
        for i in 0..<5 { _ = d.process(Double(i), monoNanos: Int64(i) * Self.minutes5, wallNanos: 0) }
        // from reading 4 on the value stays 4: a 10-minute run is 2 readings, far too few
        var stuckAt: Int?
        for i in 5..<40 where stuckAt == nil {
            let v = d.process(4, monoNanos: Int64(i) * Self.minutes5, wallNanos: 0)
            if v.health.started.contains(.stuck) { stuckAt = i }
        }
        #expect(stuckAt == 24)   // 20 intervals after the run began at reading 4
        #expect(d.health.stuckNanos == 20 * Self.minutes5)
    }

    @Test func beforeAnyIntervalAndWithIntervalsOffTheDurationsAreFixed() {
        var fresh = Self.detector()
        #expect(fresh.health.dropoutNanos == 120 * Self.second)
        let idle4 = fresh.checkIdle(monoNanos: 0, wallNanos: 0)
        #expect(!idle4)
        let idle5 = fresh.checkIdle(monoNanos: 120 * Self.second, wallNanos: 0)
        #expect(idle5)   // never a reading: the floor
        var fixed = Self.detector(HealthSettings(dropoutAfter: .seconds(120), stuckIntervals: nil, dropoutIntervals: nil))
        for i in 0..<10 { _ = fixed.process(Double(i), monoNanos: Int64(i) * Self.minutes5, wallNanos: 0) }
        #expect(fixed.health.dropoutNanos == 120 * Self.second && fixed.health.stuckNanos == 600 * Self.second)
        let off = Self.detector(HealthSettings(stuckAfter: nil, dropoutAfter: nil))
        #expect(off.health.dropoutNanos == nil && off.health.stuckNanos == nil)
    }

    @Test func badIntervalCountsAreNamed() {
        let h = HealthSettings(stuckIntervals: 0.5, dropoutIntervals: .nan)
        #expect(h.problems().map(\.field) == ["stuck_intervals", "dropout_intervals"])
    }
}
