import Foundation
import Testing
import VigilTestSupport

/// The real agent on its simulator → a real mosquitto → the real `vigil-fleet` → SQLite.
@Suite(.serialized) struct AgentToFleetTests {
    /// Three injected faults (as in AgentEndToEndTests): two temperature spikes and a humidity level shift.
    static func config(port: Int, device: String) -> String {
        """
        device: \(device)
        mqtt:
          broker: mqtt://127.0.0.1:\(port)
          keepalive: 5s
          reconnect_min: 200ms
          reconnect_max: 1s
          health_interval: 1s
        \(ThreeFaultSimulator.detector)
        summary: { interval: 1s }
        \(ThreeFaultSimulator.sources)
        """
    }

    @Test func everyAgentMessageStoredOnceEpisodesClosedAndAKilledGatewayOffline() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let fleet = try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--db", db.path, "--client-id", "fleet-agent"])
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/fleet-a/#"])
        let agent = try VigilProcess(config: Self.config(port: broker.port, device: "fleet-a"), arguments: [])

        let ended = try waitUntil(timeout: 30) {
            try db.rows("SELECT count(*) FROM events WHERE device = 'fleet-a' AND kind = 'anomaly' AND event = 'end'") == [["3"]]
        }
        #expect(ended, "agent: \(agent.stderr)\nfleet: \(fleet.stderr)")
        #expect(try db.rows("SELECT state FROM devices WHERE device = 'fleet-a'") == [["online"]])
        agent.kill()
        // The broker publishes the last will at once: the socket closed without DISCONNECT.
        #expect(try waitUntil(timeout: 15) { try db.rows("SELECT state FROM devices WHERE device = 'fleet-a'") == [["offline"]] })
        // A JSON will says clean:false; the agent's legacy plain `offline` does not say.
        let clean = try db.rows("SELECT clean_offline FROM devices WHERE device = 'fleet-a'")
        #expect(clean == [["0"]] || clean == [["NULL"]])

        // Every sequenced message the broker delivered to an independent subscriber is in the store, once.
        let delivered = sub.waitUntil(timeout: 5) { $0.contains { $0.topic == "vigil/fleet-a/status" && $0.payload.contains("offline") } }
        let seqs = delivered.filter { $0.topic != "vigil/fleet-a/status" }.compactMap { m -> Int? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(m.payload.utf8)) as? [String: Any] else { return nil }
            return o["seq"] as? Int
        }
        let stored = try db.rows("SELECT seq FROM events WHERE device = 'fleet-a' ORDER BY seq").map { Int($0[0])! }
        #expect(stored == seqs.sorted())
        #expect(stored.count > 10)
        // One episode per injected fault. The humidity shift's episode may still be open when the second
        // temperature spike starts (the default smoothed scale ends it later), so the order is per channel.
        #expect(try db.rows("SELECT event FROM events WHERE device = 'fleet-a' AND kind = 'anomaly' AND subject = 'temperature' ORDER BY seq")
                == [["start"], ["end"], ["start"], ["end"]])
        #expect(try db.rows("SELECT event FROM events WHERE device = 'fleet-a' AND kind = 'anomaly' AND subject = 'humidity' ORDER BY seq")
                == [["start"], ["end"]])
        #expect(try db.rows("SELECT count(*) FROM events WHERE device = 'fleet-a' AND kind = 'anomaly'") == [["6"]])
        #expect(try db.rows("SELECT count(*) FROM open_episodes") == [["0"]])
        #expect(try db.rows("SELECT duplicates, lost, open_seqs, stored FROM devices WHERE device = 'fleet-a'")
                == [["0", "0", "0", "\(stored.count)"]])
        #expect(try db.rows("SELECT count(*) FROM gaps") == [["0"]])
        // Summaries every second per channel, rolled up per hour.
        let summaries = try db.rows("SELECT count(*) FROM summaries WHERE device = 'fleet-a'")[0][0]
        #expect(try db.rows("SELECT sum(summaries) FROM summaries_hourly WHERE device = 'fleet-a'") == [[summaries]])
        #expect(Int(summaries)! >= 2 * 5)
        fleet.stop()
    }

    /// A gateway SIGKILLed and started again on the same state: its seq jumps to the next reserved block.
    /// With the JSON birth (first_seq) the jump is a declared skip; with the legacy `online` string it can
    /// only stay open. Either way nothing is stored twice and nothing the broker delivered is missing.
    @Test func aRestartedGatewaysSeqJumpIsASkip() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let fleet = try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--db", db.path, "--client-id", "fleet-restart"])
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/fleet-b/#"])
        let state = db.directory.appendingPathComponent("agent-state").path
        let yaml = Self.config(port: broker.port, device: "fleet-b")
        func stored() throws -> [Int] { try db.rows("SELECT seq FROM events WHERE device = 'fleet-b' ORDER BY seq").map { Int($0[0])! } }

        let first = try VigilProcess(config: yaml, arguments: [], stateDirectory: state)
        #expect(try waitUntil(timeout: 20) { try stored().count >= 5 }, "\(first.stderr)")
        first.kill()
        #expect(try waitUntil(timeout: 15) { try db.rows("SELECT state FROM devices WHERE device = 'fleet-b'") == [["offline"]] })
        let second = try VigilProcess(config: yaml, arguments: [], stateDirectory: state)
        #expect(try waitUntil(timeout: 20) { try stored().filter { $0 > 1000 }.count >= 3 }, "\(second.stderr)")
        second.terminate()
        #expect(second.waitForExit(timeout: 20))
        #expect(try waitUntil(timeout: 15) { try db.rows("SELECT state FROM devices WHERE device = 'fleet-b'") == [["offline"]] })

        let seqs = try stored()
        let lastOfFirstRun = seqs.filter { $0 <= 1000 }.max()!
        let firstOfSecond = seqs.filter { $0 > 1000 }.min()!
        #expect(firstOfSecond == 1001)
        #expect(seqs == Array(seqs.first!...lastOfFirstRun) + Array(firstOfSecond...seqs.last!))
        let messages = sub.waitUntil(timeout: 5) { $0.filter { $0.topic == "vigil/fleet-b/status" && $0.payload.contains("offline") }.count >= 2 }
        let births = messages.filter { $0.topic == "vigil/fleet-b/status" && !$0.payload.contains("offline") }
        let jsonBirth = births.contains { $0.payload.hasPrefix("{") }
        #expect(try db.rows("SELECT first_seq, last_seq, state FROM gaps WHERE device = 'fleet-b'")
                == [["\(lastOfFirstRun + 1)", "1000", jsonBirth ? "skipped" : "open"]])
        let delivered = Set(messages.compactMap { m -> Int? in
            (try? JSONSerialization.jsonObject(with: Data(m.payload.utf8)) as? [String: Any])?["seq"] as? Int
        })
        #expect(Set(seqs) == delivered)
        #expect(try db.rows("SELECT lost FROM devices WHERE device = 'fleet-b'") == [["0"]])
        fleet.stop()
    }
}
