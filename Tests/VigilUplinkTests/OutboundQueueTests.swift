import Testing
import VigilCore
@testable import VigilUplink

@Suite("Outbound queue")
struct OutboundQueueTests {
    private func message(_ name: String, _ priority: OutboundMessage.Priority) -> OutboundMessage {
        OutboundMessage(topic: "t", payload: Array(name.utf8), priority: priority)
    }

    private func names(_ queue: OutboundQueue) -> [String] {
        queue.messages.map { String(decoding: $0.payload, as: UTF8.self) }
    }

    @Test("over the limit the oldest summary goes first, then the oldest event")
    func dropPolicy() {
        var q = OutboundQueue()
        let script: [(String, OutboundMessage.Priority, Int)] = [
            ("E1", .event, 0), ("S1", .summary, 0), ("S2", .summary, 0), ("E2", .event, 0),
            ("E3", .event, 1),    // drops S1
            ("S3", .summary, 1),  // drops S2
            ("E4", .event, 1),    // drops S3
            ("E5", .event, 1),    // no summary left: drops E1
            ("S4", .summary, 1),  // the only summary is the newcomer: it goes
        ]
        for (name, priority, expectedDrops) in script {
            #expect(q.append(message(name, priority), limit: 4) == expectedDrops, "appending \(name)")
        }
        #expect(names(q) == ["E2", "E3", "E4", "E5"])
    }

    @Test("entries taken out and put back return in their original order, ahead of the rest")
    func pushFrontKeepsOrder() {
        var q = OutboundQueue()
        let all = ["a", "b", "c", "d", "e", "f"]
        for (i, n) in all.enumerated() { _ = q.append(message(n, i.isMultiple(of: 2) ? .event : .summary), limit: 100) }
        var taken: [OutboundQueue.Entry] = []
        for _ in 0..<4 { taken.append(q.popFirst()!) }
        q.pushFront(taken.reversed())
        var order: [String] = []
        while let e = q.popFirst() { order.append(String(decoding: e.message.payload, as: UTF8.self)) }
        #expect(order == all)
    }

    @Test("a ring buffer keeps FIFO order while growing across the wrap point")
    func ringWraps() {
        var r = Ring<Int>()
        var expected: [Int] = []
        for i in 0..<10 { r.append(i); expected.append(i) }
        for _ in 0..<8 { #expect(r.popFirst() == expected.removeFirst()) }
        for i in 10..<60 { r.append(i); expected.append(i) }
        r.prepend(-1); expected.insert(-1, at: 0)
        #expect(r.elements == expected)
        #expect(r.count == expected.count)
    }
}
