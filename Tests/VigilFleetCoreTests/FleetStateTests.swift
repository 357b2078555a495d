import Testing
import VigilCore
import VigilTestSupport
@testable import VigilFleetCore

@Suite struct FleetStateTests {
    var state = FleetState(decoder: MessageDecoder())

    @discardableResult
    mutating func send(_ topic: String, _ payload: String, retained: Bool = false, at t: Int64 = 1) -> IngestOutcome {
        state.ingest(topic: "vigil/" + topic, payload: Array(payload.utf8), retained: retained, receivedNanos: t)
    }

    @Test mutating func registryFollowsBirthMessagesAndWill() {
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 2001), at: 10)
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 2001), at: 11)
        var d = state.devices["gw-1"]!
        #expect((d.state, d.stateSinceNanos, d.firstSeenNanos, d.lastSeenNanos) == (.online, 10, 10, 11))
        #expect((d.version, d.births, d.messages, d.stored) == ("0.1.0", 1, 1, 1))
        #expect(d.lastBirth == Birth(version: "0.1.0", firstSeq: 2001, startedNanos: Timestamp.parse(FleetPayloads.ts)))
        send("gw-1/status", FleetPayloads.will("gw-1"), at: 20)
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
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "start"))
        #expect(send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "start")) == .duplicate)
        let c = state.takeChanges()
        #expect(c.events.count == 1)
        #expect(c.devices[0].ledger.duplicates == 1)
        #expect((c.devices[0].messages, c.devices[0].stored) == (2, 1))
    }

    @Test mutating func episodesOpenAndClosePerChannelAndId() {
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start", episode: 1))
        send("gw-1/anomaly/humidity", FleetPayloads.anomaly("gw-1", 2, "start", channel: "humidity", episode: 1))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 3, "end", episode: 1))
        let open = EpisodeKey(device: "gw-1", subject: "humidity", episode: 1)
        #expect(Array(state.openEpisodes.keys) == [open])
        let c = state.takeChanges()
        #expect(c.episodes == [open: OpenEpisode(key: open, startSeq: 2, startedNanos: Timestamp.parse(FleetPayloads.ts)!, detector: "zscore", z: 6.104),
                               EpisodeKey(device: "gw-1", subject: "temperature", episode: 1): OpenEpisode?.none])
    }

    @Test mutating func anEndThatOvertakesItsStartLeavesNothingOpen() {
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start", episode: 1))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 9, "end", episode: 2))     // live
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 7, "start", episode: 2))   // backlog
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 12, "end"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 11, "start"))
        #expect(Array(state.openEpisodes.keys) == [EpisodeKey(device: "gw-1", subject: "temperature", episode: 1)])
        #expect(state.openHealth.isEmpty)
    }

    @Test mutating func healthProblemsAndSources() {
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 1, "start", check: "stuck"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "start", check: "out_of_range"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 3, "end", check: "stuck"))
        #expect(Array(state.openHealth.keys) == [HealthKey(device: "gw-1", channel: "temperature", check: "out_of_range")])
        send("gw-1/health", FleetPayloads.source("gw-1", 5, up: false))
        send("gw-1/health", FleetPayloads.source("gw-1", 4, up: true))    // older, arriving late: ignored
        let key = SourceKey(device: "gw-1", source: "esp8266")
        #expect(state.sources[key] == SourceStatus(key: key, up: false, sinceNanos: Timestamp.parse(FleetPayloads.ts)!, path: "/dev/ttyUSB0", reason: "hang-up", seq: 5))
        #expect(state.takeChanges().sources.map(\.seq) == [5])
    }

    @Test mutating func aNewRunClosesWhatTheKilledRunLeftOpen() {
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "start"))
        send("gw-1/status", FleetPayloads.will("gw-1"))
        _ = state.takeChanges()
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001))
        #expect(state.openEpisodes.isEmpty && state.openHealth.isEmpty)
        // The killed run's backlog: stored, but opens nothing.
        #expect(send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 3, "start", episode: 2)) == .stored(.filled(.skipped)))
        #expect(state.openEpisodes.isEmpty)
        let c = state.takeChanges()
        #expect(c.episodes == [EpisodeKey(device: "gw-1", subject: "temperature", episode: 1): OpenEpisode?.none])
        #expect(c.health == [HealthKey(device: "gw-1", channel: "temperature", check: "stuck"): OpenHealthProblem?.none])
        #expect(c.devices[0].ledger.gaps == [Gap(first: 4, last: 1000, state: .skipped, openedNanos: 1)])
        #expect(c.devices[0].births == 2)
    }

    @Test mutating func theRetainedBirthOnResubscribeChangesNothing() {
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001))
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1001))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1002, "start"))
        let before = state.devices["gw-1"]!
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001), retained: true)
        #expect(state.devices["gw-1"]!.ledger == before.ledger)
        #expect(state.devices["gw-1"]!.births == 1)
        #expect(state.openEpisodes.count == 1)
    }

    @Test mutating func aBirthBelowTheCurrentRunIsASequenceReset() {
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 5001))
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 5001))
        #expect(send("gw-1/status", FleetPayloads.birth("gw-1", first: 1)) == .sequenceReset(device: "gw-1", from: 5001, to: 1))
        #expect(state.devices["gw-1"]!.ledger.resets == 1)
        // Below the history's floor: stored if the store has not got it (a reset's seq 1 was never seen here).
        #expect(send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1)) == .stored(.beforeHistory))
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
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        for seq: UInt64 in [1, 2, 4] { send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", seq)) }
        send("gw-1/health", FleetPayloads.agent("gw-1", 5, outbox: 1))
        send("gw-1/health", FleetPayloads.agent("gw-1", 6, outbox: 0))
        send("gw-1/status", FleetPayloads.will("gw-1"))
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001))
        let l = state.devices["gw-1"]!.ledger
        #expect(l.gaps == [Gap(first: 3, last: 3, state: .lost, openedNanos: 1), Gap(first: 7, last: 1000, state: .skipped, openedNanos: 1)])
        #expect((l.lost, l.skipped, l.open) == (1, 994, 0))
    }
}
