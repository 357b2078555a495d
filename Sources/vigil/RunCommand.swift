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
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent until SIGTERM or SIGINT; SIGHUP reloads the config.")

    @Option(name: .shortAndLong, help: "Config file (YAML).")
    var config: String = "/etc/vigil/vigil.yaml"

    @Option(help: "Broker URL, overriding the config: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS). Credentials come from the config's mqtt.username and mqtt.password_file, never from the command line.")
    var broker: String?

    @Option(help: "Device id, overriding the config.")
    var device: String?

    @Option(help: "Log level, overriding the config: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Stop by itself after this many seconds (for demos and tests).")
    var duration: Double?

    func run() throws {
        // Block the stop signals before any thread starts, so only the runner's wait sees them.
        let stopSignals = StopSignals.block()

        let config = loadConfig(self.config, broker: broker, device: device)
        let level = Logger.Level(rawValue: logLevel ?? config.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { StderrLogHandler(label: $0, level: level) }
        let logger = Logger(label: "vigil")

        let address = try! BrokerAddress.parse(config.mqtt.broker).get()
        let encoder = JSONPayloadEncoder(device: config.device, topicPrefix: config.mqtt.topicPrefix)
        let password = loadPassword(config, configPath: self.config).map { loaded in
            for warning in placed(loaded.warnings, inFile: self.config) { logger.warning("\(warning)") }
            return MQTTUplink.Password(loaded.password)
        }
        let tls = address.tls ? MQTTUplink.TLS(tls: config.mqtt.tls ?? TLSConfig()) : nil

        // Events wait on disk until the broker acknowledges them; numbers survive restarts next to them.
        let outboxDir = config.mqtt.outbox.resolvedDirectory(environment: Self.environment(["STATE_DIRECTORY"]))
        // One agent per outbox directory: a second one exits (EX_TEMPFAIL) naming the holder's pid.
        let outbox: OutboxService
        do {
            outbox = OutboxService(
                outbox: try Outbox.open(settings: .init(directory: outboxDir, maxEvents: config.mqtt.maxEvents,
                                                        maxBytes: config.mqtt.outbox.maxBytes, sync: config.mqtt.outbox.sync,
                                                        syncInterval: config.mqtt.outbox.syncInterval.seconds), logger: logger),
                sequence: try SequenceNumbers.open(path: outboxDir + "/sequence", logger: logger))
        } catch {
            logger.critical("\(error)")
            throw ExitCode(ExitStatus.tempFail)
        }
        let uplink = MQTTUplink(settings: .init(
            host: address.host, port: address.port,
            clientID: config.mqtt.clientID ?? "vigil-\(config.device)",
            keepalive: Int32(config.mqtt.keepalive.nanoseconds / 1_000_000_000),
            statusTopic: encoder.statusTopic,
            reconnectMin: config.mqtt.reconnectMin.seconds, reconnectMax: config.mqtt.reconnectMax.seconds,
            queueLimit: config.mqtt.maxEvents, drainRate: config.mqtt.outbox.drainRate,
            username: config.mqtt.username, password: password, tls: tls,
            status: .init(birth: encoder.message(for: .birth(firstSeq: outbox.sequence.upcoming, startedWallNanos: Clock.wallNanos())).payload,
                          will: encoder.message(for: .lastWill).payload)), outbox: outbox.outbox, logger: logger)
        let agent: Agent
        do throws(ConfigIssueList) { agent = try Agent(config: config, sink: outbox.outbox, sequence: outbox.sequence, logger: logger) } catch {
            exitWithConfigError(error.issues.map { "\(self.config): \($0)" }.joined(separator: "\n"))
        }
        // Home Assistant discovery: announced on every connect, removals since the last run first.
        let announcer = HomeAssistantAnnouncer(uplink: uplink, topicsFile: outboxDir + "/home-assistant-topics", logger: logger)
        announcer.update(HomeAssistantAnnouncer.messages(config, sources: agent.sources, board: BoardDetection.board(for: config)),
                         republish: false)
        let health = HealthReporter(publisher: agent.publisher, interval: config.mqtt.healthInterval) { [agent] in
            HealthSnapshot(outbox: outbox.outbox.stats, uplink: uplink.stats, readings: agent.readingsSoFar)
        }
        // Under systemd (Type=notify): READY once sources and uplink run, then STATUS and the watchdog.
        let systemd = SystemdService(progress: { agent.progress }, status: {
            ServiceStatus(readings: agent.readingsSoFar, queued: outbox.outbox.stats.events, connected: uplink.stats.connected)
        }, logger: logger)

        let reload = Reload(path: self.config, broker: broker, device: device, agent: agent, announcer: announcer, logger: logger)
        let runner = ServiceRunner(stopOn: .signals(stopSignals, after: duration, onHangup: reload.run), logger: logger)
        runner.add(outbox, stage: .outbox)
        // Beside the outbox, so it stops after the sources and the uplink: the last write has the final counts.
        if let textfile = config.metrics.textfile {
            runner.add(MetricsTextfile(path: textfile, interval: config.metrics.interval, logger: logger) { [agent] in
                let o = outbox.outbox.stats, u = uplink.stats
                return AgentMetrics(device: config.device, readings: agent.readingsSoFar, sources: agent.sourceReadings,
                                    messages: agent.publisher.published, outboxMessages: o.events, outboxBytes: o.bytes,
                                    droppedSummaries: o.droppedSummaries, droppedEvents: o.droppedEvents,
                                    mqttConnected: u.connected, mqttConnects: u.connects, mqttConnectFailures: u.connectFailures,
                                    mqttAcked: u.acked)
            }, stage: .outbox)
        }
        runner.add(UplinkService(uplink: uplink) { [agent] in
            encoder.message(for: .cleanStop(lastSeq: agent.publisher.lastSeq, wallNanos: Clock.wallNanos())).payload
        }, stage: .uplink, drainTimeout: 5)
        runner.add(agent, stage: .sources)
        runner.add(health, stage: .reporters)
        runner.add(systemd, stage: .notifier)

        let o = outbox.outbox.stats
        logger.info("vigil starting", metadata: ["device": "\(config.device)", "broker": "\(config.mqtt.broker)", "config": "\(self.config)",
                                                 "tls": "\(address.tls)", "username": "\(config.mqtt.username ?? "-")",
                                                 "outbox": "\(outboxDir)", "storage": "\(o.storage.rawValue)", "sync": "\(config.mqtt.outbox.sync.rawValue)",
                                                 "recovered": "\(o.recovered)", "next_seq": "\(outbox.sequence.upcoming)"])
        let outcome = runner.run { reason in
            logger.info("vigil stopping", metadata: ["signal": "\(reason)"])
        }
        guard case .stopTriggered = outcome.ending else { throw ExitCode(ExitStatus.cannotStart) }

        let stats = uplink.stats
        let left = outbox.statsAtClose ?? outbox.outbox.stats
        logger.info("vigil stopped", metadata: ["readings": "\(agent.readingsSoFar)", "events": "\(agent.publisher.published)",
                                                "last_seq": "\(agent.publisher.lastSeq)", "acked": "\(stats.acked)",
                                                "unsent": "\(stats.queued + stats.inflight)", "dropped": "\(left.dropped)",
                                                "drained": "\(outcome.drained)"])
        if !outcome.drained {
            if left.storage == .disk {
                logger.notice("\(left.events) unacknowledged message(s) stay in the outbox \(outboxDir) and are sent after the next start")
            } else {
                logger.warning("\(left.events) unacknowledged message(s) were only in memory and are lost")
            }
        }
    }

    private static func environment(_ names: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for n in names { if let v = getenv(n) { out[n] = String(cString: v) } }
        return out
    }
}

extension MQTTUplink.TLS {
    init(tls c: TLSConfig) {
        self.init(caFile: c.caFile, caDir: c.caDir, certFile: c.certFile, keyFile: c.keyFile,
                  minimumVersion: c.version, insecure: c.insecure)
    }
}

