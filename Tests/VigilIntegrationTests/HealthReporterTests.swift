import Logging
import Synchronization
import Testing
import VigilCore
@testable import VigilAgent

/// The agent's health report: the numbers handed to the reporter, drops counted once, the bytes made
/// by the publisher's encoder — whichever format that is.
@Suite struct HealthReporterTests {
    final class Collector: MessageSink {
        private let store = Mutex<[OutboundMessage]>([])
        var messages: [OutboundMessage] { store.withLock { $0 } }
        func enqueue(_ message: OutboundMessage) { store.withLock { $0.append(message) } }
    }

    /// A second wire format, as a plug-in would add one: topic and bytes of its own.
    struct LineEncoder: PayloadEncoder {
        func message(for event: Event, seq: UInt64) -> OutboundMessage {
            OutboundMessage(topic: "line/event", payload: Array("event \(seq)".utf8))
        }
        func message(forSource source: String, health: SourceHealth, seq: UInt64) -> OutboundMessage {
            OutboundMessage(topic: "line/source", payload: Array("\(source) \(health.up ? "up" : "down") \(seq)".utf8))
        }
        func message(for health: AgentHealth, seq: UInt64) -> OutboundMessage {
            OutboundMessage(topic: "line/health", payload: Array("health \(seq) readings=\(health.readings) dropped=\(health.droppedSummaries)+\(health.droppedEvents)/\(health.droppedTotal) \(health.outboxStorage)".utf8))
        }
        func message(for status: AgentStatus) -> OutboundMessage {
            OutboundMessage(topic: "line/status", payload: Array("status".utf8), retain: true)
        }
    }

    static func snapshot(readings: Int, droppedSummaries: Int, droppedEvents: Int) -> HealthSnapshot {
        HealthSnapshot(readings: readings, outboxEvents: 4, outboxBytes: 400, outboxStorage: .disk,
                       droppedSummaries: droppedSummaries, droppedEvents: droppedEvents, brokerConnected: true, brokerConnects: 1)
    }

    @Test func dropsAreReportedOnceThroughThePublishersEncoder() {
        let sink = Collector()
        let publisher = EventPublisher(encoder: LineEncoder(), sink: sink, firstSeq: 7, logger: Logger(label: "test"))
        let handed = Mutex([Self.snapshot(readings: 10, droppedSummaries: 3, droppedEvents: 1),
                            Self.snapshot(readings: 20, droppedSummaries: 5, droppedEvents: 1),
                            Self.snapshot(readings: 30, droppedSummaries: 5, droppedEvents: 1)])
        let reporter = HealthReporter(publisher: publisher, interval: ConfigDuration(nanoseconds: 60_000_000_000)) {
            handed.withLock { $0.removeFirst() }
        }
        reporter.report()
        publisher.emit(.sourceHealth(source: "uno", SourceHealth(up: false, device: "/dev/x", reason: "gone", wallNanos: 0,
                                                                   counters: SourceCounters(source: "uno"))))
        reporter.report()
        reporter.report()
        #expect(sink.messages.map { "\($0.topic): \(String(decoding: $0.payload, as: UTF8.self))" } == [
            "line/health: health 7 readings=10 dropped=3+1/4 disk",
            "line/source: uno down 8",
            "line/health: health 9 readings=20 dropped=2+0/6 disk",
            "line/health: health 10 readings=30 dropped=0+0/6 disk",
        ])
    }
}
