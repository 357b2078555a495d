import Hummingbird
import VigilFleetCore

/// The web page's routes: `/` (fleet overview), `/devices/{device}` (plots and event log), `/api/stream`
/// (server-sent change notices). HTML from `FleetPages`, every device-supplied string escaped by `Markup`.
extension FleetAPI {
    static func html(_ page: Markup) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: page.html)))
    }

    /// `?device=&channel=&kind=`; a kind that is none of anomaly, health, source is a 400.
    static func filter(_ request: Request) throws -> PageFilter {
        let q = request.uri.queryParameters
        func text(_ key: String) -> String? { q.get(key).map { String($0) }.flatMap { $0.isEmpty ? nil : $0 } }
        var f = PageFilter(device: text("device"), channel: text("channel"))
        if let k = text("kind") {
            guard let kind = FleetView.ProblemKind(rawValue: k) else { throw HTTPError(.badRequest, message: "kind is anomaly, health or source") }
            f.kind = kind
        }
        return f
    }

    func addPages(to router: Router<FleetContext>) {
        let store = self.store, feed = self.feed
        router.get("/") { request, context in
            try Self.html(FleetPages.overview(devices: store.devices(), problems: store.openProblems(), filter: Self.filter(request),
                                              canAcknowledge: context.caller?.role == .write))
        }
        router.get("/devices/:device") { request, context in
            let name = try Self.name(context, "device")
            guard let detail = try store.device(name) else { throw HTTPError(.notFound, message: "no such device") }
            let kind = request.uri.queryParameters.get("kind").map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
            try Self.check(eventKind: kind)
            let problems = try store.openProblems().filter { $0.device == name }
            return Self.html(FleetPages.device(detail, problems: problems, series: try store.channelSeries(device: name),
                                               events: try store.events(device: name, kind: kind, beforeSeq: nil, limit: 100),
                                               canAcknowledge: context.caller?.role == .write))
        }
        router.get("/api/stream") { _, _ in
            let notices = feed.subscribe()
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                            body: ResponseBody { writer in
                                // A comment first, so the client knows it is subscribed.
                                try await writer.write(ByteBuffer(string: ": subscribed\n\n"))
                                for await notice in notices {
                                    try await writer.write(ByteBuffer(string: "event: message\ndata: \(notice)\n\n"))
                                }
                                try await writer.finish(nil)
                            })
        }
    }
}
