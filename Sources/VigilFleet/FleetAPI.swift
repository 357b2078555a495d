import Foundation
import Hummingbird
import Logging
import VigilFleetCore

/// The read-only JSON API over the store, served by Hummingbird. Keys are snake_case like the payloads,
/// times RFC 3339 UTC with milliseconds. Nothing here changes state.
///
/// | route | answer |
/// |---|---|
/// | `GET /api/devices` | `{"devices":[…]}`, open anomalies first, then sick sensors, then by name |
/// | `GET /api/devices/{device}` | the device with its `gaps`, `open_episodes`, `health_problems`, `sources` |
/// | `GET /api/devices/{device}/events?kind=&before_seq=&limit=` | `{"events":[…]}` newest first, payloads as sent |
/// | `GET /api/devices/{device}/hours/{channel}` | `{"hours":[…]}` hourly roll-ups with mean and std |
/// | `GET /api/anomalies` | `{"open_episodes":[…]}` of the whole fleet |
/// | `GET /api/counters` | `{"counters":{"received":…,"rejected.<code>":…}}` |
/// | `GET /api/stream` | server-sent events: `{"devices":[…]}` after each committed batch (FleetWeb.swift) |
public struct FleetAPI: Sendable {
    public let store: any FleetDatabase
    /// Change notices for the page's live updates (`/api/stream`), fed by the receiver after each commit.
    public let feed: ChangeFeed

    public init(store: any FleetDatabase, feed: ChangeFeed = ChangeFeed()) { self.store = store; self.feed = feed }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The event kinds a `kind` query may name.
    static func check(eventKind: String?) throws {
        if let eventKind, !["anomaly", "health", "summary", "source", "agent"].contains(eventKind) {
            throw HTTPError(.badRequest, message: "kind is anomaly, health, summary, source or agent")
        }
    }

    /// A name from the path, refused unless it is one the receiver could have stored.
    static func name(_ context: BasicRequestContext, _ key: String) throws -> String {
        let value = try context.parameters.require(key)
        guard FleetNames.isValid(value) else { throw HTTPError(.badRequest, message: "not a valid \(key) name") }
        return value
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
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
        router.get("/api/anomalies") { _, _ in try Self.json(["open_episodes": store.openEpisodes()]) }
        router.get("/api/counters") { _, _ in try Self.json(["counters": store.counters()]) }
        addPages(to: router)
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

    /// Loopback only until the API has credentials: 127.0.0.0/8, ::1 or localhost.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.") && host.split(separator: ".").count == 4
    }
}
