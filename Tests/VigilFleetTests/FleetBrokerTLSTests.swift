import Foundation
import Testing
import VigilTestSupport

/// `vigil-fleet` to a real mosquitto over TLS with a password, certificates made here by `openssl`: the right CA
/// and password store what is published; a wrong CA or password is one clear logged error and nothing stored.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FleetBrokerTLSTests {
    let pki: TestCertificates
    let ca: TestCertificates.Identity
    let broker: MosquittoBroker
    let db: TemporaryDatabase

    init() throws {
        pki = try TestCertificates()
        ca = try pki.makeCA("ca")
        let server = try pki.issueServer(by: ca)
        broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile),
                                     users: ["fleet": "right horse battery"])
        db = try TemporaryDatabase()
    }

    var url: String { "mqtts://127.0.0.1:\(broker.port)" }

    /// A password file of mode 0600.
    func passwordFile(_ password: String) throws -> String {
        let path = db.directory.appendingPathComponent("mqtt-password-\(UUID().uuidString.prefix(6))").path
        try (password + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        return path
    }

    func publishAnomaly() throws {
        // Through the broker's anonymous plain listener (a gateway's stand-in).
        try mqttPublish(port: broker.plainPort!, topic: "vigil/gw-t/anomaly/temperature", payload: FleetPayloads.anomaly("gw-t", 1, "start"))
    }

    /// Waits until the receiver logged `text` at least twice (an error, then the same again at debug level).
    func waitForRepeatedFailure(_ fleet: FleetReceiverProcess, _ text: String) -> [String] {
        _ = waitUntil(timeout: 60) { fleet.stderr.components(separatedBy: "\n").filter { $0.contains(text) }.count >= 2 }
        return fleet.stderr.components(separatedBy: "\n").filter { $0.contains(text) }
    }

    @Test func rightCAAndPasswordReceiveAndStore() throws {
        let fleet = try FleetReceiverProcess(["--broker", url, "--ca-file", ca.certFile, "--username", "fleet",
                                              "--password-file", try passwordFile("right horse battery"),
                                              "--db", db.path, "--client-id", "fleet-tls"], timeout: 60)
        try publishAnomaly()
        #expect(try waitUntil(timeout: 60) { try db.rows("SELECT count(*) FROM events") == [["1"]] }, "\(fleet.stderr)")
        #expect(try db.rows("SELECT device, seq, kind, event, subject FROM events") == [["gw-t", "1", "anomaly", "start", "temperature"]])
        #expect(fleet.stderr.contains("connected to \(url) as fleet-tls"), "\(fleet.stderr)")
        #expect(!fleet.stderr.contains("right horse battery"))
        fleet.stop()
        #expect(fleet.exitStatus == 0)
    }

    @Test func wrongCAIsOneClearErrorAndNothingStored() throws {
        let other = try pki.makeCA("other")
        let fleet = try FleetReceiverProcess(["--broker", url, "--ca-file", other.certFile, "--username", "fleet",
                                              "--password-file", try passwordFile("right horse battery"),
                                              "--db", db.path, "--client-id", "fleet-tls-ca", "--log-level", "debug"], waitForSubscription: false)
        try publishAnomaly()
        let text = "MQTT \(url): TLS handshake failed: certificate verify failed: self-signed certificate in certificate chain: the broker's certificate is not signed by a CA in --ca-file (wrong CA?); retrying in"
        let lines = waitForRepeatedFailure(fleet, text)
        #expect(lines.count >= 2, "\(fleet.stderr)")
        #expect(lines.filter { $0.contains(" error vigil-fleet") }.count == 1, "logged once at error level: \(lines)")
        #expect(try db.rows("SELECT count(*) FROM events") == [["0"]])
        fleet.stop()
    }

    @Test func wrongPasswordIsOneClearError() throws {
        let fleet = try FleetReceiverProcess(["--broker", url, "--ca-file", ca.certFile, "--username", "fleet",
                                              "--password-file", try passwordFile("wrong horse"),
                                              "--db", db.path, "--client-id", "fleet-tls-pw", "--log-level", "debug"], waitForSubscription: false)
        let text = "MQTT \(url): Connection Refused: not authorised. (the broker refused these credentials or this client: check --username, --password-file and the broker's ACL); retrying in"
        let lines = waitForRepeatedFailure(fleet, text)
        #expect(lines.count >= 2, "\(fleet.stderr)")
        #expect(lines.filter { $0.contains(" error vigil-fleet") }.count == 1, "logged once at error level: \(lines)")
        #expect(!fleet.stderr.contains("wrong horse"))
        fleet.stop()
    }

    /// Bad TLS and credential settings exit 78 naming the option, or the config file's line and key.
    @Test func badSettingsNameTheOptionOrLine() throws {
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let p = try FleetReceiverProcess(arguments + ["--db", db.path], waitForSubscription: false)
            #expect(p.waitForExit(timeout: 60))
            return (p.exitStatus, p.stderr.replacingOccurrences(of: db.directory.path, with: "DIR"))
        }
        #expect(try run(["--broker", "mqtt://127.0.0.1:1883", "--ca-file", ca.certFile]) == (78, "--ca-file: TLS needs an mqtts:// broker"))
        #expect(try run(["--broker", url, "--ca-file", "/nonexistent/ca.crt", "--cert-file", ca.certFile, "--tls-version", "tlsv1.1"]) == (78, """
            --ca-file: cannot read '/nonexistent/ca.crt': No such file or directory
            --tls-version: 'tlsv1.1' is not tlsv1.2 or tlsv1.3
            --cert-file: --cert-file and --key-file go together (mutual TLS)
            """))
        let empty = try passwordFile("")
        #expect(try run(["--broker", url, "--password-file", empty]).1 == """
            --password-file: a password needs --username
            --password-file: '\(empty.replacingOccurrences(of: db.directory.path, with: "DIR"))' is empty
            """)
        #expect(try run(["--broker", "mqtts://fleet:pw@127.0.0.1"]) == (78, "--broker: credentials do not belong in the broker URL (--username, --password-file)"))
        let yaml = db.directory.appendingPathComponent("fleet.yaml").path
        try "broker: \(url)\nusername: fleet\npassword_file: /nonexistent/pw\ntls:\n  ca_file: \(ca.certFile)\n  version: ssl3\n"
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        #expect(try run(["--config", yaml]) == (78, """
            DIR/fleet.yaml:6:3: tls.version: 'ssl3' is not tlsv1.2 or tlsv1.3
            DIR/fleet.yaml:3:1: password_file: cannot read '/nonexistent/pw': No such file or directory
            """))
    }
}
