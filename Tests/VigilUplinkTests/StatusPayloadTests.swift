import Foundation
import Synchronization
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilUplink

/// Status payloads as settings, and the one-way flow: producers hand messages to the outbox, which wakes
/// the uplink that consumes it. Against a real mosquitto on 127.0.0.1.
@Suite("Status payloads and the outbox as the message sink", .serialized, .timeLimit(.minutes(2)))
struct StatusPayloadTests {
    let logs = LogCapture()

    static let birth = #"{"status":"online","seq_start":42}"#
    static let will = #"{"status":"offline","reason":"connection lost"}"#

    private func settings(port: Int, device: String) -> MQTTUplink.Settings {
        var s = MQTTUplink.Settings.test(port: port, device: device, reconnectMin: 0.3, reconnectMax: 0.5)
        s.status = .init(birth: Array(Self.birth.utf8), will: Array(Self.will.utf8))
        return s
    }

    @Test("the defaults are today's bytes: `online` and `offline`")
    func defaults() {
        let s = MQTTUplink.Settings(host: "h", clientID: "c", statusTopic: "t")
        #expect(s.status == MQTTUplink.StatusPayloads(birth: Array("online".utf8), will: Array("offline".utf8)))
    }

    @Test("custom birth on connect (retained), custom will when the connection dies, birth again on reconnect")
    func birthAndWill() throws {
        let broker = try MosquittoBroker()
        let settings = settings(port: broker.port, device: "custom-will")
        let status = settings.statusTopic
        let live = try MQTTSubscriber(port: broker.port, topics: [status])
        let uplink = MQTTUplink(settings: settings, logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        #expect(payloads(live.waitFor(count: 1, timeout: 10), on: status) == [Self.birth])

        let late = try MQTTSubscriber(port: broker.port, topics: [status])
        #expect(late.waitFor(count: 1, timeout: 5) == [MQTTSubscriber.Message(topic: status, payload: Self.birth, retained: true)])

        uplink.dropConnectionAbruptly()
        #expect(payloads(live.waitFor(count: 3, timeout: 10), on: status) == [Self.birth, Self.will, Self.birth])
    }

    @Test("shutdown publishes the will's bytes by default, or the bytes it is given; both stay retained")
    func offlineAtShutdown() throws {
        let broker = try MosquittoBroker()
        for (device, offline) in [("custom-default", nil), ("custom-given", Array(#"{"status":"stopped"}"#.utf8))] {
            let settings = settings(port: broker.port, device: device)
            let status = settings.statusTopic
            let live = try MQTTSubscriber(port: broker.port, topics: [status])
            let uplink = MQTTUplink(settings: settings, logger: logs.logger())
            try uplink.start()
            #expect(payloads(live.waitFor(count: 1, timeout: 10), on: status) == [Self.birth])
            #expect(uplink.shutdown(drainTimeout: 5, offline: offline))

            let expected = offline.map { String(decoding: $0, as: UTF8.self) } ?? Self.will
            #expect(payloads(live.waitFor(count: 2, timeout: 5), on: status) == [Self.birth, expected])
            let late = try MQTTSubscriber(port: broker.port, topics: [status])
            #expect(late.waitFor(count: 1, timeout: 5) == [MQTTSubscriber.Message(topic: status, payload: expected, retained: true)])
            #expect(broker.log.contains("Client \(settings.clientID) disconnected."), "\(broker.log)")
        }
    }

    @Test("producers need only the outbox: what is enqueued there reaches the broker through the uplink")
    func outboxIsTheSink() throws {
        let broker = try MosquittoBroker()
        let topic = "vigil/sink/anomaly/c1"
        let subscriber = try MQTTSubscriber(port: broker.port, topics: [topic])
        let outbox = Outbox.inMemory(maxEvents: 1_000, logger: logs.logger())
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "sink"), outbox: outbox, logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        #expect(uplink.waitForStats(timeout: 10) { $0.connected }.connected)

        let sent = numbered(50, topic: topic)
        for m in sent { outbox.enqueue(m) }
        #expect(payloads(subscriber.waitFor(count: 50, timeout: 10), on: topic) == sent.map { String(decoding: $0.payload, as: UTF8.self) })
        #expect(uplink.waitForStats(timeout: 5) { $0.acked == 50 }.acked == 50)
        #expect(outbox.stats.appended == 50 && outbox.stats.events == 0)
    }

    /// Counts the outbox's wake-ups.
    final class Counter: OutboxConsumer {
        let calls = Atomic<Int>(0)
        func outboxDidAppend() { calls.add(1, ordering: .sequentiallyConsistent) }
        var count: Int { calls.load(ordering: .sequentiallyConsistent) }
    }

    @Test("the outbox wakes its consumer once per accepted append, not after close, and holds it weakly")
    func consumerIsWoken() {
        let outbox = Outbox.inMemory(maxEvents: 2, logger: logs.logger())
        var counter: Counter? = Counter()
        weak let weakCounter = counter
        outbox.setConsumer(counter!)
        outbox.enqueue(OutboundMessage(topic: "t", payload: [1]))
        outbox.append(OutboundMessage(topic: "t", payload: [2]))
        outbox.append(contentsOf: numbered(3, topic: "t"))
        #expect(counter!.count == 3)
        #expect(outbox.stats.appended == 5 && outbox.stats.events == 2 && outbox.stats.droppedEvents == 3)
        outbox.close()
        outbox.enqueue(OutboundMessage(topic: "t", payload: [3]))
        #expect(counter!.count == 3 && outbox.stats.droppedEvents == 4)
        counter = nil
        #expect(weakCounter == nil)
    }
}
