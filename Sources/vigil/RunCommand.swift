import ArgumentParser
import Logging
import VigilAgent
import VigilCore
import VigilSources
import VigilUplink
#if canImport(Glibc)
import Glibc
#endif

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

extension MQTTUplink: MessageSink {}
