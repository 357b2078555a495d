import Foundation
import Logging
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilUplink

/// Against a real mosquitto on 127.0.0.1. Serialized: several tests restart brokers and time backoffs,
/// which parallel load would make noisy.
@Suite("MQTT uplink against mosquitto", .serialized, .timeLimit(.minutes(2)))
struct MQTTUplinkTests {
    let logs = LogCapture()

    private func text(_ m: OutboundMessage) -> String { String(decoding: m.payload, as: UTF8.self) }

    @Test("every message arrives exactly once, with its topic and payload, in enqueue order")
    func deliversExactlyAndInOrder() throws {
        let broker = try MosquittoBroker()
        let anomaly = "vigil/order/anomaly/c1", summary = "vigil/order/summary/c1"
        let subscriber = try MQTTSubscriber(port: broker.port, topics: [anomaly, summary])
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "order"), logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }

        let sent = (0..<500).map { i in
            i % 5 == 0
                ? OutboundMessage(topic: summary, payload: Array("{\"seq\":\(i),\"kind\":\"summary\"}".utf8), priority: .summary)
                : OutboundMessage(topic: anomaly, payload: Array("{\"seq\":\(i),\"z\":4.5}".utf8), priority: .event)
        }
        for m in sent { uplink.enqueue(m) }

        subscriber.waitFor(count: sent.count, timeout: 20)
        usleep(300_000) // anything extra would be a duplicate
        let got = subscriber.messages
        #expect(got.map(\.topic) == sent.map(\.topic))
        #expect(got.map(\.payload) == sent.map(text))
        #expect(got.allSatisfy { !$0.retained })

        #expect(uplink.shutdown(drainTimeout: 5))
        let s = uplink.stats
        #expect(s.published == 500 && s.acked == 500)
        #expect(s.queued == 0 && s.inflight == 0 && s.dropped == 0)
        #expect(s.connects == 1 && s.connectFailures == 0 && !s.connected)
    }

    @Test("QoS 0 messages are sent and leave the queue without waiting for an acknowledgement")
    func qos0() throws {
        let broker = try MosquittoBroker()
        let topic = "vigil/qos0/summary/c1"
        let subscriber = try MQTTSubscriber(port: broker.port, topics: [topic])
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "qos0"), logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }

        let sent = numbered(100, topic: topic, qos: 0, priority: .summary)
        for m in sent { uplink.enqueue(m) }
        subscriber.waitFor(count: 100, timeout: 10)
        #expect(payloads(subscriber.messages, on: topic) == sent.map(text))
        let s = uplink.waitForStats(timeout: 5) { $0.published == 100 }
        #expect(s.published == 100 && s.acked == 0 && s.inflight == 0 && s.queued == 0)
    }

    @Test("a message libmosquitto refuses (a wildcard in its topic) is dropped and counted; the queue moves on")
    func refusedMessage() throws {
        let broker = try MosquittoBroker()
        let topic = "vigil/bad/anomaly/c1"
        let subscriber = try MQTTSubscriber(port: broker.port, topics: [topic])
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "bad"), logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }

        uplink.enqueue(OutboundMessage(topic: topic, payload: Array("before".utf8)))
        uplink.enqueue(OutboundMessage(topic: "vigil/bad/anomaly/#", payload: Array("never".utf8)))
        uplink.enqueue(OutboundMessage(topic: topic, payload: Array("after".utf8)))
        #expect(payloads(subscriber.waitFor(count: 2, timeout: 10), on: topic) == ["before", "after"])
        let s = uplink.waitForStats(timeout: 5) { $0.acked == 2 }
        #expect(s.acked == 2 && s.dropped == 1 && s.queued == 0 && s.connects == 1)
        #expect(logs.lines.contains { $0.level == .error && $0.message.contains("vigil/bad/anomaly/#") })
    }

    @Test("a late subscriber to the status topic sees the birth message `online`, retained")
    func birthIsRetained() throws {
        let broker = try MosquittoBroker()
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "birth"), logger: logs.logger())
        let status = uplink.settings.statusTopic
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        #expect(uplink.waitForStats(timeout: 10) { $0.connected }.connected)

        // Once a first subscriber has seen `online`, the broker holds it; the second must get it as retained.
        let first = try MQTTSubscriber(port: broker.port, topics: [status])
        #expect(payloads(first.waitFor(count: 1, timeout: 5), on: status) == ["online"])
        let late = try MQTTSubscriber(port: broker.port, topics: [status])
        usleep(200_000)
        #expect(late.messages == [MQTTSubscriber.Message(topic: status, payload: "online", retained: true)])
    }

    @Test("shutdown drains the queue, then leaves `offline` retained and disconnects cleanly")
    func shutdownPublishesOffline() throws {
        let broker = try MosquittoBroker()
        let data = "vigil/bye/anomaly/c1"
        let settings = MQTTUplink.Settings.test(port: broker.port, device: "bye")
        let status = settings.statusTopic
        let live = try MQTTSubscriber(port: broker.port, topics: [data, status])
        let uplink = MQTTUplink(settings: settings, logger: logs.logger())
        try uplink.start()
        #expect(uplink.waitForStats(timeout: 10) { $0.connected }.connected)

        let sent = numbered(300, topic: data)
        for m in sent { uplink.enqueue(m) }
        let started = Date()
        #expect(uplink.shutdown(drainTimeout: 10))
        #expect(Date().timeIntervalSince(started) < 5)
        let s = uplink.stats
        #expect(!s.connected && s.acked == 300 && s.queued == 0 && s.inflight == 0)

        // Every data message comes before the final `offline`.
        let got = live.waitUntil(timeout: 5) { $0.last?.payload == "offline" }
        #expect(payloads(got, on: data) == sent.map(text))
        #expect(payloads(got, on: status) == ["online", "offline"])
        #expect(got.last == MQTTSubscriber.Message(topic: status, payload: "offline", retained: false))

        let late = try MQTTSubscriber(port: broker.port, topics: [status])
        usleep(200_000)
        #expect(late.messages == [MQTTSubscriber.Message(topic: status, payload: "offline", retained: true)])
        // A DISCONNECT was sent, not just a closed socket.
        #expect(broker.log.contains("Client \(settings.clientID) disconnected."), "\(broker.log)")
    }

    @Test("an abrupt end of the connection makes the broker publish the last will `offline`; the uplink comes back `online`")
    func lastWill() throws {
        let broker = try MosquittoBroker()
        let settings = MQTTUplink.Settings.test(port: broker.port, device: "will", reconnectMin: 0.3, reconnectMax: 0.5)
        let status = settings.statusTopic
        let live = try MQTTSubscriber(port: broker.port, topics: [status])
        let uplink = MQTTUplink(settings: settings, logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        #expect(payloads(live.waitFor(count: 1, timeout: 10), on: status) == ["online"])

        uplink.dropConnectionAbruptly()
        let got = live.waitFor(count: 3, timeout: 10)
        #expect(payloads(got, on: status) == ["online", "offline", "online"])
        let s = uplink.waitForStats(timeout: 5) { $0.connects == 2 && $0.connected }
        #expect(s.connects == 2 && s.connected)
        let lost = logs.lines.filter { $0.message.contains("connection to 127.0.0.1:\(broker.port) lost") }
        #expect(lost.count == 1, "\(logs.lines.map(\.message))")
    }

    @Test("a broker that is down at start is retried; everything enqueued meanwhile arrives once, in order")
    func brokerDownAtStart() throws {
        let topic = "vigil/late/anomaly/c1"
        let (broker, subscriber) = try persistentSubscriberWithBrokerDown(topics: [topic])
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "late", reconnectMin: 0.1, reconnectMax: 0.4),
                                logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }

        let sent = numbered(300, topic: topic)
        for m in sent { uplink.enqueue(m) }
        let before = uplink.waitForStats(timeout: 10) { $0.connectFailures >= 3 }
        #expect(before.connectFailures >= 3 && !before.connected && before.connects == 0)
        #expect(before.queued == 300 && before.dropped == 0)

        try broker.start()
        subscriber.waitFor(count: sent.count, timeout: 20)
        usleep(300_000)
        #expect(payloads(subscriber.messages, on: topic) == sent.map(text),
                "broker log:\n\(broker.log)\nsubscriber stderr: \(subscriber.errorOutput)")
        let after = uplink.waitForStats(timeout: 5) { $0.acked == 300 }
        #expect(after.acked == 300 && after.connects == 1 && after.queued == 0 && after.inflight == 0)
    }

    @Test("a broker restart in mid-stream loses nothing: 2,000 QoS 1 messages all arrive at least once")
    func brokerRestartMidStream() throws {
        let topic = "vigil/restart/anomaly/c1"
        let broker = try MosquittoBroker(persistent: true)
        let subscriber = try MQTTSubscriber(port: broker.port, topics: [topic],
                                            clientID: "vigil-test-sub-restart", persistentSession: true)
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "restart", reconnectMin: 0.1, reconnectMax: 0.5),
                                logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        #expect(uplink.waitForStats(timeout: 10) { $0.connected }.connected)

        // Bursts of 100. Before the 10th the broker is frozen, so that burst fills the in-flight window with
        // messages the broker does not acknowledge; then it is stopped (SIGTERM: it saves the subscriber's
        // session) and started again three bursts later.
        let sent = numbered(2_000, topic: topic)
        var inflightAtStop = 0
        for burst in 0..<20 {
            if burst == 9 { broker.pause() }
            for m in sent[(burst * 100)..<(burst * 100 + 100)] { uplink.enqueue(m) }
            if burst == 9 {
                inflightAtStop = uplink.waitForStats(timeout: 30) { $0.inflight == 20 }.inflight
                broker.stop()
            }
            if burst == 12 { try broker.start() }
            usleep(20_000)
        }
        #expect(inflightAtStop == 20)

        let expected = Set(sent.map(text))
        let got = payloads(subscriber.waitUntil(timeout: 60) { Set(payloads($0, on: topic)).count >= expected.count }, on: topic)
        let missing = expected.subtracting(got)
        #expect(missing.isEmpty, "missing \(missing.count), e.g. \(missing.sorted().prefix(10))")
        #expect(Set(got).count == 2_000)
        let s = uplink.waitForStats(timeout: 10) { $0.acked == 2_000 }
        #expect(s.acked == 2_000 && s.queued == 0 && s.inflight == 0 && s.dropped == 0)
        #expect(s.connects >= 2)
        // Everything unacknowledged when the connection was lost was sent again. How much of the frozen window
        // that is depends on the broker: resumed to handle SIGTERM, it may still read and acknowledge some of
        // it before it exits. So the count comes from the uplink's own report of the loss (logged before it
        // reconnects, hence before the last acknowledgement), not from the window size.
        let lost = logs.lines.map(\.message).filter { $0.contains("connection to 127.0.0.1:\(broker.port) lost") }
        let requeued = lost.compactMap(Self.requeuedCount)
        #expect(!lost.isEmpty && requeued.count == lost.count, "\(logs.lines.map(\.message))")
        #expect(requeued.allSatisfy { $0 <= 20 }, "\(lost)")
        #expect(s.published == 2_000 + requeued.reduce(0, +), "\(lost)")
        print("broker restart: \(got.count) received for 2000 sent, \(got.count - Set(got).count) duplicate(s); "
              + "\(inflightAtStop) in flight at the stop, \(requeued) requeued; published \(s.published), connects \(s.connects)")
    }

    /// `…; 18 unacknowledged message(s) requeued (retry in 0.1 s)` → 18.
    private static func requeuedCount(_ line: String) -> Int? {
        guard let end = line.range(of: " unacknowledged message(s) requeued") else { return nil }
        return Int(line[..<end.lowerBound].split(separator: " ").last ?? "")
    }

    @Test("over the queue limit the oldest summaries are dropped first, then the oldest events; the rest arrive")
    func overflow() throws {
        let anomaly = "vigil/ovf/anomaly/c1", summary = "vigil/ovf/summary/c1"
        let (broker, subscriber) = try persistentSubscriberWithBrokerDown(topics: [anomaly, summary])
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "ovf", queueLimit: 4), logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }

        let script: [(String, OutboundMessage.Priority)] = [
            ("E1", .event), ("S1", .summary), ("S2", .summary), ("E2", .event), ("E3", .event),
            ("S3", .summary), ("E4", .event), ("E5", .event), ("S4", .summary),
        ]
        var drops: [Int] = []
        for (name, priority) in script {
            let before = uplink.stats.dropped
            uplink.enqueue(OutboundMessage(topic: priority == .event ? anomaly : summary, payload: Array(name.utf8),
                                           priority: priority))
            drops.append(uplink.stats.dropped - before)
        }
        #expect(drops == [0, 0, 0, 0, 1, 1, 1, 1, 1])
        let s = uplink.stats
        #expect(s.dropped == 5 && s.queued == 4 && s.connects == 0)

        try broker.start()
        let got = subscriber.waitFor(count: 4, timeout: 15)
        usleep(300_000)
        #expect(got.map(\.payload) == ["E2", "E3", "E4", "E5"])
        #expect(subscriber.messages.count == 4)
        #expect(uplink.waitForStats(timeout: 5) { $0.acked == 4 }.acked == 4)
    }

    @Test("after an outage the backlog drains in order at the drain rate, while live events go out at once")
    func backlogDrainIsRateLimited() throws {
        let topic = "vigil/drain/anomaly/c1"
        let (broker, subscriber) = try persistentSubscriberWithBrokerDown(topics: [topic])
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "drain", reconnectMin: 0.1, reconnectMax: 0.2,
                                                drainRate: 50), logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        let backlog = numbered(150, topic: topic, prefix: "b")
        for m in backlog { uplink.enqueue(m) }
        try broker.start()
        #expect(uplink.waitForStats(timeout: 10) { $0.connected }.connected)
        let started = Date()
        var arrived: [String: Double] = [:]
        for i in 0..<5 {
            uplink.enqueue(OutboundMessage(topic: topic, payload: Array("l\(i)".utf8)))
            usleep(100_000)
        }
        let deadline = Date().addingTimeInterval(20)
        while arrived.count < 155, Date() < deadline {
            for m in payloads(subscriber.messages, on: topic) where arrived[m] == nil { arrived[m] = Date().timeIntervalSince(started) }
            usleep(20_000)
        }
        let order = payloads(subscriber.messages, on: topic)
        #expect(order.filter { $0.hasPrefix("b") } == backlog.map(text))
        #expect(order.filter { $0.hasPrefix("l") } == ["l0", "l1", "l2", "l3", "l4"])
        // One second's worth (50) goes at once, the other 100 at 50/s: about 2 s.
        let lastBacklog = arrived["b149"] ?? 0, lastLive = arrived["l4"] ?? .infinity
        #expect(lastBacklog >= 1.5, "backlog drained in \(lastBacklog) s")
        #expect(lastLive < lastBacklog, "live events waited for the backlog: l4 at \(lastLive) s, b149 at \(lastBacklog) s")
        #expect(uplink.waitForStats(timeout: 5) { $0.acked == 155 }.backlogPublished >= 150)
        print("drain: backlog of 150 at 50/s done after \(lastBacklog) s; live l4 arrived after \(lastLive) s")
    }

    @Test("shutdown without ever connecting returns after the drain timeout and reports undelivered messages")
    func shutdownNeverConnected() throws {
        let port = try freeLocalPort()
        let uplink = MQTTUplink(settings: .test(port: port, device: "never", reconnectMin: 5, reconnectMax: 5),
                                logger: logs.logger())
        try uplink.start()
        for m in numbered(3, topic: "vigil/never/anomaly/c1") { uplink.enqueue(m) }
        let started = Date()
        #expect(uplink.shutdown(drainTimeout: 0.3) == false)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.3 && elapsed < 1.5, "took \(elapsed) s")
        let s = uplink.stats
        #expect(!s.connected && s.connects == 0 && s.connectFailures >= 1 && s.queued == 3)

        uplink.enqueue(OutboundMessage(topic: "vigil/never/anomaly/c1", payload: [1]))
        #expect(uplink.stats.dropped == 1)
        #expect(uplink.shutdown(drainTimeout: 1) == false) // second call: at once, same answer

        let neverStarted = MQTTUplink(settings: .test(port: port, device: "idle"), logger: logs.logger())
        #expect(neverStarted.shutdown(drainTimeout: 1))
    }

    @Test("retries back off exponentially up to the maximum, with one log line per attempt naming host:port and the reason")
    func backoff() throws {
        let port = try freeLocalPort()
        let uplink = MQTTUplink(settings: .test(port: port, device: "backoff", reconnectMin: 0.05, reconnectMax: 0.2),
                                logger: logs.logger())
        try uplink.start()
        usleep(1_500_000)
        uplink.shutdown(drainTimeout: 0)

        // 0.05, 0.1, 0.2, 0.2, … s apart: about 9 attempts in 1.5 s. A busy loop would make thousands.
        let failures = uplink.stats.connectFailures
        #expect((5...14).contains(failures), "\(failures) attempts")
        let warnings = logs.lines.filter { $0.level >= .warning }.map(\.message)
        #expect(warnings.count == failures, "\(warnings)")
        #expect(warnings.allSatisfy { $0.contains("127.0.0.1:\(port)") && $0.contains("Connection refused") }, "\(warnings)")
        #expect(warnings.last?.contains("retry in 0.2 s") == true, "\(warnings)")
    }

    @Test("a broker refusing the CONNECT is reported with the CONNACK reason and retried")
    func connackRefused() throws {
        let broker = try MosquittoBroker(allowAnonymous: false)
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "refused"), logger: logs.logger())
        try uplink.start()
        let s = uplink.waitForStats(timeout: 10) { $0.connectFailures >= 2 }
        uplink.shutdown(drainTimeout: 0)
        #expect(s.connectFailures >= 2 && s.connects == 0)
        let warnings = logs.lines.filter { $0.level >= .warning }.map(\.message)
        #expect(warnings.first?.contains("not authorised") == true, "\(warnings)")
    }

    @Test("keepalive pings hold an idle connection open past the broker's 1.5 × keepalive limit")
    func keepalive() throws {
        let broker = try MosquittoBroker()
        var settings = MQTTUplink.Settings.test(port: broker.port, device: "ping")
        settings.keepalive = 5
        let uplink = MQTTUplink(settings: settings, logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        #expect(uplink.waitForStats(timeout: 10) { $0.connected }.connected)
        usleep(8_000_000)
        let s = uplink.stats
        #expect(s.connected && s.connects == 1, "\(logs.lines.map(\.message))\n\(broker.log)")
    }

    @Test("an idle connection costs the network thread almost no CPU")
    func idleCPU() throws {
        let broker = try MosquittoBroker()
        let uplink = MQTTUplink(settings: .test(port: broker.port, device: "idle"), logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        #expect(uplink.waitForStats(timeout: 10) { $0.connected }.connected)
        usleep(200_000)
        guard let before = uplink.networkThreadCPUSeconds else { return }
        usleep(2_000_000)
        let used = (uplink.networkThreadCPUSeconds ?? before) - before
        #expect(used < 0.1, "network thread used \(used) s of CPU in 2 s idle")
        print("idle network thread: \(used * 1000) ms CPU over 2 s")
    }
}
