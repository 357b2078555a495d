import Foundation
import Testing
import VigilAgent
import VigilCore
import VigilTestSupport

/// Accuracy on real data (SKAB), so it cannot silently regress; and the replay CLI's evaluation and plot.
@Suite struct ReplayEvaluationTests {
    static let skab = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/data/skab").standardized.path
    /// Ten of the 34 recordings, from all three groups (the full run is `make evaluate`).
    static let subset = ["valve1/1", "valve1/5", "valve1/9", "valve1/13", "valve2/1", "valve2/3", "other/6", "other/9", "other/12", "other/14"]

    static func options(multivariate: DetectorSettings? = nil, channelDetectors: Bool = true) -> Replay.Options {
        var o = Replay.Options()
        o.labelColumn = "anomaly"
        o.exclude = ["changepoint"]
        o.warmupRows = 400
        o.multivariate = multivariate
        o.channelDetectors = channelDetectors
        return o
    }

    static func evaluate(_ settings: DetectorSettings, options: Replay.Options = options()) throws -> Evaluation {
        var pooled = Evaluation()
        for name in subset {
            let path = "\(skab)/\(name).csv"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let r = try Replay(text: text, file: path, options: options, settings: { _ in settings })
            pooled.merge(try #require(r.evaluation))
        }
        return pooled
    }

    /// Lower bounds 0.02 under what each configuration measured when it was written (docs/accuracy.md has the full table).
    @Test func skabSubsetAccuracyHoldsItsGround() throws {
        try #require(FileManager.default.fileExists(atPath: "\(Self.skab)/valve1/1.csv"), "SKAB data missing at \(Self.skab)")
        let recommended = DetectorSettings(windowSize: 600, zOn: 4.5, zOff: 2.7, holdOut: 300, smoothing: 0.1)
        let cases: [(String, DetectorSettings, Replay.Options, f1: Double, far: Double, mar: Double)] = [
            ("default", DetectorSettings.defaults, Self.options(), 0.901, 0.0882, 0.1198),
            ("single-scale, fixed z (the defaults before two scales)", DetectorSettings(), Self.options(), 0.824, 0.2257, 0.1676),
            ("recommended for SKAB", recommended, Self.options(), 0.900, 0.0331, 0.1585),
            ("ewma", DetectorSettings(kind: .ewma, smoothing: 0.1), Self.options(), 0.868, 0.0637, 0.1924),
            ("robust", DetectorSettings(kind: .robust, zOn: 5, zOff: 3, smoothing: 0.1), Self.options(), 0.818, 0.4094, 0.0696),
            ("t2", DetectorSettings(), Self.options(multivariate: .multivariateDefaults, channelDetectors: false), 0.801, 0.1465, 0.2495),
        ]
        for c in cases {
            let e = try Self.evaluate(c.1, options: c.2)
            #expect(e.rows == 6889 && e.positives == 3748)  // scored rows of the subset, and the anomalous ones
            #expect(e.f1 >= c.f1 - 0.02, "\(c.0): F1 \(e.f1)")
            #expect(e.falseAlarmRate <= c.far + 0.02, "\(c.0): FAR \(e.falseAlarmRate)")
            #expect(e.missedAlarmRate <= c.mar + 0.02, "\(c.0): MAR \(e.missedAlarmRate)")
            #expect(e.detected == 10, "\(c.0): \(e.detected) of 10 anomalies found")
        }
    }

    @Test func labelsWarmupRowsAndExcludedColumnsOnAHandMadeFile() throws {
        // x jumps at row 6 (labelled 6…8); row 0…2 are warm-up; `note` is not a sensor.
        let csv = """
            ts,x,note,label
            0,0,a,0
            1,1,a,0
            2,0,a,0
            3,1,a,0
            4,0,a,0
            5,1,a,0
            6,20,a,1
            7,20,a,1
            8,21,a,1
            9,0,a,0

            """
        var o = Replay.Options()
        o.labelColumn = "label"
        o.exclude = ["note"]
        o.warmupRows = 3
        let s = DetectorSettings(windowSize: 10, warmup: 3, zOn: 4, zOff: 2.5, endAfter: 1, stdFloor: 0.01, holdOut: 5)
        let r = try Replay(text: csv, file: "h.csv", options: o, settings: { _ in s })
        #expect(r.channels == ["x"])
        #expect(r.rows.map(\.predicted) == [false, false, false, false, false, false, true, true, true, false])
        let e = try #require(r.evaluation)
        #expect(e.truePositives == 3 && e.trueNegatives == 4 && e.falsePositives == 0 && e.falseNegatives == 0)
        #expect(e.f1 == 1 && e.meanDelaySeconds == 0)
        let lines = r.rowsCSV().split(separator: "\n")
        #expect(lines[0] == "timestamp,x,x_z,x_verdict,label,predicted")
        #expect(lines[7].hasSuffix(",anomaly_start,1,1"))
        #expect(throws: Replay.InputError.self) {
            var bad = o
            bad.labelColumn = "nope"
            _ = try Replay(text: csv, file: "h.csv", options: bad, settings: { _ in s })
        }
    }

    @Test func cliPoolsAFolderPrintsTheMetricsAndDrawsThePlot() throws {
        try #require(FileManager.default.fileExists(atPath: "\(Self.skab)/valve2/0.csv"), "SKAB data missing at \(Self.skab)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-eval-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let svg = dir.appendingPathComponent("plot.svg").path
        func vigil(_ args: [String]) throws -> (Int32, String, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: VigilProcess.binary)
            p.arguments = args
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let (status, out, err) = try vigil(["replay", "\(Self.skab)/valve2", "--labels", "anomaly", "--exclude", "changepoint",
                                            "--warmup-rows", "400", "--multivariate"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("detector zscore + t2, scored from row 400 of each file"))
        #expect(out.contains("in 4 file(s)"))
        #expect(out.contains("precision ") && out.contains(" F1 ") && out.contains(" FAR ") && out.contains(" MAR "))
        #expect(out.contains("detection delay: mean "))
        #expect(err.split(separator: "\n").count == 4)   // one line per file

        let (s2, _, e2) = try vigil(["replay", "\(Self.skab)/valve1/3.csv", "--labels", "anomaly", "--exclude", "changepoint",
                                     "--warmup-rows", "400", "--smoothing", "0.1", "--plot", svg])
        #expect(s2 == 0, "\(e2)")
        let picture = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(picture.hasPrefix("<svg") && picture.hasSuffix("</svg>\n"))
        #expect(picture.contains("Volume Flow RateRMS") && picture.contains("labelled anomaly"))

        // A config's `multivariate:` entry sets the T² detector: the same settings as the defaults give
        // the same verdicts as no config; a higher z_on gives other ones.
        func withConfig(_ mv: String) throws -> String {
            let path = dir.appendingPathComponent("mv-\(mv.count).yaml").path
            try "device: r\nsources:\n  - kind: simulator\n    name: demo\nmultivariate:\n  demo: \(mv)\n".write(toFile: path, atomically: true, encoding: .utf8)
            let (s, o, e) = try vigil(["replay", "\(Self.skab)/valve1/3.csv", "--labels", "anomaly", "--exclude", "changepoint",
                                       "--warmup-rows", "400", "--detector", "t2", "--config", path])
            #expect(s == 0, "\(e)")
            return o
        }
        let (s4, plainT2, e4) = try vigil(["replay", "\(Self.skab)/valve1/3.csv", "--labels", "anomaly", "--exclude", "changepoint",
                                          "--warmup-rows", "400", "--detector", "t2"])
        #expect(s4 == 0, "\(e4)")
        #expect(try withConfig("{ z_on: 4 }") == plainT2)
        #expect(try withConfig("{ z_on: 12, z_off: 6 }") != plainT2)

        let (s3, _, e3) = try vigil(["replay", "\(Self.skab)/valve1/3.csv", "--detector", "median"])
        #expect(s3 == 78)
        #expect(e3.contains("--detector: 'median' is not one of zscore, robust, ewma, t2"))
    }
}
