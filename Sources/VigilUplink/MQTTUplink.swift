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
/// `enqueue` never blocks on the network: messages wait in memory (bounded by `queueLimit`) while the
/// broker is away. The thread owns the libmosquitto handle; it connects, retries with exponential backoff,
/// keeps at most `maxInflight` QoS 1 messages unacknowledged, and drops a message from the queue only when
/// its PUBACK arrives. A fresh handle is made for every connection so that libmosquitto never resends on its
/// own: after a disconnect the unacknowledged messages go back to the front of this queue instead.
public final class MQTTUplink: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// Empty lets libmosquitto pick a random id.
        public var clientID: String
        /// Seconds; libmosquitto refuses less than 5, so smaller values are raised to 5.
        public var keepalive: Int32
        /// Retained `online` on every connect, `offline` on shutdown and as the last will.
        public var statusTopic: String
        /// First retry delay in seconds; doubles per failed attempt up to `reconnectMax`.
        public var reconnectMin: Double
        public var reconnectMax: Double
        /// Unacknowledged QoS 1/2 messages allowed at once.
        public var maxInflight: Int
        /// Messages waiting in memory; beyond it the oldest summary, else the oldest event, is dropped.
        public var queueLimit: Int
        public var username: String?
        public var password: String?

        public init(host: String, port: Int = 1883, clientID: String, keepalive: Int32 = 30,
                    statusTopic: String, reconnectMin: Double = 1, reconnectMax: Double = 60,
                    maxInflight: Int = 20, queueLimit: Int = 10_000,
                    username: String? = nil, password: String? = nil) {
            self.host = host; self.port = port; self.clientID = clientID; self.keepalive = keepalive
            self.statusTopic = statusTopic; self.reconnectMin = reconnectMin; self.reconnectMax = reconnectMax
            self.maxInflight = maxInflight; self.queueLimit = queueLimit
            self.username = username; self.password = password
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
        /// Dropped by the queue limit, refused by libmosquitto as malformed, or enqueued after shutdown.
        public var dropped: Int
    }

    public let settings: Settings
    private let logger: Logger
    private let state = Mutex(State())
    /// Serialises start and shutdown, and holds the thread to join.
    private let lifecycle = Mutex(Lifecycle.idle)
    private let wakeup = WakePipe()

    /// `mosquitto_loop` timeout while shutting down.
    private static let loopTimeoutMilliseconds: Int32 = 50
    /// How long shutdown waits for the broker to acknowledge `offline`.
    private static let offlineAckTimeout: Duration = .seconds(2)
    /// A connection shorter than this counts as a failed attempt for backoff, so a flapping broker is not
    /// hammered at `reconnectMin`.
    private static let stableConnection: Duration = .seconds(10)

    public init(settings: Settings, logger: Logger) {
        var s = settings
        s.keepalive = max(s.keepalive, 5)
        s.maxInflight = max(s.maxInflight, 1)
        s.reconnectMin = max(s.reconnectMin, 0.001)
        s.reconnectMax = max(s.reconnectMax, s.reconnectMin)
        self.settings = s
        self.logger = logger
    }

    private var endpoint: String { "\(settings.host):\(settings.port)" }

    // MARK: - Public API

    /// Starts the network thread. Returns at once; an unreachable broker is retried in the background.
    /// Calling it again, or after `shutdown`, does nothing.
    public func start() {
        lifecycle.withLock { phase in
            guard case .idle = phase else { return }
            let context = Unmanaged.passRetained(self).toOpaque()
            #if canImport(Darwin)
            var thread: pthread_t?
            #else
            var thread = pthread_t()
            #endif
            let rc = pthread_create(&thread, nil, { context in
                // The thread keeps the uplink alive until it returns.
                let uplink = Unmanaged<MQTTUplink>.fromOpaque(context!).takeRetainedValue()
                uplink.runLoop()
                return nil
            }, context)
            guard rc == 0 else {
                Unmanaged<MQTTUplink>.fromOpaque(context).release()
                logger.critical("MQTT uplink to \(endpoint) could not start its thread: \(String(cString: strerror(rc)))")
                phase = .stopped
                return
            }
            #if canImport(Darwin)
            phase = .running(thread!)
            #else
            phase = .running(thread)
            #endif
        }
    }

    /// Queues `message` for sending. Thread-safe, never blocks on the network.
    public func enqueue(_ message: OutboundMessage) {
        let limit = settings.queueLimit
        var wake = false
        let (droppedNow, droppedTotal, closed) = state.withLock { s -> (Int, Int, Bool) in
            guard s.accepting else {
                s.dropped += 1
                return (1, s.dropped, true)
            }
            let d = s.queue.append(message, limit: limit)
            s.dropped += d
            wake = s.sleeping
            s.sleeping = false
            return (d, s.dropped, false)
        }
        if wake { wakeup.signal() }
        if droppedNow > 0, Self.crossesPowerOfTen(from: droppedTotal - droppedNow, to: droppedTotal) {
            if closed {
                logger.warning("MQTT uplink to \(endpoint) is shut down; \(droppedTotal) message(s) dropped so far")
            } else {
                logger.warning("MQTT queue for \(endpoint) is full (\(limit)); \(droppedTotal) message(s) dropped so far")
            }
        }
    }

    /// A snapshot of the counters.
    public var stats: Stats {
        state.withLock { s in
            Stats(connected: s.connected, connects: s.connects, connectFailures: s.connectFailures,
                  published: s.published, acked: s.acked, queued: s.queue.count,
                  inflight: s.inflight.count + (s.sending == nil ? 0 : 1), dropped: s.dropped)
        }
    }

    /// Waits up to `drainTimeout` seconds for the queue and in-flight messages to empty, then publishes
    /// `offline` (retained, QoS 1) and waits briefly for its PUBACK, disconnects, and stops the thread.
    /// Returns whether every enqueued message was acknowledged. Safe when never started or never connected;
    /// later `enqueue` calls are counted as dropped. A second call returns the same answer at once.
    @discardableResult
    public func shutdown(drainTimeout: Double) -> Bool {
        let deadline = ContinuousClock.now + .seconds(max(0, drainTimeout))
        lifecycle.withLock { phase in
            switch phase {
            case .stopped:
                return
            case .idle:
                // Nothing can send; report what is left.
                state.withLock { $0.accepting = false }
            case .running(let thread):
                while !state.withLock({ $0.isDrained }), ContinuousClock.now < deadline {
                    usleep(5_000)
                }
                state.withLock { $0.accepting = false; $0.stopRequested = true }
                wakeup.signal()
                pthread_join(thread, nil)
            }
            phase = .stopped
        }
        return state.withLock { $0.isDrained }
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

    // MARK: - Network thread

    private func runLoop() {
        // Consecutive unhealthy attempts: sets the next backoff.
        var attempt = 0
        while !state.withLock({ $0.stopRequested }) {
            let delay: Double
            switch runSession() {
            case .stopped:
                return
            case .failed(let error):
                attempt += 1
                delay = backoff(attempt)
                state.withLock { $0.connectFailures += 1 }
                logger.warning("MQTT broker \(endpoint) not reachable: \(error) (attempt \(attempt), retry in \(Self.format(delay)) s)")
            case .lost(let error, let requeued, let lasted):
                attempt = lasted >= Self.stableConnection ? 1 : attempt + 1
                delay = backoff(attempt)
                logger.warning("MQTT connection to \(endpoint) lost: \(error); \(requeued) unacknowledged message(s) requeued (retry in \(Self.format(delay)) s)")
            }
            wakeup.wait(seconds: delay)
        }
    }

    private enum SessionOutcome {
        case stopped
        case failed(MosquittoError)
        case lost(MosquittoError, requeued: Int, lasted: Duration)
    }

    /// One connection from CONNECT to its end, on a fresh handle (destroyed on return).
    private func runSession() -> SessionOutcome {
        let client: MosquittoClient
        do {
            client = try makeClient()
            try client.connectAsync(host: settings.host, port: Int32(clamping: settings.port),
                                    keepalive: settings.keepalive)
        } catch {
            return .failed(error)
        }
        // libmosquitto opens it without FD_CLOEXEC; a child process must not keep the connection alive.
        if client.socket >= 0 { _ = fcntl(client.socket, F_SETFD, FD_CLOEXEC) }

        // Written by the callbacks, which run on this thread inside client calls.
        let session = Session()
        client.onConnect = { [self] rc in
            session.connack = rc
            guard rc == 0 else { return }
            session.connectedAt = ContinuousClock.now
            session.birthDue = true
            state.withLock { $0.connected = true; $0.connects += 1 }
        }
        client.onDisconnect = { error in
            if session.endReason == nil { session.endReason = error }
        }
        client.onPublish = { [self] mid in
            if mid == session.statusMid {
                // Forget it: mids are 16-bit and come round again for data messages.
                session.statusMid = nil
                session.statusAcked = true
                return
            }
            state.withLock { s in
                if s.inflight.removeValue(forKey: mid) != nil { s.acked += 1 }
            }
        }

        let started = ContinuousClock.now
        let connackTimeout = Duration.seconds(min(Int(settings.keepalive), 30))
        let window = settings.maxInflight
        sessionLoop: while true {
            let (stop, abort) = state.withLock { s in
                defer { s.abortRequested = false }
                return (s.stopRequested, s.abortRequested)
            }
            if stop {
                if session.connack == 0 { closeGracefully(client, session) }
                endSession()
                return .stopped
            }
            if abort, session.connack == 0 {
                abortSocket(client.socket)
            }
            var moreToSend = false
            if session.connack == 0 {
                if session.birthDue {
                    session.birthDue = false
                    logger.info("MQTT connected to \(endpoint)")
                    do {
                        session.statusMid = try client.publish(topic: settings.statusTopic,
                                                               payload: Array("online".utf8), qos: 1, retain: true)
                    } catch where error.rejectsMessage {
                        logger.error("MQTT status topic '\(settings.statusTopic)' refused: \(error)")
                    } catch {
                        session.endReason = session.endReason ?? error
                        break sessionLoop
                    }
                }
                switch pump(client) {
                case .idle: break
                case .more: moreToSend = true
                case .failed(let error): session.endReason = session.endReason ?? error
                }
                if session.endReason != nil { break sessionLoop }
            } else if session.connack == nil, ContinuousClock.now - started > connackTimeout {
                session.endReason = .noConnack(after: Double(connackTimeout.components.seconds))
                break sessionLoop
            }

            // Sleep until the socket or `enqueue`/`shutdown` wakes us; libmosquitto's own select cannot be woken
            // from another thread. At least once a second so mosquitto_loop can send keepalive PINGREQs.
            let connected = session.connack == 0
            let sleep = !moreToSend && state.withLock { s in
                s.sleeping = !(connected && !s.queue.isEmpty && s.inflight.count < window)
                return s.sleeping
            }
            if sleep {
                wakeup.wait(seconds: 1, socket: client.socket, forWriting: client.wantWrite)
                state.withLock { $0.sleeping = false }
            }
            do {
                try client.loop(timeout: 0)
            } catch {
                session.endReason = session.endReason ?? error
                break sessionLoop
            }
        }

        let requeued = endSession()
        switch session.connack {
        case 0?:
            return .lost(session.endReason ?? MosquittoError(code: Int32(MOSQ_ERR_CONN_LOST.rawValue)),
                         requeued: requeued, lasted: ContinuousClock.now - session.connectedAt)
        case let rc?:
            return .failed(.connack(rc))
        case nil:
            return .failed(session.endReason ?? MosquittoError(code: Int32(MOSQ_ERR_NO_CONN.rawValue)))
        }
    }

    private func makeClient() throws(MosquittoError) -> MosquittoClient {
        let client = try MosquittoClient(id: settings.clientID.isEmpty ? nil : settings.clientID, cleanSession: true)
        try client.setOption(MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        // Room for our window plus the status messages, so libmosquitto never holds messages back itself.
        try client.setOption(MOSQ_OPT_SEND_MAXIMUM, Int32(clamping: settings.maxInflight + 2))
        if let username = settings.username {
            try client.setCredentials(username: username, password: settings.password)
        }
        try client.setWill(topic: settings.statusTopic, payload: Array("offline".utf8), qos: 1, retain: true)
        return client
    }

    private enum PumpResult { case idle, more, failed(MosquittoError) }

    /// Publishes queued messages in order while the in-flight window has room.
    private func pump(_ client: MosquittoClient) -> PumpResult {
        let window = settings.maxInflight
        // Bounded so QoS 0 floods still let `loop` run between batches.
        for _ in 0..<max(window, 64) {
            let next = state.withLock { s -> OutboundQueue.Entry? in
                guard s.inflight.count < window, let entry = s.queue.popFirst() else { return nil }
                s.sending = entry
                return entry
            }
            guard let entry = next else { return .idle }
            let m = entry.message
            do {
                let mid = try client.publish(topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain)
                state.withLock { s in
                    s.sending = nil
                    s.published += 1
                    if m.qos > 0 { s.inflight[mid] = entry }
                }
            } catch where error.rejectsMessage {
                state.withLock { s in s.sending = nil; s.dropped += 1 }
                logger.error("MQTT message to '\(m.topic)' (\(m.payload.count) bytes, QoS \(m.qos)) refused by libmosquitto and dropped: \(error)")
            } catch {
                state.withLock { s in s.sending = nil; s.queue.pushFront([entry]) }
                return .failed(error)
            }
        }
        return .more
    }

    /// Publishes `offline`, waits (bounded) for its PUBACK, then DISCONNECTs.
    private func closeGracefully(_ client: MosquittoClient, _ session: Session) {
        do {
            session.statusAcked = false
            session.statusMid = try client.publish(topic: settings.statusTopic,
                                                   payload: Array("offline".utf8), qos: 1, retain: true)
            let deadline = ContinuousClock.now + Self.offlineAckTimeout
            while !session.statusAcked, ContinuousClock.now < deadline {
                try client.loop(timeout: Self.loopTimeoutMilliseconds)
            }
            if !session.statusAcked {
                logger.warning("MQTT broker \(endpoint) did not acknowledge the offline status in time")
            }
        } catch {
            logger.warning("MQTT could not publish offline status to \(endpoint): \(error)")
        }
        do {
            try client.disconnect()
            let deadline = ContinuousClock.now + .seconds(1)
            while client.socket >= 0, ContinuousClock.now < deadline {
                try client.loop(timeout: Self.loopTimeoutMilliseconds)
            }
        } catch {
            // The connection is gone either way.
        }
    }

    /// Marks the connection down and puts unacknowledged messages back in front. Returns how many.
    @discardableResult
    private func endSession() -> Int {
        let limit = settings.queueLimit
        return state.withLock { s in
            s.connected = false
            let back = s.inflight.values
            s.inflight.removeAll()
            s.queue.pushFront(back)
            s.dropped += s.queue.trim(to: limit)
            return back.count
        }
    }

    private func abortSocket(_ fd: Int32) {
        guard fd >= 0 else { return }
        #if canImport(Glibc)
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
        #elseif canImport(Musl)
        _ = Musl.shutdown(fd, SHUT_RDWR)
        #elseif canImport(Darwin)
        _ = Darwin.shutdown(fd, SHUT_RDWR)
        #endif
    }

    /// `reconnectMin · 2^(attempt-1)`, capped at `reconnectMax`, with ±10 % jitter so a fleet spreads out.
    private func backoff(_ attempt: Int) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 32))
        let base = min(settings.reconnectMin * pow(2, exponent), settings.reconnectMax)
        return min(base * Double.random(in: 0.9...1.1), settings.reconnectMax)
    }

    private static func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded()
        return "\(tenths / 10)"
    }

    private static func crossesPowerOfTen(from a: Int, to b: Int) -> Bool {
        var p = 1
        while p <= b {
            if a < p { return true }
            p *= 10
        }
        return false
    }
}

// MARK: - State

/// One connection's facts, shared by the session loop and the libmosquitto callbacks (same thread).
private final class Session {
    /// Nil until CONNACK; 0 accepted, else the refusal code.
    var connack: Int32?
    var connectedAt = ContinuousClock.now
    /// `online` still to be published for this connection.
    var birthDue = false
    /// The status message (`online`, then `offline`) whose PUBACK is awaited.
    var statusMid: Int32?
    var statusAcked = false
    /// The first reason the connection ended.
    var endReason: MosquittoError?
}

private enum Lifecycle {
    case idle
    case running(pthread_t)
    case stopped
}

private struct State {
    var queue = OutboundQueue()
    var inflight: [Int32: OutboundQueue.Entry] = [:]
    /// Taken from the queue, inside `mosquitto_publish` right now.
    var sending: OutboundQueue.Entry?
    var connected = false
    var connects = 0
    var connectFailures = 0
    var published = 0
    var acked = 0
    var dropped = 0
    var accepting = true
    var stopRequested = false
    var abortRequested = false
    /// The network thread is waiting on the wake-up pipe and needs a signal to see new messages.
    var sleeping = false

    var isDrained: Bool { queue.isEmpty && inflight.isEmpty && sending == nil }
}

/// A self-pipe that lets `enqueue` and `shutdown` wake the network thread from `poll`.
private final class WakePipe: Sendable {
    private let readFD: Int32
    private let writeFD: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        for fd in fds where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        if readFD >= 0 { close(readFD) }
        if writeFD >= 0 { close(writeFD) }
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Sleeps up to `seconds`, or less if signalled or, when `socket` is not -1, the socket is readable
    /// (or writable, if `forWriting`). A signal is consumed.
    func wait(seconds: Double, socket: Int32 = -1, forWriting: Bool = false) {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return }
            let (s, atto) = left.components
            let ms = Int32(clamping: s * 1000 + atto / 1_000_000_000_000_000 + 1)
            var fds = [pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)]
            if socket >= 0 {
                fds.append(pollfd(fd: socket, events: Int16(POLLIN) | (forWriting ? Int16(POLLOUT) : 0), revents: 0))
            }
            let rc = poll(&fds, nfds_t(fds.count), ms)
            if rc > 0 {
                if fds[0].revents != 0 {
                    var buf = [UInt8](repeating: 0, count: 64)
                    while read(readFD, &buf, buf.count) > 0 {}
                }
                return
            }
            if rc < 0 && errno != EINTR {
                // No pipe to wait on: fall back to a plain sleep.
                usleep(UInt32(clamping: Int(min(ms, 50)) * 1000))
                return
            }
        }
    }
}
