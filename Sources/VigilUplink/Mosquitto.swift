import CMosquitto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A libmosquitto failure as a value: the `mosq_err_t` (or CONNACK) code and its text.
public struct MosquittoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which table `code` comes from.
    public enum Kind: Sendable, Hashable {
        /// A `mosq_err_t` returned by a library call.
        case library
        /// A CONNACK return code the broker refused the connection with.
        case connack
        /// The TLS handshake failed (or TLS could not be set up); `message` says why, from OpenSSL.
        case tls
        /// A local setting cannot be used (an unreadable certificate file): retrying will not help until it is fixed.
        case setup
    }

    public var kind: Kind
    public var code: Int32
    public var message: String

    public init(kind: Kind, code: Int32, message: String) {
        self.kind = kind; self.code = code; self.message = message
    }

    /// A library error, described by `mosquitto_strerror`. Reads `errno` at once, so create it right after
    /// the failing call: for `MOSQ_ERR_ERRNO` the text is `strerror(errno)`, for `MOSQ_ERR_EAI` the resolver's.
    public init(code: Int32) {
        let savedErrno = errno
        var text = Self.missingTexts[code] ?? String(cString: mosquitto_strerror(code))
        if code == Int32(MOSQ_ERR_ERRNO.rawValue) {
            // errno 0 would read "Success": libmosquitto gave up on a socket that reported no error.
            text = savedErrno == 0 ? "the connection ended without an error from the system" : String(cString: strerror(savedErrno))
        } else if code == Int32(MOSQ_ERR_EAI.rawValue) {
            // libmosquitto stores the getaddrinfo() code in errno.
            text += " " + String(cString: gai_strerror(savedErrno))
        }
        self.init(kind: .library, code: code, message: text)
    }

    /// Codes libmosquitto 2.0.11's `mosquitto_strerror` calls "Unknown error.".
    private static let missingTexts: [Int32: String] = [
        Int32(MOSQ_ERR_KEEPALIVE.rawValue): "no packet from the broker within the keepalive time",
        Int32(MOSQ_ERR_LOOKUP.rawValue): "host name lookup failed",
        Int32(MOSQ_ERR_MALFORMED_PACKET.rawValue): "malformed packet from the broker",
        Int32(MOSQ_ERR_TIMEOUT.rawValue): "timed out",
        Int32(MOSQ_ERR_RETAIN_NOT_SUPPORTED.rawValue): "retained messages not supported by the broker",
        Int32(MOSQ_ERR_TOPIC_ALIAS_INVALID.rawValue): "invalid topic alias",
    ]

    /// A refused CONNACK, described by `mosquitto_connack_string` and what to check.
    public static func connack(_ code: Int32) -> MosquittoError {
        var text = String(cString: mosquitto_connack_string(code))
        if text.hasPrefix("Connection Refused: ") { text = String(text.dropFirst("Connection Refused: ".count)) }
        if text.hasSuffix(".") { text = String(text.dropLast()) }
        switch code {
        case 2: text += " (check mqtt.client_id)"
        case 4: text += " (check mqtt.username and the password in mqtt.password_file)"
        case 5: text += " (the broker refused these credentials or this client: check mqtt.username, mqtt.password_file and the broker's ACL)"
        default: break
        }
        return MosquittoError(kind: .connack, code: code, message: text)
    }

    /// The library's "a receive timed out" stand-in used when a broker never answers CONNECT.
    static func noConnack(after seconds: Double) -> MosquittoError {
        MosquittoError(kind: .library, code: Int32(MOSQ_ERR_TIMEOUT.rawValue),
                       message: "no CONNACK within \(seconds) s")
    }

    public var description: String { message }

    /// True when the error is about one message (bad topic, too large, bad QoS) rather than the connection,
    /// so retrying the same message can never succeed.
    var rejectsMessage: Bool {
        guard kind == .library else { return false }
        switch code {
        case Int32(MOSQ_ERR_INVAL.rawValue), Int32(MOSQ_ERR_PAYLOAD_SIZE.rawValue),
             Int32(MOSQ_ERR_MALFORMED_UTF8.rawValue), Int32(MOSQ_ERR_OVERSIZE_PACKET.rawValue),
             Int32(MOSQ_ERR_QOS_NOT_SUPPORTED.rawValue), Int32(MOSQ_ERR_RETAIN_NOT_SUPPORTED.rawValue):
            return true
        default:
            return false
        }
    }
}

/// `mosquitto_lib_init`, run once per process before the first handle is made.
private let libraryInitResult: Int32 = mosquitto_lib_init()

@inline(__always)
private func check(_ rc: Int32) throws(MosquittoError) {
    if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw MosquittoError(code: rc) }
}

/// Owns one `struct mosquitto *`. Not thread-safe: one thread makes every call, and the callbacks run
/// on that thread from inside `loop`, `publish` or `disconnect`.
package final class MosquittoClient {
    private let handle: OpaquePointer

    /// CONNACK arrived: 0 is accepted, anything else is a refusal (see `MosquittoError.connack`).
    package var onConnect: ((Int32) -> Void)?
    /// The connection ended; nil when it ended because `disconnect()` was called.
    package var onDisconnect: ((MosquittoError?) -> Void)?
    /// A message is done: QoS 0 written, QoS 1 PUBACK, QoS 2 PUBCOMP. The argument is the message id.
    package var onPublish: ((Int32) -> Void)?
    /// libmosquitto's own log lines (level `MOSQ_LOG_*`). TLS failures are reported only here; for a failed
    /// certificate check the line is followed by OpenSSL's verdict (`verify: certificate has expired`).
    package var onLog: ((Int32, String) -> Void)?

    /// `mosquitto_lib_init` (once per process), `mosquitto_new`, then `mosquitto_user_data_set` and the
    /// connect, disconnect and publish callback setters. Callbacks find this object through the user data.
    package init(id: String?, cleanSession: Bool) throws(MosquittoError) {
        try check(libraryInitResult)
        guard let h = mosquitto_new(id, cleanSession, nil) else {
            // mosquitto_new sets errno: ENOMEM or EINVAL.
            throw MosquittoError(code: Int32(MOSQ_ERR_ERRNO.rawValue))
        }
        handle = h
        mosquitto_user_data_set(h, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_callback_set(h) { _, userdata, rc in
            guard let userdata else { return }
            Unmanaged<MosquittoClient>.fromOpaque(userdata).takeUnretainedValue().onConnect?(rc)
        }
        mosquitto_disconnect_callback_set(h) { _, userdata, rc in
            let error: MosquittoError? = rc == 0 ? nil : MosquittoError(code: rc)
            guard let userdata else { return }
            Unmanaged<MosquittoClient>.fromOpaque(userdata).takeUnretainedValue().onDisconnect?(error)
        }
        mosquitto_publish_callback_set(h) { _, userdata, mid in
            guard let userdata else { return }
            Unmanaged<MosquittoClient>.fromOpaque(userdata).takeUnretainedValue().onPublish?(mid)
        }
        mosquitto_log_callback_set(h) { mosq, userdata, level, text in
            guard let userdata, let text else { return }
            let client = Unmanaged<MosquittoClient>.fromOpaque(userdata).takeUnretainedValue()
            guard let onLog = client.onLog else { return }
            onLog(level, String(cString: text))
            // The TLS session still exists while libmosquitto reports its error: ask OpenSSL why the
            // certificate check failed, which its error string ("certificate verify failed") does not say.
            if level & Int32(MOSQ_LOG_ERR) != 0, let mosq, let reason = OpenSSLDiagnostics.verifyFailure(mosquitto_ssl_get(mosq)) {
                onLog(level, "verify: \(reason)")
            }
        }
    }

    /// `mosquitto_destroy`: closes the socket and frees every message the library still holds.
    deinit {
        mosquitto_destroy(handle)
    }

    /// `mosquitto_will_set`: what the broker publishes if this client vanishes without DISCONNECT.
    package func setWill(topic: String, payload: [UInt8], qos: Int32, retain: Bool) throws(MosquittoError) {
        let rc = payload.withUnsafeBytes { buf in
            mosquitto_will_set(handle, topic, Int32(buf.count), buf.baseAddress, qos, retain)
        }
        try check(rc)
    }

    /// `mosquitto_username_pw_set`. Nil username clears the credentials.
    package func setCredentials(username: String?, password: String?) throws(MosquittoError) {
        try check(mosquitto_username_pw_set(handle, username, password))
    }

    /// `mosquitto_tls_set`: CA file and/or directory to check the broker against, and the client certificate
    /// and key for mutual TLS. Encrypted keys are refused rather than prompting on a terminal.
    package func setTLS(caFile: String?, caDir: String?, certFile: String?, keyFile: String?) throws(MosquittoError) {
        try check(mosquitto_tls_set(handle, caFile, caDir, certFile, keyFile) { _, _, _, _ in 0 })
    }

    /// `mosquitto_tls_opts_set`: `verifyPeer` (`SSL_VERIFY_PEER`, else none), the lowest TLS version
    /// (`tlsv1.2`, `tlsv1.3`) and an optional cipher list.
    package func setTLSOptions(verifyPeer: Bool, version: String, ciphers: String? = nil) throws(MosquittoError) {
        try check(mosquitto_tls_opts_set(handle, verifyPeer ? 1 : 0, version, ciphers))
    }

    /// `mosquitto_tls_insecure_set`: true skips checking that the certificate names the host (tests only).
    package func setTLSInsecure(_ insecure: Bool) throws(MosquittoError) {
        try check(mosquitto_tls_insecure_set(handle, insecure))
    }

    /// `mosquitto_int_option`, e.g. `MOSQ_OPT_PROTOCOL_VERSION` or `MOSQ_OPT_SEND_MAXIMUM`.
    package func setOption(_ option: mosq_opt_t, _ value: Int32) throws(MosquittoError) {
        try check(mosquitto_int_option(handle, option, value))
    }

    /// `mosquitto_connect_async`: starts a non-blocking TCP connect and queues CONNECT; `loop` completes it.
    /// Name resolution still blocks.
    package func connectAsync(host: String, port: Int32, keepalive: Int32) throws(MosquittoError) {
        try check(mosquitto_connect_async(handle, host, port, keepalive))
    }

    /// `mosquitto_loop`: waits up to `milliseconds` for socket activity, then reads, writes and keeps alive.
    /// Throws when the connection is gone (after `onDisconnect` ran) or was never made.
    package func loop(timeout milliseconds: Int32) throws(MosquittoError) {
        try check(mosquitto_loop(handle, milliseconds, 1))
    }

    /// `mosquitto_publish`. Returns the message id that `onPublish` will report.
    package func publish(topic: String, payload: [UInt8], qos: Int32, retain: Bool) throws(MosquittoError) -> Int32 {
        guard payload.count <= Int(Int32.max) else {
            throw MosquittoError(code: Int32(MOSQ_ERR_PAYLOAD_SIZE.rawValue))
        }
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { buf in
            mosquitto_publish(handle, &mid, topic, Int32(buf.count), buf.baseAddress, qos, retain)
        }
        try check(rc)
        return mid
    }

    /// `mosquitto_loop_write` then `mosquitto_loop_misc`: sends what is queued and keeps alive without
    /// reading (while an incoming packet is not all there yet; see `IncomingPackets`).
    package func loopWithoutReading() throws(MosquittoError) {
        try check(mosquitto_loop_write(handle, 1))
        try check(mosquitto_loop_misc(handle))
    }

    /// `mosquitto_ssl_get`: the connection's `SSL *`, nil without TLS.
    package var ssl: UnsafeMutableRawPointer? {
        mosquitto_ssl_get(handle)
    }

    /// `mosquitto_disconnect`: queues DISCONNECT; keep calling `loop` until `socket` is -1 to send it.
    package func disconnect() throws(MosquittoError) {
        try check(mosquitto_disconnect(handle))
    }

    /// `mosquitto_want_write`: output is waiting for the socket to become writable.
    package var wantWrite: Bool {
        mosquitto_want_write(handle)
    }

    /// `mosquitto_socket`: the connection's file descriptor, -1 when not connected.
    package var socket: Int32 {
        mosquitto_socket(handle)
    }
}

/// Two OpenSSL calls libmosquitto does not make for us, looked up in the process (libmosquitto links
/// libssl, so the symbols are there) rather than linking OpenSSL ourselves.
package enum OpenSSLDiagnostics {
    private typealias GetVerifyResult = @convention(c) (UnsafeMutableRawPointer?) -> Int
    private typealias VerifyErrorString = @convention(c) (Int) -> UnsafePointer<CChar>?

    private static let functions: (GetVerifyResult, VerifyErrorString)? = {
        let process = dlopen(nil, RTLD_NOW)
        guard let a = dlsym(process, "SSL_get_verify_result"), let b = dlsym(process, "X509_verify_cert_error_string") else {
            return nil
        }
        return (unsafeBitCast(a, to: GetVerifyResult.self), unsafeBitCast(b, to: VerifyErrorString.self))
    }()

    /// OpenSSL's reason the peer's certificate failed verification on `ssl` (an `SSL *`), nil when it passed
    /// or cannot be told.
    package static func verifyFailure(_ ssl: UnsafeMutableRawPointer?) -> String? {
        guard let ssl, let (getResult, errorString) = functions else { return nil }
        let code = getResult(ssl)
        guard code != 0, let text = errorString(code) else { return nil }
        return String(cString: text)
    }
}
