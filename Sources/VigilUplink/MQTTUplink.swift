import CMosquitto
import Logging
import Synchronization
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends `OutboundMessage`s to one MQTT broker, at least once, from one dedicated thread.
///
/// It consumes its `Outbox`: producers enqueue there (or through `enqueue` here), which never blocks on the
/// network, and the outbox wakes the uplink.
/// The thread owns the libmosquitto handle; it connects (over TLS for `mqtts://`), retries with exponential
/// backoff, keeps at most `maxInflight` QoS 1 messages unacknowledged, and removes a message from the outbox
/// only when its PUBACK arrives. A fresh handle is made for every connection so that libmosquitto never
/// resends on its own: after a disconnect the unacknowledged messages go back to waiting instead.
///
/// After a reconnect, what waited during the outage (the backlog) drains oldest first, one second's worth at
/// once and then `drainRate` messages per second; messages born during the new connection go out whenever the
/// backlog has to wait for the rate, so a long backlog does not hold back live events (and a short one keeps
/// the order).
public final class MQTTUplink: OutboxConsumer, Sendable {
    /// TLS for `mqtts://` brokers.
    public struct TLS: Sendable, Hashable {
        /// CA certificates to check the broker against; both nil: the system's store.
        public var caFile: String?
        public var caDir: String?
        /// Client certificate and key for mutual TLS.
        public var certFile: String?
        public var keyFile: String?
        /// The lowest version accepted: `tlsv1.2` or `tlsv1.3`.
        public var minimumVersion: String
        /// Skip the check that the certificate names the host (tests only; the chain is still verified).
        public var insecure: Bool

        public init(caFile: String? = nil, caDir: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                    minimumVersion: String = "tlsv1.2", insecure: Bool = false) {
            self.caFile = caFile; self.caDir = caDir; self.certFile = certFile; self.keyFile = keyFile
            self.minimumVersion = minimumVersion; self.insecure = insecure
        }
    }

    /// A password that never shows in logs, descriptions or dumps.
    public struct Password: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        package let value: String
        public init(_ value: String) { self.value = value }
        public var description: String { "<redacted>" }
        public var debugDescription: String { "<redacted>" }
        public var customMirror: Mirror { Mirror(self, children: []) }
    }

    /// What the uplink publishes on its status topic.
    public struct StatusPayloads: Sendable, Hashable {
        /// Published retained, QoS 1, on every connect.
        public var birth: [UInt8]
        /// The last will (retained, QoS 1), which the broker publishes if the connection ends without
        /// DISCONNECT; also what `shutdown` publishes unless told otherwise.
        public var will: [UInt8]

        public init(birth: [UInt8] = Array("online".utf8), will: [UInt8] = Array("offline".utf8)) {
            self.birth = birth
            self.will = will
        }
    }

    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// Empty lets libmosquitto pick a random id.
        public var clientID: String
        /// Seconds; libmosquitto refuses less than 5, so smaller values are raised to 5.
        public var keepalive: Int32
        /// Where `status.birth` is published (retained) on every connect and `status.will` is the last will.
        public var statusTopic: String
        /// First retry delay in seconds; doubles per failed attempt up to `reconnectMax`.
        public var reconnectMin: Double
        public var reconnectMax: Double
        /// Unacknowledged QoS 1/2 messages allowed at once.
        public var maxInflight: Int
        /// Events held when no outbox is given (an in-memory one is made with this bound).
        public var queueLimit: Int
        /// Backlog messages per second after a reconnect.
        public var drainRate: Double
        public var username: String?
        public var password: Password?
        /// Nil: plain TCP.
        public var tls: TLS?
        /// The payloads on `statusTopic`.
        public var status: StatusPayloads

        public init(host: String, port: Int = 1883, clientID: String, keepalive: Int32 = 30,
                    statusTopic: String, reconnectMin: Double = 1, reconnectMax: Double = 60,
                    maxInflight: Int = 20, queueLimit: Int = 10_000, drainRate: Double = 100,
                    username: String? = nil, password: Password? = nil, tls: TLS? = nil,
                    status: StatusPayloads = StatusPayloads()) {
            self.host = host; self.port = port; self.clientID = clientID; self.keepalive = keepalive
            self.statusTopic = statusTopic; self.reconnectMin = reconnectMin; self.reconnectMax = reconnectMax
            self.maxInflight = maxInflight; self.queueLimit = queueLimit; self.drainRate = drainRate
            self.username = username; self.password = password; self.tls = tls; self.status = status
        }
    }

    /// A consistent snapshot of the uplink's counters.
    public struct Stats: Sendable, Hashable {
        /// A CONNACK was accepted and the connection has not ended since.
        public var connected: Bool
        /// Accepted CONNACKs.
        public var connects: Int
        /// Attempts that ended before an accepted CONNACK.
        public var connectFailures: Int
        /// Successful `mosquitto_publish` calls for queued messages (resends included).
        public var published: Int
        /// PUBACKs (PUBCOMPs for QoS 2) for queued messages.
        public var acked: Int
        /// Waiting to be sent.
        public var queued: Int
        /// Sent, waiting for PUBACK.
        public var inflight: Int
        /// Dropped by the outbox bounds, refused by libmosquitto as malformed, or enqueued after shutdown.
        public var dropped: Int
        /// Backlog messages (older than their connection) published.
        public var backlogPublished: Int
    }

    public let settings: Settings
    /// Where messages wait until acknowledged.
    public let outbox: Outbox
    let logger: Logger
    let state = Mutex(UplinkState())
    /// Serialises start and shutdown, and holds the thread to join.
    private let lifecycle = Mutex(Lifecycle.idle)
    let wakeup = WakePipe()

    /// `mosquitto_loop` timeout while shutting down.
    static let loopTimeoutMilliseconds: Int32 = 50
    /// How long shutdown waits for the broker to acknowledge `offline`.
    static let offlineAckTimeout: Duration = .seconds(2)
    /// A connection shorter than this counts as a failed attempt for backoff, so a flapping broker is not
    /// hammered at `reconnectMin`.
    static let stableConnection: Duration = .seconds(10)

    /// - Parameter outbox: where messages wait; nil makes one in memory bounded by `settings.queueLimit`.
    public init(settings: Settings, outbox: Outbox? = nil, logger: Logger) {
        var s = settings
        s.keepalive = max(s.keepalive, 5)
        s.maxInflight = max(s.maxInflight, 1)
        s.reconnectMin = max(s.reconnectMin, 0.001)
        s.reconnectMax = max(s.reconnectMax, s.reconnectMin)
        s.drainRate = max(s.drainRate, 0.001)
        self.settings = s
        self.logger = logger
        self.outbox = outbox ?? Outbox.inMemory(maxEvents: s.queueLimit, logger: logger)
        self.outbox.setConsumer(self)
    }

    var endpoint: String { "\(settings.tls == nil ? "" : "mqtts://")\(settings.host):\(settings.port)" }

    // MARK: - Public API

    /// Starts the network thread. Returns at once; an unreachable broker is retried in the background.
    /// Calling it again, or after `shutdown`, does nothing. A thread that cannot be created is thrown
    /// (`ThreadStartError`), as every service does; the messages stay in the outbox.
    public func start() throws(ThreadStartError) {
        try lifecycle.withLock { phase throws(ThreadStartError) in
            guard case .idle = phase else { return }
            // The thread keeps the uplink alive until it returns.
            let thread: Threads.Handle
            do throws(ThreadStartError) { thread = try Threads.start { [self] in runLoop() } } catch {
                phase = .stopped
                throw error
            }
            #if canImport(Darwin)
            phase = .running(thread!)
            #else
            phase = .running(thread)
            #endif
        }
    }

    /// Queues `message` for sending: into the outbox (written, and synced per its policy, before this
    /// returns), which wakes the network thread. Thread-safe, never blocks on the network. After
    /// `shutdown` the message is counted as dropped.
    public func enqueue(_ message: OutboundMessage) {
        let accepting = state.withLock { s -> Bool in
            if !s.accepting { s.droppedAfterShutdown += 1 }
            return s.accepting
        }
        guard accepting else {
            let total = state.withLock { $0.droppedAfterShutdown }
            if Outbox.crossesPowerOfTen(from: total - 1, to: total) {
                logger.warning("MQTT uplink to \(endpoint) is shut down; \(total) message(s) dropped so far")
            }
            return
        }
        outbox.enqueue(message)
    }

    /// The outbox took a message: wake the network thread if it sleeps.
    func outboxDidAppend() {
        let wake = state.withLock { s -> Bool in
            defer { s.sleeping = false }
            return s.sleeping
        }
        if wake { wakeup.signal() }
    }

    /// A snapshot of the counters.
    public var stats: Stats {
        let o = outbox.stats
        return state.withLock { s in
            Stats(connected: s.connected, connects: s.connects, connectFailures: s.connectFailures,
                  published: s.published, acked: s.acked, queued: o.events - o.inflight,
                  inflight: o.inflight, dropped: o.dropped + s.droppedAfterShutdown,
                  backlogPublished: s.backlogPublished)
        }
    }

    /// Waits up to `drainTimeout` seconds for the outbox to empty, then publishes `offline` (nil: the last
    /// will's bytes, `settings.status.will`; retained, QoS 1) and waits briefly for its PUBACK, disconnects,
    /// and stops the thread. Returns whether every enqueued message was acknowledged (what was not stays in a
    /// disk outbox for the next start). Safe when never started or never connected; later `enqueue` calls
    /// are counted as dropped. A second call returns the same answer at once. The outbox stays open: its
    /// owner closes it.
    @discardableResult
    public func shutdown(drainTimeout: Double, offline: [UInt8]? = nil) -> Bool {
        let deadline = ContinuousClock.now + .seconds(max(0, drainTimeout))
        lifecycle.withLock { phase in
            switch phase {
            case .stopped:
                return
            case .idle:
                // Nothing can send; report what is left.
                state.withLock { $0.accepting = false }
            case .running(let thread):
                while !outbox.isEmpty, ContinuousClock.now < deadline {
                    usleep(5_000)
                }
                state.withLock { $0.accepting = false; $0.stopRequested = true; $0.offline = offline ?? settings.status.will }
                wakeup.signal()
                pthread_join(thread, nil)
            }
            phase = .stopped
        }
        return outbox.isEmpty
    }

    // MARK: - Test hooks

    /// Makes the network thread close its socket without DISCONNECT, as if the process had been killed:
    /// the broker publishes the last will and the uplink reconnects.
    func dropConnectionAbruptly() {
        state.withLock { $0.abortRequested = true }
        wakeup.signal()
    }

    /// CPU time the network thread has used, in seconds (nil when not running or not supported).
    var networkThreadCPUSeconds: Double? {
        #if os(Linux)
        return lifecycle.withLock { phase -> Double? in
            guard case .running(let thread) = phase else { return nil }
            var clock = clockid_t()
            guard pthread_getcpuclockid(thread, &clock) == 0 else { return nil }
            var ts = timespec()
            guard clock_gettime(clock, &ts) == 0 else { return nil }
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        #else
        return nil
        #endif
    }
}

private enum Lifecycle {
    case idle
    case running(pthread_t)
    case stopped
}

/// Shared between the network thread and callers of the public API.
struct UplinkState {
    var connected = false
    var connects = 0
    var connectFailures = 0
    var published = 0
    var backlogPublished = 0
    var acked = 0
    var droppedAfterShutdown = 0
    var accepting = true
    var stopRequested = false
    /// What the graceful close publishes on the status topic.
    var offline: [UInt8] = []
    var abortRequested = false
    /// The network thread is waiting on the wake-up pipe and needs a signal to see new messages.
    var sleeping = false
    /// Retained messages published after the birth message on every connect (see `announce`).
    var announcements: [OutboundMessage] = []
    /// Published once, as soon as connected (changed and removed announcements).
    var pendingAnnouncements: [OutboundMessage] = []
}
