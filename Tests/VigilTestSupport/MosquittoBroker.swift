import Foundation
import Synchronization

/// A real `mosquitto` on 127.0.0.1 and a free port, in its own temporary directory.
/// Stopped (SIGTERM, then SIGKILL) by `stop()` or when released.
public final class MosquittoBroker: Sendable {
    public static let executable = "/usr/sbin/mosquitto"

    public let host = "127.0.0.1"
    public let port: Int
    /// Holds mosquitto.conf, broker.log and, when persistent, the database.
    public let directory: URL
    /// Sessions and queued QoS 1 messages survive `restart()` (saved on SIGTERM).
    public let persistent: Bool
    private let child = Mutex<ChildProcess?>(nil)
    /// When the listener speaks TLS.
    public let tls: TLSListener?
    /// A plain listener on 127.0.0.1 for test subscribers (set when the main listener uses TLS or passwords).
    public let plainPort: Int?

    /// TLS on the broker's listener: its CA (for client certificates), certificate and key.
    public struct TLSListener: Sendable {
        public var caFile: String
        public var certFile: String
        public var keyFile: String
        /// Mutual TLS: a client must present a certificate signed by `caFile`.
        public var requireClientCertificate: Bool
        /// `tlsv1.2` or `tlsv1.3`; nil lets mosquitto choose.
        public var version: String?

        public init(caFile: String, certFile: String, keyFile: String, requireClientCertificate: Bool = false,
                    version: String? = nil) {
            self.caFile = caFile; self.certFile = certFile; self.keyFile = keyFile
            self.requireClientCertificate = requireClientCertificate; self.version = version
        }
    }

    /// Picks a free port, writes the config and, unless `start` is false, starts the broker.
    /// With `allowAnonymous` false (and no password file) every CONNECT is refused: "not authorised".
    /// - Parameters:
    ///   - tls: the listener on `port` speaks TLS.
    ///   - users: user → password, written with `mosquitto_passwd` to a password file; anonymous clients are
    ///     then refused on `port`. With `tls` or `users`, `plainPort` is an anonymous plain listener for
    ///     test subscribers.
    public init(persistent: Bool = false, allowAnonymous: Bool = true, start: Bool = true,
                tls: TLSListener? = nil, users: [String: String]? = nil) throws {
        self.port = try freeLocalPort()
        self.persistent = persistent
        self.tls = tls
        self.plainPort = (tls != nil || users != nil) ? try freeLocalPort() : nil
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vigil-mosquitto-\(port)-\(UUID().uuidString.prefix(8))")
        // 0755: mosquitto started as root drops to its own user, which must reach the database below.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        var conf = """
            # Tests push thousands of QoS 1 messages at subscribers that may be reconnecting.
            max_queued_messages 0
            max_inflight_messages 100
            per_listener_settings \(plainPort != nil)

            listener \(port) 127.0.0.1
            allow_anonymous \(users == nil ? allowAnonymous : false)

            """
        if let tls {
            conf += "cafile \(tls.caFile)\ncertfile \(tls.certFile)\nkeyfile \(tls.keyFile)\n"
            conf += "require_certificate \(tls.requireClientCertificate)\n"
            if let v = tls.version { conf += "tls_version \(v)\n" }
        }
        if let users {
            let passwords = directory.appendingPathComponent("passwords").path
            for (i, (user, password)) in users.sorted(by: { $0.key < $1.key }).enumerated() {
                let status = try runTool("/usr/bin/mosquitto_passwd", (i == 0 ? ["-c"] : []) + ["-b", passwords, user, password])
                guard status == 0 else { throw TestSupportError("mosquitto_passwd exited with \(status)") }
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passwords)
            conf += "password_file \(passwords)\n"
        }
        if let plainPort {
            conf += "\nlistener \(plainPort) 127.0.0.1\nallow_anonymous true\n"
        }
        conf += "\n"
        if persistent {
            // Writable by that user too.
            let db = directory.appendingPathComponent("db", isDirectory: true)
            try FileManager.default.createDirectory(at: db, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: db.path)
            conf += "persistence true\npersistence_location \(db.path)/\nautosave_interval 0\n"
        } else {
            conf += "persistence false\n"
        }
        try conf.write(to: configURL, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        if start { try self.start() }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private var configURL: URL { directory.appendingPathComponent("mosquitto.conf") }
    private var logURL: URL { directory.appendingPathComponent("broker.log") }

    /// The broker's own log so far.
    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    public var isRunning: Bool { child.withLock { $0?.isRunning ?? false } }

    /// Starts the broker (if not running) and waits until the port accepts connections (at most `timeout` s).
    public func start(timeout: Double = 5) throws {
        try child.withLock { current in
            if current?.isRunning == true { return }
            let output = try FileHandle(forWritingTo: logURL)
            output.seekToEndOfFile()
            let process = try ChildProcess(Self.executable, ["-c", configURL.path], stdout: output, stderr: output)
            try? output.close()
            current = process
            let deadline = Date().addingTimeInterval(timeout)
            while !localPortAccepts(port) || !(plainPort.map(localPortAccepts) ?? true) {
                guard process.isRunning else {
                    throw TestSupportError("mosquitto exited at start on port \(port):\n\(log)")
                }
                guard Date() < deadline else {
                    process.stop()
                    throw TestSupportError("mosquitto did not accept connections on port \(port) within \(timeout) s:\n\(log)")
                }
                usleep(20_000)
            }
        }
    }

    /// Stops the broker by pid: SIGTERM (a persistent broker saves its database), then SIGKILL.
    public func stop() {
        let process = child.withLock { current -> ChildProcess? in
            defer { current = nil }
            return current
        }
        process?.stop()
    }

    /// SIGSTOP: the broker freezes with its connections open, so nothing is acknowledged until `resume()`
    /// (or `stop()`, which resumes it to let it handle SIGTERM).
    public func pause() {
        child.withLock { current in if let current, current.isRunning { kill(current.pid, SIGSTOP) } }
    }

    /// SIGCONT after `pause()`.
    public func resume() {
        child.withLock { current in if let current, current.isRunning { kill(current.pid, SIGCONT) } }
    }

    /// Stops and starts again on the same port.
    public func restart() throws {
        stop()
        try start()
    }
}
