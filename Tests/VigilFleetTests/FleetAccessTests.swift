import Foundation
import Testing
import VigilFleet
import VigilTestSupport

/// Who may look and who may acknowledge, against a running `vigil-fleet` (real broker, real HTTP on loopback).
@Suite(.serialized) struct FleetAccessTests {
    static let readerPassword = "correct horse battery staple"
    static let writerPassword = "Tr0ub4dor&3 écrit"
    static let token = String(repeating: "0123456789abcdef", count: 4)

    /// A users file (a reader and a writer, bcrypt cost 10) and a tokens file (one read token), mode 0600.
    static func credentialFiles(in db: TemporaryDatabase) throws -> (users: String, tokens: String) {
        let users = db.directory.appendingPathComponent("users").path, tokens = db.directory.appendingPathComponent("tokens").path
        let lines = ["# page users", FleetCredentials.userLine(name: "reader", role: .read, password: readerPassword, cost: 10),
                     FleetCredentials.userLine(name: "writer", role: .write, password: writerPassword, cost: 10)]
        try (lines.joined(separator: "\n") + "\n").write(toFile: users, atomically: true, encoding: .utf8)
        try "dashboard:read:\(token)\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        for f in [users, tokens] { chmod(f, 0o600) }
        return (users, tokens)
    }

    static let ackPath = "/api/devices/gw-1/episodes/temperature/1/acknowledge"
    static let json = ["Content-Type": "application/json"]

    @Test func withoutWrongAndRightCredentials() throws {
        let db = try TemporaryDatabase()
        let files = try Self.credentialFiles(in: db)
        let f = try FleetHTTPFixture(clientID: "fleet-access", ["--users", files.users, "--tokens", files.tokens])
        #expect(f.fleet.stderr.contains("API access: 2 users, 1 tokens"))
        try f.publish("gw-1/status", FleetPayloads.birth("gw-1", first: 1))
        try f.publish("gw-1/anomaly/temperature", FleetPayloads.anomaly("gw-1", 2, "start"))
        #expect(try waitUntil(timeout: 60) { try f.db.rows("SELECT count(*) FROM open_episodes") == [["1"]] })
        let port = f.http
        let reader = RawHTTP.basic("reader", Self.readerPassword), writer = RawHTTP.basic("writer", Self.writerPassword)

        for path in ["/", "/api/devices", "/api/anomalies", "/api/stream", "/no-such-page"] {
            let r = try RawHTTP.send(port, "GET", path)
            #expect(r.status == 401, "\(path)")
            #expect(r.header("WWW-Authenticate") == [#"Basic realm="vigil-fleet", charset="UTF-8""#, #"Bearer realm="vigil-fleet""#])
            #expect(r.body == "credentials required\n")
        }
        for wrong in [RawHTTP.basic("reader", "wrong"), RawHTTP.basic("nobody", Self.readerPassword), "Bearer " + String(Self.token.dropLast()) + "0",
                      "Bearer short", "Basic !!!", "Digest x"] {
            #expect(try RawHTTP.send(port, "GET", "/api/devices", headers: ["Authorization": wrong]).status == 401, "\(wrong)")
        }
        let asReader = try RawHTTP.send(port, "GET", "/api/devices", headers: ["Authorization": reader])
        #expect(asReader.status == 200)
        #expect(asReader.body.contains(#""device":"gw-1""#))
        #expect(asReader.header("X-Content-Type-Options") == ["nosniff"] && asReader.header("Cache-Control") == ["no-store"])
        #expect(try RawHTTP.send(port, "GET", "/", headers: ["Authorization": "Bearer \(Self.token)"]).status == 200)
        #expect(try RawHTTP.send(port, "GET", "/no-such-page", headers: ["Authorization": reader]).status == 404)

        // Only a write credential acknowledges, only with a JSON body type (no cross-site form can send one).
        #expect(try RawHTTP.send(port, "POST", Self.ackPath, headers: Self.json, body: "{}").status == 401)
        let denied = try RawHTTP.send(port, "POST", Self.ackPath, headers: Self.json.merging(["Authorization": reader]) { $1 }, body: "{}")
        #expect(denied.status == 403 && denied.body == "'reader' may only read\n")
        #expect(try RawHTTP.send(port, "POST", Self.ackPath, headers: ["Authorization": "Bearer \(Self.token)", "Content-Type": "application/json"],
                                 body: "{}").status == 403)
        #expect(try RawHTTP.send(port, "POST", Self.ackPath, headers: ["Authorization": writer, "Content-Type": "text/plain"], body: "{}").status == 415)
        #expect(try RawHTTP.send(port, "PUT", Self.ackPath, headers: ["Authorization": writer]).status == 405)
        #expect(try RawHTTP.send(port, "POST", "/api/devices/gw-1/episodes/temperature/7/acknowledge",
                                 headers: Self.json.merging(["Authorization": writer]) { $1 }, body: "{}").status == 404)
        #expect(try f.db.rows("SELECT count(*) FROM acknowledgements") == [["0"]])

        let ack = try RawHTTP.send(port, "POST", Self.ackPath, headers: Self.json.merging(["Authorization": writer]) { $1 },
                                   body: #"{"note":"<b>on it</b>"}"#)
        #expect(ack.status == 200)
        #expect(ack.body.contains(#""acknowledged":{"at":""#) && ack.body.contains(#""by":"writer","note":"\u003cb\u003eon it\u003c/b\u003e"}"#))
        // The first acknowledgement stays.
        _ = try RawHTTP.send(port, "POST", Self.ackPath, headers: Self.json.merging(["Authorization": writer]) { $1 }, body: #"{"note":"again"}"#)
        #expect(try f.db.rows("SELECT acknowledged_by, note FROM acknowledgements") == [["writer", "<b>on it</b>"]])
        let anomalies = try RawHTTP.send(port, "GET", "/api/anomalies", headers: ["Authorization": reader])
        #expect(anomalies.body.contains(#""by":"writer""#))
        let page = try RawHTTP.send(port, "GET", "/devices/gw-1", headers: ["Authorization": reader])
        #expect(page.body.contains("<td class=\"ack\">writer at ") && page.body.contains(": &lt;b&gt;on it&lt;/b&gt;</td>"))
        // A writer's page offers the button for an episode not yet acknowledged; a reader's never does.
        try f.publish("gw-1/anomaly/humidity", FleetPayloads.anomaly("gw-1", 3, "start", channel: "humidity"))
        #expect(try waitUntil(timeout: 60) { try f.db.rows("SELECT count(*) FROM open_episodes") == [["2"]] })
        #expect(try RawHTTP.send(port, "GET", "/", headers: ["Authorization": writer]).body
            .contains(#"data-ack="/api/devices/gw-1/episodes/humidity/1/acknowledge""#))
        #expect(!(try RawHTTP.send(port, "GET", "/", headers: ["Authorization": reader]).body.contains("data-ack=\"")))

        f.fleet.stop()
        #expect(f.fleet.exitStatus == 0)
        for secret in [Self.readerPassword, Self.writerPassword, Self.token, "$2b$"] { #expect(!f.fleet.stderr.contains(secret)) }
    }

    @Test func withoutCredentialsLoopbackReadsButNobodyWrites() throws {
        let f = try FleetHTTPFixture(clientID: "fleet-open")
        #expect(f.fleet.stderr.contains("API access: no credentials, loopback only, read only"))
        #expect(try RawHTTP.send(f.http, "GET", "/api/devices").status == 200)
        let post = try RawHTTP.send(f.http, "POST", Self.ackPath, headers: Self.json, body: "{}")
        #expect(post.status == 403)
        #expect(post.body == "acknowledging needs a credential with the write role; this receiver has none (--users, --tokens)\n")
        // A page elsewhere that rebinds its own name to 127.0.0.1 still sends its own name as Host.
        let rebound = try RawHTTP.send(f.http, "GET", "/api/devices", headers: ["Host": "attacker.example:\(f.http)"])
        #expect(rebound.status == 403)
        #expect(try RawHTTP.send(f.http, "GET", "/api/devices", headers: ["Host": "localhost:\(f.http)"]).status == 200)
        f.fleet.stop()
    }

    @Test func scriptFromADeviceIsEscapedInPageAndAPI() throws {
        let f = try FleetHTTPFixture(clientID: "fleet-script")
        // A device id carrying markup is refused (counted, never stored); markup in a stored field is escaped.
        try f.publish("<script>alert(1)/status", FleetPayloads.birth("<script>alert(1)", first: 1))
        try f.publish("gw-1/health", FleetPayloads.source("gw-1", 1, up: false, path: "/dev/<script>alert(2)", reason: "<script>alert(3)</script>"))
        #expect(try waitUntil(timeout: 60) { try f.db.rows("SELECT value FROM counters WHERE name = 'received'") == [["2"]] })
        #expect(try f.db.rows("SELECT value FROM counters WHERE name = 'rejected.bad_name'") == [["1"]])
        let api = try RawHTTP.send(f.http, "GET", "/api/devices/gw-1")
        #expect(api.status == 200)
        #expect(api.body.contains(#""path":"/dev/\u003cscript\u003ealert(2)","reason":"\u003cscript\u003ealert(3)\u003c/script\u003e""#))
        #expect(!api.body.contains("<"))
        for path in ["/", "/devices/gw-1", "/?device=%3Cscript%3Ealert(4)"] {
            let page = try RawHTTP.send(f.http, "GET", path)
            #expect(page.status == 200)
            #expect(!page.body.contains("<script>alert"), "\(path)")
            #expect(page.body.components(separatedBy: "<script").count == 2, "\(path)")   // the page's own script only
        }
        #expect(try RawHTTP.send(f.http, "GET", "/").body.contains("<td>/dev/&lt;script&gt;alert(2): &lt;script&gt;alert(3)&lt;/script&gt;</td>"))
        #expect(try RawHTTP.send(f.http, "GET", "/devices/%3Cscript%3Ealert(1)").status == 400)
        f.fleet.stop()
    }
}

/// Credential files that cannot be used stop the receiver before it starts: exit 78, the file and line named.
@Suite struct FleetCredentialFileTests {
    func refusal(_ file: String, _ text: String, mode: mode_t = 0o600, option: String = "--users") throws -> (Int32, String) {
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, mode)
        let p = try FleetReceiverProcess(["--http", "127.0.0.1:0", option, file, "--db", "/nonexistent/fleet.db"], waitForSubscription: false)
        #expect(p.waitForExit(timeout: 60))
        return (p.exitStatus, p.stderr)
    }

    @Test func badLinesNameFileAndLine() throws {
        let db = try TemporaryDatabase()
        let file = db.directory.appendingPathComponent("users").path
        let hash = FleetCredentials.userLine(name: "a", role: .read, password: "pw", cost: 10).dropFirst("a:read:".count)
        #expect(try refusal(file, "# users\nalice:admin:\(hash)\n") == (78, "vigil-fleet: \(file):2: role: 'admin' is not read or write"))
        #expect(try refusal(file, "alice:read:plaintext\n")
            == (78, "vigil-fleet: \(file):1: the password hash of 'alice' is not a bcrypt hash ($2b$…, 60 characters; make one with `vigil-fleet passwd alice`)"))
        #expect(try refusal(file, "\n<b>:read:\(hash)\n") == (78, "vigil-fleet: \(file):2: name: must be 1 to 128 letters, digits, '.', '_' or '-'"))
        #expect(try refusal(file, "alice:read:\(hash)\n", mode: 0o644)
            == (78, "vigil-fleet: --users: \(file) is open to other users (mode 644); chmod o-rwx \(file)"))
        #expect(try refusal(file, "ci:write:tooshort\n", option: "--tokens")
            == (78, "vigil-fleet: \(file):1: the token of 'ci' must be at least 32 printable characters without spaces (e.g. `openssl rand -hex 32`)"))
        #expect(try refusal(file, "# nobody\n", option: "--tokens") == (78, "vigil-fleet: \(file): no credentials in it (lines NAME:ROLE:SECRET)"))
    }

    /// `vigil-fleet passwd` reads the password from standard input and prints a line the receiver accepts.
    @Test func passwdPrintsALineThatVerifies() async throws {
        let db = try TemporaryDatabase()
        let out = db.directory.appendingPathComponent("passwd.out").path
        let (status, lines) = try runToolCapturing("/bin/sh", ["-c", "printf 'pässword\\n' | \"$0\" passwd alice --role write --cost 10",
                                                               FleetReceiverProcess.binary], outputFile: out, timeout: 60)
        #expect(status == 0)
        let line = lines.first ?? ""
        #expect(line.hasPrefix("alice:write:$2b$10$") && line.utf8.count == "alice:write:".utf8.count + 60)
        var credentials = FleetCredentials()
        try credentials.addUsers(line + "\n", file: "users")
        #expect(await credentials.caller(user: "alice", password: "pässword") == FleetCaller(name: "alice", role: .write))
        #expect(await credentials.caller(user: "alice", password: "password") == nil)
    }
}
