/// Something worth sending upstream. Events are rare next to readings, so they may allocate.
public enum Event: Sendable, Equatable {
    case anomalyStart(channel: ChannelInfo, EpisodeStart)
    case anomalyEnd(channel: ChannelInfo, Episode)
    case summary(channel: ChannelInfo, Summary)
    /// A source went down or came back (`vigil/<device>/health`).
    case sourceHealth(source: String, SourceHealth)
    /// A sensor health problem began (stuck, dropout, out_of_range, rate_of_change) …
    case healthStart(channel: ChannelInfo, HealthStart)
    /// … and ended.
    case healthEnd(channel: ChannelInfo, HealthEnd)
    /// The multivariate (T²) detector over a source's channels opened an episode …
    case multivariateStart(source: String, channels: [ChannelInfo], MultivariateStart)
    /// … and closed it.
    case multivariateEnd(source: String, Episode)

    /// The channel the event is about; for a multivariate event, the source (unit empty).
    public var channel: ChannelInfo {
        switch self {
        case .anomalyStart(let c, _), .anomalyEnd(let c, _), .summary(let c, _), .healthStart(let c, _), .healthEnd(let c, _): return c
        case .multivariateStart(let s, _, _), .multivariateEnd(let s, _), .sourceHealth(let s, _): return ChannelInfo(name: s, unit: "")
        }
    }
}

/// A channel's identity as it appears in topics and payloads.
public struct ChannelInfo: Sendable, Hashable {
    public var name: String
    public var unit: String
    public init(name: String, unit: String) { self.name = name; self.unit = unit }
}

/// Turns events into topics and JSON payloads (schema version 1).
public struct EventEncoder: Sendable {
    public static let schemaVersion = 1
    public var device: String
    public var topicPrefix: String

    public init(device: String, topicPrefix: String = "vigil") {
        self.device = device
        self.topicPrefix = topicPrefix
    }

    public var statusTopic: String { "\(topicPrefix)/\(device)/status" }
    public var healthTopic: String { "\(topicPrefix)/\(device)/health" }

    public func topic(for event: Event) -> String {
        switch event {
        case .anomalyStart(let c, _), .anomalyEnd(let c, _): return "\(topicPrefix)/\(device)/anomaly/\(c.name)"
        case .summary(let c, _): return "\(topicPrefix)/\(device)/summary/\(c.name)"
        // Per channel, below the agent's own health topic (`healthTopic`, the outbox report).
        case .healthStart(let c, _), .healthEnd(let c, _): return "\(healthTopic)/\(c.name)"
        case .multivariateStart(let s, _, _), .multivariateEnd(let s, _): return "\(topicPrefix)/\(device)/anomaly/\(s)"
        case .sourceHealth: return healthTopic
        }
    }

    /// The message for `event` with sequence number `seq`.
    public func message(for event: Event, seq: UInt64) -> OutboundMessage {
        switch event {
        case .summary: return OutboundMessage(topic: topic(for: event), payload: payload(for: event, seq: seq), qos: 1, priority: .summary)
        default: return OutboundMessage(topic: topic(for: event), payload: payload(for: event, seq: seq), qos: 1, priority: .event)
        }
    }

    public func payload(for event: Event, seq: UInt64) -> [UInt8] {
        var w = JSONWriter()
        w.int("v", Self.schemaVersion)
        w.string("device", device)
        w.int("seq", Int(seq))
        switch event {
        case .anomalyStart(let c, let s):
            w.string("type", "anomaly")
            w.string("event", "start")
            w.string("channel", c.name)
            w.string("unit", c.unit)
            w.string("detector", s.detector.rawValue)
            w.int("episode", s.id)
            w.timestamp("ts", s.wallNanos)
            w.string("direction", s.z >= 0 ? "high" : "low")
            w.number("value", s.value)
            w.number("z", s.z, places: 3)
            w.number("mean", s.mean, places: 6)
            w.number("std", s.std, places: 6)
        case .anomalyEnd(let c, let e):
            w.string("type", "anomaly")
            w.string("event", "end")
            w.string("channel", c.name)
            w.string("unit", c.unit)
            w.int("episode", e.id)
            w.timestamp("ts", e.endWallNanos)
            w.timestamp("started", e.startWallNanos)
            w.int("duration_ms", Int(e.durationNanos / 1_000_000))
            w.number("peak_z", e.peakZ, places: 3)
            w.number("peak_value", e.peakValue)
            w.int("anomalous", e.anomalous)
            w.int("readings", e.readings)
            w.string("reason", e.reason.rawValue)
        case .summary(let c, let s):
            w.string("type", "summary")
            w.string("channel", c.name)
            w.string("unit", c.unit)
            w.timestamp("ts", s.toWallNanos)
            w.timestamp("from", s.fromWallNanos)
            w.int("count", s.count)
            w.number("min", s.min)
            w.number("max", s.max)
            w.number("mean", s.mean, places: 6)
            w.number("std", s.std, places: 6)
            w.int("anomalies", s.anomalies)
            w.int("episodes", s.episodes)
            w.int("dropped", s.dropped)
            w.int("unhealthy", s.unhealthy)
            if let counters = s.sourceCounters { w.sourceCounters(counters) }
        case .sourceHealth(_, let h):
            w.string("type", "health")
            w.string("event", h.up ? "source_up" : "source_down")
            w.timestamp("ts", h.wallNanos)
            w.string("path", h.device)
            w.string("reason", h.reason)
            w.sourceCounters(h.counters)
        case .healthStart(let c, let h):
            w.string("type", "health")
            w.string("event", "start")
            w.string("check", h.check.name)
            w.string("channel", c.name)
            w.string("unit", c.unit)
            w.timestamp("ts", h.wallNanos)
            w.timestamp("since", h.sinceWallNanos)
            w.number("value", h.value)
            switch h.check {
            case .stuck: w.number("resolution", h.detail)
            case .dropout: w.number("silent_s", h.detail, places: 3)
            case .outOfRange: w.number("limit", h.detail)
            case .rateOfChange: w.number("rate_per_s", h.detail, places: 6)
            }
        case .healthEnd(let c, let h):
            w.string("type", "health")
            w.string("event", "end")
            w.string("check", h.check.name)
            w.string("channel", c.name)
            w.string("unit", c.unit)
            w.timestamp("ts", h.endWallNanos)
            w.timestamp("started", h.startWallNanos)
            w.int("duration_ms", Int(h.durationNanos / 1_000_000))
            w.int("readings", h.readings)
        case .multivariateStart(let source, let channels, let s):
            w.string("type", "anomaly")
            w.string("event", "start")
            w.string("source", source)
            w.string("detector", "t2")
            w.int("episode", s.id)
            w.timestamp("ts", s.wallNanos)
            w.number("t2", s.t2, places: 3)
            w.number("z", s.z, places: 3)
            // Channels by their share of T², largest first: "humidity:0.93,temperature:0.07".
            let order = s.contributions.indices.sorted { s.contributions[$0] > s.contributions[$1] }
            w.string("contributions", order.map { "\(channels[$0].name):\(JSONWriter.rounded(s.contributions[$0], places: 3))" }.joined(separator: ","))
        case .multivariateEnd(let source, let e):
            w.string("type", "anomaly")
            w.string("event", "end")
            w.string("source", source)
            w.string("detector", "t2")
            w.int("episode", e.id)
            w.timestamp("ts", e.endWallNanos)
            w.timestamp("started", e.startWallNanos)
            w.int("duration_ms", Int(e.durationNanos / 1_000_000))
            w.number("peak_z", e.peakZ, places: 3)
            w.number("peak_t2", e.peakValue, places: 3)
            w.int("anomalous", e.anomalous)
            w.int("readings", e.readings)
            w.string("reason", e.reason.rawValue)
        }
        return w.finish()
    }
}
