import Testing
import VigilCore

/// When a pipeline next has time-driven work (a source sleeps until then), and a source's burst
/// handing its events on together.
@Suite struct PipelineDeadlineTests {
    static let second: Int64 = 1_000_000_000

    final class Collect: EventSink, @unchecked Sendable {
        /// One entry per call: a single event, or a burst's events.
        var calls: [[Event]] = []
        func emit(_ event: Event) { calls.append([event]) }
        func emit(contentsOf events: [Event]) { calls.append(events) }
    }

    static func pipeline(dropoutAfter: ConfigDuration?, sink: EventSink) -> Pipeline {
        let settings = DetectorSettings(windowSize: 50, warmup: 3, zOn: 4, zOff: 2.5, endAfter: 2, stdFloor: 0.01, holdOut: 0,
                                        health: HealthSettings(stuckAfter: nil, dropoutAfter: dropoutAfter))
        return Pipeline(channels: [ChannelInfo(name: "t", unit: "")], settings: [settings], summaryInterval: .seconds(60), sink: sink)
    }

    @Test func deadlineIsTheNextSummaryOrTheFirstMomentADropoutCanStart() {
        let s = Self.second
        let sink = Collect()
        let p = Self.pipeline(dropoutAfter: .seconds(5), sink: sink)
        // Before the first idle call nothing is scheduled: call it now.
        #expect(p.nextIdleDeadline(monoNanos: 1 * s) == 1 * s)
        p.idle(monoNanos: 1 * s, wallNanos: 1 * s)
        // Silent since the first look at 1 s: the dropout can start at 6 s; the summary is due at 61 s.
        #expect(p.nextIdleDeadline(monoNanos: 1 * s) == 6 * s)
        p.reading(channel: 0, value: 20, monoNanos: 2 * s, wallNanos: 2 * s)
        #expect(p.nextIdleDeadline(monoNanos: 2 * s) == 7 * s)
        // Nothing is due before 7 s: an idle call there starts the dropout...
        p.idle(monoNanos: 7 * s, wallNanos: 7 * s)
        #expect(sink.calls.count == 1)
        if case .healthStart(_, let h)? = sink.calls.first?.first { #expect(h.check == .dropout) } else { Issue.record("\(sink.calls)") }
        // ...and then only the summary is left.
        #expect(p.nextIdleDeadline(monoNanos: 7 * s) == 61 * s)
        p.idle(monoNanos: 61 * s, wallNanos: 61 * s)
        #expect(sink.calls.count == 2)
        #expect(p.nextIdleDeadline(monoNanos: 61 * s) == 121 * s)
    }

    @Test func withoutDropoutChecksOnlyTheSummaryIsDue() {
        let s = Self.second
        let p = Self.pipeline(dropoutAfter: nil, sink: Collect())
        p.idle(monoNanos: 10 * s, wallNanos: 10 * s)
        p.reading(channel: 0, value: 20, monoNanos: 11 * s, wallNanos: 11 * s)
        #expect(p.nextIdleDeadline(monoNanos: 11 * s) == 70 * s)
    }

    @Test func aBurstHandsItsEventsOnTogetherInOrder() {
        let s = Self.second
        let sink = Collect()
        let p = Self.pipeline(dropoutAfter: nil, sink: sink)
        var t: Int64 = 0
        for v in [20.0, 20.1, 19.9, 20.0, 20.1] { t += 1; p.reading(channel: 0, value: v, monoNanos: t * s, wallNanos: t * s) }
        p.beginBurst()
        t += 1; p.reading(channel: 0, value: 90, monoNanos: t * s, wallNanos: t * s)   // starts an episode
        for _ in 0..<5 { t += 1; p.reading(channel: 0, value: 20, monoNanos: t * s, wallNanos: t * s) }  // ends it
        #expect(sink.calls.isEmpty, "events left the pipeline inside the burst")
        p.endBurst()
        #expect(sink.calls.count == 1)
        let kinds = (sink.calls.first ?? []).map { e -> String in
            switch e {
            case .anomalyStart: "start"
            case .anomalyEnd: "end"
            default: "other"
            }
        }
        #expect(kinds == ["start", "end"])
        // Outside a burst each event goes on at once.
        t += 1; p.reading(channel: 0, value: 1000, monoNanos: t * s, wallNanos: t * s)
        #expect(sink.calls.count == 2 && sink.calls[1].count == 1)
        // An empty burst hands on nothing.
        p.beginBurst()
        p.endBurst()
        #expect(sink.calls.count == 2)
    }
}
