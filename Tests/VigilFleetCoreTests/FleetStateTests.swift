import Testing
import VigilCore
@testable import VigilFleetCore

/// Vigil-shaped payloads for the fleet tests (the agent's own wording, field for field).
enum Payloads {
    static let ts = "2026-11-23T11:40:00.123Z"
    static func birth(_ d: String, first: UInt64, version: String = "0.1.0") -> String {
        #"{"v":1,"device":"\#(d)","type":"status","state":"online","version":"\#(version)","first_seq":\#(first),"started":"\#(ts)"}"#
    }
    static func will(_ d: String) -> String { #"{"v":1,"device":"\#(d)","type":"status","state":"offline","clean":false}"# }
    static func cleanStop(_ d: String, last: UInt64) -> String {
        #"{"v":1,"device":"\#(d)","type":"status","state":"offline","clean":true,"last_seq":\#(last),"ts":"\#(ts)"}"#
    }
    static func anomaly(_ d: String, _ seq: UInt64, _ event: String, channel: String = "temperature", episode: Int = 1) -> String {
        event == "start"
            ? #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"anomaly","event":"start","channel":"\#(channel)","unit":"°C","detector":"zscore","episode":\#(episode),"ts":"\#(ts)","direction":"high","value":31.2,"z":6.104,"mean":22.012346,"std":0.5}"#
            : #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"anomaly","event":"end","channel":"\#(channel)","unit":"°C","episode":\#(episode),"ts":"\#(ts)","started":"\#(ts)","duration_ms":4000,"peak_z":-8.25,"peak_value":12.5,"anomalous":4,"readings":9,"reason":"recovered"}"#
    }
    static func health(_ d: String, _ seq: UInt64, _ event: String, channel: String = "temperature", check: String = "stuck") -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"health","event":"\#(event)","check":"\#(check)","channel":"\#(channel)","unit":"°C","ts":"\#(ts)","started":"\#(ts)"}"#
    }
    static func summary(_ d: String, _ seq: UInt64, channel: String = "temperature", count: Int = 60, mean: Double = 22.5) -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"summary","channel":"\#(channel)","unit":"°C","ts":"\#(ts)","from":"2026-11-23T11:39:00.123Z","count":\#(count),"min":21.5,"max":31.2,"mean":\#(mean),"std":1.5,"anomalies":1,"episodes":1,"dropped":0,"unhealthy":0}"#
    }
    static func agent(_ d: String, _ seq: UInt64, outbox: Int) -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"health","ts":"\#(ts)","uptime_s":60,"readings":600,"outbox_events":\#(outbox),"outbox_bytes":0,"outbox_storage":"disk","dropped_summaries":0,"dropped_events":0,"dropped_total":0,"mqtt":"connected","mqtt_connects":1}"#
    }
    static func source(_ d: String, _ seq: UInt64, up: Bool) -> String {
        #"{"v":1,"device":"\#(d)","seq":\#(seq),"type":"health","event":"\#(up ? "source_up" : "source_down")","ts":"\#(ts)","path":"/dev/ttyUSB0","reason":"\#(up ? "open" : "hang-up")","source":"esp8266","source_lines":1}"#
    }
}

@Suite struct FleetStateTests {
    var state = FleetState(decoder: MessageDecoder())

    @discardableResult
    mutating func send(_ topic: String, _ payload: String, retained: Bool = false, at t: Int64 = 1) -> IngestOutcome {
        state.ingest(topic: "vigil/" + topic, payload: Array(payload.utf8), retained: retained, receivedNanos: t)
    }

    @Test mutating func registryFollowsBirthMessagesAndWill() {
        send("gw-1/status", Payloads.birth("gw-1", first: 2001), at: 10)
        send("gw-1/summary/temperature", Payloads.summary("gw-1", 2001), at: 11)
        var d = state.devices["gw-1"]!
        #expect((d.state, d.stateSinceNanos, d.firstSeenNanos, d.lastSeenNanos) == (.online, 10, 10, 11))
        #expect((d.version, d.births, d.messages, d.stored) == ("0.1.0", 1, 1, 1))
        #expect(d.lastBirth == Birth(version: "0.1.0", firstSeq: 2001, startedNanos: Timestamp.parse(Payloads.ts)))
        send("gw-1/status", Payloads.will("gw-1"), at: 20)
        d = state.devices["gw-1"]!
        #expect((d.state, d.stateSinceNanos, d.cleanOffline) == (.offline, 20, false))
        let changes = state.takeChanges()
        #expect(changes.devices.map(\.device) == ["gw-1"])
        #expect(changes.received == 3)
        #expect(changes.events.map(\.seq) == [2001])
        #expect(changes.summaries.map(\.record.mean) == [22.5])
        #expect(state.takeChanges().isEmpty)
    }

    @Test mutating func legacyStatusStrings() {
        #expect(send("gw-1/status", "online") == .status(.legacyOnline))
        #expect(state.devices["gw-1"]!.state == .online)
        #expect(send("gw-1/status", "offline") == .status(.legacyOffline))
        #expect((state.devices["gw-1"]!.state, state.devices["gw-1"]!.cleanOffline) == (.offline, nil))
    }

    @Test mutating func duplicatesAreCountedNotStored() {
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 5, "start"))
        #expect(send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 5, "start")) == .duplicate)
        let c = state.takeChanges()
        #expect(c.events.count == 1)
        #expect(c.devices[0].ledger.duplicates == 1)
        #expect((c.devices[0].messages, c.devices[0].stored) == (2, 1))
    }

    @Test mutating func episodesOpenAndClosePerChannelAndId() {
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 1, "start", episode: 1))
        send("gw-1/anomaly/humidity", Payloads.anomaly("gw-1", 2, "start", channel: "humidity", episode: 1))
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 3, "end", episode: 1))
        let open = EpisodeKey(device: "gw-1", subject: "humidity", episode: 1)
        #expect(Array(state.openEpisodes.keys) == [open])
        let c = state.takeChanges()
        #expect(c.episodes == [open: OpenEpisode(key: open, startSeq: 2, startedNanos: Timestamp.parse(Payloads.ts)!, detector: "zscore", z: 6.104),
                               EpisodeKey(device: "gw-1", subject: "temperature", episode: 1): OpenEpisode?.none])
    }

    @Test mutating func anEndThatOvertakesItsStartLeavesNothingOpen() {
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 1, "start", episode: 1))
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 9, "end", episode: 2))     // live
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 7, "start", episode: 2))   // backlog
        send("gw-1/health/temperature", Payloads.health("gw-1", 12, "end"))
        send("gw-1/health/temperature", Payloads.health("gw-1", 11, "start"))
        #expect(Array(state.openEpisodes.keys) == [EpisodeKey(device: "gw-1", subject: "temperature", episode: 1)])
        #expect(state.openHealth.isEmpty)
    }

    @Test mutating func healthProblemsAndSources() {
        send("gw-1/health/temperature", Payloads.health("gw-1", 1, "start", check: "stuck"))
        send("gw-1/health/temperature", Payloads.health("gw-1", 2, "start", check: "out_of_range"))
        send("gw-1/health/temperature", Payloads.health("gw-1", 3, "end", check: "stuck"))
        #expect(Array(state.openHealth.keys) == [HealthKey(device: "gw-1", channel: "temperature", check: "out_of_range")])
        send("gw-1/health", Payloads.source("gw-1", 5, up: false))
        send("gw-1/health", Payloads.source("gw-1", 4, up: true))    // older, arriving late: ignored
        let key = SourceKey(device: "gw-1", source: "esp8266")
        #expect(state.sources[key] == SourceStatus(key: key, up: false, sinceNanos: Timestamp.parse(Payloads.ts)!, path: "/dev/ttyUSB0", reason: "hang-up", seq: 5))
        #expect(state.takeChanges().sources.map(\.seq) == [5])
    }

    @Test mutating func aNewRunClosesWhatTheKilledRunLeftOpen() {
        send("gw-1/status", Payloads.birth("gw-1", first: 1))
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 1, "start"))
        send("gw-1/health/temperature", Payloads.health("gw-1", 2, "start"))
        send("gw-1/status", Payloads.will("gw-1"))
        _ = state.takeChanges()
        send("gw-1/status", Payloads.birth("gw-1", first: 1001))
        #expect(state.openEpisodes.isEmpty && state.openHealth.isEmpty)
        // The killed run's backlog: stored, but opens nothing.
        #expect(send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 3, "start", episode: 2)) == .stored(.filled(.skipped)))
        #expect(state.openEpisodes.isEmpty)
        let c = state.takeChanges()
        #expect(c.episodes == [EpisodeKey(device: "gw-1", subject: "temperature", episode: 1): OpenEpisode?.none])
        #expect(c.health == [HealthKey(device: "gw-1", channel: "temperature", check: "stuck"): OpenHealthProblem?.none])
        #expect(c.devices[0].ledger.gaps == [Gap(first: 4, last: 1000, state: .skipped, openedNanos: 1)])
        #expect(c.devices[0].births == 2)
    }

    @Test mutating func theRetainedBirthOnResubscribeChangesNothing() {
        send("gw-1/status", Payloads.birth("gw-1", first: 1001))
        send("gw-1/summary/temperature", Payloads.summary("gw-1", 1001))
        send("gw-1/anomaly/temperature", Payloads.anomaly("gw-1", 1002, "start"))
        let before = state.devices["gw-1"]!
        send("gw-1/status", Payloads.birth("gw-1", first: 1001), retained: true)
        #expect(state.devices["gw-1"]!.ledger == before.ledger)
        #expect(state.devices["gw-1"]!.births == 1)
        #expect(state.openEpisodes.count == 1)
    }

    @Test mutating func rejectionsAreCountedByCode() {
        #expect(send("gw-1/status", "{") == .rejected(.malformedJSON(JSONSyntaxError(offset: 1, reason: "expected a key"))))
        send("gw-1/status", "{")
        #expect(state.ingest(topic: "other/x", payload: [], retained: false, receivedNanos: 0) == .rejected(.foreignTopic))
        send("<b>/status", "online")
        #expect(state.rejections == ["malformed_json": 2, "foreign_topic": 1, "bad_name": 1])
        #expect(state.devices.isEmpty)
        let c = state.takeChanges()
        #expect((c.rejections, c.received, c.devices) == (["malformed_json": 2, "foreign_topic": 1, "bad_name": 1], 4, []))
    }

    @Test mutating func lossAndSkipThroughTheWholeState() {
        send("gw-1/status", Payloads.birth("gw-1", first: 1))
        for seq: UInt64 in [1, 2, 4] { send("gw-1/summary/temperature", Payloads.summary("gw-1", seq)) }
        send("gw-1/health", Payloads.agent("gw-1", 5, outbox: 1))
        send("gw-1/health", Payloads.agent("gw-1", 6, outbox: 0))
        send("gw-1/status", Payloads.will("gw-1"))
        send("gw-1/status", Payloads.birth("gw-1", first: 1001))
        let l = state.devices["gw-1"]!.ledger
        #expect(l.gaps == [Gap(first: 3, last: 3, state: .lost, openedNanos: 1), Gap(first: 7, last: 1000, state: .skipped, openedNanos: 1)])
        #expect((l.lost, l.skipped, l.open) == (1, 994, 0))
    }
}
