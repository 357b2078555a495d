import Foundation
import Testing
import VigilTestSupport

/// Every message the outbox's bounds drop is reported, exactly once, in a health message that reaches the
/// broker: health reports are never dropped themselves, and while one waits the counts wait with it.
/// (Before the fix, 30 of 101 drops were reported: the health messages were dropped with the events.)
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DropReportingTests {
    @Test func reportedDropsEqualTheSequenceNumbersThatNeverArrived() throws {
        let broker = try MosquittoBroker(persistent: true)
        do {
            let s = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"], clientID: "drops-sub", persistentSession: true)
            s.stop()
        }
        broker.stop()
        // Room for 20 messages while the broker is away; anomaly events (5 spikes a second) and summaries
        // overflow it, and a health report is due every second.
        let yaml = OutboxAgentTests.config(port: broker.port, mqttExtra: "health_interval: 1s\noutbox: { max_events: 20 }",
                                           faults: "      - { kind: spike, channel: temperature, rate_per_hour: 18000, magnitude: 20 }",
                                           device: "drops")
        let agent = try VigilProcess(config: yaml, arguments: [])
        #expect(agent.waitForLog("100 message(s) dropped so far", timeout: 60), "\(agent.stderr)")

        try broker.start()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"], clientID: "drops-sub", persistentSession: true)
        // Drained: two health reports in a row with nothing new dropped between them.
        _ = sub.waitUntil(timeout: 60) { messages in
            let totals = Self.health(messages).map { $0["dropped_total"] as? Int ?? -1 }
            return totals.count >= 3 && totals[totals.count - 1] == totals[totals.count - 2] && totals.last! > 0
        }
        agent.terminate()
        #expect(agent.waitForExit(timeout: 30) && agent.exitStatus == 0, "\(agent.stderr)")
        let got = sub.waitUntil(timeout: 30) { $0.contains { $0.statusState == "offline" } }
        let lastSeq = got.compactMap(\.status).first { $0["state"] as? String == "offline" }?["last_seq"] as? Int ?? -1
        let all = sub.waitUntil(timeout: 30) { Set(OutboxAgentTests.seqs($0)).contains(lastSeq) }

        let health = Self.health(all)
        let reported = health.map { ($0["dropped_summaries"] as? Int ?? 0) + ($0["dropped_events"] as? Int ?? 0) }.reduce(0, +)
        let total = health.last?["dropped_total"] as? Int ?? -1
        let missing = Set(1...max(1, lastSeq)).subtracting(OutboxAgentTests.seqs(all)).count
        #expect(total >= 100, "\(agent.stderr)")
        // Each drop reported once, and the drops are exactly the numbers that never arrived.
        #expect(reported == total, "\(health)")
        #expect(missing == total, "last_seq \(lastSeq), \(missing) seq(s) never arrived, \(total) reported dropped")
        #expect(health.allSatisfy { $0["outbox_storage"] as? String == "disk" }, "\(health)")
    }

    static func health(_ messages: [MQTTSubscriber.Message]) -> [[String: Any]] {
        var seen = Set<Int>()
        return messages.filter { $0.topic == "vigil/drops/health" }.map(OutboxAgentTests.json)
            .filter { $0["type"] as? String == "health" && $0["dropped_total"] != nil }
            .filter { seen.insert($0["seq"] as? Int ?? -1).inserted }
    }
}
