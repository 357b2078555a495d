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
        abstract: "Run the detector over recorded data (CSV) and write per-row z-scores and verdicts, then the episodes.",
        discussion: "Rows go to standard output (or --rows FILE); the episode list to standard error (or --episodes FILE). Detector settings come from --config (defaults and per-channel overrides, matched by column name), then from the options below.")

    @Argument(help: "CSV file with a header line, a time column and value columns (',', ';' or tab separated).")
    var file: String

    @Option(name: .shortAndLong, help: "Config file whose detector settings to use.")
    var config: String?

    @Option(help: "Time column (default: timestamp/datetime/time/ts, else the first column; 'none' for row numbers as seconds).")
    var timeColumn: String?

    @Option(help: "Comma-separated value columns (default: all but the time column).")
    var columns: String?

    @Option(help: "Most readings in the window.") var window: Int?
    @Option(help: "Oldest reading the window keeps, e.g. 20s.") var windowDuration: String?
    @Option(help: "Readings before the first verdict.") var warmup: Int?
    @Option(help: "|z| that starts an episode.") var zOn: Double?
    @Option(help: "|z| below which readings count toward the end of an episode.") var zOff: Double?
    @Option(help: "Calm readings that end an episode.") var endAfter: Int?
    @Option(help: "Floor on the standard deviation, in the data's unit.") var stdFloor: Double?

    @Option(help: "Write the per-row CSV here instead of standard output.") var rows: String?
    @Option(help: "Write the episodes CSV here instead of standard error.") var episodes: String?

    func run() throws {
        let base = config.map { loadConfig($0) }
        var overrides = DetectorSettings()
        var fields: [String] = []
        func note(_ f: String) { fields.append(f) }
        if let v = window { overrides.windowSize = v; note("window") }
        if let v = windowDuration {
            guard let d = ConfigDuration(parsing: v) else { exitWithConfigError("--window-duration: '\(v)' is not a duration") }
            overrides.windowDuration = d; note("window_duration")
        }
        if let v = warmup { overrides.warmup = v; note("warmup") }
        if let v = zOn { overrides.zOn = v; note("z_on") }
        if let v = zOff { overrides.zOff = v; note("z_off") }
        if let v = endAfter { overrides.endAfter = v; note("end_after") }
        if let v = stdFloor { overrides.stdFloor = v; note("std_floor") }
        let settingsFor: (String) -> DetectorSettings = { name in
            var s = base?.detectorSettings(forChannel: name) ?? DetectorSettings()
            if fields.contains("window") { s.windowSize = overrides.windowSize }
            if fields.contains("window_duration") { s.windowDuration = overrides.windowDuration }
            if fields.contains("warmup") { s.warmup = overrides.warmup }
            if fields.contains("z_on") { s.zOn = overrides.zOn }
            if fields.contains("z_off") { s.zOff = overrides.zOff }
            if fields.contains("end_after") { s.endAfter = overrides.endAfter }
            if fields.contains("std_floor") { s.stdFloor = overrides.stdFloor }
            return s
        }
        if let p = settingsFor("").problems().first {
            exitWithConfigError("--\(p.field.replacing("_", with: "-").replacing(".size", with: "")): \(p.message)")
        }
        guard let text = readFile(file) else {
            printError("\(file): cannot read the file: \(String(cString: strerror(errno)))")
            throw ExitCode(ExitStatus.noInput)
        }
        var options = VigilAgent.Replay.Options()
        options.timeColumn = timeColumn
        options.columns = columns?.split(separator: ",").map { String($0) } ?? []
        let result: VigilAgent.Replay
        do {
            result = try VigilAgent.Replay(text: text, file: file, options: options, settings: settingsFor)
        } catch {
            printError(error.description)
            throw ExitCode(ExitStatus.dataError)
        }
        let rowsText = result.rowsCSV()
        if let r = rows { try writeFile(r, rowsText) } else { print(rowsText, terminator: "") }
        let episodesText = result.episodesCSV()
        if let e = episodes { try writeFile(e, episodesText) } else { printError(episodesText.hasSuffix("\n") ? String(episodesText.dropLast()) : episodesText) }
        let count = result.rows.count
        printError("replayed \(count) rows × \(result.channels.count) channels: \(result.episodes.count) episode(s)")
    }
}
