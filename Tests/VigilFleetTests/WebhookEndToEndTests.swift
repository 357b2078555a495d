import Foundation
import Testing
import VigilTestSupport

/// The real `vigil-fleet` → a real HTTP server on loopback: exact bodies, retries, exactly one delivery of each
/// alert across a SIGKILL of the receiver, and a SIGKILLed gateway's offline alert.
@Suite(.serialized) struct WebhookEndToEndTests {
    static func receiver(_ broker: MosquittoBroker, _ db: TemporaryDatabase, _ hook: WebhookServer, id: String,
                         _ extra: [String] = []) throws -> FleetReceiverProcess {
        try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--db", db.path, "--client-id", id,
                                  "--webhook", hook.url] + extra)
    }
    static func pub(_ broker: MosquittoBroker, _ topic: String, _ payload: String, retain: Bool = false) throws {
        try mqttPublish(port: broker.port, topic: "vigil/" + topic, payload: payload, retain: retain)
    }

    @Test func oneAnomalyStartAndEndExactBodiesWithTheSecretHeader() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let hook = try WebhookServer()
        let secret = db.directory.appendingPathComponent("webhook-header").path
        try "Authorization: Bearer s3cret\n".write(toFile: secret, atomically: true, encoding: .utf8)
        let fleet = try Self.receiver(broker, db, hook, id: "fleet-hook-bodies", ["--webhook-header-file", secret])
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 5, "start", episode: 2))
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 6, "end", episode: 2, at: "2026-11-23T11:40:04.123Z"))
        #expect(waitUntil(timeout: 60) { hook.requests.count >= 2 }, "\(fleet.stderr)")
        let r = hook.requests
        #expect(r.map(\.body) == [
            #"{"schema":1,"id":"gw-1/anomaly/temperature/2/5/start","kind":"anomaly","phase":"start","device":"gw-1","subject":"temperature","name":"zscore","episode":2,"seq":5,"starts_at":"2026-11-23T11:40:00.123Z"}"#,
            #"{"schema":1,"id":"gw-1/anomaly/temperature/2/5/end","kind":"anomaly","phase":"end","device":"gw-1","subject":"temperature","name":"zscore","episode":2,"seq":6,"starts_at":"2026-11-23T11:40:00.123Z","ends_at":"2026-11-23T11:40:04.123Z","reason":"recovered"}"#,
        ])
        #expect(r.map(\.method) == ["POST", "POST"])
        #expect(r.map(\.path) == ["/hook", "/hook"])
        #expect(r.map { $0.headers["authorization"] } == ["Bearer s3cret", "Bearer s3cret"])
        #expect(r.map { $0.headers["content-type"] } == ["application/json", "application/json"])
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT delivery, count(*) FROM alerts GROUP BY delivery") == [["delivered", "2"]] })
        fleet.stop()
        #expect(!fleet.stderr.contains("s3cret"))
        #expect(hook.requests.count == 2)
    }

    @Test func aReceiverKilledMidDeliverySendsEachAlertOnce() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let hook = try WebhookServer(answer: 500)
        let first = try Self.receiver(broker, db, hook, id: "fleet-hook-restart", ["--webhook-mode", "alertmanager"])
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 1, "start"))
        try Self.pub(broker, "gw-1/health/temperature", FleetPayloads.health("gw-1", 2, "start"))
        try Self.pub(broker, "gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 3, "end"))
        // Retrying the first alert (500, backoff): all three are stored pending.
        #expect(waitUntil(timeout: 60) { hook.requests.count >= 2 }, "\(first.stderr)")
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT count(*) FROM alerts WHERE delivery = 'pending'") == [["3"]] })
        first.kill()
        hook.answer(200)
        let second = try Self.receiver(broker, db, hook, id: "fleet-hook-restart", ["--webhook-mode", "alertmanager"])
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT delivery, count(*) FROM alerts GROUP BY delivery") == [["delivered", "3"]] },
                "\(second.stderr)")
        second.stop()
        let ok = hook.requests.filter { $0.status == 200 }
        let ids = ok.map { body in
            (try? JSONSerialization.jsonObject(with: Data(body.body.utf8)) as? [[String: Any]])?.first
                .flatMap { ($0["annotations"] as? [String: Any])?["vigil_id"] as? String } ?? "?"
        }
        #expect(ids == ["gw-1/anomaly/temperature/1/1/start", "gw-1/health/temperature/stuck/2/start", "gw-1/anomaly/temperature/1/1/end"])
        #expect(hook.requests.filter { $0.status == 500 }.allSatisfy { $0.body.contains("gw-1/anomaly/temperature/1/1/start") })
        #expect(second.stderr.contains("3 alerts pending for http://127.0.0.1:\(hook.port)/hook from before the restart"))
    }

    /// The real agent on its simulator (three injected faults): each episode's start and end once; SIGKILLed,
    /// its will raises offline; started again on the same state, its birth resolves it.
    @Test func aKilledGatewayRaisesOfflineAndItsReturnResolvesIt() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let hook = try WebhookServer()
        let fleet = try Self.receiver(broker, db, hook, id: "fleet-hook-offline")
        let yaml = AgentToFleetTests.config(port: broker.port, device: "fleet-w")
        let state = db.directory.appendingPathComponent("agent-state").path
        func ids() -> [String] { hook.requests.map { String($0.body.split(separator: "\"")[5]) } }   // {"schema":1,"id":"…"
        let agent = try VigilProcess(config: yaml, arguments: [], stateDirectory: state)
        #expect(waitUntil(timeout: 60) { ids().filter { $0.contains("/anomaly/") && $0.hasSuffix("/end") }.count == 3 },
                "\(ids())\n\(agent.stderr)\n\(fleet.stderr)")
        agent.kill()
        #expect(waitUntil(timeout: 60) { ids().contains { $0.hasPrefix("fleet-w/offline/") } }, "\(ids())\n\(fleet.stderr)")
        let episodes = ids().filter { $0.contains("/anomaly/") }
        #expect(episodes.count == 6 && Set(episodes).count == 6, "\(episodes)")
        #expect(Set(episodes.map { $0.replacingOccurrences(of: "/start", with: "").replacingOccurrences(of: "/end", with: "") }).count == 3)
        let offline = ids().filter { $0.hasPrefix("fleet-w/offline/") }
        let since = try db.rows("SELECT state_since_ns FROM devices WHERE device = 'fleet-w' AND state = 'offline'")
        #expect(offline == ["fleet-w/offline/\(since.first?.first ?? "?")/start"])
        #expect(hook.requests.first { $0.body.contains("/offline/") }?.body.contains(#""kind":"offline","phase":"start","device":"fleet-w","subject":"","name":"lost""#) == true)

        let again = try VigilProcess(config: yaml, arguments: [], stateDirectory: state)
        #expect(waitUntil(timeout: 60) { ids().contains(offline[0].replacingOccurrences(of: "/start", with: "/end")) }, "\(again.stderr)")
        fleet.stop()
        #expect(ids().filter { $0.hasPrefix("fleet-w/offline/") }.count == 2)
        #expect(Set(ids()).count == ids().count)
    }

    @Test func badWebhookOptionsExit78NamingEach() throws {
        let fleet = try FleetReceiverProcess(["--db", "/nonexistent/fleet.db", "--webhook", "https://hooks.example/x",
                                              "--webhook-mode", "pagerduty", "--webhook-header-file", "/nonexistent/header"],
                                             waitForSubscription: false)
        #expect(fleet.waitForExit(timeout: 60))
        #expect(fleet.exitStatus == 78)
        #expect(fleet.stderr == """
            --webhook-mode: 'pagerduty' is not vigil or alertmanager
            --webhook: https is not supported yet: give an http:// URL (a TLS-terminating relay on loopback)
            """)
    }
}
