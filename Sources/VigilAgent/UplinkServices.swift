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
/// drain timeout for the broker to acknowledge what the outbox holds, publishes the clean-stop status
/// (built at that moment, so it can name the run's last sequence number) and disconnects. It reports a
/// thread that cannot start itself (and keeps the messages in the outbox).
public final class UplinkService: Service, Sendable {
    public let serviceName = "uplink"
    public let uplink: MQTTUplink
    private let offline: @Sendable () -> [UInt8]?

    /// - Parameter offline: the clean-stop status payload; nil publishes the last will's bytes.
    public init(uplink: MQTTUplink, offline: @escaping @Sendable () -> [UInt8]? = { nil }) {
        self.uplink = uplink
        self.offline = offline
    }

    public func start() throws { try uplink.start() }

    public func stop(drainTimeout: Double) -> Bool {
        uplink.shutdown(drainTimeout: drainTimeout, offline: offline())
    }
}

extension MQTTUplink: Service {
    public var serviceName: String { "uplink" }

    public func stop(drainTimeout: Double) -> Bool {
        shutdown(drainTimeout: drainTimeout)
    }
}

/// Producers hand messages to the outbox; the uplink consumes from it (one-way flow).
extension Outbox: MessageSink {
    public func enqueue(contentsOf messages: [OutboundMessage]) { append(contentsOf: messages) }
}
extension MQTTUplink: MessageSink {}

extension HealthSnapshot {
    /// What the outbox and the uplink count, with the readings taken so far.
    public init(outbox o: Outbox.Stats, uplink u: MQTTUplink.Stats, readings: Int) {
        self.init(readings: readings, outboxEvents: o.events, outboxBytes: o.bytes,
                  outboxStorage: o.storage == .disk ? .disk : .memory,
                  droppedSummaries: o.droppedSummaries, droppedEvents: o.droppedEvents,
                  brokerConnected: u.connected, brokerConnects: u.connects)
        healthReportsHeld = o.healthReports
        let lost = o.recoveryLosses
        recoveryLosses = RecoveryLossCounts(records: lost.damagedRecords + lost.impossibleIDs, damagedBytes: lost.damagedBytes,
                                            filesSetAside: lost.segmentsSetAside)
    }
}
