import Foundation
import Testing
import VigilTestSupport

/// Numbers from outside (a config file, a recording) that once overflowed Int64 nanoseconds and
/// killed the real binary with SIGILL: each must be a clean error naming the file, the line and
/// the field, with the documented exit status.
@Suite struct OutsideInputOverflowTests {
    static func config(_ section: String) -> String {
        """
        device: gw-1
        mqtt: { broker: "mqtt://127.0.0.1:1" }
        \(section)
        sources:
          - kind: simulator
            name: sim

        """
    }

    @Test(arguments: [
        ("summary:\n  interval: 1e10", "4:3: summary.interval: a duration must be at most 315360000 seconds (3650d, ten years), got 10000000000.0"),
        ("summary:\n  interval: 9999999999", "4:3: summary.interval: a duration must be at most 315360000 seconds (3650d, ten years), got 9999999999.0"),
        ("summary:\n  interval: 999999999h", "4:3: summary.interval: '999999999h' is longer than 3650d (ten years), the longest duration allowed"),
        ("detector:\n  window_duration: 300000000000s", "4:3: detector.window_duration: '300000000000s' is longer than 3650d (ten years), the longest duration allowed"),
        ("detector:\n  health: { dropout_after: 1e300 }", "4:13: detector.health.dropout_after: a duration must be at most 315360000 seconds (3650d, ten years), got 1e+300"),
    ])
    func checkRefusesADurationLongerThanTenYears(section: String, message: String) throws {
        let check = try VigilProcess(config: Self.config(section), command: "check", arguments: [])
        #expect(check.waitForExit(timeout: 30))
        #expect(check.exitStatus == 78)
        #expect(check.stderr == "\(check.configPath):\(message)")
    }

    @Test func checkAcceptsTenYearsExactly() throws {
        let check = try VigilProcess(config: Self.config("summary:\n  interval: 3650d"), command: "check", arguments: [])
        #expect(check.waitForExit(timeout: 30))
        #expect(check.exitStatus == 0, "\(check.stderr)")
    }

    /// A GPIO line offset goes to libgpiod as a UInt32: past that it trapped when the agent opened
    /// the line. A chip has at most 65535 lines (the kernel counts them in 16 bits).
    @Test(arguments: [
        ("  - kind: dht\n    name: climate\n    model: dht22\n    chip: gpiochip0\n    line: 5000000000", "8:5: sources[0].line: must be at most 65535 (the largest GPIO line offset), got 5000000000"),
        ("  - kind: gpio\n    name: room\n    chip: gpiochip0\n    inputs:\n      - { line: 65536, mode: level, channel: door }",
         "8:11: sources[0].inputs[0].line: must be at most 65535 (the largest GPIO line offset), got 65536"),
    ])
    func checkRefusesAGPIOLineBeyondAnyChip(source: String, message: String) throws {
        let yaml = "device: gw-1\nmqtt: { broker: \"mqtt://127.0.0.1:1\" }\nsources:\n\(source)\n"
        let check = try VigilProcess(config: yaml, command: "check", arguments: [])
        #expect(check.waitForExit(timeout: 30))
        #expect(check.exitStatus == 78)
        #expect(check.stderr == "\(check.configPath):\(message)")
    }

    /// `vigil replay FILE ARGUMENTS…`: exit status and standard error.
    static func replay(_ csv: String, _ arguments: [String] = []) throws -> (status: Int32, stderr: String, file: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-replay-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("times.csv").path
        try csv.write(toFile: file, atomically: true, encoding: .utf8)
        let run = Process()
        run.executableURL = URL(fileURLWithPath: VigilProcess.binary)
        run.arguments = ["replay", file] + arguments
        let err = Pipe()
        run.standardError = err
        run.standardOutput = FileHandle.nullDevice
        try run.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        run.waitUntilExit()
        return (run.terminationStatus, text, file)
    }

    @Test(arguments: [
        // Past the last instant of Int64 nanoseconds (2262-04-11): once an overflow in the parser.
        ("2300-01-01T00:00:00Z", "'2300-01-01T00:00:00Z'"),
        ("9999-12-31 23:59:59", "'9999-12-31 23:59:59'"),
        ("20000000000", "'20000000000'"),
        // Representable, but replay takes 1970…2199 only: rows at 1700 and 2200 overflowed the
        // detectors' time differences (500 years of nanoseconds).
        ("2200-01-01T00:00:00Z", "'2200-01-01T00:00:00Z'"),
    ])
    func replayRefusesATimeOutsideTheRangeItTakes(time: String, quoted: String) throws {
        let r = try Self.replay("ts,x\n2026-01-01T00:00:00Z,1\n\(time),2\n")
        #expect(r.status == 65)
        #expect(r.stderr == "\(r.file):3: column 'ts': \(quoted) is outside 1970-01-01 … 2199-12-31, the times replay takes\n")
    }

    @Test func replayRefusesATimeBefore1970() throws {
        let r = try Self.replay("ts,x\n1700-01-01T00:00:00Z,1\n2100-01-01T00:00:00Z,2\n")
        #expect(r.status == 65)
        #expect(r.stderr == "\(r.file):2: column 'ts': '1700-01-01T00:00:00Z' is outside 1970-01-01 … 2199-12-31, the times replay takes\n")
    }

    @Test func replayTakesTheWholeRange() throws {
        let r = try Self.replay("ts,x\n1970-01-01T00:00:00Z,1\n2199-12-31T23:59:59.999Z,2\n")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func replayPlotsAHugeReading() throws {
        let rows = (0..<40).map { "\($0),\($0 % 3)" } + ["40,1e300", "41,1"]
        let svg = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-plot-\(UUID().uuidString.prefix(8)).svg").path
        defer { try? FileManager.default.removeItem(atPath: svg) }
        let r = try Self.replay("ts,x\n" + rows.joined(separator: "\n") + "\n", ["--plot", svg])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: svg, encoding: .utf8).hasPrefix("<svg"))
    }
}
