/// Turns what the agent reports into MQTT messages — a topic and the payload bytes — in one wire format.
///
/// Every payload the agent sends is made by a conformer: today's compact JSON (`JSONPayloadEncoder`) is
/// the only one. Another format (Home Assistant discovery, Sparkplug B) plugs in as another conformer;
/// nothing outside this folder writes payload bytes.
public protocol PayloadEncoder: Sendable {
    /// An anomaly, summary, sensor health or multivariate event, numbered `seq` in the device's sequence.
    /// (`encode` sends a source's up/down to `message(forSource:health:seq:)` instead.)
    func message(for event: Event, seq: UInt64) -> OutboundMessage
    /// A source went down or came back.
    func message(forSource source: String, health: SourceHealth, seq: UInt64) -> OutboundMessage
    /// The agent's own periodic health report.
    func message(for health: AgentHealth, seq: UInt64) -> OutboundMessage
    /// The retained status: the birth message on every connect, the last will, the clean stop. Status
    /// messages are not numbered: they tell where the numbers start and end.
    func message(for status: AgentStatus) -> OutboundMessage
}

extension PayloadEncoder {
    /// The message for any event: a source's up/down goes to `message(forSource:health:seq:)`, the rest
    /// to `message(for:seq:)`.
    public func encode(_ event: Event, seq: UInt64) -> OutboundMessage {
        if case .sourceHealth(let source, let health) = event { return message(forSource: source, health: health, seq: seq) }
        return message(for: event, seq: seq)
    }
}

/// What the agent's health report says about the agent itself, every `mqtt.health_interval`.
/// Losses the outbox counted while recovering its files at start.
public struct RecoveryLossCounts: Sendable, Equatable {
    public var records = 0
    public var damagedBytes = 0
    public var filesSetAside = 0
    public init(records: Int = 0, damagedBytes: Int = 0, filesSetAside: Int = 0) {
        self.records = records; self.damagedBytes = damagedBytes; self.filesSetAside = filesSetAside
    }
    public var isZero: Bool { self == RecoveryLossCounts() }
}

public struct AgentHealth: Sendable, Equatable {
    /// Where the outbox keeps its messages: on disk (they survive a restart) or only in memory.
    public enum Storage: String, Sendable { case disk, memory }

    public var wallNanos: Int64
    public var uptimeSeconds: Int
    /// Readings taken since start (all sources).
    public var readings: Int
    /// Messages in the outbox (waiting or in flight) and their payload bytes.
    public var outboxEvents: Int
    public var outboxBytes: Int
    public var outboxStorage: Storage
    /// Dropped by the outbox's bounds since the previous report, so each drop is reported once.
    public var droppedSummaries: Int
    public var droppedEvents: Int
    /// Dropped since start.
    public var droppedTotal: Int
    public var brokerConnected: Bool
    /// Accepted connections since start.
    public var brokerConnects: Int
    /// What the outbox could not recover from damaged segment files at start (records lost, bytes
    /// damaged, files set aside); reported in every health message while nonzero.
    public var recoveryLosses = RecoveryLossCounts()

    public init(wallNanos: Int64, uptimeSeconds: Int, readings: Int, outboxEvents: Int, outboxBytes: Int,
                outboxStorage: Storage, droppedSummaries: Int, droppedEvents: Int, droppedTotal: Int,
                brokerConnected: Bool, brokerConnects: Int) {
        self.wallNanos = wallNanos; self.uptimeSeconds = uptimeSeconds; self.readings = readings
        self.outboxEvents = outboxEvents; self.outboxBytes = outboxBytes; self.outboxStorage = outboxStorage
        self.droppedSummaries = droppedSummaries; self.droppedEvents = droppedEvents; self.droppedTotal = droppedTotal
        self.brokerConnected = brokerConnected; self.brokerConnects = brokerConnects
    }
}

/// The agent's retained status (`<prefix>/<device>/status`).
public enum AgentStatus: Sendable, Equatable {
    /// Published on every connect: this run's agent version, the first sequence number it uses and when
    /// it started, so a receiver can tell a declared skip in the numbers (after a restart) from a loss.
    /// `firstSeq`: `SequenceNumbers.upcoming` when the run starts.
    case birth(version: String = VigilVersion.current, firstSeq: UInt64, startedWallNanos: Int64)
    /// Left with the broker at connect; published by the broker when the connection ends uncleanly.
    case lastWill
    /// Published on a clean stop, after the outbox drained: the last sequence number this run used.
    case cleanStop(lastSeq: UInt64, wallNanos: Int64)
}
