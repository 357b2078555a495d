#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the broker sends this agent, looked at before libmosquitto reads it.
///
/// The agent subscribes to nothing: it only ever receives CONNACK, PUBACK, PUBREC, PUBCOMP and PINGRESP,
/// a few bytes each. libmosquitto 2.0's client has no limit of its own on incoming packets: it allocates
/// whatever length a packet header announces (up to 256 MiB) and fills it as bytes arrive. So each loop
/// turn first peeks at the unread bytes (`recv(MSG_PEEK)`, or `SSL_peek` under TLS) and walks their
/// packet headers: a packet longer than `maxPacketSize` ends the connection before any of it is read; an
/// incomplete packet is left unread until the rest arrives, so libmosquitto reads whole packets whose
/// headers were checked. One gap remains: bytes that arrive between the peek and libmosquitto's read in
/// the same turn are read unchecked (a window of microseconds; closing it needs a read hook libmosquitto
/// 2.0 does not have).
enum IncomingPackets {
    /// The largest remaining length accepted: the most a two-byte MQTT length field can say.
    static let maxPacketSize = 16_383
    /// Unread bytes looked at per turn: room for one packet of the largest size and its header.
    static let peekSize = maxPacketSize + 5

    enum Verdict: Equatable {
        /// Nothing unread, or only whole packets within the limit: libmosquitto may read.
        case whole
        /// A packet is not all there yet: leave it unread for now.
        case incomplete
        /// A packet of `type` (the MQTT control packet type, 3 = PUBLISH) announces `length` bytes.
        case oversized(type: UInt8, length: Int)
    }

    /// Walks the packet headers in `bytes` (which start at a packet boundary). `full` says `bytes` filled
    /// the peek buffer: a packet cut off by its end is then let through (its header was checked).
    static func check(_ bytes: UnsafeRawBufferPointer, full: Bool = false, limit: Int = maxPacketSize) -> Verdict {
        var i = 0
        while i < bytes.count {
            let type = bytes[i] >> 4
            var length = 0
            var shift = 0
            var j = i + 1
            var complete = false
            while j < bytes.count, shift <= 21 {
                let b = bytes[j]
                length |= Int(b & 0x7F) << shift
                j += 1
                if b & 0x80 == 0 { complete = true; break }
                shift += 7
            }
            if !complete {
                // Four length bytes, all continued: not MQTT.
                if shift > 21 { return .oversized(type: type, length: .max) }
                return full ? .whole : .incomplete
            }
            if length > limit { return .oversized(type: type, length: length) }
            if j + length > bytes.count { return full ? .whole : .incomplete }
            i = j + length
        }
        return .whole
    }

    /// The packet type's name in log lines.
    static func name(_ type: UInt8) -> String {
        let names = [1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP",
                     8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
                     14: "DISCONNECT", 15: "AUTH"]
        return names[Int(type)] ?? "type-\(type)"
    }

    /// The error that ends a connection over an oversized packet.
    static func refusal(type: UInt8, length: Int) -> MosquittoError {
        let size = length == .max ? "malformed length" : "of \(length) bytes"
        return MosquittoError(kind: .library, code: 25, // MOSQ_ERR_OVERSIZE_PACKET
                              message: "the broker sent a \(name(type)) packet \(size) (this agent subscribes to nothing and accepts packets of at most \(maxPacketSize) bytes)")
    }

    /// Peeks at the unread bytes of `socket` (plain TCP) or `ssl` (an `SSL *`, decrypted) into `buffer`
    /// and checks them.
    static func peek(socket: Int32, ssl: UnsafeMutableRawPointer?, into buffer: inout [UInt8]) -> Verdict {
        guard socket >= 0 else { return .whole }
        let n: Int = buffer.withUnsafeMutableBytes { raw in
            if let ssl {
                guard let peek = sslPeek else { return 0 }
                return Int(peek(ssl, raw.baseAddress, Int32(raw.count)))
            }
            return recv(socket, raw.baseAddress, raw.count, Int32(MSG_PEEK | MSG_DONTWAIT))
        }
        guard n > 0 else { return .whole } // nothing unread, or an error libmosquitto will report
        return buffer.withUnsafeBytes { check(UnsafeRawBufferPointer(rebasing: $0[..<n]), full: n == buffer.count) }
    }

    private typealias SSLPeek = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32) -> Int32
    /// `SSL_peek`, looked up in the process (libmosquitto links libssl), like `OpenSSLDiagnostics`.
    private static let sslPeek: SSLPeek? = {
        guard let f = dlsym(dlopen(nil, RTLD_NOW), "SSL_peek") else { return nil }
        return unsafeBitCast(f, to: SSLPeek.self)
    }()
}
