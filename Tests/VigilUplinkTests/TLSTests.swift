import Foundation
import Logging
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilUplink

/// TLS and authentication against a real mosquitto, with certificates made here by `openssl`.
/// Serialized: the failure tests count retries over a fixed time.
@Suite("TLS and authentication against mosquitto", .serialized, .timeLimit(.minutes(3)))
struct TLSTests {
    let logs = LogCapture()

    private func settings(_ broker: MosquittoBroker, device: String, tls: MQTTUplink.TLS?, username: String? = nil,
                          password: String? = nil, reconnectMin: Double = 0.2, reconnectMax: Double = 1.6) -> MQTTUplink.Settings {
        var s = MQTTUplink.Settings.test(port: broker.port, device: device, reconnectMin: reconnectMin, reconnectMax: reconnectMax)
        s.tls = tls
        s.username = username
        s.password = password.map(MQTTUplink.Password.init)
        return s
    }

    /// Connects, sends three events and checks they arrive (through the broker's plain listener).
    private func expectDelivery(_ broker: MosquittoBroker, _ s: MQTTUplink.Settings) throws {
        let topic = s.statusTopic.replacingOccurrences(of: "/status", with: "/anomaly/c1")
        let subscriber = try MQTTSubscriber(port: broker.plainPort ?? broker.port, topics: [topic])
        let uplink = MQTTUplink(settings: s, logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        for m in numbered(3, topic: topic) { uplink.enqueue(m) }
        let got = subscriber.waitFor(count: 3, timeout: 10)
        #expect(payloads(got, on: topic) == ["p0", "p1", "p2"], "\(logs.lines.map(\.message))\n\(broker.log)")
        let stats = uplink.waitForStats(timeout: 5) { $0.acked == 3 }
        #expect(stats.connects == 1 && stats.connectFailures == 0)
    }

    /// Runs an uplink that cannot connect for `seconds`; returns its stats and the warning lines it logged.
    private func failingFor(_ seconds: Double, _ s: MQTTUplink.Settings) throws -> (MQTTUplink.Stats, [String], Double?) {
        let uplink = MQTTUplink(settings: s, logger: logs.logger())
        try uplink.start()
        Thread.sleep(forTimeInterval: seconds)
        let cpu = uplink.networkThreadCPUSeconds
        uplink.shutdown(drainTimeout: 0)
        let warnings = logs.lines.filter { $0.level == .warning }.map(\.message)
        return (uplink.stats, warnings, cpu)
    }

    /// One log line per attempt, a growing backoff (0.2, 0.4, 0.8, 1.6 s…: at most 6 attempts in 4 s), no busy thread.
    private func expectBackoff(_ stats: MQTTUplink.Stats, _ warnings: [String], _ cpu: Double?, containing text: String) {
        #expect(stats.connects == 0)
        #expect((2...6).contains(stats.connectFailures), "\(stats.connectFailures) attempts in 4 s: \(warnings)")
        #expect(warnings.count == stats.connectFailures, "one line per attempt: \(warnings)")
        #expect(warnings.allSatisfy { $0.contains(text) }, "expected '\(text)' in \(warnings)")
        if let cpu { #expect(cpu < 0.5, "network thread used \(cpu) s of CPU while retrying") }
        print("  → \(warnings.first ?? "-")")
    }

    @Test("TLS with server verification: the broker's certificate is checked against our CA, and messages flow")
    func serverVerification() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let server = try pki.issueServer(by: ca)
        let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile))
        try expectDelivery(broker, settings(broker, device: "tls", tls: .init(caFile: ca.certFile)))
        // A CA directory (hashed names, as `openssl rehash` makes them) works too.
        let caDir = pki.path("cadir")
        try FileManager.default.createDirectory(atPath: caDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.certFile, toPath: caDir + "/ca.pem")
        _ = try runOpenSSL(["rehash", caDir])
        try expectDelivery(broker, settings(broker, device: "tlsdir", tls: .init(caDir: caDir)))
    }

    @Test("the lowest TLS version is enforced: asking for TLS 1.3 from a server that speaks only 1.2 fails with a clear reason")
    func minimumVersion() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let server = try pki.issueServer(by: ca)
        let port = try freeLocalPort()
        // A bare TLS 1.2 server is enough: the handshake fails before any MQTT.
        let s = Process()
        s.executableURL = URL(fileURLWithPath: TestCertificates.openssl)
        s.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", server.certFile, "-key", server.keyFile, "-tls1_2", "-quiet"]
        s.standardInput = FileHandle.nullDevice
        s.standardOutput = FileHandle.nullDevice
        s.standardError = FileHandle.nullDevice
        try s.run()
        defer { kill(s.processIdentifier, SIGKILL); s.waitUntilExit() }
        let deadline = Date().addingTimeInterval(5)
        while !localPortAccepts(port), Date() < deadline { usleep(20_000) }

        var settings = MQTTUplink.Settings.test(port: port, device: "v13", reconnectMin: 0.2, reconnectMax: 1.6)
        settings.tls = .init(caFile: ca.certFile, minimumVersion: "tlsv1.3")
        let (stats, warnings, cpu) = try failingFor(4, settings)
        expectBackoff(stats, warnings, cpu, containing: "no TLS version in common")
    }

    @Test("mutual TLS: with the client certificate the broker requires, it connects; without it, or with one it does not trust, a clear error and no tight retry loop")
    func mutualTLS() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let other = try pki.makeCA("other")
        let server = try pki.issueServer(by: ca)
        let client = try pki.issue("client", commonName: "gw-1", by: ca, client: true)
        let stranger = try pki.issue("stranger", commonName: "gw-1", by: other, client: true)
        let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile,
                                                    requireClientCertificate: true))
        try expectDelivery(broker, settings(broker, device: "mtls", tls: .init(caFile: ca.certFile, certFile: client.certFile,
                                                                                  keyFile: client.keyFile)))
        do {
            let (stats, warnings, cpu) = try failingFor(4, settings(broker, device: "nocert", tls: .init(caFile: ca.certFile)))
            expectBackoff(stats, warnings, cpu, containing: "client certificate")
        }
        let mark = logs.lines.count
        do {
            let (stats, _, cpu) = try failingFor(4, settings(broker, device: "stranger", tls: .init(caFile: ca.certFile, certFile: stranger.certFile,
                                                                                               keyFile: stranger.keyFile)))
            let warnings = logs.lines.dropFirst(mark).filter { $0.level == .warning }.map(\.message)
            expectBackoff(stats, warnings, cpu, containing: "client certificate")
        }
    }

    @Test("a wrong CA is reported as such, once per backoff step, and retried without a tight loop")
    func wrongCA() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let wrong = try pki.makeCA("wrong")
        let server = try pki.issueServer(by: ca)
        let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile))
        let (stats, warnings, cpu) = try failingFor(4, settings(broker, device: "wrongca", tls: .init(caFile: wrong.certFile)))
        expectBackoff(stats, warnings, cpu, containing: "wrong CA")
        #expect(warnings.allSatisfy { $0.hasPrefix("MQTT TLS handshake with mqtts://127.0.0.1:\(broker.port) failed: certificate verify failed: ") },
                "\(warnings)")
    }

    @Test("an expired server certificate and a certificate for another host are named as such")
    func expiredAndMismatched() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let expired = try pki.issueServer("expired", by: ca, days: -1)
        let elsewhere = try pki.issueServer("elsewhere", by: ca, altNames: ["DNS:broker.example.net"])
        do {
            let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: expired.certFile, keyFile: expired.keyFile))
            let (stats, warnings, cpu) = try failingFor(4, settings(broker, device: "expired", tls: .init(caFile: ca.certFile)))
            expectBackoff(stats, warnings, cpu, containing: "certificate has expired")
        }
        let mark = logs.lines.count
        do {
            let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: elsewhere.certFile, keyFile: elsewhere.keyFile))
            let (stats, _, cpu) = try failingFor(4, settings(broker, device: "elsewhere", tls: .init(caFile: ca.certFile)))
            let warnings = logs.lines.dropFirst(mark).filter { $0.level == .warning }.map(\.message)
            expectBackoff(stats, warnings, cpu, containing: "does not name the host")
            // `insecure` skips only the name check: the same broker is then accepted.
            try expectDelivery(broker, settings(broker, device: "insecure", tls: .init(caFile: ca.certFile, insecure: true)))
        }
    }

    @Test("without a CA file the system's trust store is used, and verification stays on: a private CA is not trusted")
    func systemStoreByDefault() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let server = try pki.issueServer(by: ca)
        let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile))
        let (stats, warnings, cpu) = try failingFor(4, settings(broker, device: "osstore", tls: .init()))
        expectBackoff(stats, warnings, cpu, containing: "certificate verify failed")
    }

    @Test("a CA file that cannot be read is named in the error")
    func unreadableCAFile() throws {
        let broker = try MosquittoBroker()
        let (stats, warnings, cpu) = try failingFor(2, settings(broker, device: "nofile", tls: .init(caFile: "/nonexistent/ca.pem")))
        #expect(stats.connects == 0)
        #expect(warnings.first?.contains("cannot read mqtt.tls.ca_file '/nonexistent/ca.pem': No such file or directory") == true, "\(warnings)")
        _ = cpu
    }

    @Test("username and password: accepted when right; a wrong password is refused with the broker's reason, retried with backoff, and never logged")
    func passwordAuthentication() throws {
        let secret = "s3cr3t-\(UUID().uuidString.prefix(6))"
        let broker = try MosquittoBroker(users: ["gw-1": secret])
        try expectDelivery(broker, settings(broker, device: "auth", tls: nil, username: "gw-1", password: secret))
        let mark = logs.lines.count
        let wrong = "wrong-\(UUID().uuidString.prefix(6))"
        let (stats, _, cpu) = try failingFor(4, settings(broker, device: "badpw", tls: nil, username: "gw-1", password: wrong))
        let warnings = logs.lines.dropFirst(mark).filter { $0.level == .warning }.map(\.message)
        expectBackoff(stats, warnings, cpu, containing: "refused the connection")
        #expect(warnings.allSatisfy { $0.contains("mqtt.password_file") }, "\(warnings)")
        #expect(!logs.lines.contains { $0.message.contains(secret) || $0.message.contains(wrong) })
        #expect("\(MQTTUplink.Password(secret))" == "<redacted>")
        #expect(!String(reflecting: settings(broker, device: "x", tls: nil, password: secret)).contains(secret))
    }

    @Test("TLS and a password together, as cloud brokers (HiveMQ Cloud, EMQX) use them")
    func tlsWithPassword() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let server = try pki.issueServer(by: ca)
        let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile),
                                         users: ["gw-2": "pw"])
        try expectDelivery(broker, settings(broker, device: "tlspw", tls: .init(caFile: ca.certFile), username: "gw-2", password: "pw"))
    }

    private func runOpenSSL(_ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestCertificates.openssl)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
