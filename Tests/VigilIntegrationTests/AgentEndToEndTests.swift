import Foundation
import Testing
import VigilAgent
import VigilCore
import VigilSources
import VigilTestSupport

/// The real `vigil` binary against a real mosquitto on a free loopback port.
@Suite(.serialized) struct AgentEndToEndTests {
    /// A simulator config whose episodes are fully determined by the seed (count windows only).
    static func config(port: Int, duration faultsAt: [String] = [], extra: String = "", summary: String = "2s",
                       reconnect: String = "reconnect_min: 200ms\n  reconnect_max: 1s") -> String {
        """
        device: itest
        mqtt:
          broker: mqtt://127.0.0.1:\(port)
          keepalive: 5s
          \(reconnect)
        \(ThreeFaultSimulator.detector)
        summary: { interval: \(summary) }
        log_level: debug
        \(ThreeFaultSimulator.sources)
        \(extra)
        """
    }

    /// What the agent must report: the same model and detectors, run offline over `ticks` ticks.
    static func expectedEpisodes(yaml: String, ticks: Int) throws -> [(channel: String, value: Double, z: Double)] {
        let c = try ConfigLoader.parse(yaml, file: "expected.yaml")
        guard let s = c.sources[0].settings as? SimulatorSourceConfig else { return [] }
        var model = try SimulatorModel(channels: s.channels, faults: s.faults, rateHz: s.rate, seed: s.seed)
        var detectors = s.channels.map { ChannelDetector(settings: c.detectorSettings(forChannel: $0.name)) }
        var out: [(String, Double, Double)] = []
        for k in 0..<ticks {
            model.step { ch, x in
                let v = detectors[ch].process(x, monoNanos: Int64(k), wallNanos: Int64(k))
                if let st = v.started { out.append((s.channels[ch].name, st.value, st.z)) }
            }
        }
        return out
    }

    static func json(_ m: MQTTSubscriber.Message) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(m.payload.utf8))) as? [String: Any] ?? [:]
    }

    @Test func publishesExactlyTheEpisodesOfTheInjectedFaultsAndSummaries() throws {
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"])
        let yaml = Self.config(port: broker.port)
        let agent = try VigilProcess(config: yaml, arguments: ["--duration", "7"])
        #expect(agent.waitForExit(timeout: 20), "agent did not stop by itself")
        #expect(agent.exitStatus == 0, "\(agent.stderr)")
        let messages = sub.waitUntil(timeout: 5) { ms in ms.contains { $0.topic == "vigil/itest/status" && $0.statusState == "offline" } }

        let anomalies = messages.filter { $0.topic.hasPrefix("vigil/itest/anomaly/") }.map { ($0.topic, Self.json($0)) }
        let starts = anomalies.filter { $0.1["event"] as? String == "start" }
        let ends = anomalies.filter { $0.1["event"] as? String == "end" }
        // 7 s at 20 Hz is 140 ticks; every fault and its episode lie within the first 120.
        let expected = try Self.expectedEpisodes(yaml: yaml, ticks: 120)
        #expect(expected.map(\.channel) == ["temperature", "humidity", "temperature"])
        #expect(starts.count == expected.count, "\(anomalies)")
        for (got, want) in zip(starts, expected) {
            #expect(got.0 == "vigil/itest/anomaly/\(want.channel)")
            #expect(got.1["value"] as? Double == want.value)
            #expect(got.1["z"] as? Double == JSONWriter.rounded(want.z, places: 3))
            #expect(got.1["direction"] as? String == (want.z > 0 ? "high" : "low"))
        }
        #expect(ends.count == starts.count)
        #expect(ends.allSatisfy { $0.1["reason"] as? String == "recovered" })

        // Every event numbered once, none missing: seq runs 1…N without a gap.
        let events = messages.filter { $0.topic.contains("/anomaly/") || $0.topic.contains("/summary/") }
        let seqs = events.compactMap { Self.json($0)["seq"] as? Int }.sorted()
        #expect(seqs == Array(1...seqs.count))
        #expect(agent.stderr.contains("events=\(seqs.count) "), "\(agent.stderr)")

        // Summaries: every 2 s per channel plus the last partial one; counts add up to the readings the
        // agent logs at stop, exactly. (How many ticks fit in 7 s depends on the machine's load, so the
        // count is taken from the agent, not from the clock; the faults all lie in the first 120.)
        let summaries = events.filter { $0.topic.contains("/summary/") }.map(Self.json)
        var summarized = 0
        for channel in ["temperature", "humidity"] {
            let mine = summaries.filter { $0["channel"] as? String == channel }
            #expect(mine.count >= 4)
            let total = mine.reduce(0) { $0 + ($1["count"] as? Int ?? 0) }
            #expect(total >= 120, "\(channel): \(total) readings in summaries")
            summarized += total
        }
        #expect(agent.stderr.contains("readings=\(summarized) ") || agent.stderr.contains("readings=\(summarized)\n"), "\(summarized) readings in summaries; \(agent.stderr)")
        #expect(summaries.reduce(0) { $0 + ($1["episodes"] as? Int ?? 0) } == expected.count)

        // The birth tells where this run's numbers start, the clean stop where they end.
        let status = messages.compactMap(\.status)
        #expect(status.map { $0["state"] as? String } == ["online", "offline"])
        #expect(status[0]["first_seq"] as? Int == 1)
        #expect(status[0]["version"] as? String == VigilVersion.current)
        #expect(status[0]["device"] as? String == "itest")
        #expect((status[0]["started"] as? String)?.hasSuffix("Z") == true)
        #expect(status[1]["clean"] as? Bool == true)
        #expect(status[1]["last_seq"] as? Int == seqs.count)
    }

    @Test func sigkillMakesTheBrokerDeliverTheLastWill() throws {
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/itest/status"])
        let agent = try VigilProcess(config: Self.config(port: broker.port), arguments: [])
        let online = sub.waitUntil(timeout: 10) { $0.contains { $0.statusState == "online" } }
        #expect(online.map(\.statusState) == ["online"])
        agent.kill()
        let all = sub.waitUntil(timeout: 10) { $0.contains { $0.statusState == "offline" } }
        #expect(all.map(\.statusState) == ["online", "offline"])
        // A late subscriber sees the retained last word: the will, offline and not clean.
        let late = try MQTTSubscriber(port: broker.port, topics: ["vigil/itest/status"])
        let seen = late.waitFor(count: 1, timeout: 5)
        #expect(seen.map(\.description) == [#"[retained] vigil/itest/status {"v":1,"device":"itest","type":"status","state":"offline","clean":false}"#])
    }

    /// The broker comes up only after the agent; a persistent subscriber session made beforehand
    /// receives everything the agent queued meanwhile: no event lost.
    @Test func aBrokerStartedAfterTheAgentIsReachedAndGetsEverything() throws {
        let broker = try MosquittoBroker(persistent: true)
        do {
            let first = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"], clientID: "itest-sub", persistentSession: true)
            first.stop()
        }
        broker.stop()
        let agent = try VigilProcess(config: Self.config(port: broker.port), arguments: [])
        Thread.sleep(forTimeInterval: 3)  // faults at 2 s and 3 s happen while the broker is down
        try broker.start()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"], clientID: "itest-sub", persistentSession: true)
        _ = sub.waitUntil(timeout: 10) { $0.contains { $0.statusState == "online" } }
        Thread.sleep(forTimeInterval: 3)
        agent.terminate()
        #expect(agent.waitForExit(timeout: 15))
        #expect(agent.exitStatus == 0, "\(agent.stderr)")
        let messages = sub.waitUntil(timeout: 5) { $0.contains { $0.statusState == "offline" } }
        let seqs = messages.compactMap { Self.json($0)["seq"] as? Int }.sorted()
        #expect(!seqs.isEmpty)
        #expect(seqs == Array(1...max(1, seqs.count)), "lost or duplicated: \(seqs)")
        #expect(agent.stderr.contains("events=\(seqs.count) "), "\(agent.stderr)")
        #expect(agent.stderr.contains("not reachable"), "\(agent.stderr)")
        #expect(messages.filter { $0.topic.contains("/anomaly/") }.count >= 4)
    }

    @Test func badConfigExitsWith78AndNamesTheLine() throws {
        let check = try VigilProcess(config: "device: x\nsources:\n  - kind: simulator\n    rate: fast\n", command: "check", arguments: [])
        #expect(check.waitForExit(timeout: 10))
        #expect(check.exitStatus == 78)
        #expect(check.stderr.contains(":4:5: sources[0].rate: expected a number, found 'fast'"), "\(check.stderr)")
        let run = try VigilProcess(config: "device: x\nsources: []\n", arguments: [])
        #expect(run.waitForExit(timeout: 10))
        #expect(run.exitStatus == 78)
        #expect(run.stderr.contains(":2:1: sources: must list at least one source"), "\(run.stderr)")
    }
}
