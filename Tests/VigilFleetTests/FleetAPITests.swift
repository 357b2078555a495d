import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilTestSupport

/// The JSON API of a running `vigil-fleet` (real broker, real HTTP on loopback).
@Suite(.serialized) struct FleetAPITests {
    static func get(_ port: Int, _ path: String) async throws -> (status: Int, json: [String: Any]) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    @Test func devicesDetailEventsHoursAndCounters() async throws {
        let f = try FleetHTTPFixture(clientID: "fleet-api")
        let (db, fleet, http, pub) = (f.db, f.fleet, f.http, f.publish)
        try pub("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        try pub("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 1))
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 3, "start"))
        try pub("gw-1/health", FleetPayloads.source("gw-1", 4, up: false))
        try pub("gw-2/summary/temperature", FleetPayloads.summary("gw-2", 9))
        try pub("gw-2/summary/temperature", "{")
        #expect(try waitUntil(timeout: 10) { try db.rows("SELECT value FROM counters WHERE name = 'received'") == [["6"]] })

        let devices = try await Self.get(http, "/api/devices")
        #expect(devices.status == 200)
        let list = devices.json["devices"] as? [[String: Any]] ?? []
        // Open anomalies first.
        #expect(list.map { $0["device"] as? String } == ["gw-1", "gw-2"])
        #expect(list.first?["open_anomalies"] as? Int == 1)
        #expect(list.first?["sources_down"] as? Int == 1)
        #expect(list.first?["open_seqs"] as? Int == 1)
        #expect(list.first?["state"] as? String == "online")
        #expect(list.last?["state"] as? String == "unknown")

        let detail = try await Self.get(http, "/api/devices/gw-1")
        #expect(detail.status == 200)
        let gaps = detail.json["gaps"] as? [[String: Any]] ?? []
        #expect(gaps.count == 1 && gaps.first?["first"] as? Int == 2 && gaps.first?["last"] as? Int == 2 && gaps.first?["state"] as? String == "open")
        let episodes = detail.json["open_episodes"] as? [[String: Any]] ?? []
        #expect(episodes.first?["subject"] as? String == "temperature")
        #expect(episodes.first?["started"] as? String == FleetPayloads.ts)
        #expect(episodes.first?["z"] as? Double == 6.104)
        let sources = detail.json["sources"] as? [[String: Any]] ?? []
        #expect(sources.first?["source"] as? String == "esp8266" && sources.first?["up"] as? Bool == false)

        let events = try await Self.get(http, "/api/devices/gw-1/events?kind=anomaly")
        let rows = events.json["events"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["seq"] as? Int } == [3])
        #expect((rows.first?["payload"] as? [String: Any])?["direction"] as? String == "high")
        #expect(try await Self.get(http, "/api/devices/gw-1/events?limit=2").json["events"].map { ($0 as? [[String: Any]] ?? []).map { $0["seq"] as? Int } } == [4, 3])

        let hours = try await Self.get(http, "/api/devices/gw-1/hours/temperature").json["hours"] as? [[String: Any]] ?? []
        #expect(hours.count == 1 && hours.first?["count"] as? Int == 60 && hours.first?["mean"] as? Double == 22.5)
        #expect(hours.first?["hour"] as? String == "2026-11-23T11:00:00.000Z")

        let open = try await Self.get(http, "/api/anomalies").json["open_episodes"] as? [[String: Any]] ?? []
        #expect(open.map { $0["device"] as? String } == ["gw-1"])
        let counters = try await Self.get(http, "/api/counters").json["counters"] as? [String: Any] ?? [:]
        #expect(counters["received"] as? Int == 6 && counters["rejected.malformed_json"] as? Int == 1)

        #expect(try await Self.get(http, "/api/devices/gw-9").status == 404)
        #expect(try await Self.get(http, "/api/devices/%3Cscript%3E").status == 400)
        #expect(try await Self.get(http, "/api/devices/gw-1/events?limit=0").status == 400)
        fleet.stop()
        #expect(fleet.exitStatus == 0)
    }

    @Test func anAddressOtherThanLoopbackIsRefusedWithoutCredentials() throws {
        let p = try FleetReceiverProcess(["--http", "0.0.0.0:8080", "--db", "/nonexistent/fleet.db"], waitForSubscription: false)
        #expect(p.waitForExit(timeout: 60))
        #expect(p.exitStatus == 78)
        #expect(p.stderr == "--http: 0.0.0.0 is not a loopback address: serving it needs credentials (--users FILE or --tokens FILE)")
    }
}
