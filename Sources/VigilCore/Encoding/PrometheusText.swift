/// The agent's counters at one moment, for the Prometheus textfile.
public struct AgentMetrics: Sendable, Equatable {
    public struct SourceReadings: Sendable, Equatable {
        public var source: String
        public var readings: Int
        public init(source: String, readings: Int) { self.source = source; self.readings = readings }
    }

    public var device: String
    /// Readings taken since the agent started (all sources, removed ones included).
    public var readings: Int
    /// Per running source, since that source started (a reload that restarts a source resets it).
    public var sources: [SourceReadings]
    /// Numbered messages (events, summaries, health) handed to the outbox since start.
    public var messages: Int
    public var outboxMessages: Int
    public var outboxBytes: Int
    public var droppedSummaries: Int
    public var droppedEvents: Int
    public var mqttConnected: Bool
    public var mqttConnects: Int
    public var mqttConnectFailures: Int
    public var mqttAcked: Int

    public init(device: String, readings: Int, sources: [SourceReadings], messages: Int, outboxMessages: Int, outboxBytes: Int,
                droppedSummaries: Int, droppedEvents: Int, mqttConnected: Bool, mqttConnects: Int, mqttConnectFailures: Int, mqttAcked: Int) {
        self.device = device; self.readings = readings; self.sources = sources; self.messages = messages
        self.outboxMessages = outboxMessages; self.outboxBytes = outboxBytes
        self.droppedSummaries = droppedSummaries; self.droppedEvents = droppedEvents
        self.mqttConnected = mqttConnected; self.mqttConnects = mqttConnects
        self.mqttConnectFailures = mqttConnectFailures; self.mqttAcked = mqttAcked
    }
}

/// Prometheus' text exposition format (version 0.0.4), as node_exporter's textfile collector reads it:
/// `# HELP` and `# TYPE` before each family, counters ending in `_total`, one sample per line.
public enum PrometheusText {
    public static func render(_ m: AgentMetrics) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { out += "\(name)\(s.labels) \(s.value)\n" }
        }
        family("vigil_info", "gauge", "The agent's device id and version (always 1).",
               [("{device=\"\(escaped(m.device))\",version=\"\(escaped(VigilVersion.current))\"}", 1)])
        family("vigil_readings_total", "counter", "Readings taken since the agent started.", [("", m.readings)])
        family("vigil_source_readings_total", "counter", "Readings per source since the source started.",
               m.sources.map { ("{source=\"\(escaped($0.source))\"}", $0.readings) })
        family("vigil_messages_total", "counter", "Numbered messages (events, summaries, health) written to the outbox.", [("", m.messages)])
        family("vigil_outbox_messages", "gauge", "Messages in the outbox, waiting or in flight.", [("", m.outboxMessages)])
        family("vigil_outbox_bytes", "gauge", "Payload bytes in the outbox.", [("", m.outboxBytes)])
        family("vigil_outbox_dropped_total", "counter", "Messages the outbox dropped to stay within its bounds.",
               [("{priority=\"summary\"}", m.droppedSummaries), ("{priority=\"event\"}", m.droppedEvents)])
        family("vigil_mqtt_connected", "gauge", "1 while connected to the broker.", [("", m.mqttConnected ? 1 : 0)])
        family("vigil_mqtt_connects_total", "counter", "Connections the broker accepted.", [("", m.mqttConnects)])
        family("vigil_mqtt_connect_failures_total", "counter", "Connection attempts that failed.", [("", m.mqttConnectFailures)])
        family("vigil_mqtt_acked_total", "counter", "Messages the broker acknowledged.", [("", m.mqttAcked)])
        return out
    }

    /// A label value: backslash, double quote and line feed escaped.
    static func escaped(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
