/// One MQTT message ready to send: what the pipeline hands to the uplink.
public struct OutboundMessage: Sendable, Hashable {
    public enum Priority: Int, Sendable, Comparable {
        /// Summaries: the first to be dropped when a queue is full.
        case summary = 0
        /// Anomaly and health events: kept until acknowledged; dropped (oldest first) only when no summary is left.
        case event = 1
        /// The agent's own health report, which carries the drop counts: never dropped by a queue's bounds
        /// (else the counts it carries would be lost); the reporter holds its next report while one waits.
        case health = 2
        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
    }
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    public var priority: Priority

    public init(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false, priority: Priority = .event) {
        self.topic = topic; self.payload = payload; self.qos = qos; self.retain = retain; self.priority = priority
    }
}
