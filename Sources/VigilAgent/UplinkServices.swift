import VigilCore
import VigilUplink

/// The outbox as a service (stage `outbox`, the first to start and the last to stop), with the sequence
/// numbers stored next to it. The outbox opens when it is made (recovering what the disk holds), so
/// `start` has nothing to do; `stop` records the next sequence number and closes the outbox, keeping
/// the counts it had when it closed.
public final class OutboxService: Service, @unchecked Sendable {
    public let serviceName = "outbox"
    public let outbox: Outbox
    public let sequence: SequenceNumbers
    /// The outbox's counts just before it closed (a closed outbox reports its storage as memory).
    public private(set) var statsAtClose: Outbox.Stats?

    public init(outbox: Outbox, sequence: SequenceNumbers) {
        self.outbox = outbox
        self.sequence = sequence
    }

    public func start() {}

    public func stop(drainTimeout: Double) -> Bool {
        statsAtClose = outbox.stats
        sequence.close()
        outbox.close()
        return true
    }
}

/// The uplink as a service (stage `uplink`): `start` starts its network thread; `stop` waits up to the
/// drain timeout for the broker to acknowledge what the outbox holds, publishes `offline` and
/// disconnects. It reports a thread that cannot start itself (and keeps the messages in the outbox).
extension MQTTUplink: Service {
    public var serviceName: String { "uplink" }

    public func stop(drainTimeout: Double) -> Bool {
        shutdown(drainTimeout: drainTimeout)
    }
}

extension MQTTUplink: MessageSink {}

extension HealthSnapshot {
    /// What the outbox and the uplink count, with the readings taken so far.
    public init(outbox o: Outbox.Stats, uplink u: MQTTUplink.Stats, readings: Int) {
        self.init(readings: readings, outboxEvents: o.events, outboxBytes: o.bytes,
                  outboxStorage: o.storage == .disk ? .disk : .memory,
                  droppedSummaries: o.droppedSummaries, droppedEvents: o.droppedEvents,
                  brokerConnected: u.connected, brokerConnects: u.connects)
    }
}
