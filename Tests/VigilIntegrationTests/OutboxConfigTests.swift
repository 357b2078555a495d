import Testing
import VigilAgent
import VigilCore

/// The `mqtt` settings added with the outbox and TLS: parsing, defaults and their errors.
@Suite struct OutboxConfigTests {
    static func yaml(_ mqtt: String) -> String {
        """
        device: gw-1
        mqtt:
        \(mqtt.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        sources:
          - kind: simulator
        """
    }

    @Test func defaults() throws {
        let c = try ConfigLoader.parse(Self.yaml("broker: mqtt://127.0.0.1"), file: "t.yaml")
        #expect(c.mqtt.outbox == OutboxConfig())
        #expect(c.mqtt.maxEvents == 100_000 && c.mqtt.outbox.maxBytes == 16 << 20)
        #expect(c.mqtt.outbox.sync == .batch && c.mqtt.outbox.syncInterval == .seconds(1) && c.mqtt.outbox.drainRate == 100)
        #expect(c.mqtt.outbox.resolvedDirectory(environment: [:]) == "/var/lib/vigil/outbox")
        #expect(c.mqtt.outbox.resolvedDirectory(environment: ["STATE_DIRECTORY": "/var/lib/vigil:/var/lib/other"]) == "/var/lib/vigil/outbox")
        #expect(c.mqtt.tls == nil && c.mqtt.username == nil && c.mqtt.passwordFile == nil)
        #expect(c.mqtt.healthInterval == .seconds(60))
    }

    @Test func everyOutboxAndTLSField() throws {
        let c = try ConfigLoader.parse(Self.yaml("""
            broker: mqtts://broker.example.com
            username: gw-1
            password_file: mqtt-password
            health_interval: 5m
            tls: { ca_file: /etc/vigil/ca.pem, ca_dir: /etc/ssl/certs, cert_file: /etc/vigil/c.pem, key_file: /etc/vigil/k.pem, version: tlsv1.3, insecure: true }
            outbox: { dir: /data/outbox, max_events: 5000, max_bytes: 512k, sync: every_event, sync_interval: 250ms, drain_rate: 20 }
            """), file: "t.yaml")
        #expect(try BrokerAddress.parse(c.mqtt.broker).get() == BrokerAddress(host: "broker.example.com", port: 8883, tls: true))
        #expect(c.mqtt.tls == TLSConfig(caFile: "/etc/vigil/ca.pem", caDir: "/etc/ssl/certs", certFile: "/etc/vigil/c.pem",
                                        keyFile: "/etc/vigil/k.pem", version: "tlsv1.3", insecure: true))
        #expect(c.mqtt.username == "gw-1" && c.mqtt.passwordFile == "mqtt-password")
        #expect(c.mqtt.outbox.resolvedDirectory(environment: ["STATE_DIRECTORY": "/x"]) == "/data/outbox")
        #expect(c.mqtt.maxEvents == 5000 && c.mqtt.outbox.maxBytes == 512 << 10)
        #expect(c.mqtt.outbox.sync == .everyEvent && c.mqtt.outbox.syncInterval == .milliseconds(250) && c.mqtt.outbox.drainRate == 20)
        #expect(c.mqtt.healthInterval == .seconds(300))
    }

    @Test func theOldQueueLimitStillSetsMaxEvents() throws {
        let c = try ConfigLoader.parse(Self.yaml("queue_limit: 777"), file: "t.yaml")
        #expect(c.mqtt.maxEvents == 777)
    }

    @Test func brokerURLs() throws {
        #expect(try BrokerAddress.parse("mqtts://h").get() == BrokerAddress(host: "h", port: 8883, tls: true))
        #expect(try BrokerAddress.parse("mqtts://[::1]:9999").get() == BrokerAddress(host: "::1", port: 9999, tls: true))
        #expect(try BrokerAddress.parse("mqtt://h").get() == BrokerAddress(host: "h", port: 1883, tls: false))
        guard case .failure(let e) = BrokerAddress.parse("mqtts://user:pa55word@h:8883") else { Issue.record("accepted credentials"); return }
        #expect(!e.message.contains("pa55word"))
        #expect(throws: BrokerAddress.ParseError.self) { try BrokerAddress.parse("ssl://h").get() }
    }

    @Test func sizes() {
        #expect(ByteCount(parsing: "4096")?.bytes == 4096)
        #expect(ByteCount(parsing: "512k")?.bytes == 512 << 10)
        #expect(ByteCount(parsing: "16MiB")?.bytes == 16 << 20)
        #expect(ByteCount(parsing: "1.5M")?.bytes == 3 << 19)
        #expect(ByteCount(parsing: "2GB")?.bytes == 2 << 30)
        #expect(ByteCount(parsing: "lots") == nil)
        #expect(ByteCount(parsing: "-1k") == nil)
    }

    @Test func errorsNameTheField() {
        func problems(_ mqtt: String) -> [String] {
            do { _ = try ConfigLoader.parse(Self.yaml(mqtt), file: "t.yaml"); return [] } catch { return error.problems.map(\.description) }
        }
        #expect(problems("broker: mqtt://h\ntls: { ca_file: /ca.pem }").contains { $0.contains("mqtt.tls: TLS settings need an mqtts:// broker") })
        #expect(problems("broker: mqtts://h\ntls: { key_file: /k.pem }").contains { $0.contains("mqtt.tls.cert_file: is needed with key_file") })
        #expect(problems("outbox: { max_events: 0, drain_rate: 0 }").count == 2)
        #expect(problems("outbox: { sync: fsync }").contains { $0.contains("unknown sync policy 'fsync' (known: every_event, batch, interval)") })
        #expect(problems("outbox: { max_bytes: 100 }").contains { $0.contains("mqtt.outbox.max_bytes: must be at least 4096 bytes") })
        #expect(problems("outbox: { colour: red }").contains { $0.contains("unknown field 'colour'") })
        #expect(problems("health_interval: 0").contains { $0.contains("mqtt.health_interval: must be at least 1s") })
    }
}
