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
/// `enqueue` never blocks on the network: it appends to the `Outbox` (on disk, or in memory) and returns.
/// The thread owns the libmosquitto handle; it connects (over TLS for `mqtts://`), retries with exponential
/// backoff, keeps at most `maxInflight` QoS 1 messages unacknowledged, and removes a message from the outbox
/// only when its PUBACK arrives. A fresh handle is made for every connection so that libmosquitto never
/// resends on its own: after a disconnect the unacknowledged messages go back to waiting instead.
///
/// After a reconnect, what waited during the outage (the backlog) drains oldest first, one second's worth at
/// once and then `drainRate` messages per second; messages born during the new connection go out whenever the
/// backlog has to wait for the rate, so a long backlog does not hold back live events (and a short one keeps
/// the order).
public final class MQTTUplink: Sendable {
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
        let value: String
        public init(_ value: String) { self.value = value }
        public var description: String { "<redacted>" }
        public var debugDescription: String { "<redacted>" }
        public var customMirror: Mirror { Mirror(self, children: []) }
    }

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
        /// Events held when no outbox is given (an in-memory one is made with this bound).
        public var queueLimit: Int
        /// Backlog messages per second after a reconnect.
        public var drainRate: Double
        public var username: String?
        public var password: Password?
        /// Nil: plain TCP.
        public var tls: TLS?

        public init(host: String, port: Int = 1883, clientID: String, keepalive: Int32 = 30,
                    statusTopic: String, reconnectMin: Double = 1, reconnectMax: Double = 60,
                    maxInflight: Int = 20, queueLimit: Int = 10_000, drainRate: Double = 100,
                    username: String? = nil, password: Password? = nil, tls: TLS? = nil) {
            self.host = host; self.port = port; self.clientID = clientID; self.keepalive = keepalive
            self.statusTopic = statusTopic; self.reconnectMin = reconnectMin; self.reconnectMax = reconnectMax
            self.maxInflight = maxInflight; self.queueLimit = queueLimit; self.drainRate = drainRate
            self.username = username; self.password = password; self.tls = tls
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
    }

    private var endpoint: String { "\(settings.tls == nil ? "" : "mqtts://")\(settings.host):\(settings.port)" }

    // MARK: - Public API

    /// Starts the network thread. Returns at once; an unreachable broker is retried in the background.
    /// Calling it again, or after `shutdown`, does nothing.
    public func start() {
        lifecycle.withLock { phase in
            guard case .idle = phase else { return }
            // The thread keeps the uplink alive until it returns.
            let thread: Threads.Handle
            do { thread = try Threads.start { [self] in runLoop() } } catch {
                logger.critical("MQTT uplink to \(endpoint) could not start its thread: \(error)")
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

    /// Queues `message` for sending: into the outbox (written, and synced per its policy, before this
    /// returns). Thread-safe, never blocks on the network.
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
        outbox.append(message)
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

    /// Waits up to `drainTimeout` seconds for the outbox to empty, then publishes `offline` (retained, QoS 1)
    /// and waits briefly for its PUBACK, disconnects, and stops the thread. Returns whether every enqueued
    /// message was acknowledged (what was not stays in a disk outbox for the next start). Safe when never
    /// started or never connected; later `enqueue` calls are counted as dropped. A second call returns the
    /// same answer at once. The outbox stays open: its owner closes it.
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
                while !outbox.isEmpty, ContinuousClock.now < deadline {
                    usleep(5_000)
                }
                state.withLock { $0.accepting = false; $0.stopRequested = true }
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
                let what: String
                switch error.kind {
                case .connack: what = "MQTT broker \(endpoint) refused the connection: \(error)"
                case .tls: what = "MQTT TLS handshake with \(endpoint) failed: \(error)"
                case .setup: what = "MQTT connection to \(endpoint) cannot be set up: \(error)"
                case .library: what = "MQTT broker \(endpoint) not reachable: \(error)"
                }
                logger.warning("\(what) (attempt \(attempt), retry in \(Self.format(delay)) s)")
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
        // Written by the callbacks, which run on this thread inside client calls.
        let session = Session(drainRate: settings.drainRate)
        do {
            client = try makeClient()
            client.onLog = { [logger] level, text in
                if level & Int32(MOSQ_LOG_ERR) != 0 { session.errorLog.append(text) }
                logger.trace("libmosquitto: \(text)")
            }
            try client.connectAsync(host: settings.host, port: Int32(clamping: settings.port),
                                    keepalive: settings.keepalive)
        } catch {
            return .failed(session.explain(error, tls: settings.tls != nil))
        }
        // libmosquitto opens it without FD_CLOEXEC; a child process must not keep the connection alive.
        if client.socket >= 0 { _ = fcntl(client.socket, F_SETFD, FD_CLOEXEC) }

        client.onConnect = { [self] rc in
            session.connack = rc
            guard rc == 0 else { return }
            session.connectedAt = ContinuousClock.now
            session.birthDue = true
            session.lastRefill = ContinuousClock.now
            outbox.beginSession()
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
            if let id = session.inflight.removeValue(forKey: mid) {
                session.acks.append(id)
                state.withLock { $0.acked += 1 }
            }
        }

        let started = ContinuousClock.now
        let connackTimeout = Duration.seconds(min(Int(settings.keepalive), 30))
        let window = settings.maxInflight
        sessionLoop: while true {
            flushAcks(session)
            let (stop, abort) = state.withLock { s in
                defer { s.abortRequested = false }
                return (s.stopRequested, s.abortRequested)
            }
            if stop {
                if session.connack == 0 { closeGracefully(client, session) }
                flushAcks(session)
                endSession(session)
                return .stopped
            }
            if abort, session.connack == 0 {
                abortSocket(client.socket)
            }
            var moreToSend = false
            var sleepLimit = 1.0
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
                switch pump(client, session) {
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
            if !moreToSend {
                let connected = session.connack == 0
                // Announce the sleep before looking at the outbox, so an `enqueue` in between signals.
                state.withLock { $0.sleeping = true }
                var sendable = false
                if connected, session.inflight.count < window {
                    let waiting = outbox.waiting()
                    if waiting.live {
                        sendable = true
                    } else if waiting.backlog {
                        // Rate-limited backlog: wake when the next token is due.
                        session.refill()
                        sendable = session.tokens >= 1
                        sleepLimit = min(sleepLimit, session.secondsToNextToken())
                    }
                }
                var revents: Int16 = 0
                if !sendable {
                    revents = wakeup.wait(seconds: max(0.001, sleepLimit), socket: client.socket, forWriting: client.wantWrite)
                }
                state.withLock { $0.sleeping = false }
                if session.connack == nil, revents != 0, let failure = connectFailure(client.socket, revents) {
                    session.endReason = session.endReason ?? failure
                    break sessionLoop
                }
            }
            do {
                try client.loop(timeout: 0)
            } catch {
                session.endReason = session.endReason ?? error
                break sessionLoop
            }
        }

        flushAcks(session)
        let requeued = endSession(session)
        switch session.connack {
        case 0?:
            return .lost(session.endReason ?? MosquittoError(code: Int32(MOSQ_ERR_CONN_LOST.rawValue)),
                         requeued: requeued, lasted: ContinuousClock.now - session.connectedAt)
        case let rc?:
            return .failed(.connack(rc))
        case nil:
            return .failed(session.explain(session.endReason ?? MosquittoError(code: Int32(MOSQ_ERR_NO_CONN.rawValue)),
                                           tls: settings.tls != nil))
        }
    }

    /// Before CONNACK: a refused or closed connection. libmosquitto 2.0.11 does not notice one while its TLS
    /// handshake is pending (it would retry the handshake until the CONNACK timeout), so look at the socket.
    private func connectFailure(_ fd: Int32, _ revents: Int16) -> MosquittoError? {
        guard fd >= 0 else { return nil }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0, soError != 0 {
            return MosquittoError(kind: .library, code: Int32(MOSQ_ERR_ERRNO.rawValue), message: String(cString: strerror(soError)))
        }
        if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            let recvErrno = errno
            if n == 0 || (revents & Int16(POLLHUP | POLLERR) != 0 && n < 0 && recvErrno != EAGAIN && recvErrno != EWOULDBLOCK) {
                var address = sockaddr_storage()
                var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let connected = withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &size) == 0 }
                }
                if !connected {
                    // The TCP connect itself failed; libmosquitto already consumed the socket error.
                    return MosquittoError(kind: .library, code: Int32(MOSQ_ERR_ERRNO.rawValue),
                                          message: n < 0 ? String(cString: strerror(recvErrno)) : "Connection refused")
                }
                return MosquittoError(kind: .library, code: Int32(MOSQ_ERR_CONN_LOST.rawValue),
                                      message: "the broker closed the connection before CONNACK")
            }
        }
        return nil
    }

    private func makeClient() throws(MosquittoError) -> MosquittoClient {
        let client = try MosquittoClient(id: settings.clientID.isEmpty ? nil : settings.clientID, cleanSession: true)
        try client.setOption(MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)
        // Room for our window plus the status messages, so libmosquitto never holds messages back itself.
        try client.setOption(MOSQ_OPT_SEND_MAXIMUM, Int32(clamping: settings.maxInflight + 2))
        if let username = settings.username {
            try client.setCredentials(username: username, password: settings.password?.value)
        }
        if let tls = settings.tls {
            try configureTLS(client, tls)
        }
        try client.setWill(topic: settings.statusTopic, payload: Array("offline".utf8), qos: 1, retain: true)
        return client
    }

    /// CA (file, directory, or the system store), client certificate, verification on, TLS 1.2 or later.
    private func configureTLS(_ client: MosquittoClient, _ tls: TLS) throws(MosquittoError) {
        // libmosquitto only says "invalid arguments" for a file it cannot open: name the file and the reason.
        for (key, path) in [("ca_file", tls.caFile), ("cert_file", tls.certFile), ("key_file", tls.keyFile)] {
            guard let path else { continue }
            if access(path, R_OK) != 0 {
                throw MosquittoError(kind: .setup, code: Int32(MOSQ_ERR_INVAL.rawValue),
                                     message: "cannot read mqtt.tls.\(key) '\(path)': \(String(cString: strerror(errno)))")
            }
        }
        if let dir = tls.caDir, access(dir, R_OK | X_OK) != 0 {
            throw MosquittoError(kind: .setup, code: Int32(MOSQ_ERR_INVAL.rawValue),
                                 message: "cannot read mqtt.tls.ca_dir '\(dir)': \(String(cString: strerror(errno)))")
        }
        var caDir = tls.caDir
        if tls.caFile == nil && tls.caDir == nil {
            // No CA given: the system's trust store (public brokers such as HiveMQ Cloud, AWS IoT with Amazon's roots).
            try client.setOption(MOSQ_OPT_TLS_USE_OS_CERTS, 1)
            // mosquitto_tls_set insists on a CA location; the system directory carries the client certificate.
            caDir = "/etc/ssl/certs"
        }
        do {
            try client.setTLS(caFile: tls.caFile, caDir: caDir, certFile: tls.certFile, keyFile: tls.keyFile)
            try client.setTLSOptions(verifyPeer: true, version: tls.minimumVersion)
            try client.setTLSInsecure(tls.insecure)
        } catch {
            throw MosquittoError(kind: .setup, code: error.code, message: "TLS settings refused by libmosquitto: \(error)")
        }
    }

    private enum PumpResult { case idle, more, failed(MosquittoError) }

    /// Publishes waiting messages, live first, backlog as the drain rate allows, while the in-flight window
    /// has room.
    private func pump(_ client: MosquittoClient, _ session: Session) -> PumpResult {
        let window = settings.maxInflight
        // Bounded so QoS 0 floods still let `loop` run between batches.
        for _ in 0..<max(window, 64) {
            guard session.inflight.count < window else { flushAcks(session); return .idle }
            session.refill()
            guard let taken = outbox.next(backlogAllowed: session.tokens >= 1) else {
                flushAcks(session) // QoS 0 messages are done once written
                return .idle
            }
            if taken.backlog { session.tokens -= 1 }
            let m = taken.message
            do {
                let mid = try client.publish(topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain)
                if m.qos > 0 {
                    session.inflight[mid] = taken.id
                } else {
                    session.acks.append(taken.id)
                }
                state.withLock { s in
                    s.published += 1
                    if taken.backlog { s.backlogPublished += 1 }
                }
            } catch where error.rejectsMessage {
                outbox.reject(taken.id)
                logger.error("MQTT message to '\(m.topic)' (\(m.payload.count) bytes, QoS \(m.qos)) refused by libmosquitto and dropped: \(error)")
            } catch {
                outbox.putBack(taken.id)
                flushAcks(session)
                return .failed(error)
            }
        }
        flushAcks(session)
        return .more
    }

    /// Removes acknowledged messages from the outbox: one removal record per loop turn.
    private func flushAcks(_ session: Session) {
        guard !session.acks.isEmpty else { return }
        outbox.acknowledge(session.acks)
        session.acks.removeAll(keepingCapacity: true)
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

    /// Marks the connection down and puts unacknowledged messages back to waiting. Returns how many.
    @discardableResult
    private func endSession(_ session: Session) -> Int {
        state.withLock { $0.connected = false }
        let back = session.inflight.count
        session.inflight.removeAll()
        outbox.endSession()
        return back
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
    /// Message id → outbox id of what is in flight.
    var inflight: [Int32: UInt64] = [:]
    /// Outbox ids acknowledged since the last flush.
    var acks: [UInt64] = []
    /// libmosquitto's error lines (TLS problems are reported only there).
    var errorLog: [String] = []
    /// Token bucket for backlog messages.
    let drainRate: Double
    let burst: Double
    var tokens: Double
    var lastRefill = ContinuousClock.now

    /// Up to one second's worth of backlog goes at once, so a short outage drains immediately and in order.
    init(drainRate: Double) {
        self.drainRate = drainRate
        self.burst = max(1, drainRate)
        self.tokens = self.burst
    }

    func refill() {
        let now = ContinuousClock.now
        let (s, atto) = (now - lastRefill).components
        tokens = min(burst, tokens + (Double(s) + Double(atto) / 1e18) * drainRate)
        lastRefill = now
    }

    /// Seconds until the next backlog token (0 when one is there).
    func secondsToNextToken() -> Double {
        tokens >= 1 ? 0 : (1 - tokens) / drainRate
    }

    /// A failure before CONNACK, with what libmosquitto logged about TLS turned into a reason a person can act on.
    func explain(_ error: MosquittoError, tls: Bool) -> MosquittoError {
        guard tls, error.kind == .library || error.kind == .tls else { return error }
        guard let reason = TLSFailure.describe(errorLog) else {
            if error.code == Int32(MOSQ_ERR_TLS.rawValue) {
                return MosquittoError(kind: .tls, code: error.code, message: error.message)
            }
            // With TLS 1.3 a broker checks the client certificate after the handshake and just closes the
            // connection; OpenSSL then reports nothing but the closed socket.
            let closedByBroker = error.code == Int32(MOSQ_ERR_CONN_LOST.rawValue) || error.code == Int32(MOSQ_ERR_PROTOCOL.rawValue)
                || (error.code == Int32(MOSQ_ERR_ERRNO.rawValue)
                    && [EPROTO, ECONNRESET, EPIPE].map { String(cString: strerror($0)) }.contains(error.message))
            if closedByBroker {
                return MosquittoError(kind: .tls, code: Int32(MOSQ_ERR_TLS.rawValue), message:
                    "the broker closed the TLS connection before CONNACK (\(error.message)): it requires a client certificate it trusts (mqtt.tls.cert_file and key_file), or this is not a TLS port")
            }
            return error
        }
        return MosquittoError(kind: .tls, code: Int32(MOSQ_ERR_TLS.rawValue), message: reason)
    }
}

/// Turns libmosquitto's and OpenSSL's TLS error lines into one reason with a hint.
enum TLSFailure {
    static func describe(_ lines: [String]) -> String? {
        let verify = lines.first { $0.hasPrefix("verify: ") }.map { String($0.dropFirst("verify: ".count)) }
        let openssl = lines.filter { $0.hasPrefix("OpenSSL Error") }.map(reasonText)
        let other = lines.filter { !$0.hasPrefix("OpenSSL Error") && !$0.hasPrefix("verify: ") }
        if let verify {
            let lower = verify.lowercased()
            let hint: String
            if lower.contains("expired") {
                hint = "the broker's certificate has expired (or this device's clock is wrong: check NTP)"
            } else if lower.contains("not yet valid") {
                hint = "the broker's certificate is not valid yet (is this device's clock right? check NTP)"
            } else if lower.contains("hostname mismatch") || lower.contains("ip address mismatch") || lower.contains("unspecified") {
                // libmosquitto's own host name check fails with the unspecified error.
                hint = "the broker's certificate does not name the host in mqtt.broker"
            } else if lower.contains("issuer") || lower.contains("self-signed") || lower.contains("self signed")
                        || lower.contains("verify the first certificate") {
                hint = "the broker's certificate is not signed by a CA in mqtt.tls.ca_file / ca_dir (wrong CA?)"
            } else {
                hint = "the broker's certificate was not accepted"
            }
            return "certificate verify failed: \(verify): \(hint)"
        }
        if let first = openssl.first {
            let lower = openssl.joined(separator: " ").lowercased()
            let hint: String?
            if lower.contains("unknown ca") {
                hint = "the broker does not trust this device's client certificate (mqtt.tls.cert_file)"
            } else if lower.contains("certificate expired") {
                hint = "the broker says this device's client certificate (mqtt.tls.cert_file) has expired"
            } else if lower.contains("certificate required") || lower.contains("handshake failure") {
                hint = "the broker requires a client certificate (mqtt.tls.cert_file and key_file)"
            } else if lower.contains("bad certificate") || lower.contains("certificate unknown") {
                hint = "the broker rejected this device's client certificate (mqtt.tls.cert_file)"
            } else if lower.contains("wrong version number") || lower.contains("packet length too long") || lower.contains("record layer failure") {
                hint = "the broker does not speak TLS on this port (an mqtt:// port?)"
            } else if lower.contains("protocol version") || lower.contains("unsupported protocol") {
                hint = "the broker and mqtt.tls.version have no TLS version in common"
            } else if lower.contains("certificate verify failed") {
                hint = "the broker's certificate was not accepted (wrong CA in mqtt.tls.ca_file / ca_dir?)"
            } else {
                hint = nil
            }
            let detail = other.isEmpty ? first : "\(other.joined(separator: "; ")): \(first)"
            return hint.map { "\(detail): \($0)" } ?? detail
        }
        if !other.isEmpty { return other.joined(separator: "; ") }
        return nil
    }

    /// `OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed` → `certificate verify failed`.
    private static func reasonText(_ line: String) -> String {
        let parts = line.split(separator: ":").map { $0.drop { $0 == " " } }.filter { !$0.isEmpty }
        return parts.last.map(String.init) ?? line
    }
}

private enum Lifecycle {
    case idle
    case running(pthread_t)
    case stopped
}

private struct State {
    var connected = false
    var connects = 0
    var connectFailures = 0
    var published = 0
    var backlogPublished = 0
    var acked = 0
    var droppedAfterShutdown = 0
    var accepting = true
    var stopRequested = false
    var abortRequested = false
    /// The network thread is waiting on the wake-up pipe and needs a signal to see new messages.
    var sleeping = false
}

/// A self-pipe that lets `enqueue` and `shutdown` wake the network thread from `poll`.
final class WakePipe: Sendable {
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
    /// (or writable, if `forWriting`). A signal is consumed. Returns the socket's `revents` (0 if none).
    @discardableResult
    func wait(seconds: Double, socket: Int32 = -1, forWriting: Bool = false) -> Int16 {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return 0 }
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
                return fds.count > 1 ? fds[1].revents : 0
            }
            if rc < 0 && errno != EINTR {
                // No pipe to wait on: fall back to a plain sleep.
                usleep(UInt32(clamping: Int(min(ms, 50)) * 1000))
                return 0
            }
        }
    }
}
