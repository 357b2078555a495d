import Foundation
import Testing
import VigilFleet
import VigilTestSupport

/// `vigil-fleet --config FILE`: the real binary with a real file; a bad key or value exits 78 naming file:line:column and key.
@Suite struct FleetConfigFileTests {
    func run(_ yaml: String, _ extra: [String] = []) throws -> (status: Int32, stderr: String) {
        let db = try TemporaryDatabase()
        let file = db.directory.appendingPathComponent("fleet.yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let p = try FleetReceiverProcess(["--config", file, "--db", "/nonexistent/fleet.db"] + extra, waitForSubscription: false)
        #expect(p.waitForExit(timeout: 60))
        return (p.exitStatus, p.stderr.replacingOccurrences(of: file, with: "fleet.yaml"))
    }

    @Test func anUnknownKeyIsNamedWithItsLine() throws {
        let r = try run("broker: mqtt://127.0.0.1:1883\nhtp:\n  listen: 127.0.0.1:8080\n")
        #expect(r.status == 78)
        #expect(r.stderr == "fleet.yaml:2:1: htp: unknown field 'htp' (known: broker, client_id, db, group, http, keepalive, log_level, max_batch, prefix, retention, rollup_retention)")
        let nested = try run("http:\n  listen: 127.0.0.1:8080\n  user: /etc/vigil/fleet-users\n")
        #expect(nested.stderr == "fleet.yaml:3:3: http.user: unknown field 'user' (known: listen, tokens, users)")
    }

    @Test func badValuesAreNamedWithTheirLines() throws {
        let r = try run("prefix: vigil\nkeepalive: 2s\nmax_batch: 0\nretention: soon\n")
        #expect(r.status == 78)
        #expect(r.stderr == """
            fleet.yaml:4:1: retention: 'soon' is not a duration (e.g. 30s, 12h, 30d)
            fleet.yaml:2:1: keepalive: at least 5s (libmosquitto's minimum)
            fleet.yaml:3:1: max_batch: 1 to 100000, got 0
            """)
        #expect(try run("max_batch: lots\n").stderr == "fleet.yaml:1:1: max_batch: expected a whole number, found 'lots'")
        #expect(try run("broker: [a, b]\n").stderr == "fleet.yaml:1:1: broker: expected text, found a list")
    }

    /// Any address but loopback needs credentials, from the file or the command line; an option wins over the file.
    @Test func listenElsewhereNeedsCredentialsAndOptionsOverride() throws {
        let open = try run("http:\n  listen: 0.0.0.0:8080\n")
        #expect(open.status == 78)
        #expect(open.stderr == "fleet.yaml:2:3: http.listen: 0.0.0.0 is not a loopback address: serving it needs credentials (--users FILE or --tokens FILE)")
        let overridden = try run("http:\n  listen: 0.0.0.0:8080\n", ["--http", "[::1]:99999"])
        #expect(overridden.stderr == "--http: '[::1]:99999' is not HOST:PORT with a port 0 to 65535")
    }

    /// A config that works: broker, store, client id, listen address and users all from the file.
    @Test func aGoodConfigRunsTheReceiver() throws {
        let broker = try MosquittoBroker()
        let db = try TemporaryDatabase()
        let users = db.directory.appendingPathComponent("users").path
        try (FleetCredentials.userLine(name: "ops", role: .read, password: "pw", cost: 10) + "\n").write(toFile: users, atomically: true, encoding: .utf8)
        chmod(users, 0o640)
        let http = try freeLocalPort()
        let file = db.directory.appendingPathComponent("fleet.yaml").path
        try """
            # the fleet receiver
            broker: mqtt://127.0.0.1:\(broker.port)
            db: \(db.path)
            client_id: fleet-config
            http:
              listen: 127.0.0.1:\(http)
              users: \(users)
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let fleet = try FleetReceiverProcess(["--config", file])
        #expect(waitUntil(timeout: 60) { fleet.stderr.contains("API listening on http://127.0.0.1:\(http)") })
        #expect(fleet.stderr.contains("API access: 1 users, 0 tokens"))
        #expect(try RawHTTP.send(http, "GET", "/api/devices").status == 401)
        #expect(try RawHTTP.send(http, "GET", "/api/devices", headers: ["Authorization": RawHTTP.basic("ops", "pw")]).status == 200)
        fleet.stop()
        #expect(fleet.exitStatus == 0)
    }
}
