/// Today's wire format: compact JSON objects with a schema version, the device id and (except status)
/// the device's sequence number; RFC 3339 UTC timestamps with milliseconds. README shows one of each.
public struct JSONPayloadEncoder: PayloadEncoder {
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
        case .sourceHealth(let source, let h): return message(forSource: source, health: h, seq: seq)
        default: return OutboundMessage(topic: topic(for: event), payload: payload(for: event, seq: seq), qos: 1, priority: .event)
        }
    }

    public func message(forSource source: String, health: SourceHealth, seq: UInt64) -> OutboundMessage {
        var w = header(seq: seq)
        sourceHealthFields(health, into: &w)
        return OutboundMessage(topic: healthTopic, payload: w.finish(), qos: 1, priority: .event)
    }

    /// ```json
    /// {"v":1,"device":"gw-1","seq":40,"type":"health","ts":"2026-11-23T11:41:00.123Z","uptime_s":3600,"readings":36000,"outbox_events":12,"outbox_bytes":3456,"outbox_storage":"disk","dropped_summaries":3,"dropped_events":0,"dropped_total":3,"mqtt":"connected","mqtt_connects":2}
    /// ```
    public func message(for health: AgentHealth, seq: UInt64) -> OutboundMessage {
        var w = header(seq: seq)
        w.string("type", "health")
        w.timestamp("ts", health.wallNanos)
        w.int("uptime_s", health.uptimeSeconds)
        w.int("readings", health.readings)
        w.int("outbox_events", health.outboxEvents)
        w.int("outbox_bytes", health.outboxBytes)
        w.string("outbox_storage", health.outboxStorage.rawValue)
        w.int("dropped_summaries", health.droppedSummaries)
        w.int("dropped_events", health.droppedEvents)
        w.int("dropped_total", health.droppedTotal)
        w.string("mqtt", health.brokerConnected ? "connected" : "disconnected")
        w.int("mqtt_connects", health.brokerConnects)
        // Only when the outbox lost something at start, so ordinary payloads keep their bytes.
        if !health.recoveryLosses.isZero {
            w.int("recovery_lost_records", health.recoveryLosses.records)
            w.int("recovery_damaged_bytes", health.recoveryLosses.damagedBytes)
            w.int("recovery_files_set_aside", health.recoveryLosses.filesSetAside)
        }
        return OutboundMessage(topic: healthTopic, payload: w.finish(), qos: 1, priority: .health)
    }

    /// Retained, QoS 1, on `statusTopic`:
    /// ```json
    /// {"v":1,"device":"gw-1","type":"status","state":"online","version":"0.1.0","first_seq":2001,"started":"2026-11-23T11:40:00.123Z"}
    /// {"v":1,"device":"gw-1","type":"status","state":"offline","clean":false}
    /// {"v":1,"device":"gw-1","type":"status","state":"offline","clean":true,"last_seq":41,"ts":"2026-11-23T12:10:00.456Z"}
    /// ```
    public func message(for status: AgentStatus) -> OutboundMessage {
        var w = JSONWriter()
        w.int("v", Self.schemaVersion)
        w.string("device", device)
        w.string("type", "status")
        switch status {
        case .birth(let version, let firstSeq, let started):
            w.string("state", "online")
            w.string("version", version)
            w.int("first_seq", Int(firstSeq))
            w.timestamp("started", started)
        case .lastWill:
            w.string("state", "offline")
            w.bool("clean", false)
        case .cleanStop(let lastSeq, let wallNanos):
            w.string("state", "offline")
            w.bool("clean", true)
            w.int("last_seq", Int(lastSeq))
            w.timestamp("ts", wallNanos)
        }
        return OutboundMessage(topic: statusTopic, payload: w.finish(), qos: 1, retain: true, priority: .event)
    }

    /// The JSON payload of `event` with sequence number `seq`.
    public func payload(for event: Event, seq: UInt64) -> [UInt8] {
        var w = header(seq: seq)
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
            sourceHealthFields(h, into: &w)
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

    /// `{"v":1,"device":…,"seq":…`: what every numbered payload starts with.
    private func header(seq: UInt64) -> JSONWriter {
        var w = JSONWriter()
        w.int("v", Self.schemaVersion)
        w.string("device", device)
        w.int("seq", Int(seq))
        return w
    }

    private func sourceHealthFields(_ h: SourceHealth, into w: inout JSONWriter) {
        w.string("type", "health")
        w.string("event", h.up ? "source_up" : "source_down")
        w.timestamp("ts", h.wallNanos)
        w.string("path", h.device)
        w.string("reason", h.reason)
        w.sourceCounters(h.counters)
    }
}

/// The encoder's former name, kept so code written against it (other branches) still compiles.
@available(*, deprecated, renamed: "JSONPayloadEncoder")
public typealias EventEncoder = JSONPayloadEncoder

extension JSONWriter {
    /// The counters as flat `source_*` fields.
    mutating func sourceCounters(_ c: SourceCounters) {
        string("source", c.source)
        for count in c.counts { int(dynamicKey: "source_" + count.name, count.value) }
    }
}
