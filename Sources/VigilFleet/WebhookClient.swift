import VigilFleetCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where alerts go: an `http://HOST[:PORT]/PATH` URL, the body's shape, and extra headers (a secret read
/// from a file, never logged).
public struct WebhookTarget: Sendable {
    public var host: String
    public var port: Int
    public var path: String
    public var mode: WebhookMode
    public var headers: [(name: String, value: String)]

    /// The URL as logged: scheme, host, port and path (no headers).
    public var shown: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }

    public init(host: String, port: Int, path: String, mode: WebhookMode, headers: [(name: String, value: String)] = []) {
        self.host = host; self.port = port; self.path = path; self.mode = mode; self.headers = headers
    }

    /// `http://HOST[:PORT][/PATH]`; the error says what is wrong without echoing credentials.
    public static func parse(url: String, mode: WebhookMode) -> Result<WebhookTarget, WebhookError> {
        guard !url.contains("@") else { return .failure(WebhookError("credentials do not belong in the URL (use --webhook-header-file)")) }
        if url.hasPrefix("https://") {
            return .failure(WebhookError("https is not supported yet: give an http:// URL (a TLS-terminating relay on loopback)"))
        }
        guard url.hasPrefix("http://") else { return .failure(WebhookError("'\(url)' is not http://HOST[:PORT][/PATH]")) }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !path.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else { return .failure(WebhookError("the path has spaces or control characters")) }
        var host = Substring(authority)
        var port = 80
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else { return .failure(WebhookError("'\(url)' has a bad port")) }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { return .failure(WebhookError("'\(url)' has a bad port")) }
            port = p
        }
        guard !host.isEmpty else { return .failure(WebhookError("'\(url)' has no host")) }
        return .success(WebhookTarget(host: String(host), port: port, path: path, mode: mode))
    }

    /// One `Name: value` line from a file (e.g. `Authorization: Bearer …`).
    public static func parseHeader(_ text: String, file: String) -> Result<(name: String, value: String), WebhookError> {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).filter { !$0.allSatisfy(\.isWhitespace) }
        guard lines.count == 1, let colon = lines[0].firstIndex(of: ":") else {
            return .failure(WebhookError("\(file): must hold one line 'Name: value'"))
        }
        let name = lines[0][..<colon]
        let value = lines[0][lines[0].index(after: colon)...].trimmingPrefix(while: { $0 == " " || $0 == "\t" })
        let token = { (c: UInt8) in (0x21...0x7E).contains(c) && !"()<>@,;:\\\"/[]?={}".utf8.contains(c) }
        guard !name.isEmpty, name.utf8.allSatisfy(token) else { return .failure(WebhookError("\(file): line 1: the header name is not a token")) }
        guard !value.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) else {
            return .failure(WebhookError("\(file): line 1: the header value has control characters"))
        }
        return .success((String(name), String(value)))
    }
}

public struct WebhookError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One HTTP/1.1 POST over a blocking socket, `Connection: close`: enough for a webhook from the sender's
/// own thread, without a client library. Returns the response's status code.
enum HTTPPost {
    static func post(_ body: [UInt8], to t: WebhookTarget, timeoutSeconds: Int = 10) throws(WebhookError) -> Int {
        let fd = try openSocket(t.host, t.port, timeoutSeconds)
        defer { close(fd) }
        var head = "POST \(t.path) HTTP/1.1\r\nHost: \(t.host.contains(":") ? "[\(t.host)]" : t.host):\(t.port)\r\n"
        head += "User-Agent: vigil-fleet\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for h in t.headers { head += "\(h.name): \(h.value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw WebhookError("sending to \(t.shown): \(String(cString: strerror(errno)))") }
            sent += n
        }
        // Only the status line matters: `HTTP/1.x NNN reason`.
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !response.contains(UInt8(ascii: "\n")) && response.count < 8192 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw WebhookError(n == 0 ? "\(t.shown) closed the connection without an answer" : "reading from \(t.shown): \(String(cString: strerror(errno)))")
            }
            response += buffer[..<n]
        }
        let line = String(decoding: response.prefix(while: { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }), as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...599).contains(code) else {
            throw WebhookError("\(t.shown) answered something other than HTTP")
        }
        return code
    }

    private static func openSocket(_ host: String, _ port: Int, _ timeout: Int) throws(WebhookError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0 else { throw WebhookError("cannot resolve \(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(list) }
        var last = ECONNREFUSED
        var ai = list
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            guard fd >= 0 else { last = errno; continue }
            // SO_SNDTIMEO bounds connect() too on Linux.
            var tv = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
            last = errno
            close(fd)
        }
        throw WebhookError("cannot connect to \(host):\(port): \(String(cString: strerror(last)))")
    }
}
