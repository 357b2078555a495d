import ArgumentParser
import Logging
import VigilCore
import VigilFleet
import VigilFleetCore
import VigilYAML

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
        discussion: "Exit status 78 (EX_CONFIG) for bad options, so systemd does not restart-loop. `vigil-fleet passwd NAME` makes a users-file line.",
        version: VigilVersion.current)

    @Option(help: "A YAML config file (e.g. /etc/vigil/fleet.yaml) with these settings as snake_case keys; options given here win.")
    var config: String?
    @Option(help: "The broker: mqtt://HOST[:PORT] (default mqtt://127.0.0.1:1883), or mqtts://HOST[:PORT] for TLS (port 8883).")
    var broker: String?
    @Option(name: .customLong("ca-file"), help: "mqtts://: the CA certificate(s) the broker's certificate must be signed by (default: the system's).")
    var caFile: String?
    @Option(name: .customLong("cert-file"), help: "mqtts://: this receiver's client certificate (with --key-file), for brokers that require one.")
    var certFile: String?
    @Option(name: .customLong("key-file"), help: "mqtts://: the client certificate's private key (unencrypted).")
    var keyFile: String?
    @Option(name: .customLong("tls-version"), help: "mqtts://: the lowest TLS version, tlsv1.2 or tlsv1.3 (default tlsv1.2).")
    var tlsVersion: String?
    @Option(help: "The MQTT user name.")
    var username: String?
    @Option(name: .customLong("password-file"), help: "A file holding the MQTT password on one line (never on the command line); chmod 600.")
    var passwordFile: String?
    @Option(help: "Topic prefix the gateways publish under (default vigil).")
    var prefix: String?
    @Option(help: "The SQLite database file, created if missing; its directory must exist (default /var/lib/vigil-fleet/fleet.db).")
    var db: String?
    @Option(help: "A PostgreSQL store instead of SQLite: postgres://USER@HOST[:PORT]/DATABASE (several receivers may share it).")
    var store: String?
    @Option(name: .customLong("store-password-file"), help: "The file holding the PostgreSQL password (never on the command line).")
    var storePasswordFile: String?
    @Option(name: .customLong("client-id"), help: "Fixed MQTT client id: the broker keeps its session across restarts (default vigil-fleet).")
    var clientID: String?
    @Option(help: "Shared-subscription group: receivers of one group split the fleet ($share/NAME/...).")
    var group: String?
    @Option(help: "How long events and summaries are kept (default 30d).")
    var retention: String?
    @Option(name: .customLong("rollup-retention"), help: "How long hourly roll-ups of summaries are kept (default 400d).")
    var rollupRetention: String?
    @Option(help: "MQTT keepalive (default 30s).")
    var keepalive: String?
    @Option(name: .customLong("max-batch"), help: "Messages per store transaction at most (default 1000).")
    var maxBatch: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (default info).")
    var logLevel: String?
    @Option(help: "Serve the page and JSON API on HOST:PORT, e.g. 127.0.0.1:8080; any address but loopback needs --users or --tokens.")
    var http: String?
    @Option(help: "Users of the page and API: a file of NAME:ROLE:BCRYPT lines (`vigil-fleet passwd NAME` makes one).")
    var users: String?
    @Option(help: "Bearer tokens of the API: a file of NAME:ROLE:TOKEN lines, tokens of 32 characters or more.")
    var tokens: String?
    @OptionGroup var alerts: WebhookOptions

    /// Everything the receiver runs with, checked.
    struct Settings {
        var receiver: ReceiverSettings
        var store: StoreChoice
        var logLevel: Logger.Level
        var http: (host: String, port: Int)?
        var credentials: FleetCredentials
        var webhook: WebhookTarget?
        var warnings: [String]
    }

    /// The settings these options and the config file give, or the reasons they cannot be used (one a line,
    /// each naming the option, or the file, line and key).
    func settings() -> Result<Settings, ConfigProblems> {
        var given = GivenSettings()
        if let config {
            do {
                let (file, root) = try FleetConfigFile.load(config)
                given.file = (config, file, root)
            } catch {
                return .failure(ConfigProblems(lines: [error.description]))
            }
        }
        var problems: [String] = []
        let (broker, brokerFrom) = given.pick("--broker", self.broker, ["broker"], \.broker, "mqtt://127.0.0.1:1883")
        let endpoint = BrokerURL.parse(broker)
        if case .failure(let why) = endpoint { problems.append(brokerFrom.problem("\(why)")) }
        let access = BrokerAccess.check(self, given: given, tlsScheme: broker.hasPrefix("mqtts://"), problems: &problems)
        let (prefix, prefixFrom) = given.pick("--prefix", self.prefix, ["prefix"], \.prefix, "vigil")
        if !FleetNames.isValid(prefix.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "_")) {
            problems.append(prefixFrom.problem("'\(prefix)' must be non-empty and use letters, digits, '.', '_', '-' and '/'"))
        }
        let (db, _) = given.pick("--db", self.db, ["db"], \.db)
        let storeChoice = self.storeChoice(db: db)
        if case .failure(let why) = storeChoice { problems.append(why.description) }
        let (clientID, clientFrom) = given.pick("--client-id", self.clientID, ["client_id"], \.clientID, "vigil-fleet")
        if clientID.isEmpty || clientID.utf8.count > 128 { problems.append(clientFrom.problem("must be 1 to 128 bytes")) }
        let (group, groupFrom) = given.pick("--group", self.group, ["group"], \.group)
        if let group, !FleetNames.isValid(group) { problems.append(groupFrom.problem("'\(group)' must use letters, digits, '.', '_' or '-'")) }
        func duration(_ option: String, _ cli: String?, _ key: String, _ fromFile: (FleetConfigFile) -> String?, _ fallback: String) -> ConfigDuration? {
            let (text, from) = given.pick(option, cli, [key], fromFile, fallback)
            guard let d = ConfigDuration(parsing: text), d.nanoseconds > 0 else {
                problems.append(from.problem("'\(text)' is not a duration (e.g. 30s, 12h, 30d)")); return nil
            }
            if option == "--keepalive", d.nanoseconds < 5_000_000_000 { problems.append(from.problem("at least 5s (libmosquitto's minimum)")) }
            return d
        }
        let events = duration("--retention", retention, "retention", \.retention, "30d")
        let rollups = duration("--rollup-retention", rollupRetention, "rollup_retention", \.rollupRetention, "400d")
        let alive = duration("--keepalive", keepalive, "keepalive", \.keepalive, "30s")
        let (maxBatch, batchFrom) = given.pick("--max-batch", self.maxBatch, ["max_batch"], \.maxBatch, 1000)
        if !(1...100_000).contains(maxBatch) { problems.append(batchFrom.problem("1 to 100000, got \(maxBatch)")) }
        let (level, levelFrom) = given.pick("--log-level", self.logLevel, ["log_level"], \.logLevel, "info")
        if Logger.Level(rawValue: level) == nil { problems.append(levelFrom.problem("'\(level)' is not one of trace, debug, info, notice, warning, error")) }
        let (users, _) = given.pick("--users", self.users, ["http", "users"], { $0.http?.users })
        let (tokens, _) = given.pick("--tokens", self.tokens, ["http", "tokens"], { $0.http?.tokens })
        let (http, httpFrom) = given.pick("--http", self.http, ["http", "listen"], { $0.http?.listen })
        var listen: (host: String, port: Int)?
        switch http.map(HTTPAddress.parse) {
        case .failure(let why)?: problems.append(httpFrom.problem("\(why)"))
        case .success(let (host, port))?:
            listen = (host, port)
            if !FleetAPI.isLoopback(host) && users == nil && tokens == nil {
                problems.append(httpFrom.problem("\(host) is not a loopback address: serving it needs credentials (--users FILE or --tokens FILE)"))
            }
        case nil: break
        }
        let webhook = alerts.target(&problems)
        guard problems.isEmpty, case .success(let (host, port, _)) = endpoint, case .success(let store) = storeChoice, let events, let rollups, let alive else {
            return .failure(ConfigProblems(lines: problems))
        }
        let credentials: FleetCredentials
        do {
            credentials = try FleetCredentials.load(users: users, tokens: tokens)
        } catch {
            return .failure(ConfigProblems(lines: ["vigil-fleet: \(error)"]))
        }
        var receiver = ReceiverSettings(host: host, port: port, prefix: prefix, clientID: clientID, group: group,
                                        keepalive: Int32(alive.nanoseconds / 1_000_000_000), maxBatch: maxBatch,
                                        retention: RetentionPolicy(events: events, rollups: rollups))
        (receiver.username, receiver.password, receiver.tls) = (access.username, access.password, access.tls)
        return .success(Settings(receiver: receiver, store: store, logLevel: Logger.Level(rawValue: level) ?? .info, http: listen,
                                 credentials: credentials, webhook: webhook, warnings: access.warnings))
    }

    func run() throws {
        let given: Settings
        switch self.settings() {
        case .success(let s): given = s
        case .failure(let p): exitWithConfigError(p.lines.joined(separator: "\n"))
        }
        let (settings, credentials) = (given.receiver, given.credentials)
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = given.logLevel
            return h
        }
        let logger = Logger(label: "vigil-fleet")
        for warning in given.warnings { logger.warning("\(warning)") }
        let signals = stopSignals
        let store: any FleetDatabase
        let receiver: FleetReceiver
        do {
            store = try given.store.open()
            receiver = try FleetReceiver(settings: settings, store: store, logger: logger)
            if let webhook = given.webhook {
                receiver.alerts = try AlertSender(target: webhook, store: store, capacity: alerts.webhookQueue, logger: logger)
            }
        } catch {
            exitWithConfigError("vigil-fleet: \(error)")
        }
        logger.notice("vigil-fleet starting: broker \(settings.endpoint), subscription \(settings.subscription), store \(store.location)")
        let stop = StopFlag()
        if let sender = receiver.alerts {
            try sender.start()
            logger.notice("alerts go to \(sender.target.shown) (\(sender.target.mode.rawValue))")
        }
        defer { receiver.alerts?.stop() }
        guard let listen = given.http else {
            try startSignalWaiter(signals, logger) { stop.raise() }
            receiver.run(until: stop)
            return
        }
        let (userCount, tokenCount) = credentials.count
        logger.notice("API access: \(credentials.isEmpty ? "no credentials, loopback only, read only" : "\(userCount) users, \(tokenCount) tokens")")
        let metrics = FleetMetrics(sender: receiver.alerts)
        receiver.metrics = metrics
        let api = FleetAPI(store: store, credentials: credentials, metrics: metrics)
        receiver.onCommit = { [feed = api.feed] devices in feed.publish(devices: devices) }
        try serve(receiver: receiver, api: api, host: listen.host, port: listen.port, stop: stop, signals: signals, logger: logger)
    }
}

struct ConfigProblems: Error { var lines: [String] }
struct OptionError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (TLS). Its errors never echo a password.
enum BrokerURL {
    static func parse(_ url: String) -> Result<(String, Int, tls: Bool), OptionError> {
        // Checked first, so no error message echoes a password.
        guard !url.contains("@") else { return .failure(OptionError("credentials do not belong in the broker URL (--username, --password-file)")) }
        let tls = url.hasPrefix("mqtts://")
        guard tls || url.hasPrefix("mqtt://") else { return .failure(OptionError("'\(url)' is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")) }
        let rest = url.dropFirst(tls ? "mqtts://".count : "mqtt://".count)
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2, !host.contains("/") else { return .failure(OptionError("'\(url)' is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")) }
        guard parts.count == 2 else { return .success((String(host), tls ? 8883 : 1883, tls)) }
        guard let port = Int(parts[1]), (1...65535).contains(port) else { return .failure(OptionError("port '\(parts[1])' is not 1 to 65535")) }
        return .success((String(host), port, tls))
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

// Before the signal mask: Ctrl-C must still work at its password prompt.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "passwd" {
    PasswdCommand.main(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
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
