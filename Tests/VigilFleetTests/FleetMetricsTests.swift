import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import VigilTestSupport

/// `GET /metrics` of a real vigil-fleet after a known stream through a real mosquitto, with a webhook on loopback.
@Suite struct FleetMetricsTests {
    static func scrape(_ port: Int) throws -> (status: Int, type: String, lines: [String]) {
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?) = (nil, nil)
        URLSession.shared.dataTask(with: URL(string: "http://127.0.0.1:\(port)/metrics")!) { d, r, _ in result = (d, r); semaphore.signal() }.resume()
        guard semaphore.wait(timeout: .now() + 30) == .success, let data = result.0, let http = result.1 as? HTTPURLResponse else {
            throw TestSupportError("no answer from /metrics")
        }
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type") ?? "",
                String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
    }

    @Test func countersAfterAKnownStream() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let hook = try WebhookServer()
        let http = try freeLocalPort()
        let fleet = try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--db", db.path, "--client-id", "fleet-metrics",
                                              "--http", "127.0.0.1:\(http)", "--webhook", hook.url])
        #expect(waitUntil(timeout: 60) { fleet.stderr.contains("API listening on http://127.0.0.1:\(http)") })
        func pub(_ topic: String, _ payload: String) throws { try mqttPublish(port: broker.port, topic: "vigil/" + topic, payload: payload) }
        try pub("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        for seq: UInt64 in [1, 2, 4] { try pub("gw-1/summary/temperature", FleetPayloads.summary("gw-1", seq)) }
        try pub("gw-1/health", FleetPayloads.agent("gw-1", 5, outbox: 1))
        try pub("gw-1/health", FleetPayloads.agent("gw-1", 6, outbox: 0))
        try pub("gw-1/summary/temperature", FleetPayloads.summary("gw-1", 2))                  // a duplicate
        try pub("gw-1/status", "{")                                                               // rejected
        try pub("gw-1/status", FleetPayloads.will("gw-1"))                                        // offline: an alert
        try pub("gw-1/status", FleetPayloads.birth("gw-1", first: 1001))                          // 7…1000 skipped, 3 lost; online: an alert
        try pub("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1001, "start"))        // an alert
        try pub("gw-2/status", FleetPayloads.birth("gw-2", first: 1))

        var last: [String] = []
        let settled = try waitUntil(timeout: 60) {
            last = try Self.scrape(http).lines
            return last.contains("vigil_fleet_messages_total 12") && last.contains("vigil_fleet_webhook_sent_total 3")
        }
        #expect(settled, "\(last.joined(separator: "\n"))\n\(fleet.stderr)")
        // Gauges are doubles in the text format, counters integers.
        let values = last.filter { !$0.hasPrefix("#") && !$0.contains("_bucket") && !$0.contains("_sum") }.sorted()
        #expect(values == [
            "vigil_fleet_devices 2.0",
            "vigil_fleet_devices_online 2.0",
            "vigil_fleet_duplicates_total 1",
            "vigil_fleet_ingest_lag_seconds_count 6",
            "vigil_fleet_messages_total 12",
            "vigil_fleet_rejected_total 1",
            "vigil_fleet_seqs_lost 1.0",
            "vigil_fleet_seqs_skipped 994.0",
            "vigil_fleet_stored_total 6",
            "vigil_fleet_webhook_dropped_total 0",
            "vigil_fleet_webhook_failed_total 0",
            "vigil_fleet_webhook_queued 0.0",
            "vigil_fleet_webhook_rejected_total 0",
            "vigil_fleet_webhook_sent_total 3",
        ])
        // The payloads' ts is far in the past: every lag is above the last bucket.
        #expect(last.contains(#"vigil_fleet_ingest_lag_seconds_bucket{le="+Inf"} 6"#))
        #expect(last.contains("# TYPE vigil_fleet_ingest_lag_seconds histogram"))
        #expect(last.contains("# TYPE vigil_fleet_messages_total counter"))
        let scraped = try Self.scrape(http)
        #expect(scraped.status == 200)
        #expect(scraped.type == "text/plain; version=0.0.4; charset=utf-8")
        fleet.stop()
    }
}
