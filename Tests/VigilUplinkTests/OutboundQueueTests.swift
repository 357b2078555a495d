import Testing
import VigilCore
@testable import VigilUplink

@Suite("Outbox index (in memory)")
struct OutboundQueueTests {
    private func entry(_ id: UInt64, _ name: String, _ priority: OutboundMessage.Priority) -> OutboundQueue.Entry {
        let m = OutboundMessage(topic: "t", payload: Array(name.utf8), priority: priority)
        return OutboundQueue.Entry(id: id, message: m, segment: 0, size: 10)
    }

    private func names(_ q: OutboundQueue) -> [String] {
        q.entries.map { String(decoding: $0.message.payload, as: UTF8.self) }
    }

    @Test("the drop candidate is the oldest waiting summary, else the oldest waiting event; never one in flight")
    func dropCandidates() {
        var q = OutboundQueue()
        let script: [(String, OutboundMessage.Priority)] = [("E1", .event), ("S1", .summary), ("E2", .event), ("S2", .summary), ("E3", .event)]
        for (i, (n, p)) in script.enumerated() { q.append(entry(UInt64(i + 1), n, p)) }
        q.setInflight(2, true) // S1 is being sent
        var dropped: [String] = []
        while let c = q.dropCandidate() {
            dropped.append(String(decoding: c.message.payload, as: UTF8.self))
            q.remove(c.id)
        }
        #expect(dropped == ["S2", "E1", "E2", "E3"])
        #expect(names(q) == ["S1"])
        #expect(q.count == 1 && q.inflightCount == 1 && q.summaries == 1 && q.bytes == 10)
        q.clearInflight()
        #expect(q.dropCandidate()?.id == 2)
    }

    @Test("holes left by removals are skipped and squeezed out without changing the order")
    func holesAndSqueeze() {
        var q = OutboundQueue()
        for i in 1...10_000 { q.append(entry(UInt64(i), "\(i)", i % 3 == 0 ? .summary : .event)) }
        for i in stride(from: 2, through: 10_000, by: 2) { q.remove(UInt64(i)) }
        for i in 1...4_000 where i % 2 == 1 { q.remove(UInt64(i)) }
        #expect(q.count == 3_000)
        #expect(q.entries.map(\.id) == Array(stride(from: UInt64(4_001), through: 9_999, by: 2)))
        #expect(q.firstWaiting(from: 0)?.id == 4_001)
        #expect(q.firstWaiting(from: 5_000)?.id == 5_001)
        #expect(q.firstWaiting(from: 5_000, below: 5_001) == nil)
        #expect(q.entry(5_001) != nil && q.entry(5_002) == nil)
        #expect(q.remove(5_002) == nil)
    }

    @Test("the first waiting entry skips those in flight")
    func firstWaitingSkipsInflight() {
        var q = OutboundQueue()
        for i in 1...5 { q.append(entry(UInt64(i), "\(i)", .event)) }
        q.setInflight(1, true)
        q.setInflight(2, true)
        #expect(q.firstWaiting(from: 0)?.id == 3)
        q.setInflight(1, false)
        #expect(q.firstWaiting(from: 0)?.id == 1)
        #expect(q.inflightCount == 1)
    }
}
