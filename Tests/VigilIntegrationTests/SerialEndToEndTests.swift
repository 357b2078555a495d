import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// Virtual ESP8266 (`vigil simulate --serial`, a real pty) → `vigil run` with a serial source →
/// a real mosquitto. The same path a NodeMCU on /dev/ttyUSB0 takes.
@Suite(.serialized) struct SerialEndToEndTests {
    static func agentConfig(port: Int, tty: String, format: String) -> String {
        """
        device: itest
        mqtt: { broker: "mqtt://127.0.0.1:\(port)", keepalive: 5s }
        detector: { window: 40, warmup: 20, z_on: 6, z_off: 3, end_after: 3 }
        summary: { interval: 2s }
        sources:
          - kind: serial
            name: esp
            path: \(tty)
            format: \(format)
            reopen_min: 100ms
            reopen_max: 400ms
            fields:
              - { field: temperature, channel: temperature, unit: "°C" }
              - { field: humidity, channel: humidity, unit: "%RH" }
        """
    }

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-serial-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func waitForFile(_ path: String, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    @Test(arguments: ["kv", "csv", "json"])
    func injectedFaultsArriveAsEpisodesThroughThePty(format: String) throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tty = dir + "/ttyESP0"
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"])
        let simYaml = AgentEndToEndTests.config(port: broker.port)
        let esp = try VigilProcess(config: simYaml, command: "simulate", arguments: ["--serial", "--format", format, "--link", tty, "--duration", "9"])
        #expect(Self.waitForFile(tty), "no pty link: \(esp.stderr)")
        let agent = try VigilProcess(config: Self.agentConfig(port: broker.port, tty: tty, format: format), arguments: ["--duration", "7"])
        #expect(agent.waitForExit(timeout: 20))
        #expect(agent.exitStatus == 0, "\(agent.stderr)")
        let messages = sub.waitUntil(timeout: 5) { $0.contains { $0.statusState == "offline" } }
        let starts = messages.filter { $0.topic.contains("/anomaly/") }.map(AgentEndToEndTests.json).filter { $0["event"] as? String == "start" }
        // The faulty readings themselves cross the pty unchanged: same channels, same values.
        let expected = try AgentEndToEndTests.expectedEpisodes(yaml: simYaml, ticks: 120)
        #expect(starts.map { $0["channel"] as? String ?? "?" } == expected.map(\.channel), "\(starts)")
        #expect(starts.map { $0["value"] as? Double ?? .nan } == expected.map(\.value))
        let health = messages.filter { $0.topic == "vigil/itest/health" }.map(AgentEndToEndTests.json)
        #expect(health.first?["event"] as? String == "source_up")
        // Summaries carry the source's counters; 7 s at 20 lines/s with nothing bad on the line.
        let summaries = messages.filter { $0.topic == "vigil/itest/summary/temperature" }.map(AgentEndToEndTests.json)
        let last = try #require(summaries.last)
        #expect(last["source"] as? String == "esp")
        #expect((130...150).contains(last["source_lines"] as? Int ?? 0), "\(last)")
        #expect(last["source_bad_lines"] as? Int == 0)
        #expect(last["source_reconnects"] as? Int == 0)
        esp.terminate()
    }

    @Test func aDeviceThatGoesAwayAndComesBackIsReopenedAndReported() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tty = dir + "/ttyESP0"
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/itest/health", "vigil/itest/status"])
        let simYaml = AgentEndToEndTests.config(port: broker.port)
        var esp = try VigilProcess(config: simYaml, command: "simulate", arguments: ["--serial", "--link", tty])
        #expect(Self.waitForFile(tty))
        let agent = try VigilProcess(config: Self.agentConfig(port: broker.port, tty: tty, format: "kv"), arguments: [])
        _ = sub.waitUntil(timeout: 10) { $0.contains { $0.payload.contains("source_up") } }
        esp.terminate()  // the device disappears: pty closed, link removed
        #expect(esp.waitForExit(timeout: 5))
        _ = sub.waitUntil(timeout: 10) { $0.contains { $0.payload.contains("source_down") } }
        esp = try VigilProcess(config: simYaml, command: "simulate", arguments: ["--serial", "--link", tty])
        let all = sub.waitUntil(timeout: 10) { $0.filter { $0.payload.contains("source_up") }.count == 2 }
        agent.terminate()
        #expect(agent.waitForExit(timeout: 15))
        esp.terminate()
        let events = all.filter { $0.topic.hasSuffix("/health") }.map(AgentEndToEndTests.json)
        #expect(events.map { $0["event"] as? String ?? "?" } == ["source_up", "source_down", "source_up"], "\(agent.stderr)")
        #expect(events.last?["source_reconnects"] as? Int == 1)
        #expect(events.allSatisfy { $0["path"] as? String == tty })
    }
}
