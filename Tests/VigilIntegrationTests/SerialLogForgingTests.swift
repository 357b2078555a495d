import Foundation
import Testing
import VigilSources
import VigilTestSupport

/// Log forging from the serial line (issue 15, defect 11): text a device sends (here a JSON key
/// with an escaped newline and an ANSI escape) reaches the log escaped, on the agent's own line.
@Suite(.serialized) struct SerialLogForgingTests {
    static let forgedKey = #"x\n2026-01-01T00:00:00.000Z CRITICAL forged\u001b[31m"#

    @Test func aKeyWithANewlineAndAnEscapeIsLoggedEscaped() throws {
        let dir = try SerialEndToEndTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pty = try VirtualSerialPort(link: dir + "/ttyESP0")
        let yaml = """
            device: itest
            mqtt: { broker: "mqtt://127.0.0.1:1" }
            sources:
              - kind: serial
                name: esp
                path: \(pty.path)
                format: json
                fields:
                  - { field: t, channel: temperature }
            """
        let agent = try VigilProcess(config: yaml, arguments: [])
        // Written until the agent reports the key: it may open the pty after the first lines.
        let deadline = Date().addingTimeInterval(15)
        while !agent.stderr.contains("ignoring field(s)") && Date() < deadline {
            _ = pty.write(line: "{\"t\":1,\"\(Self.forgedKey)\":2}\r\n")
            Thread.sleep(forTimeInterval: 0.1)
        }
        agent.terminate()
        #expect(agent.waitForExit(timeout: 15))
        let log = agent.stderr
        #expect(log.contains("serial esp: ignoring field(s) not in fields: x\\n2026-01-01T00:00:00.000Z CRITICAL forged\\u001b[31m"), "\(log)")
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("2026-01-01T00:00:00.000Z CRITICAL") }, "\(log)")
        #expect(!log.contains("\u{1b}"), "\(log)")
    }
}
