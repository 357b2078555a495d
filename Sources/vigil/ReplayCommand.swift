import ArgumentParser
import Logging
import VigilAgent
import VigilCore
import VigilSources
import VigilUplink
#if canImport(Glibc)
import Glibc
#endif

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the detectors over recorded data (CSV): per-row verdicts, episodes, and with --labels the accuracy.",
        discussion: """
            One file: rows go to standard output (or --rows FILE), the episode list to standard error (or --episodes FILE).
            With --labels COLUMN the verdicts are scored against that 0/1 column instead: precision, recall, F1, \
            false-alarm rate, missed-alarm rate and mean detection delay, pooled over every file given (a folder \
            stands for the .csv files in it). Detector settings come from --config (defaults and per-channel \
            overrides, matched by column name), then from the options below.
            """)

    @Argument(help: "CSV files or folders of them, each with a header line, a time column and value columns (',', ';' or tab separated).")
    var files: [String]

    @Option(name: .shortAndLong, help: "Config file whose detector settings to use.")
    var config: String?

    @Option(help: "Time column (default: timestamp/datetime/time/ts, else the first column; 'none' for row numbers as seconds).")
    var timeColumn: String?

    @Option(help: "Comma-separated value columns (default: all but the time, label and excluded columns).")
    var columns: String?

    @Option(help: "Comma-separated columns to leave out (e.g. changepoint).")
    var exclude: String?

    @Option(help: "Column of 0/1 labels: score the verdicts against it and print the metrics.")
    var labels: String?

    @Option(help: "Rows at the start of each file that feed the detectors but are not scored.")
    var warmupRows: Int = 0

    @Option(help: "Detector for every column: \(Self.channelDetectorNames), or t2 (only the multivariate detector).")
    var detector: String?
    @Flag(help: "Add a multivariate (T²) detector over all value columns, with the same settings.")
    var multivariate = false

    @Option(help: "Most readings in the window.") var window: Int?
    @Option(help: "Oldest reading the window keeps, e.g. 20s.") var windowDuration: String?
    @Option(help: "Readings before the first verdict.") var warmup: Int?
    @Option(help: "|z| that starts an episode.") var zOn: Double?
    @Option(help: "|z| below which readings count toward the end of an episode.") var zOff: Double?
    @Option(help: "Calm readings that end an episode.") var endAfter: Int?
    @Option(help: "Floor on the standard deviation, in the data's unit.") var stdFloor: Double?
    @Option(help: "Anomalous readings kept out of the window per episode.") var holdOut: Int?
    @Option(help: "Weight of the newest reading in the smoothing pre-filter (1 = off).") var smoothing: Double?
    @Option(help: "ewma: weight of the newest reading (default 2/(window+1)).") var alpha: Double?
    @Option(help: "Also score the raw reading on a fast scale while smoothing (true/false).") var spikes: Bool?
    @Option(help: "Derive z_on/z_off from this many false alarms a day at the observed cadence.") var falseAlarmsPerDay: Double?

    @Flag(help: "Suggest a false_alarms_per_day: replay each candidate budget and print their figures and a detector block.")
    var tune = false
    @Option(help: "With --tune and no labels: most episodes a day the suggested budget may raise on this history.")
    var targetFalseAlarmsPerDay: Double = 1

    @Option(help: "Write the per-row CSV here instead of standard output (one input file).") var rows: String?
    @Option(help: "Write the episodes CSV here instead of standard error (one input file).") var episodes: String?
    @Option(help: "Draw the series, the band, episodes and labels as SVG here (several files: one SVG each, named FILE-<input>.svg).")
    var plot: String?

    /// The per-channel kinds as `--detector` takes them (t2 is the multivariate detector alone).
    static let channelDetectorNames = DetectorKind.allCases.map(\.rawValue).joined(separator: ", ")
    static let detectorNames = channelDetectorNames + ", t2"

    func run() throws {
        let base = config.map { loadConfig($0) }
        let onlyT2 = detector == "t2"
        var kind: DetectorKind? = nil
        if let d = detector, !onlyT2 {
            guard let k = DetectorKind(rawValue: d) else { exitWithConfigError("--detector: '\(d)' is not one of \(Self.detectorNames)") }
            kind = k
        }
        // The options are a detector config of their own, applied over the file's settings.
        var fromOptions = DetectorConfig()
        if let v = windowDuration {
            switch ConfigDuration.parse(v) {
            case .success(let d): fromOptions.windowDuration = d
            case .failure(.malformed): exitWithConfigError("--window-duration: '\(v)' is not a duration")
            case .failure(let problem): exitWithConfigError("--window-duration: '\(v)' \(problem)")
            }
        }
        fromOptions.kind = kind
        fromOptions.window = window
        fromOptions.warmup = warmup
        fromOptions.zOn = zOn
        fromOptions.zOff = zOff
        fromOptions.endAfter = endAfter
        fromOptions.stdFloor = stdFloor
        fromOptions.holdOut = holdOut
        fromOptions.smoothing = smoothing
        fromOptions.alpha = alpha
        fromOptions.spikes = spikes
        fromOptions.falseAlarmsPerDay = falseAlarmsPerDay
        let apply = fromOptions.applied(to:)
        let settingsFor: (String) -> DetectorSettings = { name in
            apply(base?.detectorSettings(forChannel: name) ?? DetectorSettings.defaults)
        }
        if let p = settingsFor("").problems().first {
            exitWithConfigError("--\(p.field.replacing("_", with: "-").replacing(".size", with: "")): \(p.message)")
        }
        var options = VigilAgent.Replay.Options()
        options.timeColumn = timeColumn
        options.columns = columns?.split(separator: ",").map { String($0) } ?? []
        options.exclude = exclude?.split(separator: ",").map { String($0) } ?? []
        options.labelColumn = labels
        options.warmupRows = warmupRows
        // A config with a `multivariate:` entry adds its T² over all value columns, with its settings
        // (the first by source name when there are several).
        let multivariateCount = base?.multivariate.count ?? 0
        let configured = base.flatMap { c in
            c.multivariate.keys.min().flatMap { name in c.multivariateSettings(forSource: name).map { (name: name, settings: $0) } }
        }
        if let configured, multivariateCount > 1 {
            printError("replay: the config has \(multivariateCount) multivariate detectors; using multivariate.\(configured.name) for the T² over all value columns")
        }
        if onlyT2 || multivariate || configured != nil {
            let m = apply(configured?.settings ?? DetectorSettings.multivariateDefaults)
            if let p = m.problems().first { exitWithConfigError("--\(p.field.replacing("_", with: "-")): \(p.message)") }
            options.multivariate = m
        }
        options.channelDetectors = !onlyT2

        let inputs = expand(files)
        guard !inputs.isEmpty else {
            printError("no CSV files in \(files.joined(separator: " "))")
            throw ExitCode(ExitStatus.noInput)
        }
        if inputs.count > 1 && (rows != nil || episodes != nil) {
            exitWithConfigError("--rows and --episodes take one input file, got \(inputs.count)")
        }
        if tune {
            guard targetFalseAlarmsPerDay > 0 && targetFalseAlarmsPerDay.isFinite else {
                exitWithConfigError("--target-false-alarms-per-day: must be a number above 0, got \(targetFalseAlarmsPerDay)")
            }
            try runTune(inputs, options: options, settingsFor: settingsFor)
            return
        }
        var pooled = Evaluation()
        for path in inputs {
            guard let text = readFile(path) else {
                printError("\(path): cannot read the file: \(String(cString: strerror(errno)))")
                throw ExitCode(ExitStatus.noInput)
            }
            let result: VigilAgent.Replay
            do {
                result = try VigilAgent.Replay(text: text, file: path, options: options, settings: settingsFor)
            } catch {
                printError(error.description)
                throw ExitCode(ExitStatus.dataError)
            }
            if let p = plot {
                let out = inputs.count == 1 ? p : plotPath(p, for: path)
                try writeFile(out, result.plot().render())
            }
            if let e = result.evaluation {
                pooled.merge(e)
                printError("\(path): F1 \(Evaluation.fixed(e.f1, 3))  FAR \(Evaluation.fixed(100 * e.falseAlarmRate, 1))%  MAR \(Evaluation.fixed(100 * e.missedAlarmRate, 1))%  delay \(Evaluation.fixed(e.meanDelaySeconds, 0)) s  episodes \(result.episodes.count)  health \(result.health.count)")
                if let r = rows { try writeFile(r, result.rowsCSV()) }
                if let ep = episodes { try writeFile(ep, result.episodesCSV()) }
                continue
            }
            let rowsText = result.rowsCSV()
            if let r = rows { try writeFile(r, rowsText) } else { print(rowsText, terminator: "") }
            let episodesText = result.episodesCSV()
            if let e = episodes { try writeFile(e, episodesText) } else { printError(episodesText.hasSuffix("\n") ? String(episodesText.dropLast()) : episodesText) }
            if !result.health.isEmpty { printError(String(result.healthCSV().dropLast())) }
            printError("replayed \(result.rows.count) rows × \(result.channels.count) channels: \(result.episodes.count) episode(s), \(result.health.count) health problem(s)")
        }
        if labels != nil {
            let d = onlyT2 ? "t2" : (settingsFor("").kind.rawValue + (multivariate ? " + t2" : ""))
            print("detector \(d), scored from row \(warmupRows) of each file")
            print(pooled.report, terminator: "")
        }
    }

    /// Files as given; a folder stands for its .csv files, in natural order (2.csv before 10.csv).
    func expand(_ paths: [String]) -> [String] {
        var out: [String] = []
        for p in paths {
            var st = stat()
            if stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                var names: [String] = []
                if let dir = opendir(p) {
                    while let e = readdir(dir) {
                        let name = withUnsafePointer(to: e.pointee.d_name) {
                            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                        }
                        if name.hasSuffix(".csv") { names.append(name) }
                    }
                    closedir(dir)
                }
                names.sort { a, b in
                    let na = Int(a.dropLast(4)), nb = Int(b.dropLast(4))
                    if let na, let nb { return na < nb }
                    return a < b
                }
                let dir = p.hasSuffix("/") ? String(p.dropLast()) : p
                out += names.map { "\(dir)/\($0)" }
            } else {
                out.append(p)
            }
        }
        return out
    }

    /// `out.svg` + `data/valve1/3.csv` → `out-valve1-3.svg`.
    func plotPath(_ plot: String, for input: String) -> String {
        let parts = input.split(separator: "/").suffix(2).map { $0.hasSuffix(".csv") ? String($0.dropLast(4)) : String($0) }
        let stem = plot.hasSuffix(".svg") ? String(plot.dropLast(4)) : plot
        return "\(stem)-\(parts.joined(separator: "-")).svg"
    }
}
