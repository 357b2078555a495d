import Foundation
import Testing
import VigilCore
@testable import VigilSources

/// End to end through real pseudo-terminals: writer → pty → SerialSource → sink.
@Suite struct SerialSourceTests {
    static let names = espFields.map(\.field)

    static func config(_ path: String, format: SerialLineFormat = .kv, maxLineLength: Int = 512) -> SerialSourceConfig {
        SerialSourceConfig(name: "esp", path: path, format: format, maxLineLength: maxLineLength,
                           reopenMin: .milliseconds(100), reopenMax: .milliseconds(400), fields: espFields)
    }

    static func expectRows(_ got: [[Double]], _ expected: [[Double?]], sourceLocation: SourceLocation = #_sourceLocation) {
        let want = expected.map { $0.map { v in v.flatMap { $0.isFinite ? $0 : nil } ?? .nan } }
        #expect(got.count == want.count, sourceLocation: sourceLocation)
        for (g, w) in zip(got, want) { #expect(sameValues(g, w), "\(g) vs \(w)", sourceLocation: sourceLocation) }
    }

    @Test(arguments: SerialLineFormat.allCases)
    func eachFormatEndToEnd(_ format: SerialLineFormat) throws {
        let dir = SerialTempDir()
        defer { dir.cleanup() }
        let pty = try VirtualSerialPort(link: dir.path + "/ttyV0")
        defer { pty.close() }
        let log = SerialEventLog()
        let source = try SerialSource(config: Self.config(pty.path, format: format), log: log.logger)
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { source.counters.isOpen })
        #expect(source.counters.device == pty.path)

        var formatter = SerialLineFormatter(format: format, fields: Self.names)
        let rows: [[Double?]] = [[21.5, 40.1, 55], [21.53, nil, 56.25], [-3.5e-3, 45, .nan], [22, 41, 1e-7]]
        let monoBefore = Clock.monotonicNanos()
        let wallBefore = Clock.wallNanos()
        for r in rows { #expect(pty.write(line: formatter.next(r), waitMilliseconds: 1000)) }
        #expect(waitUntil(3) { running.sink.count >= rows.count * 3 })
        let monoAfter = Clock.monotonicNanos()
        let wallAfter = Clock.wallNanos()

        Self.expectRows(running.sink.rows(channels: 3), rows)
        let readings = running.sink.readings
        for r in readings {
            #expect(r.mono >= monoBefore && r.mono <= monoAfter)
            #expect(r.wall >= wallBefore && r.wall <= wallAfter)
        }
        #expect(zip(readings, readings.dropFirst()).allSatisfy { $0.mono <= $1.mono })

        let c = source.counters
        let header = format == .csv || format == .semicolon ? 1 : 0
        #expect(c.lines == rows.count + header)
        #expect(c.headerLines == header)
        #expect(c.dataLines == rows.count)
        #expect(c.readings == 10)
        #expect(c.missing == 2)
        #expect(c.badLines == 0 && c.garbageLines == 0 && c.overlongLines == 0 && c.unknownFields == 0)
        #expect(c.reconnects == 0 && c.openFailures == 0 && c.disconnects == 0)
        #expect(running.sink.changes.map(\.up) == [true])
        #expect(running.sink.changes.first?.reason == "opened \(pty.path)")
        #expect(log.lines.first == "serial esp: opened \(pty.path) (termios, 115200 8N1, \(format.rawValue))")
    }

    @Test func partialLinesAcrossWrites() throws {
        let pty = try VirtualSerialPort()
        defer { pty.close() }
        let source = try SerialSource(config: Self.config(pty.path))
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { source.counters.isOpen })
        for piece in ["t=2", "1.5,h", "=4", "0\r", "\nsnd=", "7", "\r", "\n"] {
            pty.write(line: piece, waitMilliseconds: 1000)
            usleep(30_000)
        }
        #expect(waitUntil(3) { running.sink.count >= 6 })
        Self.expectRows(running.sink.rows(channels: 3), [[21.5, 40, nil], [nil, nil, 7]])
        #expect(source.counters.lines == 2)
    }

    @Test func garbageOverlongAndUnknownThroughThePty() throws {
        let pty = try VirtualSerialPort()
        defer { pty.close() }
        let log = SerialEventLog()
        let source = try SerialSource(config: Self.config(pty.path, maxLineLength: 32), log: log.logger)
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { source.counters.isOpen })
        // Boot noise, an overlong line, a debug print, then readings with an extra field.
        let noise: [UInt8] = [0x20, 0xE0, 0x00, 0x1C, 0xF2, 0x6E, 0xEC, 0x8C, 0x9C, 0x9C, 0x72, 0x63, 0x8C, 0x0C, 0x64, 0x0D, 0x0A]
        noise.withUnsafeBytes { _ = pty.write($0) }
        pty.write(line: String(repeating: "t=1,", count: 20) + "\r\n", waitMilliseconds: 1000)
        pty.write(line: "WiFi connected\r\n", waitMilliseconds: 1000)
        pty.write(line: "t=21.5,h=40,snd=55,vcc=3.3\r\n", waitMilliseconds: 1000)
        #expect(waitUntil(3) { running.sink.count >= 3 })
        Self.expectRows(running.sink.rows(channels: 3), [[21.5, 40, 55]])
        let c = source.counters
        #expect(c.garbageLines == 1)
        #expect(c.overlongLines == 1)
        #expect(c.badLines == 1)
        #expect(c.unknownFields == 1)
        #expect(c.lines == 3)
        #expect(log.lines.contains("serial esp: ignoring field(s) not in fields: vcc"))
        #expect(log.lines.contains("serial esp: a line gave no value for any field (more are only counted): 'WiFi connected'"))
    }

    @Test func manyLinesArriveComplete() throws {
        let pty = try VirtualSerialPort()
        defer { pty.close() }
        let source = try SerialSource(config: Self.config(pty.path, format: .json))
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { source.counters.isOpen })
        let formatter = SerialLineFormatter(format: .json, fields: Self.names)
        var rng = SerialRNG(seed: 9)
        let rows: [[Double?]] = (0..<2_000).map { _ in (0..<3).map { _ in Double.random(in: -50...50, using: &rng) } }
        for r in rows { #expect(pty.write(line: formatter.line(r), waitMilliseconds: 2000)) }
        #expect(waitUntil(10) { running.sink.count >= rows.count * 3 })
        Self.expectRows(running.sink.rows(channels: 3), rows)
        #expect(pty.droppedLines == 0)
    }

    /// The writer goes away (the pty closes: the reader sees a hang-up) and a new one appears under
    /// the same link: the source reopens it, goes on, and counts the reconnect.
    @Test func writerClosesAndReopens() throws {
        let dir = SerialTempDir()
        defer { dir.cleanup() }
        let link = dir.path + "/ttyV0"
        var pty = try VirtualSerialPort(link: link)
        let log = SerialEventLog()
        let source = try SerialSource(config: Self.config(link), log: log.logger)
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { source.counters.isOpen })
        pty.write(line: "t=1,h=2,snd=3\r\n", waitMilliseconds: 1000)
        #expect(waitUntil(3) { running.sink.count >= 3 })

        pty.close()
        #expect(waitUntil(3) { source.counters.disconnects == 1 })
        #expect(source.counters.isOpen == false)
        usleep(300_000)  // a reopen attempt or two fail while the link is gone
        #expect(source.counters.openFailures >= 1)

        pty = try VirtualSerialPort(link: link)
        defer { pty.close() }
        // Written before the source is back: the pty holds it.
        pty.write(line: "t=4,h=5,snd=6\r\n", waitMilliseconds: 1000)
        #expect(waitUntil(5) { source.counters.isOpen && source.counters.reconnects == 1 })
        pty.write(line: "t=7,h=8,snd=9\r\n", waitMilliseconds: 1000)
        #expect(waitUntil(3) { running.sink.count >= 9 })
        Self.expectRows(running.sink.rows(channels: 3), [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        #expect(source.counters.reconnects == 1)
        #expect(source.counters.disconnects == 1)
        #expect(running.sink.changes.map(\.up) == [true, false, true])
        // Idle kept coming while the device was away.
        let idles = running.sink.idleTimes
        #expect(zip(idles, idles.dropFirst()).allSatisfy { $1 - $0 < 500_000_000 })
    }

    /// The same with socat, as a user would set up a virtual port:
    /// `socat -u STDIN PTY,link=…` ended (its input closed) and started again.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/socat")))
    func socatEndsAndStartsAgain() throws {
        let dir = SerialTempDir()
        defer { dir.cleanup() }
        let link = dir.path + "/ttyS"
        let log = SerialEventLog()
        let source = try SerialSource(config: Self.config(link), log: log.logger)

        func startSocat() throws -> (Process, FileHandle) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
            p.arguments = ["-u", "STDIN", "PTY,link=\(link),raw,echo=0"]
            let input = Pipe()
            p.standardInput = input
            p.standardError = FileHandle.nullDevice
            try p.run()
            return (p, input.fileHandleForWriting)
        }
        /// Closing socat's input ends it cleanly (it closes the pty and removes the link), as a
        /// writer going away does. (A SIGTERM from here may be ignored: the child inherits the
        /// test runner's signal dispositions.) SIGKILL by pid if it lingers.
        func stopSocat(_ p: Process, _ input: FileHandle) {
            try? input.close()
            if !waitUntil(3, { !p.isRunning }) { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }

        var (socat, input) = try startSocat()
        defer { stopSocat(socat, input) }
        #expect(waitUntil(3) { FileManager.default.fileExists(atPath: link) })
        let running = RunningSource(source)
        defer { running.stopAndJoin() }
        #expect(waitUntil(3) { source.counters.isOpen })
        input.write(Data("t=1,h=2,snd=3\n".utf8))
        #expect(waitUntil(3) { running.sink.count >= 3 })

        stopSocat(socat, input)
        #expect(!FileManager.default.fileExists(atPath: link))
        #expect(waitUntil(3) { source.counters.disconnects == 1 && !source.counters.isOpen })

        (socat, input) = try startSocat()
        #expect(waitUntil(3) { FileManager.default.fileExists(atPath: link) })
        #expect(waitUntil(5) { source.counters.isOpen && source.counters.reconnects == 1 })
        input.write(Data("t=4,h=5,snd=6\n".utf8))
        #expect(waitUntil(3) { running.sink.count >= 6 })
        Self.expectRows(running.sink.rows(channels: 3), [[1, 2, 3], [4, 5, 6]])
        #expect(running.sink.changes.map(\.up) == [true, false, true])
        #expect(source.counters.reconnects == 1)
    }

    @Test func idleKeepsComingAndStopIsPromptWithoutADevice() throws {
        let dir = SerialTempDir()
        defer { dir.cleanup() }
        var config = Self.config(dir.path + "/absent")
        config.reopenMin = .seconds(5)
        config.reopenMax = .seconds(5)
        let source = try SerialSource(config: config)
        let running = RunningSource(source)
        usleep(900_000)
        let started = Date()
        #expect(running.stopAndJoin(within: 1))
        #expect(Date().timeIntervalSince(started) < 0.75)
        let idles = running.sink.idleTimes
        #expect(idles.count >= 3)
        #expect(zip(idles, idles.dropFirst()).allSatisfy { $1 - $0 < 500_000_000 })
        #expect(source.counters.openFailures == 1)
    }

    @Test func idleKeepsComingAndStopIsPromptWhileSilent() throws {
        let pty = try VirtualSerialPort()
        defer { pty.close() }
        let source = try SerialSource(config: Self.config(pty.path))
        let running = RunningSource(source)
        #expect(waitUntil(3) { source.counters.isOpen })
        let from = running.sink.idleTimes.count
        usleep(900_000)
        let started = Date()
        #expect(running.stopAndJoin(within: 1))
        #expect(Date().timeIntervalSince(started) < 0.75)
        let idles = Array(running.sink.idleTimes[from...])
        #expect(idles.count >= 3)
        #expect(zip(idles, idles.dropFirst()).allSatisfy { $1 - $0 < 500_000_000 })
        #expect(source.counters.isOpen == false)
        #expect(source.counters.disconnects == 0)
    }

    @Test func formatterRendersEachFormat() {
        var csv = SerialLineFormatter(format: .csv, fields: ["t", "h"])
        #expect(csv.next([21.5, nil]) == "t,h\r\n21.5,\r\n")
        #expect(csv.next([.nan, 1e-05]) == "nan,1e-05\r\n")
        var semi = SerialLineFormatter(format: .semicolon, fields: ["t", "h"], lineEnding: "\n")
        #expect(semi.next([1, 2]) == "t;h\n1.0;2.0\n")
        semi.repeatHeader()
        #expect(semi.next([3, 4]) == "t;h\n3.0;4.0\n")
        var kv = SerialLineFormatter(format: .kv, fields: ["t", "h"])
        #expect(kv.next([21.5, nil]) == "t=21.5\r\n")
        #expect(kv.next([.nan, -2]) == "t=nan,h=-2.0\r\n")
        let json = SerialLineFormatter(format: .json, fields: ["t", "a\"b"])
        #expect(json.line([21.5, .infinity]) == "{\"t\":21.5,\"a\\\"b\":null}\r\n")
        #expect(json.line([nil, 2]) == "{\"a\\\"b\":2.0}\r\n")
        #expect(json.header == nil)
    }
}
