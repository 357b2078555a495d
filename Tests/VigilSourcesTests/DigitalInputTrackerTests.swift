import Testing
@testable import VigilSources

@Suite struct DigitalInputTrackerTests {
    static let ms: Int64 = 1_000_000

    /// A square wave: `count` pulses, active `high` then inactive `low`, from `start`.
    static func pulses(_ count: Int, high: Int64, low: Int64, start: Int64) -> [(Bool, Int64)] {
        var out: [(Bool, Int64)] = []
        var t = start
        for _ in 0..<count {
            out.append((true, t)); t += high
            out.append((false, t)); t += low
        }
        return out
    }

    @Test func countsActiveEdgesAndDutyPerWindow() {
        var tr = DigitalInputTracker(active: false, at: 0)
        // 100 pulses of 2 ms high, 2 ms low, from 100 ms: 400 ms of activity, 200 ms of it active.
        for (a, t) in Self.pulses(100, high: 2 * Self.ms, low: 2 * Self.ms, start: 100 * Self.ms) { tr.edge(active: a, at: t) }
        let w = tr.closeWindow(at: 1000 * Self.ms)
        #expect(w == .init(activeEdges: 100, duty: 0.2, active: false))
        #expect(tr.edges == 200 && tr.repeatedEdges == 0)
        // A quiet window after.
        #expect(tr.closeWindow(at: 2000 * Self.ms) == .init(activeEdges: 0, duty: 0, active: false))
    }

    @Test func activityAcrossAWindowBoundaryIsSplitAtIt() {
        var tr = DigitalInputTracker(active: false, at: 0)
        tr.edge(active: true, at: 900 * Self.ms)
        let first = tr.closeWindow(at: 1000 * Self.ms)
        #expect(first == .init(activeEdges: 1, duty: 0.1, active: true))
        tr.edge(active: false, at: 1250 * Self.ms)
        #expect(tr.closeWindow(at: 2000 * Self.ms) == .init(activeEdges: 0, duty: 0.25, active: false))
    }

    @Test func startingActiveCountsAsActiveTimeButNotAnEdge() {
        var tr = DigitalInputTracker(active: true, at: 0)
        #expect(tr.closeWindow(at: 500 * Self.ms) == .init(activeEdges: 0, duty: 1, active: true))
    }

    @Test func debounceIgnoresBounceAndKeepsTheFinalLevel() {
        // A contact closes at 100 ms and bounces for 3 ms; opens at 600 ms and bounces again.
        var tr = DigitalInputTracker(active: false, at: 0, debounce: 20 * Self.ms)
        let bounce: [(Bool, Int64)] = [(true, 100), (false, 100_4), (true, 100_9), (false, 101_5), (true, 103_0),
                                       (false, 600), (true, 600_5), (false, 601_2)]
            .map { ($0.0, $0.1 < 1000 ? $0.1 * Self.ms : $0.1 * Self.ms / 10) }
        for (a, t) in bounce { tr.edge(active: a, at: t) }
        let w = tr.closeWindow(at: 1000 * Self.ms)
        #expect(w.activeEdges == 1)
        #expect(w.active == false)
        #expect(w.duty == 0.5, "active from 100 ms to 600 ms")
    }

    @Test func aChangeDuringTheLockoutIsTakenWhenItEnds() {
        // Release at 105 ms, within the 20 ms lockout of the press at 100 ms: taken at 120 ms.
        var tr = DigitalInputTracker(active: false, at: 0, debounce: 20 * Self.ms)
        tr.edge(active: true, at: 100 * Self.ms)
        tr.edge(active: false, at: 105 * Self.ms)
        let w = tr.closeWindow(at: 1000 * Self.ms)
        #expect(w == .init(activeEdges: 1, duty: 0.02, active: false))
    }

    @Test func withoutDebounceEveryEdgeCounts() {
        var tr = DigitalInputTracker(active: false, at: 0)
        for (a, t) in Self.pulses(3, high: 10_000, low: 10_000, start: 0) { tr.edge(active: a, at: t) }
        #expect(tr.closeWindow(at: Self.ms).activeEdges == 3)
    }

    @Test func repeatedEdgeTypesAreCountedAndTheLevelFollowsTheLastEdge() {
        // The kernel lost the falling edge between two rising ones (v1 both-edge requests read the
        // level late): the level stays active, one edge counts as repeated.
        var tr = DigitalInputTracker(active: false, at: 0)
        tr.edge(active: true, at: 10 * Self.ms)
        tr.edge(active: true, at: 20 * Self.ms)
        tr.edge(active: false, at: 30 * Self.ms)
        #expect(tr.repeatedEdges == 1)
        #expect(tr.closeWindow(at: 100 * Self.ms) == .init(activeEdges: 1, duty: 0.2, active: false))
    }

    @Test func anEdgeStampedBeforeTheWindowCountsAtItsStart() {
        var tr = DigitalInputTracker(active: false, at: 0)
        _ = tr.closeWindow(at: 1000 * Self.ms)
        tr.edge(active: true, at: 990 * Self.ms)
        #expect(tr.closeWindow(at: 2000 * Self.ms) == .init(activeEdges: 1, duty: 1, active: true))
    }

    @Test func seededChatterKeepsExactTotals() {
        // 20 windows of random chatter: edges and active time summed over windows equal the trace's.
        var rng = SerialRNG(seed: 42)
        var tr = DigitalInputTracker(active: false, at: 0)
        var t: Int64 = 0
        var level = false
        var risings = 0
        var activeTotal: Int64 = 0
        var windows: [DigitalInputTracker.Window] = []
        var nextEnd = 100 * Self.ms
        while t < 2000 * Self.ms {
            let dt = Int64(rng.next() % 3_000_000) + 1
            if level { activeTotal += min(t + dt, 2000 * Self.ms) - t }
            t += dt
            while nextEnd <= t && nextEnd <= 2000 * Self.ms { windows.append(tr.closeWindow(at: nextEnd)); nextEnd += 100 * Self.ms }
            if t >= 2000 * Self.ms { break }
            level.toggle()
            if level { risings += 1 }
            tr.edge(active: level, at: t)
        }
        while nextEnd <= 2000 * Self.ms { windows.append(tr.closeWindow(at: nextEnd)); nextEnd += 100 * Self.ms }
        #expect(windows.count == 20)
        #expect(windows.map(\.activeEdges).reduce(0, +) == risings)
        let activeFromDuty = windows.map { $0.duty * Double(100 * Self.ms) }.reduce(0, +)
        #expect(abs(activeFromDuty - Double(activeTotal)) < 1, "\(activeFromDuty) vs \(activeTotal)")
    }
}

