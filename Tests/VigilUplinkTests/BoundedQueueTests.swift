import Testing
import VigilCore
@testable import VigilUplink

/// The outbox's queue policy on its own (no files): ids, bounds, drop order, per-segment counts.
@Suite("Outbox queue policy (in memory)")
struct BoundedQueueTests {
    private func m(_ name: String, _ priority: OutboundMessage.Priority = .event) -> OutboundMessage {
        OutboundMessage(topic: "t", payload: Array(name.utf8), priority: priority)
    }

    private func names(_ q: BoundedQueue) -> [String] {
        q.index.entries.map { String(decoding: $0.message.payload, as: UTF8.self) }
    }

    @Test("admit numbers the messages and drops the oldest summary, then the oldest event, past max_events")
    func admit() {
        var q = BoundedQueue()
        let first = q.admit([m("E1"), m("S1", .summary), m("E2")], segment: 1, maxEvents: 3, maxBytes: .max)
        #expect(first.ids == 1..<4 && first.dropped.isEmpty)
        let second = q.admit([m("E3"), m("E4")], segment: 2, maxEvents: 3, maxBytes: .max)
        #expect(second.ids == 4..<6)
        #expect(second.dropped.map(\.id) == [2, 1])
        #expect(names(q) == ["E2", "E3", "E4"])
        #expect(q.droppedSummaries == 1 && q.droppedEvents == 1 && q.appended == 5 && q.dropped == 2)
        #expect(q.liveBySegment == [1: 1, 2: 2])
    }

    @Test("past max_bytes the same order applies; a newcomer that cannot fit is itself dropped")
    func bytes() {
        var q = BoundedQueue()
        let size = OutboxFormat.entrySize(m("E1"))
        _ = q.admit([m("E1"), m("S1", .summary)], segment: 0, maxEvents: 10, maxBytes: 2 * size)
        let r = q.admit([m("S2", .summary)], segment: 0, maxEvents: 10, maxBytes: 2 * size)
        #expect(r.dropped.map(\.id) == [2])
        #expect(names(q) == ["E1", "S2"] && q.bytes == 2 * size)
        let alone = q.admit([m("E2")], segment: 0, maxEvents: 1, maxBytes: .max)
        #expect(alone.dropped.map(\.id) == [3, 1])
        #expect(names(q) == ["E2"])
        // The only summary is the newcomer: it goes.
        let newcomer = q.admit([m("S3", .summary)], segment: 0, maxEvents: 1, maxBytes: .max)
        #expect(newcomer.ids == 5..<6 && newcomer.dropped.map(\.id) == [5])
        #expect(names(q) == ["E2"])
    }

    @Test("a health report is never dropped: the bounds drop around it, and it alone may stand past them")
    func healthIsNeverDropped() {
        var q = BoundedQueue()
        _ = q.admit([m("H1", .health), m("E1"), m("S1", .summary)], segment: 0, maxEvents: 3, maxBytes: .max)
        let r = q.admit([m("E2"), m("E3")], segment: 0, maxEvents: 2, maxBytes: .max)
        #expect(r.dropped.map(\.id) == [3, 2, 4])
        #expect(names(q) == ["H1", "E3"] && q.index.healthReports == 1)
        let alone = q.admit([m("E4")], segment: 0, maxEvents: 0, maxBytes: .max)
        #expect(alone.dropped.map(\.id) == [5, 6] && names(q) == ["H1"])
        #expect(q.droppedSummaries == 1 && q.droppedEvents == 4)
        #expect(q.remove([1], asDropped: false) == [1] && q.index.healthReports == 0)
    }

    @Test("remove counts acknowledgements and drops apart, ignores unknown ids, and empties segment counts")
    func remove() {
        var q = BoundedQueue()
        _ = q.admit([m("E1"), m("S1", .summary), m("E2")], segment: 7, maxEvents: 10, maxBytes: .max)
        #expect(q.remove([1, 99], asDropped: false) == [1])
        #expect(q.remove([2], asDropped: true) == [2])
        #expect(q.removed == 1 && q.droppedSummaries == 1 && q.droppedEvents == 0)
        #expect(q.liveBySegment == [7: 1])
        #expect(q.remove([3], asDropped: false) == [3])
        #expect(q.liveBySegment.isEmpty && q.isEmpty)
        q.refuse([m("late"), m("late", .summary)])
        #expect(q.droppedEvents == 1 && q.droppedSummaries == 2)
    }

    @Test("restore continues the ids after the highest one ever given; moveAll puts every entry in one segment")
    func restore() {
        var q = BoundedQueue()
        let entries = [5, 9].map { OutboundQueue.Entry(id: UInt64($0), message: m("R\($0)"), segment: UInt64($0 % 2 + 1), size: 10) }
        q.restore(entries, lastID: 12)
        #expect(q.nextID == 13 && q.count == 2 && q.liveBySegment == [2: 2])
        #expect(q.admit([m("N")], segment: 3, maxEvents: 10, maxBytes: .max).ids == 13..<14)
        q.moveAll(toSegment: 4)
        #expect(q.liveBySegment == [4: 3] && q.index.entries.allSatisfy { $0.segment == 4 })
    }
}
