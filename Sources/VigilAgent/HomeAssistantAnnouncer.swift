import Logging
import Synchronization
import VigilCore
import VigilIO
import VigilSources
import VigilUplink

/// Keeps Home Assistant's discovery configs in step with the config: hands the uplink the retained
/// config messages it publishes on every connect, and removes (empty retained payload) the entities
/// of channels that left the config — since the last reload, or since the last run, whose config
/// topics it keeps in a file beside the outbox.
public final class HomeAssistantAnnouncer: Sendable {
    private let uplink: MQTTUplink
    /// `<outbox>/home-assistant-topics`: the config topics published, one per line.
    private let topicsFile: String
    private let logger: Logger
    private let published: Mutex<[String]>

    public init(uplink: MQTTUplink, topicsFile: String, logger: Logger) {
        self.uplink = uplink
        self.topicsFile = topicsFile
        self.logger = logger
        let previous = (try? FileIO.read(topicsFile, maxBytes: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        published = Mutex(previous.split(separator: "\n").map(String.init))
    }

    /// The discovery messages for `config` with these sources built from it; none when
    /// `home_assistant` is not set.
    public static func messages(_ config: VigilConfig, sources: [Source], board: Board?) -> [OutboundMessage] {
        guard let ha = config.homeAssistant else { return [] }
        let discovery = HomeAssistantDiscovery(device: config.device, topicPrefix: config.mqtt.topicPrefix, settings: ha, model: board?.name)
        let channels = sources.flatMap(\.channels).map {
            HomeAssistantDiscovery.Channel($0, health: config.detectorSettings(forChannel: $0.name).health)
        }
        let multivariate = config.sources.map(\.name).filter { config.multivariate[$0] != nil }
        return discovery.messages(channels: channels, multivariate: multivariate)
    }

    /// Announces `messages` from now on. `republish`: send them at once too (after a reload; at
    /// start the connect sends them). Topics announced before and not now are removed.
    public func update(_ messages: [OutboundMessage], republish: Bool) {
        let topics = messages.map(\.topic)
        let current = Set(topics)
        let (removed, before) = published.withLock { p -> ([String], Int) in
            defer { p = topics }
            return (p.filter { !current.contains($0) }, p.count)
        }
        uplink.announce(messages, now: removed.map(HomeAssistantDiscovery.removal(ofTopic:)) + (republish ? messages : []))
        for topic in removed { logger.info("Home Assistant entity removed", metadata: ["topic": "\(topic)"]) }
        // Without discovery, now or before, there is nothing to record.
        if topics.isEmpty && before == 0 { return }
        let text = topics.map { $0 + "\n" }.joined()
        if let failure = FileIO.replace(topicsFile, with: Array(text.utf8)) {
            logger.warning("cannot record the Home Assistant topics in \(topicsFile): \(failure); entities removed while stopped stay in Home Assistant")
        }
    }
}
