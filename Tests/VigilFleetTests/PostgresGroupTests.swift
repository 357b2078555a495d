import Foundation
import Testing
import VigilFleet
import VigilTestSupport

/// Beyond one machine: two real `vigil-fleet` receivers in one shared-subscription group writing one real
/// PostgreSQL, one of them SIGKILLed in the middle of a stream and started again.
@Suite(.serialized) struct PostgresGroupTests {
    static func receiver(_ broker: MosquittoBroker, _ url: String, clientID: String) throws -> FleetReceiverProcess {
        try FleetReceiverProcess(["--broker", "mqtt://127.0.0.1:\(broker.port)", "--store", url, "--client-id", clientID,
                                  "--group", "fleet", "--max-batch", "50"], timeout: 180)
    }

    @Test(.enabled(if: PostgresServer.shouldRun, "\(PostgresServer.missing)"))
    func twoReceiversOneKilledLoseNothingAndStoreNothingTwice() throws {
        let server = try PostgresServer.shared()
        let database = try server.createDatabase("group")
        let url = server.url(database)
        let broker = try MosquittoBroker()
        let a = try Self.receiver(broker, url, clientID: "fleet-a")
        var b = try Self.receiver(broker, url, clientID: "fleet-b")
        // Small enough for a loaded machine: the PostgreSQL store writes a few hundred messages/s today (docs/fleet.md).
        let total = 3_000
        let lines = (1...total).map { FleetPayloads.summary("gw-s", UInt64($0)) }.joined(separator: "\n") + "\n"
        let file = broker.directory.appendingPathComponent("stream").path
        try lines.write(toFile: file, atomically: true, encoding: .utf8)
        let publisher = try LinePublisher(port: broker.port, topic: "vigil/gw-s/summary/temperature", file: file)
        func rows(_ sql: String) throws -> [[String]] { try server.rows(database, sql) }
        func stored() throws -> Int { Int(try rows("SELECT count(*) FROM events")[0][0])! }
        #expect(try waitUntil(timeout: 120) { try stored() >= 500 })
        b.kill()
        let atKill = try stored()
        #expect(atKill < total, "the stream ended before the kill: \(atKill)")
        #expect(try publisher.wait(timeout: 300) == 0)
        // Same client id: the broker kept b's session, with what it had not acknowledged and what was queued for it.
        b = try Self.receiver(broker, url, clientID: "fleet-b")
        let complete = try waitUntil(timeout: 300) { try stored() == total }
        let count = try stored()
        #expect(complete, "stored \(count) of \(total)\na: \(a.stderr)\nb: \(b.stderr)")
        // 0 lost: every seq once; 0 stored twice: as many rows as distinct seqs (the key forbids more, this says so).
        #expect(try rows("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE device = 'gw-s'")
                == [["\(total)", "\(total)", "1", "\(total)"]])
        #expect(try rows("SELECT count(*), count(DISTINCT seq) FROM summaries") == [["\(total)", "\(total)"]])
        // Both receivers did their share (the group split the stream).
        #expect(try rows("SELECT value >= \(total) FROM counters WHERE name = 'received'") == [["t"]])
        #expect(a.stderr.contains("subscribed to $share/fleet/vigil/+/# (qos 1)"))
        #expect(b.stderr.contains("session present: yes"), "\(b.stderr)")
        a.stop()
        b.stop()
        #expect(a.exitStatus == 0 && b.exitStatus == 0)
    }

    @Test func badStoreOptionsExit78() throws {
        let cases: [([String], String)] = [
            (["--store", "postgres://vigil:secret@127.0.0.1/fleet"], "--store: a password does not belong in the URL"),
            (["--store", "mysql://vigil@127.0.0.1/fleet"], "--store: the URL is not postgres://USER@HOST[:PORT]/DATABASE"),
            (["--store", "postgres://vigil@127.0.0.1:99999/fleet"], "--store: port '99999' is not 1 to 65535"),
            (["--store", "postgres://127.0.0.1/fleet"], "--store: no user"),
            (["--store", "postgres://vigil@127.0.0.1/fleet", "--db", "/tmp/x.db"], "--db and --store: one store, not both"),
            (["--store", "postgres://vigil@127.0.0.1/fleet", "--store-password-file", "/nonexistent/pw"],
             "--store-password-file: cannot read /nonexistent/pw"),
        ]
        for (args, message) in cases {
            let p = try FleetReceiverProcess(args, waitForSubscription: false)
            #expect(p.waitForExit(timeout: 10))
            #expect(p.exitStatus == 78, "\(args): \(p.stderr)")
            #expect(p.stderr.contains(message), "\(args): \(p.stderr)")
            #expect(!p.stderr.contains("secret"))
        }
        // A server that is not there: named, exit 78.
        let port = try freeLocalPort()
        let p = try FleetReceiverProcess(["--store", "postgres://vigil@127.0.0.1:\(port)/fleet"], waitForSubscription: false)
        #expect(p.waitForExit(timeout: 30))
        #expect(p.exitStatus == 78)
        #expect(p.stderr.contains("cannot open the fleet database postgres://vigil@127.0.0.1:\(port)/fleet"), "\(p.stderr)")
    }
}
