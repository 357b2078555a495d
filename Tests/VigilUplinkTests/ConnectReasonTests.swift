import Foundation
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilUplink

/// Each connect or connection-loss log line gives the real reason (issue 15, defect 10), and an oversized
/// packet from the broker is refused before it is read (defect 8).
@Suite("Connect reasons", .serialized, .timeLimit(.minutes(2)))
struct ConnectReasonTests {
    let logs = LogCapture()

    /// Starts an uplink, waits until `count` warning lines are logged, stops it; returns those lines with
    /// their "(attempt N, retry in X s)" tail cut off, and the tails' attempt numbers.
    private func warnings(_ s: MQTTUplink.Settings, count: Int, timeout: Double = 30) throws -> [String] {
        let uplink = MQTTUplink(settings: s, logger: logs.logger())
        try uplink.start()
        let deadline = Date().addingTimeInterval(timeout)
        while logs.lines.filter({ $0.level == .warning }).count < count, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        uplink.shutdown(drainTimeout: 0)
        return logs.lines.filter { $0.level == .warning }.prefix(count).map { line in
            line.message.range(of: " (attempt ").map { String(line.message[..<$0.lowerBound]) }
                ?? line.message.range(of: "; ").map { String(line.message[..<$0.lowerBound]) } ?? line.message
        }
    }

    @Test("mqtts:// to a plain MQTT port: every attempt gives the reason the first one gives, none says 'Connection refused'")
    func tlsToPlainPort() throws {
        let broker = try MosquittoBroker()
        var s = MQTTUplink.Settings.test(port: broker.port, device: "tlsplain", reconnectMin: 0.05, reconnectMax: 0.1)
        s.tls = MQTTUplink.TLS(caFile: nil, caDir: nil, certFile: nil, keyFile: nil, minimumVersion: "tlsv1.2", insecure: false)
        let lines = try warnings(s, count: 4)
        #expect(lines.count == 4)
        // mosquitto reads the ClientHello as a bad packet and closes the socket with it unread: a reset.
        #expect(lines == Array(repeating: "MQTT TLS handshake with mqtts://127.0.0.1:\(broker.port) failed: the broker closed the TLS connection before CONNACK (Connection reset by peer): it requires a client certificate it trusts (mqtt.tls.cert_file and key_file), or this is not a TLS port", count: 4))
    }

    @Test("a broker that accepts TCP but never answers CONNECT: 'no CONNACK within 5.0 s' (the shortest keepalive), not 'Unknown error'")
    func silentBroker() throws {
        let server = try FakeMQTTServer(.silent)
        var s = MQTTUplink.Settings.test(port: server.port, device: "silent", reconnectMin: 0.05, reconnectMax: 0.1)
        s.keepalive = 5
        let lines = try warnings(s, count: 2)
        #expect(lines == Array(repeating: "MQTT broker 127.0.0.1:\(server.port) not reachable: no CONNACK within 5.0 s", count: 2))
    }

    @Test("an unsolicited 200 MB PUBLISH is refused from its header: one line, the connection dropped, its payload left unread")
    func oversizedPublish() throws {
        // PUBLISH, remaining length 209,715,200 (varint 80 80 80 64), then the payload.
        let server = try FakeMQTTServer(.connackThen([0x30, 0x80, 0x80, 0x80, 0x64], padding: 209_715_200))
        let s = MQTTUplink.Settings.test(port: server.port, device: "big", reconnectMin: 30, reconnectMax: 30)
        let lines = try warnings(s, count: 1)
        #expect(lines == ["MQTT connection to 127.0.0.1:\(server.port) lost: the broker sent a PUBLISH packet of 209715200 bytes (this agent subscribes to nothing and accepts packets of at most 16383 bytes)"], "\(logs.lines.map(\.message))")
        // Only what the socket buffers hold got out of the server (libmosquitto would have taken all 200 MB).
        #expect(server.bytesSent < 16 << 20, "\(server.bytesSent) bytes sent")
        #expect(server.connections == 1)
    }

    @Test("a PUBLISH header that arrives a byte at a time is still refused before libmosquitto reads it")
    func oversizedHeaderInPieces() throws {
        let server = try FakeMQTTServer(.connackThen([0x30], padding: 0))
        let s = MQTTUplink.Settings.test(port: server.port, device: "pieces", reconnectMin: 30, reconnectMax: 30)
        let uplink = MQTTUplink(settings: s, logger: logs.logger())
        try uplink.start()
        defer { uplink.shutdown(drainTimeout: 0) }
        uplink.waitForStats(timeout: 10) { $0.connected }
        // The rest of the length, later: 0xFF 0xFF 0x7F is 2,097,151 bytes.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(server.sendToAll([0xFF]) && server.sendToAll([0xFF, 0x7F]))
        let deadline = Date().addingTimeInterval(10)
        while !logs.lines.contains(where: { $0.level == .warning }), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(logs.lines.filter { $0.level == .warning }.map(\.message).first?.hasPrefix("MQTT connection to 127.0.0.1:\(server.port) lost: the broker sent a PUBLISH packet of 2097151 bytes (") == true,
                "\(logs.lines.map(\.message))")
    }

    @Test("packet headers are walked to the end: whole, incomplete, oversized and malformed")
    func headerWalk() {
        func check(_ bytes: [UInt8], full: Bool = false) -> IncomingPackets.Verdict {
            bytes.withUnsafeBytes { IncomingPackets.check($0, full: full) }
        }
        #expect(check([]) == .whole)
        #expect(check([0x40, 0x02, 0x00, 0x01, 0xD0, 0x00]) == .whole)
        #expect(check([0x40, 0x02, 0x00]) == .incomplete)
        #expect(check([0x40, 0x02, 0x00], full: true) == .whole)
        #expect(check([0x30, 0xFF]) == .incomplete)
        #expect(check([0x40, 0x02, 0x00, 0x01, 0x30, 0x80, 0x80, 0x01]) == .oversized(type: 3, length: 16_384))
        #expect(check([0x30, 0xFF, 0x7F]) == .incomplete) // 16,383 bytes: allowed, not all there yet
        #expect(check([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) == .oversized(type: 3, length: .max))
    }
}
