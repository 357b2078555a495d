import Testing
import VigilCore
import VigilTestSupport
@testable import VigilFleetCore

/// Alerts come from transitions only: every way an episode, a health problem or a gateway's connection can
/// change, and every way a message can change nothing.
@Suite struct FleetAlertTests {
    var state = FleetState(decoder: MessageDecoder())
    let t = Timestamp.parse(FleetPayloads.ts)!

    mutating func send(_ topic: String, _ payload: String, retained: Bool = false, at now: Int64 = 1) {
        state.ingest(topic: "vigil/" + topic, payload: Array(payload.utf8), retained: retained, receivedNanos: now)
    }
    mutating func alerts() -> [FleetAlert] { state.takeChanges().alerts }

    @Test mutating func anAnomalyStartsAndEnds() {
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "start", episode: 2))
        #expect(alerts() == [FleetAlert(id: "gw-1/anomaly/temperature/2/5/start", kind: .anomaly, phase: .start, device: "gw-1",
                                        subject: "temperature", name: "zscore", episode: 2, seq: 5, startsNanos: t)])
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 6, "end", episode: 2, at: "2026-11-23T11:40:04.123Z"))
        #expect(alerts() == [FleetAlert(id: "gw-1/anomaly/temperature/2/5/end", kind: .anomaly, phase: .end, device: "gw-1",
                                        subject: "temperature", name: "zscore", episode: 2, seq: 6, startsNanos: t,
                                        endsNanos: t + 4_000_000_000, reason: "recovered")])
    }

    @Test mutating func startAndEndInOneBatchRaiseBothInOrder() {
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "start"))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 3, "end"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 4, "end"))
        #expect(alerts().map(\.id) == ["gw-1/anomaly/temperature/1/1/start", "gw-1/health/temperature/stuck/2/start",
                                       "gw-1/anomaly/temperature/1/1/end", "gw-1/health/temperature/stuck/2/end"])
    }

    @Test mutating func healthStartsAndClears() {
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 7, "start", check: "out_of_range"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 8, "end", check: "out_of_range"))
        let start = FleetAlert(id: "gw-1/health/temperature/out_of_range/7/start", kind: .health, phase: .start, device: "gw-1",
                               subject: "temperature", name: "out_of_range", seq: 7, startsNanos: t)
        var end = start
        (end.id, end.phase, end.seq, end.endsNanos, end.reason) = ("gw-1/health/temperature/out_of_range/7/end", .end, 8, t, "cleared")
        #expect(alerts() == [start, end])
    }

    @Test mutating func duplicatesAndRedeliveriesRaiseNothing() {
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        #expect(alerts().count == 1)
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "end"))          // an end with nothing open
        send("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 3))
        send("gw-1/health", FleetPayloads.source("gw-1", 4, up: false))
        send("gw-1/health", FleetPayloads.agent("gw-1", 5, outbox: 0))
        send("gw-1/status", "{")                                                         // rejected
        #expect(alerts() == [])
    }

    @Test mutating func anEndBeforeItsStartRaisesNothingAndABacklogStartNothing() {
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 9, "end", episode: 2))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 7, "start", episode: 2))
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001))
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 500, "start"))      // the killed run's backlog
        #expect(alerts() == [])
    }

    @Test mutating func aGatewayGoesOfflineAndComesBack() {
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1), at: 10)
        #expect(alerts() == [])                                                           // first seen: nothing
        send("gw-1/status", FleetPayloads.will("gw-1"), at: 20)
        let start = FleetAlert(id: "gw-1/offline/20/start", kind: .offline, phase: .start, device: "gw-1", subject: "",
                               name: "lost", startsNanos: 20)
        #expect(alerts() == [start])
        send("gw-1/status", FleetPayloads.will("gw-1"), retained: true, at: 25)           // the retained copy again
        #expect(alerts() == [])
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001), at: 30)
        #expect(alerts() == [FleetAlert(id: "gw-1/offline/20/end", kind: .offline, phase: .end, device: "gw-1", subject: "",
                                        name: "lost", startsNanos: 20, endsNanos: 30, reason: "online")])
    }

    @Test mutating func aCleanStopIsOfflineTooAndTheLegacyStringsCount() {
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1), at: 10)
        send("gw-1/status", FleetPayloads.cleanStop("gw-1", last: 4), at: 20)
        send("gw-2/status", "online", at: 10)
        send("gw-2/status", "offline", at: 21)
        send("gw-2/status", "online", at: 31)
        #expect(alerts().map { "\($0.id) \($0.name)" } == ["gw-1/offline/20/start clean", "gw-2/offline/21/start lost", "gw-2/offline/21/end lost"])
    }

    @Test mutating func aGatewayFirstSeenOfflineRaisesNothingUntilOnline() {
        send("gw-1/status", FleetPayloads.will("gw-1"), retained: true, at: 10)
        #expect(alerts() == [])
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1), at: 20)
        #expect(alerts().map(\.id) == ["gw-1/offline/10/end"])
    }

    /// Every connection state × every status message: only online → offline and offline → online raise.
    @Test func everyStateAndStatus() {
        let statuses = [FleetPayloads.birth("gw-1", first: 1), "online", FleetPayloads.will("gw-1"),
                        FleetPayloads.cleanStop("gw-1", last: 0), "offline"]
        let setups: [(ConnectionState, [String])] = [(.unknown, []), (.online, ["online"]), (.offline, ["online", "offline"])]
        for (from, setup) in setups {
            for (i, status) in statuses.enumerated() {
                var s = FleetAlertTests()
                for (t, p) in setup.enumerated() { s.send("gw-1/status", p, at: Int64(t)) }
                _ = s.alerts()
                #expect(s.state.devices["gw-1"]?.state ?? .unknown == from)
                s.send("gw-1/status", status, at: 10)
                let got = s.alerts().map { "\($0.kind.rawValue) \($0.phase.rawValue) \($0.name)" }
                let expected: [String]
                switch (from, i) {
                case (.online, 2), (.online, 4): expected = ["offline start lost"]
                case (.online, 3): expected = ["offline start clean"]
                case (.offline, 0), (.offline, 1): expected = ["offline end lost"]
                default: expected = []
                }
                #expect(got == expected, "from \(from), status \(i)")
            }
        }
    }

    @Test mutating func aNewRunEndsWhatTheKilledRunLeftOpen() {
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1), at: 1)
        send("gw-1/health/temperature", FleetPayloads.health("gw-1", 1, "start"))
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 2, "start"))
        send("gw-1/anomaly/humidity", FleetPayloads.anomaly("gw-1", 3, "start", channel: "humidity"))
        _ = alerts()
        send("gw-1/status", FleetPayloads.birth("gw-1", first: 1001), at: 50)   // no will seen: online → online
        let got = alerts()
        #expect(got.map(\.id) == ["gw-1/anomaly/humidity/1/3/end", "gw-1/anomaly/temperature/1/2/end", "gw-1/health/temperature/stuck/1/end"])
        #expect(got.allSatisfy { $0.reason == "run ended" && $0.endsNanos == t && $0.seq == nil })
    }

    @Test mutating func theStateReloadedFromTheStoreEndsWhatWasOpen() {
        let e = OpenEpisode(key: EpisodeKey(device: "gw-1", subject: "temperature", episode: 4), startSeq: 40, startedNanos: 7,
                            detector: "zscore", z: 5)
        state = FleetState(decoder: MessageDecoder(), openEpisodes: [e])
        send("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 41, "end", episode: 4))
        #expect(alerts().map(\.id) == ["gw-1/anomaly/temperature/4/40/end"])
    }
}

@Suite struct AlertBodyTests {
    static let start = FleetAlert(id: "gw-1/anomaly/temperature/2/5/start", kind: .anomaly, phase: .start, device: "gw-1",
                                  subject: "temperature", name: "zscore", episode: 2, seq: 5, startsNanos: 1_795_002_000_123_000_000)
    static var end: FleetAlert {
        var a = start
        (a.id, a.phase, a.seq, a.endsNanos, a.reason) = ("gw-1/anomaly/temperature/2/5/end", .end, 6, 1_795_002_004_123_000_000, "recovered")
        return a
    }

    func text(_ a: FleetAlert, _ mode: WebhookMode) -> String { String(decoding: AlertBody.render(a, mode: mode), as: UTF8.self) }

    @Test func vigilBodies() {
        #expect(text(Self.start, .vigil) == #"{"schema":1,"id":"gw-1/anomaly/temperature/2/5/start","kind":"anomaly","phase":"start","device":"gw-1","subject":"temperature","name":"zscore","episode":2,"seq":5,"starts_at":"2026-11-18T11:40:00.123Z"}"#)
        #expect(text(Self.end, .vigil) == #"{"schema":1,"id":"gw-1/anomaly/temperature/2/5/end","kind":"anomaly","phase":"end","device":"gw-1","subject":"temperature","name":"zscore","episode":2,"seq":6,"starts_at":"2026-11-18T11:40:00.123Z","ends_at":"2026-11-18T11:40:04.123Z","reason":"recovered"}"#)
        let offline = FleetAlert(id: "gw-\"1/offline/20/start", kind: .offline, phase: .start, device: "gw-\"1", subject: "", name: "lost", startsNanos: 0)
        #expect(text(offline, .vigil) == #"{"schema":1,"id":"gw-\"1/offline/20/start","kind":"offline","phase":"start","device":"gw-\"1","subject":"","name":"lost","starts_at":"1970-01-01T00:00:00.000Z"}"#)
    }

    @Test func alertmanagerBodies() {
        #expect(text(Self.start, .alertmanager) == #"[{"labels":{"alertname":"VigilAnomaly","device":"gw-1","subject":"temperature","episode":"2","detector":"zscore"},"annotations":{"summary":"gw-1: anomaly on temperature (zscore, episode 2)","vigil_id":"gw-1/anomaly/temperature/2/5/start"},"startsAt":"2026-11-18T11:40:00.123Z"}]"#)
        #expect(text(Self.end, .alertmanager) == #"[{"labels":{"alertname":"VigilAnomaly","device":"gw-1","subject":"temperature","episode":"2","detector":"zscore"},"annotations":{"summary":"gw-1: anomaly on temperature (zscore, episode 2) ended: recovered","vigil_id":"gw-1/anomaly/temperature/2/5/end","reason":"recovered"},"startsAt":"2026-11-18T11:40:00.123Z","endsAt":"2026-11-18T11:40:04.123Z"}]"#)
        let health = FleetAlert(id: "h", kind: .health, phase: .start, device: "gw-1", subject: "humidity", name: "stuck", seq: 3, startsNanos: 0)
        #expect(text(health, .alertmanager) == #"[{"labels":{"alertname":"VigilSensorHealth","device":"gw-1","channel":"humidity","check":"stuck"},"annotations":{"summary":"gw-1: stuck on humidity","vigil_id":"h"},"startsAt":"1970-01-01T00:00:00.000Z"}]"#)
        let back = FleetAlert(id: "o", kind: .offline, phase: .end, device: "gw-1", subject: "", name: "clean", startsNanos: 0, endsNanos: 1_000_000, reason: "online")
        #expect(text(back, .alertmanager) == #"[{"labels":{"alertname":"VigilGatewayOffline","device":"gw-1"},"annotations":{"summary":"gw-1: offline (stopped) ended: online","vigil_id":"o","reason":"online"},"startsAt":"1970-01-01T00:00:00.000Z","endsAt":"1970-01-01T00:00:00.001Z"}]"#)
    }
}
