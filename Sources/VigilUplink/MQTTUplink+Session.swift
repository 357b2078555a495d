import CMosquitto
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The network thread: one connection after another, each driven through `SessionMachine`.
extension MQTTUplink {
    enum SessionOutcome {
        case stopped
        case failed(MosquittoError)
        case lost(MosquittoError, requeued: Int, lasted: Duration)
    }

    func runLoop() {
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

    /// One connection from CONNECT to its end, on a fresh handle (destroyed on return).
    private func runSession() -> SessionOutcome {
        let client: MosquittoClient
        // Written by the callbacks, which run on this thread inside client calls.
        let connection = Connection(drainRate: settings.drainRate,
                                    connackTimeout: .seconds(min(Int(settings.keepalive), 30)))
        do {
            client = try makeClient()
            client.onLog = { [logger] level, text in
                if level & Int32(MOSQ_LOG_ERR) != 0 { connection.errorLog.append(text) }
                logger.trace("libmosquitto: \(text)")
            }
            try client.connectAsync(host: settings.host, port: Int32(clamping: settings.port),
                                    keepalive: settings.keepalive)
        } catch {
            _ = connection.machine.handle(.failed(error))
            return outcome(connection, requeued: 0)
        }
        step(.connectStarted(at: .now), client, connection)
        // libmosquitto opens it without FD_CLOEXEC; a child process must not keep the connection alive.
        if client.socket >= 0 { _ = fcntl(client.socket, F_SETFD, FD_CLOEXEC) }

        // The handle owns these closures: they must not own it back.
        client.onConnect = { [self, unowned client] rc in
            step(.connack(rc, at: .now), client, connection)
        }
        client.onDisconnect = { [self, unowned client] error in
            // nil: the DISCONNECT we sent; the graceful close reports that itself.
            if let error { step(.failed(error), client, connection) }
        }
        client.onPublish = { [self] mid in
            if mid == connection.statusMid {
                // Forget it: mids are 16-bit and come round again for data messages.
                connection.statusMid = nil
                connection.statusAcked = true
                return
            }
            if let id = connection.inflight.removeValue(forKey: mid) {
                connection.acks.append(id)
                state.withLock { $0.acked += 1 }
            }
        }

        let window = settings.maxInflight
        while !connection.machine.isOver {
            flushAcks(connection)
            let (stop, abort) = state.withLock { s in
                defer { s.abortRequested = false }
                return (s.stopRequested, s.abortRequested)
            }
            if stop {
                step(.stopRequested, client, connection)
                break
            }
            if abort {
                step(.abortRequested, client, connection)
            }
            step(.tick(now: .now), client, connection)
            if connection.machine.isOver { break }
            var moreToSend = false
            // Connected, nothing else is due before a keepalive PINGREQ: waking every quarter keepalive
            // sends it at most that late, well inside the broker's 1.5 × keepalive. Connecting: the
            // CONNACK timeout is checked every second.
            var sleepLimit = connection.machine.isConnected ? Double(settings.keepalive) / 4 : 1.0
            if connection.machine.isConnected {
                publishAnnouncements(client, connection, all: false)
                switch pump(client, connection) {
                case .idle: break
                case .more: moreToSend = true
                case .failed(let error): step(.failed(error), client, connection)
                }
                if connection.machine.isOver { break }
            }

            // Sleep until the socket or `enqueue`/`shutdown` wakes us; libmosquitto's own select cannot be woken
            // from another thread. At least every `sleepLimit` so mosquitto_loop can send keepalive PINGREQs.
            if !moreToSend {
                // Announce the sleep before looking at the outbox, so an `enqueue` in between signals.
                state.withLock { $0.sleeping = true }
                var sendable = false
                if connection.machine.isConnected, connection.inflight.count < window {
                    let waiting = outbox.waiting()
                    if waiting.live {
                        sendable = true
                    } else if waiting.backlog {
                        // Rate-limited backlog: wake when the next token is due.
                        connection.bucket.refill(now: .now)
                        sendable = connection.bucket.hasToken
                        sleepLimit = min(sleepLimit, connection.bucket.secondsToNextToken)
                    }
                }
                var revents: Int16 = 0
                if connection.readHeld {
                    // The unread bytes are an incomplete packet: wait for the rest without spinning on them.
                    wakeup.wait(seconds: 0.01)
                } else if !sendable {
                    revents = wakeup.wait(seconds: max(0.001, sleepLimit), socket: client.socket, forWriting: client.wantWrite)
                }
                state.withLock { $0.sleeping = false }
                if connection.machine.isConnecting, revents != 0, let failure = ConnectDiagnostics.socketFailure(client.socket, revents) {
                    step(.failed(failure), client, connection)
                    break
                }
            }
            do {
                // Under TLS the bytes are only readable as MQTT once the handshake is done.
                let verdict = settings.tls == nil || connection.machine.isConnected
                    ? IncomingPackets.peek(socket: client.socket, ssl: client.ssl, into: &connection.peekBuffer) : .whole
                connection.readHeld = verdict == .incomplete
                switch verdict {
                case .whole: try client.loop(timeout: 0)
                case .incomplete: try client.loopWithoutReading()
                case .oversized(let type, let length): step(.failed(IncomingPackets.refusal(type: type, length: length)), client, connection)
                }
            } catch {
                step(.failed(error), client, connection)
            }
        }

        flushAcks(connection)
        return outcome(connection, requeued: endSession(connection))
    }

    private func outcome(_ connection: Connection, requeued: Int) -> SessionOutcome {
        let tls = settings.tls != nil
        switch connection.machine.state {
        case .disconnected(.stopped):
            return .stopped
        case .disconnected(.refused(let rc)):
            return .failed(.connack(rc))
        case .disconnected(.failed(let error)):
            return .failed(ConnectDiagnostics.explain(error, tls: tls, errorLog: connection.errorLog))
        case .disconnected(.lost(let error, let connectedAt)):
            return .lost(error, requeued: requeued, lasted: ContinuousClock.now - connectedAt)
        case .new, .connecting, .connected, .disconnecting:
            return .failed(ConnectDiagnostics.explain(MosquittoError(code: Int32(MOSQ_ERR_NO_CONN.rawValue)), tls: tls,
                                                      errorLog: connection.errorLog))
        }
    }

    /// Feeds `event` to the session's state machine and does what it asks for (also from inside
    /// libmosquitto's callbacks, where publishing is allowed: the packet goes out with the next `loop`).
    private func step(_ event: SessionEvent, _ client: MosquittoClient, _ connection: Connection) {
        switch connection.machine.handle(event) {
        case .none:
            break
        case .announce:
            connection.bucket.restart(at: .now)
            outbox.beginSession()
            state.withLock { $0.connected = true; $0.connects += 1 }
            logger.info("MQTT connected to \(endpoint)")
            do {
                connection.statusMid = try client.publish(topic: settings.statusTopic, payload: settings.status.birth,
                                                       qos: 1, retain: true)
            } catch where error.rejectsMessage {
                logger.error("MQTT status topic '\(settings.statusTopic)' refused: \(error)")
            } catch {
                step(.failed(error), client, connection)
                return
            }
            publishAnnouncements(client, connection, all: true)
        case .closeGracefully:
            closeGracefully(client, connection)
            step(.closed, client, connection)
        case .abortSocket:
            abortSocket(client.socket)
        }
    }

    private enum PumpResult { case idle, more, failed(MosquittoError) }

    /// Publishes waiting messages, live first, backlog as the drain rate allows, while the in-flight window
    /// has room.
    private func pump(_ client: MosquittoClient, _ connection: Connection) -> PumpResult {
        let window = settings.maxInflight
        // Bounded so QoS 0 floods still let `loop` run between batches.
        for _ in 0..<max(window, 64) {
            guard connection.inflight.count < window else { flushAcks(connection); return .idle }
            connection.bucket.refill(now: .now)
            guard let taken = outbox.next(backlogAllowed: connection.bucket.hasToken) else {
                flushAcks(connection) // QoS 0 messages are done once written
                return .idle
            }
            if taken.backlog { connection.bucket.take() }
            let m = taken.message
            do {
                let mid = try client.publish(topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain)
                if m.qos > 0 {
                    connection.inflight[mid] = taken.id
                } else {
                    connection.acks.append(taken.id)
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
                flushAcks(connection)
                return .failed(error)
            }
        }
        flushAcks(connection)
        return .more
    }

    /// Removes acknowledged messages from the outbox: one removal record per loop turn.
    private func flushAcks(_ connection: Connection) {
        guard !connection.acks.isEmpty else { return }
        outbox.acknowledge(connection.acks)
        connection.acks.removeAll(keepingCapacity: true)
    }

    /// Publishes the offline status, waits (bounded) for its PUBACK, then DISCONNECTs.
    private func closeGracefully(_ client: MosquittoClient, _ connection: Connection) {
        do {
            connection.statusAcked = false
            connection.statusMid = try client.publish(topic: settings.statusTopic,
                                                   payload: state.withLock { $0.offline }, qos: 1, retain: true)
            let deadline = ContinuousClock.now + Self.offlineAckTimeout
            while !connection.statusAcked, ContinuousClock.now < deadline {
                try client.loop(timeout: Self.loopTimeoutMilliseconds)
            }
            if !connection.statusAcked {
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
    private func endSession(_ connection: Connection) -> Int {
        state.withLock { $0.connected = false }
        let back = connection.inflight.count
        connection.inflight.removeAll()
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

/// One connection's state machine and facts, shared by the session loop and the libmosquitto callbacks
/// (same thread).
final class Connection {
    var machine: SessionMachine
    /// The status message (birth, then offline) whose PUBACK is awaited.
    var statusMid: Int32?
    var statusAcked = false
    /// Message id → outbox id of what is in flight.
    var inflight: [Int32: UInt64] = [:]
    /// Outbox ids acknowledged since the last flush.
    var acks: [UInt64] = []
    /// libmosquitto's error lines (TLS problems are reported only there).
    var errorLog: [String] = []
    /// The backlog's drain rate.
    var bucket: TokenBucket
    /// Unread incoming bytes, peeked at before libmosquitto reads them (see `IncomingPackets`).
    var peekBuffer = [UInt8](repeating: 0, count: IncomingPackets.peekSize)
    /// The unread bytes end in an incomplete packet: libmosquitto does not read until the rest is there.
    var readHeld = false

    init(drainRate: Double, connackTimeout: Duration) {
        machine = SessionMachine(connackTimeout: connackTimeout)
        bucket = TokenBucket(rate: drainRate, now: .now)
    }
}
