import Foundation
import Testing
import VigilAgent
import VigilCore
import VigilTestSupport

/// The real `vigil` with its disk outbox, persistent sequence numbers, health report, TLS and password.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct OutboxAgentTests {
    static func config(port: Int, scheme: String = "mqtt", mqttExtra: String = "", faults: String? = nil, device: String = "obx") -> String {
        """
        device: \(device)
        mqtt:
          broker: \(scheme)://127.0.0.1:\(port)
          keepalive: 5s
          reconnect_min: 200ms
          reconnect_max: 1s
        \(mqttExtra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        detector: { window: 40, warmup: 20, z_on: 6, z_off: 3, end_after: 3 }
        summary: { interval: 1s }
        log_level: debug
        sources:
          - kind: simulator
            name: sim
            rate: 50
            seed: 11
            channels:
              - { name: temperature, unit: "°C", mean: 22, std: 0.3, resolution: 0.01 }
            faults:
        \(faults ?? "      - { kind: spike, channel: temperature, rate_per_hour: 7200, magnitude: 20 }")
        """
    }

    static func json(_ m: MQTTSubscriber.Message) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(m.payload.utf8))) as? [String: Any] ?? [:]
    }

    static func seqs(_ messages: [MQTTSubscriber.Message]) -> [Int] {
        messages.compactMap { json($0)["seq"] as? Int }
    }

    private func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-obx-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    @Test func sequenceNumbersContinueAcrossACleanRestartAndSkipAheadAfterAKill() throws {
        let broker = try MosquittoBroker()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/obx/#"])
        let state = try tempDir()
        let yaml = Self.config(port: broker.port)

        let first = try VigilProcess(config: yaml, arguments: ["--duration", "3"], stateDirectory: state)
        #expect(first.waitForExit(timeout: 20) && first.exitStatus == 0, "\(first.stderr)")
        let one = Self.seqs(sub.waitUntil(timeout: 5) { $0.contains { $0.statusState == "offline" } })
        #expect(!one.isEmpty && one.sorted() == Array(1...one.count))

        // A clean stop records the exact next number: no gap.
        let second = try VigilProcess(config: yaml, arguments: ["--duration", "3"], stateDirectory: state)
        #expect(second.waitForExit(timeout: 20) && second.exitStatus == 0, "\(second.stderr)")
        let all = Self.seqs(sub.waitUntil(timeout: 5) { $0.filter { $0.statusState == "offline" }.count == 2 })
        #expect(all.sorted() == Array(1...all.count), "\(all)")
        #expect(second.stderr.contains("next_seq=\(one.count + 1)"), "\(second.stderr)")

        // A kill leaves the reserved block unused: the next run starts after it, never below.
        let third = try VigilProcess(config: yaml, arguments: [], stateDirectory: state)
        _ = sub.waitUntil(timeout: 10) { Self.seqs($0).count > all.count + 2 }
        third.kill()
        let fourth = try VigilProcess(config: yaml, arguments: ["--duration", "2"], stateDirectory: state)
        #expect(fourth.waitForExit(timeout: 20))
        let final = Self.seqs(sub.waitUntil(timeout: 5) { $0.filter { $0.statusState == "offline" }.count >= 3 })
        #expect(Set(final).count == final.count, "a sequence number was used twice")
        #expect(fourth.stderr.contains("next_seq=\(all.count + 1001)"), "\(fourth.stderr)")

        // Each run's birth declares where its numbers start; a clean stop says where they ended. The
        // numbers between the killed run's last and the next birth are a declared skip, not a loss.
        let status = sub.messages.compactMap(\.status)
        let births = status.filter { $0["state"] as? String == "online" }.compactMap { $0["first_seq"] as? Int }
        #expect(births == [1, one.count + 1, all.count + 1, all.count + 1001], "\(status)")
        let clean = status.filter { $0["clean"] as? Bool == true }.compactMap { $0["last_seq"] as? Int }
        #expect(clean.prefix(2) == [one.count, all.count], "\(status)")
        #expect(status.contains { $0["clean"] as? Bool == false }, "the killed run's will")
    }

    @Test func eventsWaitingOnDiskWhenTheAgentStopsAreSentByTheNextRun() throws {
        let broker = try MosquittoBroker(persistent: true)
        do {
            let s = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"], clientID: "obx-sub", persistentSession: true)
            s.stop()
        }
        broker.stop()
        let state = try tempDir()
        let yaml = Self.config(port: broker.port)
        let offline = try VigilProcess(config: yaml, arguments: ["--duration", "3"], stateDirectory: state)
        #expect(offline.waitForExit(timeout: 20) && offline.exitStatus == 0)
        #expect(offline.stderr.contains("stay in the outbox"), "\(offline.stderr)")
        let held = Self.loggedSeqs(offline.stderr)
        #expect(held.count >= 2, "\(offline.stderr)")

        try broker.start()
        let sub = try MQTTSubscriber(port: broker.port, topics: ["vigil/#"], clientID: "obx-sub", persistentSession: true)
        let online = try VigilProcess(config: yaml, arguments: ["--duration", "3"], stateDirectory: state)
        #expect(online.waitForExit(timeout: 20) && online.exitStatus == 0)
        #expect(online.stderr.contains("recovered from"), "\(online.stderr)")
        let got = Set(Self.seqs(sub.waitUntil(timeout: 10) { Set(Self.seqs($0)).isSuperset(of: held) }))
        #expect(got.isSuperset(of: held), "missing \(Set(held).subtracting(got).sorted())")
    }

    static func loggedSeqs(_ stderr: String) -> [Int] {
        stderr.split(separator: "\n").filter { $0.contains("anomaly started") || $0.contains("anomaly ended") || $0.contains("summary") }
            .compactMap { line in line.range(of: " seq=").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) } }
    }

    @Test func mqttsWithMutualTLSAndAPasswordFromTheCredentialsDirectory() throws {
        let pki = try TestCertificates()
        let ca = try pki.makeCA("ca")
        let server = try pki.issueServer(by: ca)
        let client = try pki.issue("client", commonName: "obx", by: ca, client: true)
        let secret = "pw-\(UUID().uuidString.prefix(8))"
        let broker = try MosquittoBroker(tls: .init(caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile,
                                                    requireClientCertificate: true), users: ["obx": secret])
        let sub = try MQTTSubscriber(port: broker.plainPort!, topics: ["vigil/obx/#"])
        // As systemd's LoadCredential= would: the file sits in $CREDENTIALS_DIRECTORY, the config names it relatively.
        let credentials = try tempDir()
        try "\(secret)\n".write(toFile: credentials + "/mqtt-password", atomically: true, encoding: .utf8)
        let extra = """
            username: obx
            password_file: mqtt-password
            tls: { ca_file: \(ca.certFile), cert_file: \(client.certFile), key_file: \(client.keyFile) }
            """
        // The config names another port; --broker (an mqtts:// URL) points at the TLS listener.
        let yaml = Self.config(port: 1, scheme: "mqtts", mqttExtra: extra)
        let agent = try VigilProcess(config: yaml, arguments: ["--duration", "4", "--broker", "mqtts://127.0.0.1:\(broker.port)"],
                                     environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(agent.waitForExit(timeout: 20) && agent.exitStatus == 0, "\(agent.stderr)")
        let got = sub.waitUntil(timeout: 5) { $0.contains { $0.statusState == "offline" } }
        #expect(got.contains { $0.topic == "vigil/obx/status" && $0.statusState == "online" }, "\(agent.stderr)\n\(broker.log)")
        #expect(got.contains { $0.topic.hasPrefix("vigil/obx/summary/") })
        #expect(agent.stderr.contains("tls=true") && agent.stderr.contains("username=obx"))
        #expect(!agent.stderr.contains(secret), "the password appeared in the log")

        // A wrong password: the agent keeps running and retrying, says why, and never prints either password.
        try "wrong-\(secret)\n".write(toFile: credentials + "/mqtt-password", atomically: true, encoding: .utf8)
        let refused = try VigilProcess(config: yaml, arguments: ["--duration", "3", "--broker", "mqtts://127.0.0.1:\(broker.port)"],
                                       environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(refused.waitForExit(timeout: 20) && refused.exitStatus == 0)
        #expect(refused.stderr.contains("refused the connection: not authorised"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(secret))
    }

    @Test func badTLSAndOutboxSettingsAreConfigErrors() throws {
        let cases: [(String, String)] = [
            ("tls: { ca_file: /x.pem }", "mqtt.tls: TLS settings need an mqtts:// broker"),
            ("tls: { cert_file: /c.pem }", "mqtt.tls.key_file: is needed with cert_file"),
            ("tls: { version: tlsv1.1 }", "mqtt.tls.version: must be one of tlsv1.2, tlsv1.3"),
            ("outbox: { sync: sometimes }", "unknown sync policy 'sometimes'"),
            ("outbox: { max_bytes: lots }", "'lots' is not a size"),
            ("password_file: pw", "mqtt.password_file: needs mqtt.username"),
            ("queue_limit: 5\noutbox: { max_events: 6 }", "mqtt.queue_limit: is the old name of outbox.max_events"),
        ]
        for (extra, expected) in cases {
            let scheme = extra.hasPrefix("tls: { ca") ? "mqtt" : "mqtts"
            let check = try VigilProcess(config: Self.config(port: 8883, scheme: scheme, mqttExtra: extra), command: "check", arguments: [])
            #expect(check.waitForExit(timeout: 10))
            #expect(check.exitStatus == 78, "\(extra): \(check.stderr)")
            #expect(check.stderr.contains(expected), "\(extra): \(check.stderr)")
        }
        // A password in the broker URL is refused without echoing it.
        let run = try VigilProcess(config: Self.config(port: 1883), arguments: ["--broker", "mqtt://u:hunter2@127.0.0.1:1883"])
        #expect(run.waitForExit(timeout: 10) && run.exitStatus == 78)
        #expect(run.stderr.contains("cannot carry credentials") && !run.stderr.contains("hunter2"), "\(run.stderr)")
        // An unreadable password file stops the start with EX_CONFIG.
        let missing = try VigilProcess(config: Self.config(port: 1883, mqttExtra: "username: u\npassword_file: /nonexistent/pw"), arguments: [])
        #expect(missing.waitForExit(timeout: 10) && missing.exitStatus == 78)
        #expect(missing.stderr.contains("mqtt.password_file: cannot read '/nonexistent/pw'"), "\(missing.stderr)")
    }
}
