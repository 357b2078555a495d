import Foundation
import HTTPTypes
import Hummingbird

/// The request context of the page and API: Hummingbird's, plus who is asking (nil when the receiver has no
/// credentials and listens on loopback only).
public struct FleetContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: FleetCaller?
    public init(source: Source) { coreContext = .init(source: source); caller = nil }
}

/// Who may look, in front of every route (404s included): GET and HEAD need a `read` credential, POST (only
/// the acknowledgement) a `write` one and a JSON body. Without credentials (loopback only, enforced at start)
/// everyone local may read, nobody may write, and a Host header must name a loopback host, so that a web page
/// elsewhere cannot reach the API through DNS rebinding. Every response gets headers that keep browsers
/// from sniffing, framing or leaking it.
public struct FleetAccess: RouterMiddleware {
    public typealias Context = FleetContext
    let credentials: FleetCredentials

    public init(credentials: FleetCredentials) { self.credentials = credentials }

    /// Allowed with this caller, or refused with a status and a fixed message (never echoing the request).
    enum Decision: Equatable {
        case allow(FleetCaller?)
        case refuse(HTTPResponse.Status, String)
    }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        switch await decide(request) {
        case .allow(let caller):
            var context = context
            context.caller = caller
            do {
                response = try await next(request, context)
            } catch let error as any HTTPResponseError {
                response = try error.response(from: request, context: context)
            }
        case .refuse(let status, let message):
            response = Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: message + "\n")))
            if status == .unauthorized { addChallenges(&response.headers) }
        }
        Self.addSecurityHeaders(&response.headers)
        return response
    }

    func decide(_ request: Request) async -> Decision {
        let needed: FleetRole
        switch request.method {
        case .get, .head: needed = .read
        case .post:
            needed = .write
            // A cross-site form cannot send this type, and a cross-site fetch with it needs a preflight that is never granted.
            guard request.headers[.contentType].map({ $0.lowercased().hasPrefix("application/json") }) == true else {
                return .refuse(.unsupportedMediaType, "a POST needs Content-Type: application/json")
            }
        default: return .refuse(.methodNotAllowed, "only GET, HEAD and POST")
        }
        guard !credentials.isEmpty else {
            guard let host = (request.head.authority ?? request.headers[HTTPField.Name("Host")!]).map(Self.hostPart), FleetAPI.isLoopback(host) else {
                return .refuse(.forbidden, "without credentials the receiver answers only requests to a loopback host name")
            }
            return needed == .read ? .allow(nil)
                : .refuse(.forbidden, "acknowledging needs a credential with the write role; this receiver has none (--users, --tokens)")
        }
        guard let caller = await caller(request.headers[.authorization]) else {
            return .refuse(.unauthorized, "credentials required")
        }
        return caller.role >= needed ? .allow(caller) : .refuse(.forbidden, "'\(caller.name)' may only read")
    }

    /// The caller an `Authorization` header names: `Basic` (user and password) or `Bearer` (token).
    func caller(_ authorization: String?) async -> FleetCaller? {
        guard let authorization, let space = authorization.firstIndex(of: " ") else { return nil }
        let scheme = authorization[..<space].lowercased()
        let value = authorization[authorization.index(after: space)...].trimmingCharacters(in: .whitespaces)
        switch scheme {
        case "bearer": return credentials.caller(token: value)
        case "basic":
            guard let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8),
                  let colon = text.firstIndex(of: ":") else { return nil }
            return await credentials.caller(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        default: return nil
        }
    }

    func addChallenges(_ headers: inout HTTPFields) {
        if credentials.count.users > 0 { headers.append(HTTPField(name: .wwwAuthenticate, value: #"Basic realm="vigil-fleet", charset="UTF-8""#)) }
        if credentials.count.tokens > 0 { headers.append(HTTPField(name: .wwwAuthenticate, value: #"Bearer realm="vigil-fleet""#)) }
    }

    /// `host` of `host:port`, `[v6]:port` or `host`.
    static func hostPart(_ authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }

    static let securityHeaders: [(String, String)] = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        // The page's own inline script and style only; nothing loaded from elsewhere, never framed.
        ("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            + "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    ]

    static func addSecurityHeaders(_ headers: inout HTTPFields) {
        for (name, value) in securityHeaders { headers[HTTPField.Name(name)!] = value }
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }
}
