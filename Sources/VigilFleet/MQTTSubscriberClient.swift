import CMosquitto
import VigilUplink

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A libmosquitto failure: the `mosq_err_t` (or CONNACK) code and its text.
public struct SubscriberError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var description: String { message }

    /// Describes `code` with `mosquitto_strerror` (`strerror(errno)` for `MOSQ_ERR_ERRNO`); create it right
    /// after the failing call.
    init(code: Int32) {
        let savedErrno = errno
        self.code = code
        message = code == Int32(MOSQ_ERR_ERRNO.rawValue) ? String(cString: strerror(savedErrno)) : String(cString: mosquitto_strerror(code))
    }

    init(code: Int32, message: String) { self.code = code; self.message = message }

    static func connack(_ code: Int32) -> SubscriberError {
        var e = SubscriberError(code: code)
        e.message = String(cString: mosquitto_connack_string(code))
        switch code {
        case 4: e.message += " (check --username and the password in --password-file)"
        case 5: e.message += " (the broker refused these credentials or this client: check --username, --password-file and the broker's ACL)"
        default: break
        }
        return e
    }
}

private let libraryInitResult: Int32 = mosquitto_lib_init()

@inline(__always)
private func check(_ rc: Int32) throws(SubscriberError) {
    if rc != Int32(MOSQ_ERR_SUCCESS.rawValue) { throw SubscriberError(code: rc) }
}

/// One received message, copied out of libmosquitto's buffers.
public struct ReceivedMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    /// Delivered as a retained copy because a subscription was made, not live.
    public var retained: Bool
}

/// Owns one `struct mosquitto *` used to receive, driven by one thread through libmosquitto's
/// external-loop calls (`socket`, `loopRead`, `loopWrite`, `loopMisc`) instead of `mosquitto_loop`.
///
/// Why: libmosquitto answers a QoS 1 PUBLISH with PUBACK *before* it calls the message callback. In
/// threaded mode (`mosquitto_threaded_set`) that PUBACK is only queued; it leaves in `loopWrite`. So the
/// receiver reads, commits what it read, and only then writes: no PUBACK reaches the broker for a
/// message the store does not hold. Callbacks run on the calling thread, inside `loopRead`.
final class MQTTSubscriberClient {
    private let handle: OpaquePointer

    /// CONNACK: the code (0 accepted) and whether the broker still had this client's session.
    var onConnect: ((Int32, Bool) -> Void)?
    var onMessage: ((ReceivedMessage) -> Void)?
    /// SUBACK: the QoS granted (128 refused).
    var onSubscribe: ((Int32) -> Void)?
    /// libmosquitto's error lines, with OpenSSL's verdict on a failed certificate check (`verify: …`):
    /// TLS failures are explained only there.
    private(set) var errorLog: [String] = []
    /// A CONNACK arrived: the TLS handshake is done, later failures are not its.
    var answered = false

    /// `mosquitto_new` with a fixed id and `clean_session` as given, `mosquitto_threaded_set(true)` so
    /// that packets are only queued by the calls that make them, and the callbacks.
    init(clientID: String, cleanSession: Bool) throws(SubscriberError) {
        try check(libraryInitResult)
        guard let h = mosquitto_new(clientID, cleanSession, nil) else { throw SubscriberError(code: Int32(MOSQ_ERR_ERRNO.rawValue)) }
        handle = h
        try check(mosquitto_threaded_set(h, true))
        mosquitto_user_data_set(h, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_with_flags_callback_set(h) { _, userdata, rc, flags in
            guard let userdata else { return }
            // flags bit 0: session present.
            Unmanaged<MQTTSubscriberClient>.fromOpaque(userdata).takeUnretainedValue().onConnect?(rc, flags & 1 != 0)
        }
        mosquitto_message_callback_set(h) { _, userdata, message in
            guard let userdata, let message, let topic = message.pointee.topic else { return }
            let m = message.pointee
            let payload = m.payloadlen > 0 && m.payload != nil
                ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))) : []
            Unmanaged<MQTTSubscriberClient>.fromOpaque(userdata).takeUnretainedValue()
                .onMessage?(ReceivedMessage(topic: String(cString: topic), payload: payload, retained: m.retain))
        }
        mosquitto_subscribe_callback_set(h) { _, userdata, _, count, granted in
            guard let userdata, count > 0, let granted else { return }
            Unmanaged<MQTTSubscriberClient>.fromOpaque(userdata).takeUnretainedValue().onSubscribe?(granted[0])
        }
        mosquitto_log_callback_set(h) { mosq, userdata, level, text in
            guard let userdata, let text, level & Int32(MOSQ_LOG_ERR) != 0 else { return }
            let client = Unmanaged<MQTTSubscriberClient>.fromOpaque(userdata).takeUnretainedValue()
            guard client.errorLog.count < 20 else { return }
            client.errorLog.append(String(cString: text))
            // While the TLS session still exists: why OpenSSL refused the broker's certificate.
            if let mosq, let reason = OpenSSLDiagnostics.verifyFailure(mosquitto_ssl_get(mosq)) { client.errorLog.append("verify: \(reason)") }
        }
    }

    /// `mosquitto_destroy`: closes the socket without DISCONNECT and drops every queued packet, PUBACKs
    /// included — the broker then sends those messages again to the next connection of this session.
    deinit { mosquitto_destroy(handle) }

    /// `mosquitto_username_pw_set`.
    func setCredentials(username: String?, password: String?) throws(SubscriberError) {
        try check(mosquitto_username_pw_set(handle, username, password))
    }

    /// TLS as the agent sets it up: the CA file (else the system's store), the client certificate and key,
    /// the broker's certificate and host name always verified, `tls.minimumVersion` or later.
    func setTLS(_ tls: MQTTUplink.TLS) throws(SubscriberError) {
        if tls.caFile == nil { try check(mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1)) }
        // mosquitto_tls_set insists on a CA location; without a CA file the system directory is it.
        try check(mosquitto_tls_set(handle, tls.caFile, tls.caFile == nil ? "/etc/ssl/certs" : nil, tls.certFile, tls.keyFile) { _, _, _, _ in 0 })
        try check(mosquitto_tls_opts_set(handle, 1, tls.minimumVersion, nil))
    }

    /// `mosquitto_connect`: TCP connect (blocking) and CONNECT queued; `loopWrite` sends it.
    func connect(host: String, port: Int32, keepalive: Int32) throws(SubscriberError) {
        try check(mosquitto_connect(handle, host, port, keepalive))
    }

    /// `mosquitto_subscribe`.
    func subscribe(_ pattern: String, qos: Int32) throws(SubscriberError) {
        try check(mosquitto_subscribe(handle, nil, pattern, qos))
    }

    /// `mosquitto_disconnect`: queues DISCONNECT (the broker keeps a persistent session).
    func disconnect() throws(SubscriberError) {
        try check(mosquitto_disconnect(handle))
    }

    /// `mosquitto_socket`: -1 when not connected.
    var socket: Int32 { mosquitto_socket(handle) }

    /// `mosquitto_want_write`: packets are queued.
    var wantsWrite: Bool { mosquitto_want_write(handle) }

    /// `mosquitto_loop_read`: reads what the socket has (at most one packet) and runs its callbacks.
    func loopRead() throws(SubscriberError) { try check(mosquitto_loop_read(handle, 1)) }

    /// `mosquitto_loop_write`: writes queued packets (PUBACKs, SUBSCRIBE, PINGREQ, DISCONNECT).
    func loopWrite() throws(SubscriberError) { try check(mosquitto_loop_write(handle, 1)) }

    /// `mosquitto_loop_misc`: keepalive PINGREQs and the keepalive timeout.
    func loopMisc() throws(SubscriberError) { try check(mosquitto_loop_misc(handle)) }
}

/// `poll(2)` on one descriptor for up to `milliseconds`; true when it is readable (or hung up).
func pollReadable(_ fd: Int32, writable: Bool = false, milliseconds: Int32) -> (readable: Bool, writable: Bool) {
    var p = pollfd(fd: fd, events: Int16(POLLIN) | (writable ? Int16(POLLOUT) : 0), revents: 0)
    let rc = poll(&p, 1, milliseconds)
    guard rc > 0 else { return (false, false) }
    let r = p.revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0
    return (r, p.revents & Int16(POLLOUT) != 0)
}
