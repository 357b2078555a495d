import Logging
import Synchronization
import VigilCore
import VigilFleetCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How the receiver connects and batches.
public struct ReceiverSettings: Sendable {
    public var host: String
    public var port: Int
    public var prefix: String
    /// Fixed, so the broker keeps the session (subscription and unacknowledged messages) across restarts.
    public var clientID: String
    /// Receivers of one group split the fleet's messages (`$share/<group>/…`).
    public var group: String?
    public var keepalive: Int32
    /// Messages per transaction at most.
    public var maxBatch: Int
    public var maxPayloadBytes: Int
    public var retention: RetentionPolicy

    public init(host: String, port: Int, prefix: String = "vigil", clientID: String = "vigil-fleet", group: String? = nil,
                keepalive: Int32 = 30, maxBatch: Int = 1000, maxPayloadBytes: Int = 64 * 1024, retention: RetentionPolicy = RetentionPolicy()) {
        self.host = host; self.port = port; self.prefix = prefix; self.clientID = clientID; self.group = group
        self.keepalive = keepalive; self.maxBatch = maxBatch; self.maxPayloadBytes = maxPayloadBytes; self.retention = retention
    }

    /// `<prefix>/+/#`, or `$share/<group>/<prefix>/+/#`.
    public var subscription: String {
        let pattern = "\(prefix)/+/#"
        return group.map { "$share/\($0)/\(pattern)" } ?? pattern
    }
}

/// Raised once to stop the receiver (from a signal-waiting thread).
public final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    public init() {}
    public func raise() { raised.store(true, ordering: .releasing) }
    public var isRaised: Bool { raised.load(ordering: .acquiring) }
}

/// Receives every Vigil message of a broker into a `FleetStore`, at least once.
///
/// One thread does everything: read what the socket has (up to `maxBatch` messages), feed it through
/// `FleetState`, commit the batch in one transaction, and only then write the PUBACKs libmosquitto queued
/// for it (see `MQTTSubscriberClient`). The session is persistent (fixed client id, clean session off), so
/// whatever was not acknowledged — because the receiver was killed, or a commit failed and the connection
/// was dropped on purpose — is sent again by the broker; the (device, seq) ledger and the store's unique
/// key keep those copies out. A failed commit reloads the state from the store before reconnecting.
public final class FleetReceiver {
    public let settings: ReceiverSettings
    private let store: FleetStore
    private let logger: Logger
    private let decoder: MessageDecoder
    private var state: FleetState
    /// Rejections logged so far per code: each code is logged at its 1st, 10th, 100th, … occurrence.
    private var rejectionLogCounts: [String: Int64] = [:]
    private var lastRetention: Int64 = 0
    /// Where the alerts raised by each batch go; without it none are stored.
    public var alerts: AlertSender?
    /// Counted after each committed batch (`/metrics`).
    public var metrics: FleetMetrics?
    /// Called on the receiver's thread after each committed batch, with the devices it touched (the page's live updates).
    public var onCommit: (@Sendable ([String]) -> Void)?

    public init(settings: ReceiverSettings, store: FleetStore, logger: Logger) throws {
        self.settings = settings
        self.store = store
        self.logger = logger
        decoder = MessageDecoder(prefix: settings.prefix, maxPayloadBytes: settings.maxPayloadBytes)
        state = try store.loadState(decoder: decoder)
    }

    /// Runs until `stop` is raised: connects, retries with backoff, receives and commits.
    public func run(until stop: StopFlag) {
        var backoff = 0.25
        while !stop.isRaised {
            do {
                try session(until: stop)
                backoff = 0.25
            } catch let error as FleetStoreError {
                logger.error("store commit failed, dropping the connection without acknowledging: \(error)")
                reloadState()
            } catch {
                logger.warning("MQTT \(settings.host):\(settings.port): \(error); retrying in \(backoff) s")
            }
            applyRetentionIfDue()
            if stop.isRaised { break }
            sleep(seconds: backoff, unless: stop)
            backoff = min(backoff * 2, 30)
        }
        logger.notice("vigil-fleet stopped")
    }

    private func reloadState() {
        do { state = try store.loadState(decoder: decoder) } catch { logger.error("cannot reload the fleet state: \(error)") }
    }

    private func sleep(seconds: Double, unless stop: StopFlag) {
        let deadline = Clock.monotonicNanos() + Int64(seconds * 1e9)
        while !stop.isRaised, Clock.monotonicNanos() < deadline { usleep(50_000) }
    }

    /// One connection, from connect to its end. Returns when stopped cleanly; throws when the connection
    /// or a commit failed.
    private func session(until stop: StopFlag) throws {
        let client = try MQTTSubscriberClient(clientID: settings.clientID, cleanSession: false)
        let inbox = Inbox()
        var connackError: (any Error)?
        client.onMessage = { inbox.messages.append($0) }
        // Unowned: the client holds this closure, and its deinit (mosquitto_destroy) must run when the session ends.
        client.onConnect = { [unowned client, settings, logger] rc, sessionPresent in
            guard rc == 0 else { connackError = SubscriberError.connack(rc); return }
            logger.info("connected to \(settings.host):\(settings.port) as \(settings.clientID), session present: \(sessionPresent ? "yes" : "no")")
            do { try client.subscribe(settings.subscription, qos: 1) } catch { connackError = error }
        }
        client.onSubscribe = { [settings, logger] granted in
            if granted == 128 { connackError = SubscriberError(code: 128); return }
            logger.notice("subscribed to \(settings.subscription) (qos \(granted))")
        }
        try client.connect(host: settings.host, port: Int32(settings.port), keepalive: settings.keepalive)
        while true {
            if let connackError { throw connackError }
            let fd = client.socket
            guard fd >= 0 else { throw SubscriberError(code: 7) }   // MOSQ_ERR_CONN_LOST
            let ready = pollReadable(fd, writable: client.wantsWrite, milliseconds: 200)
            var readError: Error?
            if ready.readable {
                do {
                    repeat { try client.loopRead() } while inbox.messages.count < settings.maxBatch && pollReadable(fd, milliseconds: 0).readable
                } catch { readError = error }
            }
            // Commit before any PUBACK for these messages can leave.
            if !inbox.messages.isEmpty { try commit(inbox.take()) }
            if let readError { throw readError }
            if stop.isRaised {
                try client.loopWrite()          // the PUBACKs of what is committed
                try client.disconnect()
                try client.loopWrite()
                return
            }
            if client.wantsWrite { try client.loopWrite() }
            try client.loopMisc()
            applyRetentionIfDue()
        }
    }

    private func commit(_ messages: [ReceivedMessage]) throws {
        let now = Clock.wallNanos()
        var duplicates = 0
        for m in messages {
            switch state.ingest(topic: m.topic, payload: m.payload, retained: m.retained, receivedNanos: now) {
            case .duplicate: duplicates += 1
            case .rejected(let r): logRejection(r, topic: m.topic)
            case .sequenceReset(let device, let from, let to):
                logger.error("\(device)'s sequence went back from \(from) to \(to) (its state directory was replaced?): its messages below the seqs already seen count as duplicates")
            default: break
            }
        }
        var changes = state.takeChanges()
        changes.alerts = alerts?.admit(changes.alerts) ?? []
        do {
            let result = try store.commit(changes)
            if result.conflicts > 0 { logger.debug("\(result.conflicts) events were in the store already") }
        } catch {
            throw FleetStoreError("\(error)")
        }
        alerts?.enqueue(changes.alerts)
        metrics?.record(changes, duplicates: duplicates, committedNanos: Clock.wallNanos(), state: state)
        if let onCommit {
            let touched = Set(changes.devices.map(\.device)).union(changes.events.map(\.device)).union(changes.summaries.map(\.device))
            if !touched.isEmpty { onCommit(Array(touched)) }
        }
    }

    private func logRejection(_ r: Rejection, topic: String) {
        let n = (rejectionLogCounts[r.code] ?? 0) + 1
        rejectionLogCounts[r.code] = n
        var power: Int64 = 1
        while power < n { power *= 10 }
        guard power == n else { return }
        // The topic is device-supplied: shown escaped and cut short.
        let shown = String(topic.unicodeScalars.prefix(120).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : $0.escaped(asASCII: true) }.joined())
        logger.warning("rejected message on '\(shown)': \(r) (\(r.code), \(n) so far)")
    }

    private func applyRetentionIfDue() {
        let now = Clock.wallNanos()
        guard now - lastRetention >= 3_600_000_000_000 else { return }
        lastRetention = now
        do {
            let r = try store.applyRetention(settings.retention, now: now)
            if r.events + r.summaries + r.rollups > 0 {
                logger.info("retention removed \(r.events) events, \(r.summaries) summaries, \(r.rollups) hourly roll-ups")
            }
        } catch {
            logger.error("retention failed: \(error)")
        }
    }
}

/// Messages read in the current batch (filled by the message callback on the same thread).
private final class Inbox {
    var messages: [ReceivedMessage] = []
    func take() -> [ReceivedMessage] { defer { messages = [] }; return messages }
}

/// Clocks through clock_gettime (VigilCore stays free of system calls).
enum Clock {
    static func wallNanos() -> Int64 { read(CLOCK_REALTIME) }
    static func monotonicNanos() -> Int64 { read(CLOCK_MONOTONIC) }
    private static func read(_ clock: clockid_t) -> Int64 {
        var t = timespec()
        clock_gettime(clock, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }
}
