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

    @Test func whileAReportIsHeldTheNextWaitsAndCarriesTheDropsSinceTheLastOneSent() {
        let sink = Collector()
        let publisher = EventPublisher(encoder: LineEncoder(), sink: sink, firstSeq: 1, logger: Logger(label: "test"))
        var held = [Self.snapshot(readings: 10, droppedSummaries: 2, droppedEvents: 1),
                    Self.snapshot(readings: 20, droppedSummaries: 9, droppedEvents: 4),
                    Self.snapshot(readings: 30, droppedSummaries: 9, droppedEvents: 7),
                    Self.snapshot(readings: 40, droppedSummaries: 12, droppedEvents: 7)]
        // The broker is away: the first report stays in the outbox for the next two.
        held[1].healthReportsHeld = 1
        held[2].healthReportsHeld = 1
        let handed = Mutex(held)
        let reporter = HealthReporter(publisher: publisher, interval: ConfigDuration(nanoseconds: 60_000_000_000)) {
            handed.withLock { $0.removeFirst() }
        }
        #expect([reporter.report(), reporter.report(), reporter.report(), reporter.report()] == [true, false, false, true])
        #expect(sink.messages.map { "\($0.topic) \($0.priority): \(String(decoding: $0.payload, as: UTF8.self))" } == [
            "line/health health: health 1 readings=10 dropped=2+1/3 disk",
            "line/health health: health 2 readings=40 dropped=10+6/19 disk",
        ])
    }
}
