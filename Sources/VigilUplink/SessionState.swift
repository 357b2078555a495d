import CMosquitto

/// Where one MQTT connection stands, in the manner of mosquitto's client state (`mosq_cs_new`,
/// `mosq_cs_connect_pending`, `mosq_cs_active`, `mosq_cs_disconnecting`, `mosq_cs_disconnected`).
/// Every connection starts from `.new` on a fresh libmosquitto handle and ends in `.disconnected`.
enum SessionState: Equatable {
    /// The handle is made; the TCP connect has not started.
    case new
    /// TCP connect and CONNECT under way (TLS handshake included); no CONNACK yet.
    case connecting(since: ContinuousClock.Instant)
    /// The broker accepted the CONNECT: messages flow.
    case connected(since: ContinuousClock.Instant)
    /// A stop was asked for while connected: `offline` is published, its PUBACK awaited, DISCONNECT sent.
    case disconnecting
    /// Over; how it ended decides the next retry delay and the log line.
    case disconnected(SessionEnd)
}

/// How a connection ended.
enum SessionEnd: Equatable {
    /// Stopped on request (after the graceful close, if it was connected).
    case stopped
    /// The broker answered CONNECT with this CONNACK refusal code.
    case refused(Int32)
    /// Never connected: set-up, TCP, TLS or CONNACK timeout failure (the first reason).
    case failed(MosquittoError)
    /// Was connected since `connectedAt`; this is the first reason it ended.
    case lost(MosquittoError, connectedAt: ContinuousClock.Instant)
}

/// What happens to a connection: libmosquitto's callbacks and calls, the clock, and requests from other
/// threads.
enum SessionEvent: Equatable {
    /// `mosquitto_connect_async` returned: the TCP connect is under way.
    case connectStarted(at: ContinuousClock.Instant)
    /// CONNACK arrived with this return code (0: accepted).
    case connack(Int32, at: ContinuousClock.Instant)
    /// Time passes (checked once per loop turn).
    case tick(now: ContinuousClock.Instant)
    /// A call failed or the connection ended, for this reason.
    case failed(MosquittoError)
    /// `shutdown` asked the network thread to stop.
    case stopRequested
    /// Test hook: end the connection without DISCONNECT, as a killed process would.
    case abortRequested
    /// The graceful close (offline status, DISCONNECT) is done.
    case closed
}

/// What the network thread must do after an event.
enum SessionAction: Equatable {
    case none
    /// CONNACK accepted: start the outbox session, count the connect, log it and publish the birth message.
    case announce
    /// Publish the offline status, wait (bounded) for its PUBACK, then DISCONNECT; report `.closed`.
    case closeGracefully
    /// Shut the socket down without DISCONNECT, so the broker publishes the last will.
    case abortSocket
}

/// The transitions of `SessionState`: pure (no I/O, no clock of its own), one event at a time. The first
/// reason a connection ends is the one kept; later events on a finished connection change nothing.
struct SessionMachine {
    private(set) var state: SessionState = .new
    /// No CONNACK this long after the connect started: the attempt has failed.
    let connackTimeout: Duration

    init(connackTimeout: Duration) {
        self.connackTimeout = connackTimeout
    }

    var isOver: Bool {
        if case .disconnected = state { return true }
        return false
    }

    var isConnected: Bool {
        if case .connected = state { return true }
        return false
    }

    /// Before CONNACK (the socket is watched for a refused or closed connection then).
    var isConnecting: Bool {
        if case .connecting = state { return true }
        return false
    }

    mutating func handle(_ event: SessionEvent) -> SessionAction {
        let (next, action) = Self.transition(from: state, on: event, connackTimeout: connackTimeout)
        state = next
        return action
    }

    static func transition(from state: SessionState, on event: SessionEvent,
                           connackTimeout: Duration) -> (SessionState, SessionAction) {
        switch (state, event) {
        case (.new, .connectStarted(let at)):
            return (.connecting(since: at), .none)
        case (.connecting, .failed(let error)) where error.code == Int32(MOSQ_ERR_KEEPALIVE.rawValue) && error.kind == .library:
            // libmosquitto's keepalive ran out before CONNACK (at `keepalive` ≥ `connackTimeout` seconds).
            return (.disconnected(.failed(.noConnack(after: Double(connackTimeout.components.seconds)))), .none)
        case (.new, .failed(let error)), (.connecting, .failed(let error)):
            return (.disconnected(.failed(error)), .none)
        case (.new, .stopRequested), (.connecting, .stopRequested):
            return (.disconnected(.stopped), .none)

        case (.connecting, .connack(let rc, let at)):
            return rc == 0 ? (.connected(since: at), .announce) : (.disconnected(.refused(rc)), .none)
        case (.connecting(let since), .tick(let now)):
            guard now - since > connackTimeout else { return (state, .none) }
            return (.disconnected(.failed(.noConnack(after: Double(connackTimeout.components.seconds)))), .none)

        case (.connected(let since), .failed(let error)):
            return (.disconnected(.lost(error, connectedAt: since)), .none)
        case (.connected, .stopRequested):
            return (.disconnecting, .closeGracefully)
        case (.connected, .abortRequested):
            return (state, .abortSocket)

        case (.disconnecting, .failed), (.disconnecting, .closed):
            return (.disconnected(.stopped), .none)

        default:
            return (state, .none)
        }
    }
}
