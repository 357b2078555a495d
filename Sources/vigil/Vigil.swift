import ArgumentParser
import Logging
import VigilAgent
import VigilCore
import VigilSources
import VigilUplink
#if canImport(Glibc)
import Glibc
#endif

@main
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Edge agent: reads sensors, scores each reading against a sliding window, and sends only anomalies and summaries over MQTT.",
        version: "0.1.0",
        subcommands: [Run.self, Check.self, Replay.self]
    )
}

/// Prints config problems and exits with EX_CONFIG (78), so systemd does not restart-loop.
func exitWithConfigError(_ text: String) -> Never {
    printError(text)
    exit(ExitStatus.config)
}

func printError(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
}

func loadConfig(_ path: String, broker: String? = nil, device: String? = nil) -> VigilConfig {
    do {
        var config = try ConfigLoader.load(path: path)
        if broker != nil || device != nil {
            if let b = broker { config.mqtt.broker = b }
            if let d = device { config.device = d }
            let issues = config.validate()
            if !issues.isEmpty {
                exitWithConfigError(issues.map { "command line: \($0.path.first == "mqtt" ? "--broker" : "--device"): \($0.message)" }.joined(separator: "\n"))
            }
        }
        _ = try Agent.buildSources(config)
        return config
    } catch let e as ConfigError {
        exitWithConfigError(e.description)
    } catch let e as ConfigIssueList {
        // Problems found while building sources: place them in the file too.
        let located = (try? ConfigLoader.locate(issues: e.issues, inFile: path)) ?? e.issues.map { "\(path): \($0)" }
        exitWithConfigError(located.joined(separator: "\n"))
    } catch {
        exitWithConfigError("\(path): \(error)")
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the agent until SIGTERM or SIGINT.")

    @Option(name: .shortAndLong, help: "Config file (YAML).")
    var config: String = "/etc/vigil/vigil.yaml"

    @Option(help: "Broker URL, overriding the config: mqtt://HOST:PORT.")
    var broker: String?

    @Option(help: "Device id, overriding the config.")
    var device: String?

    @Option(help: "Log level, overriding the config: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Stop by itself after this many seconds (for demos and tests).")
    var duration: Double?

    func run() throws {
        // Block the stop signals before any thread starts, so only `sigwait` below sees them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let config = loadConfig(self.config, broker: broker, device: device)
        let level = Logger.Level(rawValue: logLevel ?? config.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        let logger = Logger(label: "vigil")

        let address = try! BrokerAddress.parse(config.mqtt.broker).get()
        let encoder = EventEncoder(device: config.device, topicPrefix: config.mqtt.topicPrefix)
        let uplink = MQTTUplink(settings: .init(
            host: address.host, port: address.port,
            clientID: config.mqtt.clientID ?? "vigil-\(config.device)",
            keepalive: Int32(config.mqtt.keepalive.nanoseconds / 1_000_000_000),
            statusTopic: encoder.statusTopic,
            reconnectMin: config.mqtt.reconnectMin.seconds, reconnectMax: config.mqtt.reconnectMax.seconds,
            queueLimit: config.mqtt.queueLimit), logger: logger)
        let agent: Agent
        do { agent = try Agent(config: config, sink: uplink, logger: logger) } catch {
            exitWithConfigError(error.issues.map { "\(self.config): \($0)" }.joined(separator: "\n"))
        }
        logger.info("vigil starting", metadata: ["device": "\(config.device)", "broker": "\(config.mqtt.broker)", "config": "\(self.config)"])
        uplink.start()
        agent.start()

        var received: Int32 = 0
        if let d = duration {
            var ts = timespec(tv_sec: Int(d), tv_nsec: Int((d - d.rounded(.down)) * 1e9))
            received = sigtimedwait(&stopSignals, nil, &ts)
        } else {
            sigwait(&stopSignals, &received)
        }
        logger.info("vigil stopping", metadata: ["signal": "\(received > 0 ? String(cString: strsignal(received)) : "duration elapsed")"])
        agent.stop()
        let drained = uplink.shutdown(drainTimeout: 5)
        let stats = uplink.stats
        logger.info("vigil stopped", metadata: ["readings": "\(agent.readingsSoFar)", "events": "\(agent.publisher.lastSeq)",
                                                "acked": "\(stats.acked)", "unsent": "\(stats.queued + stats.inflight)", "drained": "\(drained)"])
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a config file; exit 78 (EX_CONFIG) when it has problems.")

    @Option(name: .shortAndLong, help: "Config file (YAML).")
    var config: String = "/etc/vigil/vigil.yaml"

    func run() throws {
        let c = loadConfig(config)
        let names = c.channelNames.map(\.name)
        print("\(config): OK — device '\(c.device)', \(c.sources.count) source(s), channels: \(names.joined(separator: ", ")), broker \(c.mqtt.broker)")
    }
}

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

func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "wb") else {
        printError("\(path): cannot write: \(String(cString: strerror(errno)))")
        throw ExitCode(ExitStatus.noInput)
    }
    defer { fclose(f) }
    var bytes = Array(text.utf8)
    _ = fwrite(&bytes, 1, bytes.count, f)
}

extension MQTTUplink: MessageSink {}
