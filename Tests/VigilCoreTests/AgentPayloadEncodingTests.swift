import Testing
import VigilCore

/// The payloads about the agent itself — its retained status (birth, last will, clean stop), its health
/// report and a source's up/down — byte for byte, as README shows them.
@Suite struct AgentPayloadEncodingTests {
    let encoder = JSONPayloadEncoder(device: "gw-1")
    static let t0: Int64 = 1_795_434_000_123_000_000  // 2026-11-23T11:40:00.123Z

    func text(_ m: OutboundMessage) -> String { String(decoding: m.payload, as: UTF8.self) }

    @Test func birthIsRetainedOnTheStatusTopic() {
        let m = encoder.message(for: .birth(version: "0.1.0", firstSeq: 2001, startedWallNanos: Self.t0))
        #expect(text(m) == #"{"v":1,"device":"gw-1","type":"status","state":"online","version":"0.1.0","first_seq":2001,"started":"2026-11-23T11:40:00.123Z"}"#)
        #expect(m.topic == "vigil/gw-1/status")
        #expect(m.retain && m.qos == 1)
        #expect(AgentStatus.birth(firstSeq: 1, startedWallNanos: 0) == .birth(version: VigilVersion.current, firstSeq: 1, startedWallNanos: 0))
    }

    @Test func lastWillSaysTheStopWasNotClean() {
        let m = encoder.message(for: .lastWill)
        #expect(text(m) == #"{"v":1,"device":"gw-1","type":"status","state":"offline","clean":false}"#)
        #expect(m.topic == "vigil/gw-1/status")
        #expect(m.retain && m.qos == 1)
    }

    @Test func cleanStopCarriesTheLastSequenceNumber() {
        let m = encoder.message(for: .cleanStop(lastSeq: 41, wallNanos: Self.t0 + 1_800_333_000_000))
        #expect(text(m) == #"{"v":1,"device":"gw-1","type":"status","state":"offline","clean":true,"last_seq":41,"ts":"2026-11-23T12:10:00.456Z"}"#)
        #expect(m.topic == "vigil/gw-1/status")
        #expect(m.retain && m.qos == 1)
    }

    @Test func statusFollowsThePrefixAndEscapesTheDevice() {
        let m = JSONPayloadEncoder(device: #"pi"7"#, topicPrefix: "plant/a").message(for: .lastWill)
        #expect(m.topic == #"plant/a/pi"7/status"#)
        #expect(text(m) == #"{"v":1,"device":"pi\"7","type":"status","state":"offline","clean":false}"#)
    }

    @Test func agentHealthReport() {
        let h = AgentHealth(wallNanos: Self.t0 + 60_000_000_000, uptimeSeconds: 3600, readings: 36000, outboxEvents: 12,
                            outboxBytes: 3456, outboxStorage: .disk, droppedSummaries: 3, droppedEvents: 0, droppedTotal: 3,
                            brokerConnected: true, brokerConnects: 2)
        let m = encoder.message(for: h, seq: 40)
        #expect(text(m) == #"{"v":1,"device":"gw-1","seq":40,"type":"health","ts":"2026-11-23T11:41:00.123Z","uptime_s":3600,"readings":36000,"outbox_events":12,"outbox_bytes":3456,"outbox_storage":"disk","dropped_summaries":3,"dropped_events":0,"dropped_total":3,"mqtt":"connected","mqtt_connects":2}"#)
        #expect(m.topic == "vigil/gw-1/health")
        #expect(m.qos == 1 && !m.retain && m.priority == .health)
        var down = h
        down.brokerConnected = false
        down.outboxStorage = .memory
        #expect(text(encoder.message(for: down, seq: 41)).contains(#""outbox_storage":"memory","dropped_summaries":3,"dropped_events":0,"dropped_total":3,"mqtt":"disconnected","mqtt_connects":2}"#))
        // Losses from damaged outbox files at start are reported while there are any.
        var damaged = h
        damaged.recoveryLosses = RecoveryLossCounts(records: 5, damagedBytes: 812, filesSetAside: 1)
        #expect(text(encoder.message(for: damaged, seq: 42)).hasSuffix(#""mqtt_connects":2,"recovery_lost_records":5,"recovery_damaged_bytes":812,"recovery_files_set_aside":1}"#))
    }

    @Test func sourceUpAndDownAsEventOrOnItsOwn() {
        var counters = SourceCounters(source: "uno")
        counters["reconnects"] = 2
        let down = SourceHealth(up: false, device: "/dev/ttyUSB0", reason: "hang-up", wallNanos: Self.t0, counters: counters)
        let m = encoder.message(forSource: "uno", health: down, seq: 7)
        #expect(text(m) == #"{"v":1,"device":"gw-1","seq":7,"type":"health","event":"source_down","ts":"2026-11-23T11:40:00.123Z","path":"/dev/ttyUSB0","reason":"hang-up","source":"uno","source_reconnects":2}"#)
        #expect(m.topic == "vigil/gw-1/health" && m.priority == .event && !m.retain)
        #expect(encoder.message(for: .sourceHealth(source: "uno", down), seq: 7) == m)
        #expect(encoder.payload(for: .sourceHealth(source: "uno", down), seq: 7) == m.payload)
    }
}
