import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// SIGHUP reloads the config (issue 14): a good config is applied without a restart — a new source
/// starts, an unchanged one keeps running with its windows and episodes, events keep one sequence, the
/// MQTT session stays — and a broken one is logged at its file:line while the old one keeps running.
@Suite(.serialized) struct ReloadTests {
    /// The config with a second source after the first.
    static func withNoise(_ yaml: String) -> String { yaml + "\n" + HomeAssistantEndToEndTests.sound + "\n" }

    @Test func addingASourceKeepsTheRunningOneAndTheSequence() throws {
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"])
        let yaml = AgentEndToEndTests.config(port: broker.port)
        let agent = try VigilProcess(config: yaml, arguments: ["--duration", "9"])
        _ = sub.waitUntil(timeout: 60) { $0.contains { $0.statusState == "online" } }
        try Self.withNoise(yaml).write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        kill(agent.pid, SIGHUP)
        #expect(agent.waitForExit(timeout: 60), "agent did not stop by itself")
        #expect(agent.exitStatus == 0, "\(agent.stderr)")
        let messages = sub.waitUntil(timeout: 30) { $0.contains { $0.statusState == "offline" } }

        #expect(agent.stderr.contains("config reloaded added=noise kept=sim removed= restarted="), "\(agent.stderr)")
        // One connection, one start of the kept source.
        #expect(agent.stderr.components(separatedBy: "MQTT connected").count == 2, "\(agent.stderr)")
        #expect(agent.stderr.components(separatedBy: "source started channels=temperature,humidity").count == 2)
        #expect(messages.contains { $0.topic == "vigil/itest/summary/sound" })

        // The kept source's detectors ran on untouched: exactly the episodes of an uninterrupted run.
        let starts = messages.filter { $0.topic.hasPrefix("vigil/itest/anomaly/") }.map(AgentEndToEndTests.json)
            .filter { $0["event"] as? String == "start" && $0["channel"] as? String != "sound" }
        let expected = try AgentEndToEndTests.expectedEpisodes(yaml: yaml, ticks: 120)
        #expect(starts.count == expected.count, "\(starts)")
        for (got, want) in zip(starts, expected) {
            #expect(got["channel"] as? String == want.channel)
            #expect(got["value"] as? Double == want.value)
            #expect(got["z"] as? Double == JSONWriter.rounded(want.z, places: 3))
        }

        // Every event numbered once across the reload: 1…N without a gap or a repeat.
        let numbered = messages.compactMap { AgentEndToEndTests.json($0)["seq"] as? Int }
        #expect(numbered.sorted() == Array(1...numbered.count))
    }

    @Test func aBrokenConfigIsLoggedAtItsLineAndTheOldOneKeepsRunning() throws {
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/itest/status", "vigil/itest/summary/temperature"])
        let yaml = AgentEndToEndTests.config(port: broker.port, summary: "1s")
        let agent = try VigilProcess(config: yaml, arguments: [])
        _ = sub.waitUntil(timeout: 60) { $0.contains { $0.statusState == "online" } }
        let broken = yaml.replacingOccurrences(of: "summary: { interval: 1s }", with: "summary: { interval: 0s }")
        let line = broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("summary:") }! + 1
        try broken.write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        kill(agent.pid, SIGHUP)
        let message = "config not reloaded, still running on the previous one: \(agent.configPath):\(line):12: summary.interval: must be at least 1s, got 0s"
        let deadline = Date().addingTimeInterval(60)
        while !agent.stderr.contains(message), Date() < deadline { usleep(50_000) }
        #expect(agent.stderr.contains(message), "\(agent.stderr)")

        // Still running on the old config: summaries keep coming every second.
        let before = sub.messages.filter { $0.topic.hasSuffix("/summary/temperature") }.count
        let more = sub.waitUntil(timeout: 60) { $0.filter { $0.topic.hasSuffix("/summary/temperature") }.count >= before + 2 }
        #expect(more.filter { $0.topic.hasSuffix("/summary/temperature") }.count >= before + 2)
        agent.terminate()
        #expect(agent.waitForExit(timeout: 30))
        #expect(agent.exitStatus == 0, "\(agent.stderr)")
        #expect(!agent.stderr.contains("config reloaded"))
    }
}
