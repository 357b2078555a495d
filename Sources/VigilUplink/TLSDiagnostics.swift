import CMosquitto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a connection attempt failed, in words a person can act on: libmosquitto's and OpenSSL's TLS error
/// lines turned into a reason with a hint, and a look at the socket when libmosquitto cannot tell.
package enum ConnectDiagnostics {
    /// A failure before CONNACK, with what libmosquitto logged (`errorLog`) about TLS turned into a reason.
    package static func explain(_ error: MosquittoError, tls: Bool, errorLog: [String], names: TLSSettingNames = .agent) -> MosquittoError {
        guard tls, error.kind == .library || error.kind == .tls else { return error }
        guard let reason = TLSFailure.describe(errorLog, names: names) else {
            if error.code == Int32(MOSQ_ERR_TLS.rawValue) {
                return MosquittoError(kind: .tls, code: error.code, message: error.message)
            }
            // With TLS 1.3 a broker checks the client certificate after the handshake and just closes the
            // connection; OpenSSL then reports nothing but the closed socket.
            let closedByBroker = error.code == Int32(MOSQ_ERR_CONN_LOST.rawValue) || error.code == Int32(MOSQ_ERR_PROTOCOL.rawValue)
                || (error.code == Int32(MOSQ_ERR_ERRNO.rawValue)
                    && [EPROTO, ECONNRESET, EPIPE].map { String(cString: strerror($0)) }.contains(error.message))
            if closedByBroker {
                return MosquittoError(kind: .tls, code: Int32(MOSQ_ERR_TLS.rawValue), message:
                    "the broker closed the TLS connection before CONNACK (\(error.message)): it requires a client certificate it trusts (\(names.certAndKey)), or this is not a TLS port")
            }
            return error
        }
        return MosquittoError(kind: .tls, code: Int32(MOSQ_ERR_TLS.rawValue), message: reason)
    }

    /// Before CONNACK: a refused or closed connection. libmosquitto 2.0.11 does not notice one while its TLS
    /// handshake is pending (it would retry the handshake until the CONNACK timeout), so look at the socket.
    static func socketFailure(_ fd: Int32, _ revents: Int16) -> MosquittoError? {
        guard fd >= 0 else { return nil }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0, soError != 0 {
            return MosquittoError(kind: .library, code: Int32(MOSQ_ERR_ERRNO.rawValue), message: String(cString: strerror(soError)))
        }
        if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            let recvErrno = errno
            if n == 0 || (revents & Int16(POLLHUP | POLLERR) != 0 && n < 0 && recvErrno != EAGAIN && recvErrno != EWOULDBLOCK) {
                var address = sockaddr_storage()
                var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let connected = withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &size) == 0 }
                }
                if !connected {
                    // Unconnected now: either the TCP connect failed (libmosquitto already consumed the socket
                    // error) or the broker took the connection and reset it. Only the latter has an RTT sample.
                    let wasEstablished = everEstablished(fd)
                    let reason = n < 0 && recvErrno != ENOTCONN ? recvErrno : (wasEstablished ? ECONNRESET : ECONNREFUSED)
                    return MosquittoError(kind: .library, code: Int32(MOSQ_ERR_ERRNO.rawValue), message: String(cString: strerror(reason)))
                }
                return MosquittoError(kind: .library, code: Int32(MOSQ_ERR_CONN_LOST.rawValue),
                                      message: "the broker closed the connection before CONNACK")
            }
        }
        return nil
    }
}

extension ConnectDiagnostics {
    /// Whether the TCP connection on `fd` was ever established: the kernel took an RTT sample from the
    /// broker's SYN-ACK (a refused connect gets none).
    static func everEstablished(_ fd: Int32) -> Bool {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        return getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 && info.tcpi_rtt > 0
    }
}

/// The settings a TLS hint tells a person to check, as the program calling them names them.
package struct TLSSettingNames: Sendable {
    package var whose, broker, caFile, certFile, certAndKey, version: String
    package init(whose: String, broker: String, caFile: String, certFile: String, certAndKey: String, version: String) {
        self.whose = whose; self.broker = broker; self.caFile = caFile; self.certFile = certFile; self.certAndKey = certAndKey
        self.version = version
    }

    /// The agent's config keys.
    package static let agent = TLSSettingNames(whose: "this device's", broker: "mqtt.broker", caFile: "mqtt.tls.ca_file / ca_dir", certFile: "mqtt.tls.cert_file",
                                               certAndKey: "mqtt.tls.cert_file and key_file", version: "mqtt.tls.version")
}

/// Turns libmosquitto's and OpenSSL's TLS error lines into one reason with a hint.
package enum TLSFailure {
    package static func describe(_ lines: [String], names n: TLSSettingNames = .agent) -> String? {
        let verify = lines.first { $0.hasPrefix("verify: ") }.map { String($0.dropFirst("verify: ".count)) }
        let openssl = lines.filter { $0.hasPrefix("OpenSSL Error") }.map(reasonText)
        let other = lines.filter { !$0.hasPrefix("OpenSSL Error") && !$0.hasPrefix("verify: ") }
        if let verify {
            let lower = verify.lowercased()
            let hint: String
            if lower.contains("expired") {
                hint = "the broker's certificate has expired (or this device's clock is wrong: check NTP)"
            } else if lower.contains("not yet valid") {
                hint = "the broker's certificate is not valid yet (is this device's clock right? check NTP)"
            } else if lower.contains("hostname mismatch") || lower.contains("ip address mismatch") || lower.contains("unspecified") {
                // libmosquitto's own host name check fails with the unspecified error.
                hint = "the broker's certificate does not name the host in \(n.broker)"
            } else if lower.contains("issuer") || lower.contains("self-signed") || lower.contains("self signed")
                        || lower.contains("verify the first certificate") {
                hint = "the broker's certificate is not signed by a CA in \(n.caFile) (wrong CA?)"
            } else {
                hint = "the broker's certificate was not accepted"
            }
            return "certificate verify failed: \(verify): \(hint)"
        }
        if let first = openssl.first {
            let lower = openssl.joined(separator: " ").lowercased()
            let hint: String?
            if lower.contains("unknown ca") {
                hint = "the broker does not trust \(n.whose) client certificate (\(n.certFile))"
            } else if lower.contains("certificate expired") {
                hint = "the broker says \(n.whose) client certificate (\(n.certFile)) has expired"
            } else if lower.contains("certificate required") || lower.contains("handshake failure") {
                hint = "the broker requires a client certificate (\(n.certAndKey))"
            } else if lower.contains("bad certificate") || lower.contains("certificate unknown") {
                hint = "the broker rejected \(n.whose) client certificate (\(n.certFile))"
            } else if lower.contains("wrong version number") || lower.contains("packet length too long") || lower.contains("record layer failure") {
                hint = "the broker does not speak TLS on this port (an mqtt:// port?)"
            } else if lower.contains("protocol version") || lower.contains("unsupported protocol") {
                hint = "the broker and \(n.version) have no TLS version in common"
            } else if lower.contains("certificate verify failed") {
                hint = "the broker's certificate was not accepted (wrong CA in \(n.caFile)?)"
            } else {
                hint = nil
            }
            let detail = other.isEmpty ? first : "\(other.joined(separator: "; ")): \(first)"
            return hint.map { "\(detail): \($0)" } ?? detail
        }
        if !other.isEmpty { return other.joined(separator: "; ") }
        return nil
    }

    /// `OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed` → `certificate verify failed`.
    private static func reasonText(_ line: String) -> String {
        let parts = line.split(separator: ":").map { $0.drop { $0 == " " } }.filter { !$0.isEmpty }
        return parts.last.map(String.init) ?? line
    }
}
