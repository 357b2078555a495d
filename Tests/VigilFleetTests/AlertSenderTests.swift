import Logging
import Testing
import VigilCore
import VigilFleet
import VigilFleetCore
import VigilTestSupport

/// The sender against the real SQLite store and a real HTTP server on loopback.
@Suite struct AlertSenderTests {
    static func alert(_ n: Int) -> FleetAlert {
        FleetAlert(id: "gw-1/offline/\(n)/start", kind: .offline, phase: .start, device: "gw-1", subject: "", name: "lost", startsNanos: Int64(n))
    }
    static func target(_ hook: WebhookServer) -> WebhookTarget {
        WebhookTarget(host: "127.0.0.1", port: hook.port, path: "/hook", mode: .vigil)
    }
    /// Commits `alerts` as the receiver does: admitted, stored with a batch, then queued.
    static func raise(_ alerts: [FleetAlert], _ sender: AlertSender, _ store: SQLiteFleetStore) throws {
        var c = ChangeSet()
        c.alerts = sender.admit(alerts)
        try store.commit(c)
        sender.enqueue(c.alerts)
    }

    @Test func aFullQueueDropsAndCountsTheRest() throws {
        let db = try TemporaryDatabase()
        let store = try SQLiteFleetStore(path: db.path)
        let hook = try WebhookServer(answer: 503)
        let sender = try AlertSender(target: Self.target(hook), store: store, capacity: 2, logger: Logger(label: "test"))
        try Self.raise([Self.alert(1), Self.alert(2), Self.alert(3)], sender, store)
        try Self.raise([Self.alert(4)], sender, store)
        #expect(sender.counts.dropped == 2 && sender.counts.queued == 2 && sender.counts.sent == 0)
        #expect(try store.pendingAlerts(limit: 10).map(\.id) == ["gw-1/offline/1/start", "gw-1/offline/2/start"])
    }

    @Test func retriesA503AndGivesUpOnA404() throws {
        let db = try TemporaryDatabase()
        let store = try SQLiteFleetStore(path: db.path)
        let hook = try WebhookServer(answer: 503)
        let sender = try AlertSender(target: Self.target(hook), store: store, logger: Logger(label: "test"),
                                     initialBackoff: 0.05, maxBackoff: 0.2)
        try sender.start()
        defer { sender.stop() }
        try Self.raise([Self.alert(1)], sender, store)
        #expect(waitUntil(timeout: 60) { hook.requests.count >= 4 })
        hook.answer(404)
        #expect(waitUntil(timeout: 60) { sender.counts.rejected == 1 })
        hook.answer(200)
        try Self.raise([Self.alert(2)], sender, store)
        #expect(waitUntil(timeout: 60) { sender.counts.sent == 1 })
        let r = hook.requests
        #expect(r.filter { $0.status == 404 }.count == 1)
        #expect(r.filter { $0.status == 200 }.map(\.body).allSatisfy { $0.contains("gw-1/offline/2/start") })
        #expect(r.filter { $0.status == 200 }.count == 1)
        #expect(try db.rows("SELECT id, delivery FROM alerts ORDER BY queued") == [["gw-1/offline/1/start", "rejected"], ["gw-1/offline/2/start", "delivered"]])
        let c = sender.counts
        #expect((c.failedAttempts, c.queued, c.dropped) == (Int64(r.filter { $0.status == 503 }.count), 0, 0))
    }

    @Test func urlsAndHeaderFiles() {
        func parse(_ url: String) -> String {
            switch WebhookTarget.parse(url: url, mode: .vigil) {
            case .success(let t): return "\(t.host) \(t.port) \(t.path)"
            case .failure(let e): return e.description
            }
        }
        #expect(parse("http://127.0.0.1:9093/api/v2/alerts") == "127.0.0.1 9093 /api/v2/alerts")
        #expect(parse("http://hooks.example") == "hooks.example 80 /")
        #expect(parse("http://[::1]:8080/x?y=1") == "::1 8080 /x?y=1")
        #expect(parse("https://hooks.example/x") == "https is not supported yet: give an http:// URL (a TLS-terminating relay on loopback)")
        #expect(parse("http://user:pw@hooks.example/") == "credentials do not belong in the URL (use --webhook-header-file)")
        #expect(parse("ftp://x") == "'ftp://x' is not http://HOST[:PORT][/PATH]")
        #expect(parse("http://x:0/") == "'http://x:0/' has a bad port")
        #expect(parse("http://:80/") == "'http://:80/' has no host")
        #expect(parse("http://x/a b") == "the path has spaces or control characters")
        func header(_ text: String) -> String {
            switch WebhookTarget.parseHeader(text, file: "/etc/h") {
            case .success(let h): return "\(h.name)=\(h.value)"
            case .failure(let e): return e.description
            }
        }
        #expect(header("Authorization: Bearer abc\n") == "Authorization=Bearer abc")
        #expect(header("\nX-Token:t\n\n") == "X-Token=t")
        #expect(header("A: 1\nB: 2\n") == "/etc/h: must hold one line 'Name: value'")
        #expect(header("Bad Name: 1") == "/etc/h: line 1: the header name is not a token")
        #expect(header("") == "/etc/h: must hold one line 'Name: value'")
    }
}
