import Foundation
import VigilTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange over a plain loopback socket, with exactly the headers given (URLSession would add
/// its own Host and handle 401 challenges): what a client without a browser's help sends.
struct RawHTTP {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1) }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// `METHOD path` to 127.0.0.1:`port` with `headers` (Host defaults to 127.0.0.1:port) and `body`.
    static func send(_ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String = "") throws -> RawHTTP {
        var all = ["Host": "127.0.0.1:\(port)", "Connection": "close"].merging(headers) { $1 }
        if !body.isEmpty || method == "POST" { all["Content-Length"] = "\(body.utf8.count)" }
        let request = "\(method) \(path) HTTP/1.1\r\n" + all.map { "\($0.key): \($0.value)\r\n" }.sorted().joined() + "\r\n" + body
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)   // bcrypt on a loaded machine: generous
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestSupportError("connect to 127.0.0.1:\(port): \(errno)") }
        var out = Array(request.utf8)
        guard out.withUnsafeMutableBytes({ Glibc.send(fd, $0.baseAddress, $0.count, 0) }) == out.count else { throw TestSupportError("short send") }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else {
                if n < 0 { throw TestSupportError("recv from 127.0.0.1:\(port): \(errno)") }
                break
            }
            reply += chunk[0..<n]
        }
        return try parse(String(decoding: reply, as: UTF8.self))
    }

    static func parse(_ text: String) throws -> RawHTTP {
        guard let split = text.range(of: "\r\n\r\n") else { throw TestSupportError("no HTTP head in: \(text)") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusText = lines.first?.split(separator: " ").dropFirst().first, let status = Int(statusText) else {
            throw TestSupportError("no status line in: \(text)")
        }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = String(text[split.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1 == "chunked" }) { body = dechunk(body) }
        return RawHTTP(status: status, headers: headers, body: body)
    }

    /// A chunked body's data (sizes in hex, each chunk followed by CRLF).
    static func dechunk(_ text: String) -> String {
        var rest = Substring(text), out = ""
        while let end = rest.range(of: "\r\n"), let size = Int(rest[..<end.lowerBound], radix: 16), size > 0 {
            let start = end.upperBound
            let stop = rest.utf8.index(start, offsetBy: size)
            out += rest[start..<stop]
            rest = rest[stop...].dropFirst(2)
        }
        return out
    }
}
