import Testing
@testable import VigilUplink

/// The connection state machine on its own: every state against every event, with the exact state and
/// action that follow.
@Suite("Session state machine")
struct SessionMachineTests {
    static let t0 = ContinuousClock.now
    static let t1 = t0 + .milliseconds(250)
    static let timeout = Duration.seconds(30)
    static let error = MosquittoError(kind: .library, code: 7, message: "The connection was lost.")
    static let timedOut = MosquittoError.noConnack(after: 30)

    static let states: [(String, SessionState)] = [
        ("new", .new),
        ("connecting", .connecting(since: t0)),
        ("connected", .connected(since: t0)),
        ("disconnecting", .disconnecting),
        ("disconnected", .disconnected(.refused(5))),
    ]

    static let events: [(String, SessionEvent)] = [
        ("connectStarted", .connectStarted(at: t1)),
        ("connack 0", .connack(0, at: t1)),
        ("connack 5", .connack(5, at: t1)),
        ("tick at 30 s", .tick(now: t0 + .seconds(30))),
        ("tick past 30 s", .tick(now: t0 + .seconds(30) + .nanoseconds(1))),
        ("failed", .failed(error)),
        ("stopRequested", .stopRequested),
        ("abortRequested", .abortRequested),
        ("closed", .closed),
    ]

    /// Rows: state, then for each event in `events` order the state and action that follow.
    static let table: [String: [(SessionState, SessionAction)]] = [
        "new": [
            (.connecting(since: t1), .none),
            (.new, .none),
            (.new, .none),
            (.new, .none),
            (.new, .none),
            (.disconnected(.failed(error)), .none),
            (.disconnected(.stopped), .none),
            (.new, .none),
            (.new, .none),
        ],
        "connecting": [
            (.connecting(since: t0), .none),
            (.connected(since: t1), .announce),
            (.disconnected(.refused(5)), .none),
            (.connecting(since: t0), .none),
            (.disconnected(.failed(timedOut)), .none),
            (.disconnected(.failed(error)), .none),
            (.disconnected(.stopped), .none),
            (.connecting(since: t0), .none),
            (.connecting(since: t0), .none),
        ],
        "connected": [
            (.connected(since: t0), .none),
            (.connected(since: t0), .none),
            (.connected(since: t0), .none),
            (.connected(since: t0), .none),
            (.connected(since: t0), .none),
            (.disconnected(.lost(error, connectedAt: t0)), .none),
            (.disconnecting, .closeGracefully),
            (.connected(since: t0), .abortSocket),
            (.connected(since: t0), .none),
        ],
        "disconnecting": [
            (.disconnecting, .none),
            (.disconnecting, .none),
            (.disconnecting, .none),
            (.disconnecting, .none),
            (.disconnecting, .none),
            (.disconnected(.stopped), .none),
            (.disconnecting, .none),
            (.disconnecting, .none),
            (.disconnected(.stopped), .none),
        ],
        // Over: the first reason stays.
        "disconnected": Array(repeating: (.disconnected(.refused(5)), .none), count: 9),
    ]

    @Test("every state × event gives the exact next state and action", arguments: 0..<5)
    func transitions(stateIndex: Int) {
        let (name, state) = Self.states[stateIndex]
        let expected = Self.table[name]!
        #expect(expected.count == Self.events.count)
        for ((eventName, event), (nextState, action)) in zip(Self.events, expected) {
            let (gotState, gotAction) = SessionMachine.transition(from: state, on: event, connackTimeout: Self.timeout)
            #expect(gotState == nextState, "\(name) + \(eventName)")
            #expect(gotAction == action, "\(name) + \(eventName)")
        }
    }

    @Test("a whole connection: connect, CONNACK, a lost connection; the first reason is kept")
    func lifecycle() {
        var m = SessionMachine(connackTimeout: Self.timeout)
        #expect(m.state == .new && !m.isConnecting && !m.isConnected && !m.isOver)
        #expect(m.handle(.connectStarted(at: Self.t0)) == .none)
        #expect(m.isConnecting)
        #expect(m.handle(.connack(0, at: Self.t1)) == .announce)
        #expect(m.isConnected)
        #expect(m.handle(.failed(Self.error)) == .none)
        #expect(m.handle(.failed(Self.timedOut)) == .none)
        #expect(m.state == .disconnected(.lost(Self.error, connectedAt: Self.t1)) && m.isOver)
    }

    @Test("a stop while connected closes gracefully, then ends as stopped whatever the socket does")
    func gracefulStop() {
        var m = SessionMachine(connackTimeout: Self.timeout)
        _ = m.handle(.connectStarted(at: Self.t0))
        _ = m.handle(.connack(0, at: Self.t1))
        #expect(m.handle(.stopRequested) == .closeGracefully)
        #expect(m.state == .disconnecting && !m.isConnected && !m.isOver)
        #expect(m.handle(.failed(Self.error)) == .none)
        #expect(m.state == .disconnected(.stopped))
        #expect(m.handle(.closed) == .none)
        #expect(m.state == .disconnected(.stopped))
    }
}
