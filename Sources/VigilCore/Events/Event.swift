/// Something worth sending upstream. Events are rare next to readings, so they may allocate.
public enum Event: Sendable, Equatable {
    case anomalyStart(channel: ChannelInfo, EpisodeStart)
    case anomalyEnd(channel: ChannelInfo, Episode)
    case summary(channel: ChannelInfo, Summary)

    public var channel: ChannelInfo {
        switch self {
        case .anomalyStart(let c, _), .anomalyEnd(let c, _), .summary(let c, _): return c
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
        }
        return w.finish()
    }
}
