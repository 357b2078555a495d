import Foundation
import Logging
import Synchronization
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilUplink

/// Keeps every log line so tests can count and read them.
final class LogCapture: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
    }

    private let store = Mutex<[Line]>([])

    var lines: [Line] { store.withLock { $0 } }
    func append(_ line: Line) { store.withLock { $0.append(line) } }

    func logger(_ label: String = "vigil.uplink.test") -> Logger {
        Logger(label: label) { _ in Handler(capture: self) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        func log(event: LogEvent) {
            capture.append(Line(level: event.level, message: event.message.description))
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }
}

extension MQTTUplink.Settings {
    /// Settings for a local test broker: fast retries so tests stay short.
    /// The backlog drain rate is effectively unlimited unless a test is about it.
    static func test(port: Int, device: String, reconnectMin: Double = 0.1, reconnectMax: Double = 0.5,
                     maxInflight: Int = 20, queueLimit: Int = 10_000, drainRate: Double = 1_000_000) -> Self {
        MQTTUplink.Settings(host: "127.0.0.1", port: port, clientID: "vigil-\(device)-\(UUID().uuidString.prefix(8))",
                            keepalive: 10, statusTopic: "vigil/\(device)/status",
                            reconnectMin: reconnectMin, reconnectMax: reconnectMax,
                            maxInflight: maxInflight, queueLimit: queueLimit, drainRate: drainRate)
    }
}

extension MQTTUplink {
    /// Polls `stats` until `predicate` holds or `timeout` seconds pass; returns the last snapshot.
    @discardableResult
    func waitForStats(timeout: Double, _ predicate: (Stats) -> Bool) -> Stats {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let s = stats
            if predicate(s) || Date() >= deadline { return s }
            usleep(10_000)
        }
    }
}

/// `count` messages `p0`, `p1`, … on `topic`.
func numbered(_ count: Int, topic: String, prefix: String = "p", qos: Int32 = 1,
              priority: OutboundMessage.Priority = .event) -> [OutboundMessage] {
    (0..<count).map { OutboundMessage(topic: topic, payload: Array("\(prefix)\($0)".utf8), qos: qos, priority: priority) }
}

/// A persistent broker holding a persistent QoS 1 session for a subscriber on `topics`, then stopped:
/// whatever reaches the broker once it is started again is kept for the subscriber, even before it
/// has reconnected. Lets tests start the uplink with the broker down and still count every message.
func persistentSubscriberWithBrokerDown(topics: [String]) throws -> (MosquittoBroker, MQTTSubscriber) {
    let broker = try MosquittoBroker(persistent: true)
    let subscriber = try MQTTSubscriber(port: broker.port, topics: topics,
                                        clientID: "vigil-test-sub-\(UUID().uuidString.prefix(8))",
                                        persistentSession: true)
    broker.stop()
    return (broker, subscriber)
}

/// Payloads of the messages on `topic`, in arrival order.
func payloads(_ messages: [MQTTSubscriber.Message], on topic: String) -> [String] {
    messages.filter { $0.topic == topic }.map(\.payload)
}
