import Foundation
import Testing
import VigilTestSupport

/// THE fault test: the real `vigil` emits well over 10,000 anomaly events while its broker is stopped and
/// restarted three times and the agent itself is SIGKILLed and restarted twice. A subscriber with a
/// persistent session (on a persistent broker, so its queue survives the broker's restarts) counts every
/// (device, seq) pair. Every event the agent logged (it logs an event's seq once the outbox holds it) must
/// arrive: zero lost. Duplicates are allowed (at least once) and counted.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct FaultTests {
    /// Eight noisy channels at 1 kHz, each with Poisson spikes at 10 per second: about 150 anomaly events
    /// (a start and an end per spike) per second.
    static func config(port: Int, outbox: String) -> String {
        let channels = (0..<8).map { "      - { name: c\($0), unit: u, mean: 0, std: 1, walk_share: 0.2 }" }.joined(separator: "\n")
        let faults = (0..<8).map { "      - { kind: spike, channel: c\($0), rate_per_hour: 36000, magnitude: 60 }" }.joined(separator: "\n")
        return """
            device: fault-gw
            mqtt:
              broker: mqtt://127.0.0.1:\(port)
              keepalive: 5s
              reconnect_min: 200ms
              reconnect_max: 1s
              health_interval: 5s
              outbox: { dir: \(outbox), sync: batch, max_events: 1000000, max_bytes: 512MiB, drain_rate: 2000 }
            detector: { window: 50, warmup: 20, z_on: 5, z_off: 3, end_after: 2 }
            summary: { interval: 5s }
            log_level: info
            sources:
              - kind: simulator
                name: sim
                rate: 1000
                seed: 4242
                channels:
            \(channels)
                faults:
            \(faults)
            """
    }

    /// `seq=N` of every "anomaly started/ended" line: the events the outbox had accepted.
    static func loggedSeqs(_ stderr: String) -> [Int] {
        var out: [Int] = []
        for line in stderr.split(separator: "\n") where line.contains("anomaly started") || line.contains("anomaly ended") {
            guard let r = line.range(of: " seq=") else { continue }
            let digits = line[r.upperBound...].prefix { $0.isNumber }
            if let n = Int(digits) { out.append(n) }
        }
        return out
    }

    /// (device, seq) of every anomaly message received.
    static func receivedPairs(_ messages: [MQTTSubscriber.Message]) -> [String] {
        messages.filter { $0.topic.contains("/anomaly/") }.compactMap { m in
            guard let d = m.payload.range(of: "\"device\":\""), let s = m.payload.range(of: "\"seq\":") else { return nil }
            let device = m.payload[d.upperBound...].prefix { $0 != "\"" }
            let seq = m.payload[s.upperBound...].prefix { $0.isNumber }
            return "\(device)#\(seq)"
        }
    }

    @Test func tenThousandAnomaliesSurviveThreeBrokerRestartsAndTwoAgentKills() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-fault-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let outbox = work.appendingPathComponent("outbox").path
        let state = work.appendingPathComponent("state").path

        let broker = try MosquittoBroker(persistent: true)
        let subscriber = try MQTTSubscriber(port: broker.port, topics: ["vigil/fault-gw/#"], qos: 1,
                                            clientID: "fault-test-\(UUID().uuidString.prefix(6))", persistentSession: true)
        let yaml = Self.config(port: broker.port, outbox: outbox)
        let started = Date()
        func elapsed() -> String { String(format: "%5.1f s", Date().timeIntervalSince(started)) }

        var agents: [VigilProcess] = []
        var logged = Set<Int>()
        func startAgent() throws {
            agents.append(try VigilProcess(config: yaml, arguments: [], stateDirectory: state))
        }
        func collect() { for a in agents { logged.formUnion(Self.loggedSeqs(a.stderr)) } }
        func waitFor(anomalies target: Int, timeout: Double) {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                collect()
                if logged.count >= target { return }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }

        // The script. Outage 1 has a kill inside it: the restarted agent must recover the backlog from disk.
        // Outage 2 is a plain broker restart (the agent requeues what was in flight). The second kill hits a
        // connected agent in mid-stream. Outage 3 is plain again. Events keep coming throughout.
        var timeline: [String] = []
        func note(_ s: String) { collect(); timeline.append("\(elapsed())  \(s)  (logged so far: \(logged.count))") }
        func kill() throws {
            agents.last!.kill()
            note("agent \(agents.count) SIGKILLed")
            try startAgent()
            note("agent \(agents.count) started")
        }
        try startAgent()
        note("agent 1 started")
        waitFor(anomalies: 1_500, timeout: 40)
        for outage in 1...3 {
            broker.stop()
            note("broker stopped (outage \(outage))")
            Thread.sleep(forTimeInterval: 2)
            if outage == 1 { try kill() }
            Thread.sleep(forTimeInterval: 2)
            try broker.start()
            note("broker started again")
            waitFor(anomalies: logged.count + 1_500, timeout: 40)
            if outage == 2 {
                try kill()
                waitFor(anomalies: logged.count + 1_500, timeout: 40)
            }
        }
        waitFor(anomalies: 10_500, timeout: 120)
        agents.last!.terminate()
        #expect(agents.last!.waitForExit(timeout: 30), "the last agent did not stop")
        note("agent \(agents.count) stopped with SIGTERM (exit \(agents.last!.exitStatus))")
        collect()

        // Everything logged must arrive; allow the drain of the last backlog.
        var received: [String] = []
        let deadline = Date().addingTimeInterval(90)
        repeat {
            received = Self.receivedPairs(subscriber.messages)
            let got = Set(received)
            if logged.allSatisfy({ got.contains("fault-gw#\($0)") }) { break }
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        note("subscriber has \(received.count) anomaly messages")

        let distinct = Set(received)
        let lost = logged.filter { !distinct.contains("fault-gw#\($0)") }.sorted()
        let duplicates = received.count - distinct.count
        let unlogged = distinct.count - logged.filter { distinct.contains("fault-gw#\($0)") }.count
        let health = subscriber.messages.filter { $0.topic.hasSuffix("/health") }.count
        let recoveries = agents.map { a -> String in
            let line = a.stderr.split(separator: "\n").first { $0.contains("vigil starting") } ?? ""
            let rec = line.range(of: "recovered=").map { line[$0.upperBound...].prefix { $0.isNumber } } ?? "?"
            let next = line.range(of: "next_seq=").map { line[$0.upperBound...].prefix { $0.isNumber } } ?? "?"
            return "recovered=\(rec) next_seq=\(next)"
        }
        print("""
            fault test timeline:
            \(timeline.map { "  " + $0 }.joined(separator: "\n"))
            agents at start: \(recoveries.joined(separator: "; "))
            anomaly events logged by the agents (accepted into the outbox): \(logged.count)
            anomaly messages received: \(received.count), distinct (device, seq): \(distinct.count)
            lost: \(lost.count)\(lost.isEmpty ? "" : " e.g. \(lost.prefix(20))")
            duplicates: \(duplicates)
            received but not logged (outbox accepted, agent killed before its log line): \(unlogged)
            health messages: \(health)
            """)
        #expect(logged.count >= 10_000, "only \(logged.count) anomaly events")
        #expect(lost.isEmpty, "lost \(lost.count): \(lost.prefix(50))")
        #expect(agents.count == 3)
        #expect(agents.dropFirst().allSatisfy { $0.stderr.contains("vigil starting") })
        if !lost.isEmpty {
            for (i, a) in agents.enumerated() { print("--- agent \(i + 1) stderr (tail):\n\(a.stderr.split(separator: "\n").suffix(40).joined(separator: "\n"))") }
        }
    }
}
