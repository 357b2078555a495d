import ArgumentParser
import Logging
import VigilCore
import VigilFleet
import VigilFleetCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `vigil-fleet`: receives every Vigil gateway's messages from a broker into one store.
struct VigilFleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-fleet",
        abstract: "Receive Vigil gateways' events from an MQTT broker into a fleet store (SQLite, or PostgreSQL with --store).",
        discussion: "Exit status 78 (EX_CONFIG) for bad options, so systemd does not restart-loop.")

    @Option(help: "The broker: mqtt://HOST[:PORT].")
    var broker: String = "mqtt://127.0.0.1:1883"
    @Option(help: "Topic prefix the gateways publish under.")
    var prefix: String = "vigil"
    @Option(help: "The SQLite database file (created if missing; its directory must exist). Default: \(StoreChoice.defaultDB).")
    var db: String?
    @Option(help: "A PostgreSQL store instead of SQLite: postgres://USER@HOST[:PORT]/DATABASE (several receivers may share it).")
    var store: String?
    @Option(name: .customLong("store-password-file"), help: "The file holding the PostgreSQL password (never on the command line).")
    var storePasswordFile: String?
    @Option(name: .customLong("client-id"), help: "Fixed MQTT client id: the broker keeps its session across restarts.")
    var clientID: String = "vigil-fleet"
    @Option(help: "Shared-subscription group: receivers of one group split the fleet ($share/NAME/...).")
    var group: String?
    @Option(help: "How long events and summaries are kept (e.g. 30d).")
    var retention: String = "30d"
    @Option(name: .customLong("rollup-retention"), help: "How long hourly roll-ups of summaries are kept.")
    var rollupRetention: String = "400d"
    @Option(help: "MQTT keepalive (e.g. 30s).")
    var keepalive: String = "30s"
    @Option(name: .customLong("max-batch"), help: "Messages per store transaction at most.")
    var maxBatch: Int = 1000
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"
    @Option(help: "Serve the read-only JSON API on HOST:PORT (loopback only for now), e.g. 127.0.0.1:8080.")
    var http: String?

    /// The settings these options give, or the reasons they cannot be used.
    func settings() -> Result<ReceiverSettings, ConfigProblems> {
        var problems: [String] = []
        let endpoint = BrokerURL.parse(broker)
        if case .failure(let why) = endpoint { problems.append("--broker: \(why)") }
        if !FleetNames.isValid(prefix.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "_")) {
            problems.append("--prefix: '\(prefix)' must be non-empty and use letters, digits, '.', '_', '-' and '/'")
        }
        if clientID.isEmpty || clientID.utf8.count > 128 { problems.append("--client-id: must be 1 to 128 bytes") }
        if let group, !FleetNames.isValid(group) { problems.append("--group: '\(group)' must use letters, digits, '.', '_' or '-'") }
        func duration(_ text: String, _ name: String) -> ConfigDuration? {
            guard let d = ConfigDuration(parsing: text), d.nanoseconds > 0 else {
                problems.append("\(name): '\(text)' is not a duration (e.g. 30s, 12h, 30d)"); return nil
            }
            return d
        }
        let events = duration(retention, "--retention")
        let rollups = duration(rollupRetention, "--rollup-retention")
        let alive = duration(keepalive, "--keepalive")
        if let alive, alive.nanoseconds < 5_000_000_000 { problems.append("--keepalive: at least 5s (libmosquitto's minimum)") }
        if !(1...100_000).contains(maxBatch) { problems.append("--max-batch: 1 to 100000, got \(maxBatch)") }
        if let http, case .failure(let why) = HTTPAddress.parse(http) { problems.append("--http: \(why)") }
        if case .failure(let why) = storeChoice() { problems.append(why.description) }
        if Logger.Level(rawValue: logLevel) == nil { problems.append("--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error") }
        guard problems.isEmpty, case .success(let (host, port)) = endpoint, let events, let rollups, let alive else {
            return .failure(ConfigProblems(lines: problems))
        }
        return .success(ReceiverSettings(
            host: host, port: port, prefix: prefix, clientID: clientID, group: group,
            keepalive: Int32(alive.nanoseconds / 1_000_000_000), maxBatch: maxBatch,
            retention: RetentionPolicy(events: events, rollups: rollups)))
    }

    func run() throws {
        let settings: ReceiverSettings
        switch self.settings() {
        case .success(let s): settings = s
        case .failure(let p): exitWithConfigError(p.lines.joined(separator: "\n"))
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "vigil-fleet")
        let signals = stopSignals
        let store: any FleetDatabase
        let receiver: FleetReceiver
        do {
            store = try storeChoice().get().open()
            receiver = try FleetReceiver(settings: settings, store: store, logger: logger)
        } catch {
            exitWithConfigError("vigil-fleet: \(error)")
        }
        logger.notice("vigil-fleet starting: broker \(settings.host):\(settings.port), subscription \(settings.subscription), store \(store.location)")
        let stop = StopFlag()
        guard let http, case .success(let (host, port)) = HTTPAddress.parse(http) else {
            try startSignalWaiter(signals, logger) { stop.raise() }
            receiver.run(until: stop)
            return
        }
        let api = FleetAPI(store: store)
        receiver.onCommit = { [feed = api.feed] devices in feed.publish(devices: devices) }
        try serve(receiver: receiver, api: api, host: host, port: port, stop: stop, signals: signals, logger: logger)
    }
}

struct ConfigProblems: Error { var lines: [String] }
struct OptionError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// `mqtt://HOST[:PORT]`; TLS and credentials come in a later version of the receiver. Its errors never echo a password.
enum BrokerURL {
    static func parse(_ url: String) -> Result<(String, Int), OptionError> {
        // Checked first, so no error message echoes a password.
        guard !url.contains("@") else { return .failure(OptionError("credentials do not belong in the broker URL")) }
        guard url.hasPrefix("mqtt://") else {
            return .failure(OptionError(url.hasPrefix("mqtts://") ? "TLS (mqtts://) is not supported by vigil-fleet yet" : "'\(url)' is not mqtt://HOST[:PORT]"))
        }
        let rest = url.dropFirst("mqtt://".count)
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2, !host.contains("/") else { return .failure(OptionError("'\(url)' is not mqtt://HOST[:PORT]")) }
        guard parts.count == 2 else { return .success((String(host), 1883)) }
        guard let port = Int(parts[1]), (1...65535).contains(port) else { return .failure(OptionError("port '\(parts[1])' is not 1 to 65535")) }
        return .success((String(host), port))
    }
}

/// Blocks SIGTERM and SIGINT in every thread; one thread takes them with sigwait.
func blockStopSignals() -> sigset_t {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGTERM)
    sigaddset(&set, SIGINT)
    pthread_sigmask(SIG_BLOCK, &set, nil)
    return set
}

func exitWithConfigError(_ text: String) -> Never {
    var bytes = Array((text + "\n").utf8)
    bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
    exit(78)
}

// Before any other thread exists (the concurrency pool's, NIO's), so that every thread inherits the mask
// and only the signal-waiting thread takes SIGTERM and SIGINT. (Synchronous main on purpose: an async
// main runs this code on a pool thread and leaves the main thread unmasked.)
let stopSignals = blockStopSignals()

// Bad options exit 78 (EX_CONFIG) instead of ArgumentParser's 64; --help still exits 0.
do {
    let command = try VigilFleetCommand.parse()
    try command.run()
} catch {
    let code = VigilFleetCommand.exitCode(for: error)
    if code == .success {
        VigilFleetCommand.exit(withError: error)
    }
    exitWithConfigError(VigilFleetCommand.fullMessage(for: error))
}
