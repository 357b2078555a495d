import Foundation
import Hummingbird
import Logging
import VigilCore
import VigilFleetCore

/// The JSON API over the store, served by Hummingbird. Keys are snake_case like the payloads, times RFC 3339
/// UTC with milliseconds. `<`, `>` and `&` in strings are sent as `\u003c`, `\u003e`, `\u0026`, so device-supplied
/// text is inert even where a client pastes it into HTML. Nothing but the acknowledgement changes state, and
/// `FleetAccess` stands in front of every route.
///
/// | route | answer |
/// |---|---|
/// | `GET /api/devices` | `{"devices":[…]}`, open anomalies first, then sick sensors, then by name |
/// | `GET /api/devices/{device}` | the device with its `gaps`, `open_episodes`, `health_problems`, `sources` |
/// | `GET /api/devices/{device}/events?kind=&before_seq=&limit=` | `{"events":[…]}` newest first, payloads as sent |
/// | `GET /api/devices/{device}/hours/{channel}` | `{"hours":[…]}` hourly roll-ups with mean and std |
/// | `GET /api/anomalies` | `{"open_episodes":[…]}` of the whole fleet |
/// | `GET /api/counters` | `{"counters":{"received":…,"rejected.<code>":…}}` |
/// | `POST /api/devices/{device}/episodes/{subject}/{episode}/acknowledge` | the open episode, acknowledged (`write` role; body `{"note":…}` or `{}`) |
/// | `GET /metrics` | Prometheus text format (FleetMetrics.swift) |
/// | `GET /api/stream` | server-sent events: `{"devices":[…]}` after each committed batch (FleetWeb.swift) |
public struct FleetAPI: Sendable {
    public let store: any FleetDatabase
    /// Change notices for the page's live updates (`/api/stream`), fed by the receiver after each commit.
    public let feed: ChangeFeed
    /// Empty: loopback only, read only (the command refuses any other address without credentials).
    public let credentials: FleetCredentials

    /// `GET /metrics` when set.
    public let metrics: FleetMetrics?

    public init(store: any FleetDatabase, feed: ChangeFeed = ChangeFeed(), credentials: FleetCredentials = FleetCredentials(),
                metrics: FleetMetrics? = nil) {
        self.store = store; self.feed = feed; self.credentials = credentials; self.metrics = metrics
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: htmlSafe(try encoder.encode(value)))))
    }

    /// JSON with `<`, `>`, `&` as `\u` escapes: outside strings JSON never has them, so this only touches strings.
    static func htmlSafe(_ json: Data) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(json.count)
        for b in json {
            switch b {
            case UInt8(ascii: "<"): out += Array(#"\u003c"#.utf8)
            case UInt8(ascii: ">"): out += Array(#"\u003e"#.utf8)
            case UInt8(ascii: "&"): out += Array(#"\u0026"#.utf8)
            default: out.append(b)
            }
        }
        return out
    }

    /// The acknowledgement's body: `{}` or `{"note": "…"}` (at most 500 characters); empty counts as `{}`.
    struct AcknowledgementRequest: Decodable { var note: String? }
    static func note(_ body: ByteBuffer) throws -> String {
        guard body.readableBytes > 0 else { return "" }
        guard let request = try? JSONDecoder().decode(AcknowledgementRequest.self, from: Data(body.readableBytesView)) else {
            throw HTTPError(.badRequest, message: "the body is {} or {\"note\": \"…\"}")
        }
        let note = request.note ?? ""
        guard note.count <= 500 else { throw HTTPError(.badRequest, message: "note is at most 500 characters") }
        return note
    }

    /// The event kinds a `kind` query may name.
    static func check(eventKind: String?) throws {
        if let eventKind, !["anomaly", "health", "summary", "source", "agent"].contains(eventKind) {
            throw HTTPError(.badRequest, message: "kind is anomaly, health, summary, source or agent")
        }
    }

    /// A name from the path, refused unless it is one the receiver could have stored.
    static func name(_ context: FleetContext, _ key: String) throws -> String {
        let value = try context.parameters.require(key)
        guard FleetNames.isValid(value) else { throw HTTPError(.badRequest, message: "not a valid \(key) name") }
        return value
    }

    public func router() -> Router<FleetContext> {
        let router = Router(context: FleetContext.self)
        router.add(middleware: FleetAccess(credentials: credentials))
        let store = self.store
        router.get("/api/devices") { _, _ in try Self.json(["devices": store.devices()]) }
        router.get("/api/devices/:device") { _, context in
            guard let d = try store.device(Self.name(context, "device")) else { throw HTTPError(.notFound, message: "no such device") }
            return try Self.json(d)
        }
        router.get("/api/devices/:device/events") { request, context in
            let q = request.uri.queryParameters
            let limit = q.get("limit", as: Int.self) ?? 100
            guard (1...1000).contains(limit) else { throw HTTPError(.badRequest, message: "limit is 1 to 1000") }
            let kind: String? = q.get("kind").map { String($0) }
            try Self.check(eventKind: kind)
            let events = try store.events(device: Self.name(context, "device"), kind: kind,
                                          beforeSeq: q.get("before_seq", as: Int64.self), limit: limit)
            return try Self.json(["events": events])
        }
        router.get("/api/devices/:device/hours/:channel") { _, context in
            try Self.json(["hours": store.hours(device: Self.name(context, "device"), channel: Self.name(context, "channel"))])
        }
        router.post("/api/devices/:device/episodes/:subject/:episode/acknowledge") { request, context in
            guard let episode = context.parameters.get("episode", as: Int64.self) else { throw HTTPError(.badRequest, message: "episode is a number") }
            let (device, subject) = (try Self.name(context, "device"), try Self.name(context, "subject"))
            let note = try Self.note(try await request.body.collect(upTo: 4096))
            // FleetAccess lets a POST through only with a write credential.
            guard let caller = context.caller, caller.role == .write else { throw HTTPError(.forbidden) }
            guard let acknowledged = try store.acknowledge(device: device, subject: subject, episode: episode, by: caller.name,
                                                           note: note, now: Clock.wallNanos()) else {
                throw HTTPError(.notFound, message: "no such open episode")
            }
            return try Self.json(acknowledged)
        }
        router.get("/api/anomalies") { _, _ in try Self.json(["open_episodes": store.openEpisodes()]) }
        router.get("/api/counters") { _, _ in try Self.json(["counters": store.counters()]) }
        addPages(to: router)
        metrics?.addRoute(to: router)
        return router
    }

    /// The server on `host:port`; run it with `runService` and cancel its task to stop it.
    public func application(host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        Application(router: router(), configuration: .init(address: .hostname(host, port: port), serverName: "vigil-fleet"),
                    onServerRunning: { channel in
                        logger.notice("API listening on http://\(host):\(channel.localAddress?.port ?? port)")
                    },
                    logger: logger)
    }

    /// 127.0.0.0/8, ::1 or localhost: where the API may listen without credentials.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.") && host.split(separator: ".").count == 4
    }
}
