import Foundation
import Testing
import VigilAgent
import VigilCore
import VigilTestSupport

@Suite struct ReplayTests {
    static let settings = DetectorSettings(windowSize: 5, warmup: 3, zOn: 3, zOff: 1.5, endAfter: 2, stdFloor: 0.1, holdOut: 0)

    @Test func rowsAndEpisodesOfAHandComputedSeries() throws {
        let csv = """
            time;a;b
            2026-01-01 00:00:00;1;10
            2026-01-01 00:00:01;2;10
            2026-01-01 00:00:02;3;10
            2026-01-01 00:00:03;2;
            2026-01-01 00:00:04;6;10
            2026-01-01 00:00:05;7;10
            2026-01-01 00:00:06;4;10
            2026-01-01 00:00:07;4.4;10

            """
        let r = try Replay(text: csv, file: "x.csv", options: .init(), settings: { _ in Self.settings })
        #expect(r.channels == ["a", "b"])
        #expect(r.rows.count == 8)
        #expect(r.rows[3].verdicts[1].state == .dropped)  // empty cell
        #expect(r.rows[4].verdicts[0].started != nil)
        #expect(r.episodes.count == 1)
        let e = r.episodes[0]
        #expect(e.channel == "a")
        #expect(e.episode.anomalous == 2)
        #expect(e.episode.readings == 4)
        #expect(e.episode.peakValue == 6)
        #expect(r.episodesCSV() == """
            channel,episode,start,end,duration_ms,peak_z,peak_value,anomalous,readings,reason
            a,1,2026-01-01T00:00:04.000Z,2026-01-01T00:00:05.000Z,1000,4.899,6.0,2,4,recovered

            """)
        let lines = r.rowsCSV().split(separator: "\n")
        #expect(lines[0] == "timestamp,a,a_z,a_verdict,b,b_z,b_verdict")
        #expect(lines[4] == "2026-01-01T00:00:03.000Z,2.0,0.0,normal,,,dropped")
        #expect(lines[5] == "2026-01-01T00:00:04.000Z,6.0,4.899,anomaly_start,10.0,0.0,normal")
        #expect(lines[7] == "2026-01-01T00:00:06.000Z,4.0,0.0,settling,10.0,0.0,normal")
    }

    @Test func anOpenEpisodeAtTheEndIsListedAsShutdown() throws {
        let csv = "ts,x\n0,1\n1,1\n2,1\n3,50\n"
        let r = try Replay(text: csv, file: "x.csv", options: .init(), settings: { _ in Self.settings })
        #expect(r.episodes.map(\.episode.reason) == [.shutdown])
    }

    @Test func malformedInputNamesFileAndLine() {
        #expect(throws: Replay.InputError.self) { try Replay(text: "ts,x\n0,1\n1,2,3\n", file: "x.csv", options: .init(), settings: { _ in Self.settings }) }
        do { _ = try Replay(text: "ts,x\n0,1\n1,2,3\n", file: "x.csv", options: .init(), settings: { _ in Self.settings }) } catch {
            #expect(error.description == "x.csv:3: has 3 fields, the header has 2")
        }
        do { _ = try Replay(text: "ts,x\nnoon,1\n", file: "x.csv", options: .init(), settings: { _ in Self.settings }) } catch {
            #expect(error.description == "x.csv:2: column 'ts': 'noon' is not a time (RFC 3339, 'YYYY-MM-DD HH:MM:SS' or Unix seconds)")
        }
        var o = Replay.Options()
        o.columns = ["y"]
        do { _ = try Replay(text: "ts,x\n0,1\n", file: "x.csv", options: o, settings: { _ in Self.settings }) } catch {
            #expect(error.description == "x.csv:1: no column 'y' (columns: ts, x)")
        }
    }

    /// `--tune` on a small fixture: two days of 5-minute readings with a 30-reading shift and a spike.
    @Test func tunePrintsEachBudgetAndTheSuggestedBlock() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tune-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var csv = "timestamp,temp,label\n"
        for i in 0..<576 {
            let tenths = 200 + i % 7 + (i == 400 ? 30 : 0) + ((200..<230).contains(i) ? 6 : 0)
            let label = i == 400 || (200..<230).contains(i) ? 1 : 0
            csv += "\(1_767_225_600 + 300 * i),\(tenths / 10).\(tenths % 10),\(label)\n"
        }
        let file = dir.appendingPathComponent("b.csv").path
        try csv.write(toFile: file, atomically: true, encoding: .utf8)
        func tune(_ args: [String]) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: VigilProcess.binary)
            p.arguments = ["replay", file, "--tune"] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            return text
        }
        #expect(try tune(["--labels", "label"]) == """
            tune: 1 file(s), 576 rows, 2.00 days, labels label
            false_alarms_per_day 0.1: episodes/day 1.00  F1 0.604  FAR 6.61%  MAR 6.45%
            false_alarms_per_day 0.3: episodes/day 1.00  F1 0.604  FAR 6.61%  MAR 6.45%
            false_alarms_per_day 1: episodes/day 1.00  F1 0.626  FAR 6.79%  MAR 0.00%
            false_alarms_per_day 3: episodes/day 1.00  F1 0.585  FAR 8.07%  MAR 0.00%
            false_alarms_per_day 10: episodes/day 1.00  F1 0.549  FAR 9.36%  MAR 0.00%
            suggested: best F1 (one file: no held-out figure; give several files)
            detector:
              false_alarms_per_day: 1

            """)
        #expect(try tune(["--exclude", "label", "--target-false-alarms-per-day", "0.5"]) == """
            tune: 1 file(s), 576 rows, 2.00 days
            false_alarms_per_day 0.1: episodes/day 1.00
            false_alarms_per_day 0.3: episodes/day 1.00
            false_alarms_per_day 1: episodes/day 1.00
            false_alarms_per_day 3: episodes/day 1.00
            false_alarms_per_day 10: episodes/day 1.00
            suggested: the most sensitive budget with at most 0.5 episode(s)/day on this (taken as normal) history
            detector:
              false_alarms_per_day: 0.1

            """)
    }

    /// The command on a real SKAB recording: every row out, and the exit status and messages of the CLI.
    @Test func cliOnARealRecording() throws {
        let skab = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/data/skab/valve1/0.csv").standardized.path
        try #require(FileManager.default.fileExists(atPath: skab), "SKAB data missing at \(skab)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-replay-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = dir.appendingPathComponent("rows.csv").path, episodes = dir.appendingPathComponent("episodes.csv").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: VigilProcess.binary)
        run.arguments = ["replay", skab, "--columns", "Temperature,Pressure", "--z-on", "4", "--rows", rows, "--episodes", episodes]
        run.standardError = FileHandle.nullDevice
        try run.run()
        run.waitUntilExit()
        #expect(run.terminationStatus == 0)
        let out = try String(contentsOfFile: rows, encoding: .utf8).split(separator: "\n")
        #expect(out.count == 1148)  // header + 1147 rows, as in the input
        #expect(out[0] == "timestamp,Temperature,Temperature_z,Temperature_verdict,Pressure,Pressure_z,Pressure_verdict")
        #expect(out[1] == "2020-03-09T10:14:33.000Z,79.3366,,warmup,0.054711,,warmup")
        let eps = try String(contentsOfFile: episodes, encoding: .utf8).split(separator: "\n")
        #expect(eps.count >= 2)

        let bad = dir.appendingPathComponent("bad.csv").path
        try "ts,x\n0,1\n1,2,3\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let failing = Process()
        failing.executableURL = URL(fileURLWithPath: VigilProcess.binary)
        failing.arguments = ["replay", bad]
        let err = Pipe()
        failing.standardError = err
        failing.standardOutput = FileHandle.nullDevice
        try failing.run()
        failing.waitUntilExit()
        #expect(failing.terminationStatus == 65)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text == "\(bad):3: has 3 fields, the header has 2\n")
    }
}
