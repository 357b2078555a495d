import Foundation
import Testing
import VigilTestSupport

/// The node_exporter textfile: written atomically at an interval and at stop, parsed here by the
/// parser of Python's prometheus_client (Debian's python3-prometheus-client), its final numbers equal
/// to what the agent logs when it stops.
@Suite(.serialized) struct MetricsTextfileTests {
    /// `name{labels}` → value, through prometheus_client's text parser.
    static func parse(_ path: String) throws -> [String: Double] {
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                    print(f"{s.name}{{{labels}}} {s.value} {family.type}")
            """
        let result = try #require(try Command.run("/usr/bin/python3", ["-c", script, path]))
        #expect(result.status == 0, "\(result)")
        var values: [String: Double] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            values[String(parts[0])] = Double(parts[1])
            values[String(parts[0]) + ":type"] = parts[2] == "counter" ? 1 : 0
        }
        return values
    }

    @Test func writtenAtomicallyAndParsedWithTheCountsTheAgentLogs() throws {
        let broker = try MosquittoBroker()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-metrics-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/vigil.prom"
        let agent = try VigilProcess(config: AgentEndToEndTests.config(port: broker.port, extra: "metrics: { textfile: \(path), interval: 1s }"),
                                     arguments: ["--duration", "4"])
        #expect(agent.waitForExit(timeout: 60))
        #expect(agent.exitStatus == 0, "\(agent.stderr)")

        let v = try Self.parse(path)
        // prometheus_client drops the _total suffix from the family, not from the samples.
        let stopped = try #require(agent.stderr.split(separator: "\n").first { $0.contains("vigil stopped") }.map(String.init))
        func logged(_ key: String) -> Double? {
            stopped.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Double($0.dropFirst(key.count + 1)) }
        }
        #expect(v["vigil_readings_total{}"] == logged("readings"), "\(stopped)")
        #expect(v["vigil_source_readings_total{source=\"sim\"}"] == logged("readings"))
        #expect(v["vigil_messages_total{}"] == logged("events"))
        #expect(v["vigil_outbox_dropped_total{priority=\"summary\"}"] == 0)
        #expect(v["vigil_outbox_dropped_total{priority=\"event\"}"] == 0)
        #expect(v["vigil_mqtt_connects_total{}"] == 1)
        #expect(v["vigil_mqtt_connect_failures_total{}"] == 0)
        // The last write comes after the uplink disconnected, with every message acknowledged.
        #expect(v["vigil_mqtt_connected{}"] == 0)
        #expect(v["vigil_mqtt_acked_total{}"] == logged("acked"))
        #expect(v["vigil_outbox_messages{}"] == 0)
        #expect(v["vigil_info{device=\"itest\",version=\"0.1.0\"}"] == 1)
        #expect(v["vigil_readings_total{}:type"] == 1)
        #expect(v["vigil_outbox_messages{}:type"] == 0)
        #expect((logged("readings") ?? 0) > 40)

        // Readable by node_exporter whatever the umask, and no temporary file left behind.
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["vigil.prom"])
    }
}
