public struct MQTTConfig: Sendable, Decodable, Equatable {
    /// `mqtt://HOST[:PORT]` (1883 by default) or `mqtts://HOST[:PORT]` (TLS, 8883 by default).
    public var broker: String = "mqtt://127.0.0.1:1883"
    /// Defaults to `vigil-<device>`.
    public var clientID: String? = nil
    public var keepalive: ConfigDuration = .seconds(30)
    public var topicPrefix: String = "vigil"
    public var reconnectMin: ConfigDuration = .seconds(1)
    public var reconnectMax: ConfigDuration = .seconds(60)
    /// Deprecated spelling of `outbox.max_events` (kept so older configs still load).
    public var queueLimit: Int? = nil
    /// MQTT user name; nil sends none.
    public var username: String? = nil
    /// A file holding the password (one line; a trailing newline is ignored). A relative path is looked up
    /// in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`) when that is set. Never on the command line.
    public var passwordFile: String? = nil
    /// TLS settings; only with an `mqtts://` broker.
    public var tls: TLSConfig? = nil
    /// The disk-backed queue of events waiting for the broker's acknowledgement.
    public var outbox: OutboxConfig = OutboxConfig()
    /// How often the agent publishes its own health message (outbox depth, drops, connection).
    public var healthInterval: ConfigDuration = .seconds(60)

    enum CodingKeys: String, CodingKey, CaseIterable {
        case broker, keepalive, username, tls, outbox
        case clientID = "client_id", topicPrefix = "topic_prefix"
        case reconnectMin = "reconnect_min", reconnectMax = "reconnect_max", queueLimit = "queue_limit"
        case passwordFile = "password_file", healthInterval = "health_interval"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MQTTConfig()
        broker = try c.decodeIfPresent(String.self, forKey: .broker) ?? d.broker
        clientID = try c.decodeIfPresent(String.self, forKey: .clientID)
        keepalive = try c.decodeIfPresent(ConfigDuration.self, forKey: .keepalive) ?? d.keepalive
        topicPrefix = try c.decodeIfPresent(String.self, forKey: .topicPrefix) ?? d.topicPrefix
        reconnectMin = try c.decodeIfPresent(ConfigDuration.self, forKey: .reconnectMin) ?? d.reconnectMin
        reconnectMax = try c.decodeIfPresent(ConfigDuration.self, forKey: .reconnectMax) ?? d.reconnectMax
        queueLimit = try c.decodeIfPresent(Int.self, forKey: .queueLimit)
        username = try c.decodeIfPresent(String.self, forKey: .username)
        passwordFile = try c.decodeIfPresent(String.self, forKey: .passwordFile)
        tls = try c.decodeIfPresent(TLSConfig.self, forKey: .tls)
        outbox = try c.decodeIfPresent(OutboxConfig.self, forKey: .outbox) ?? d.outbox
        healthInterval = try c.decodeIfPresent(ConfigDuration.self, forKey: .healthInterval) ?? d.healthInterval
        if let q = queueLimit, outbox.maxEvents == nil { outbox.maxEvents = q }
    }

    /// Most events the outbox holds (`outbox.max_events`, else the old `queue_limit`, else the default).
    public var maxEvents: Int { outbox.maxEvents ?? queueLimit ?? OutboxConfig.defaultMaxEvents }

    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        let address = BrokerAddress.parse(broker)
        if case .failure(let e) = address { issues.append(ConfigIssue(["broker"], e.message)) }
        if keepalive.nanoseconds < 5_000_000_000 || keepalive.nanoseconds > 65_535_000_000_000 {
            issues.append(ConfigIssue(["keepalive"], "must be between 5s and 65535s, got \(keepalive)"))
        }
        if topicPrefix.isEmpty || topicPrefix.contains("+") || topicPrefix.contains("#") || topicPrefix.hasSuffix("/") || topicPrefix.hasPrefix("/") {
            issues.append(ConfigIssue(["topic_prefix"], "must be non-empty, without '+', '#' or a leading/trailing '/', got '\(topicPrefix)'"))
        }
        if let id = clientID, id.isEmpty || id.utf8.count > 128 {
            issues.append(ConfigIssue(["client_id"], "must be 1 to 128 bytes"))
        }
        if reconnectMin.nanoseconds < 100_000_000 { issues.append(ConfigIssue(["reconnect_min"], "must be at least 100ms, got \(reconnectMin)")) }
        if reconnectMax < reconnectMin { issues.append(ConfigIssue(["reconnect_max"], "must not be below reconnect_min (\(reconnectMin)), got \(reconnectMax)")) }
        if let q = queueLimit {
            if q < 1 { issues.append(ConfigIssue(["queue_limit"], "must be at least 1, got \(q)")) }
            if let m = outbox.maxEvents, m != q {
                issues.append(ConfigIssue(["queue_limit"], "is the old name of outbox.max_events; give only outbox.max_events"))
            }
        }
        if let u = username, u.isEmpty || u.utf8.count > 65_535 {
            issues.append(ConfigIssue(["username"], "must be 1 to 65535 bytes"))
        }
        if let p = passwordFile {
            if p.isEmpty { issues.append(ConfigIssue(["password_file"], "must name a file")) }
            if username == nil { issues.append(ConfigIssue(["password_file"], "needs mqtt.username (MQTT sends a password only with a user name)")) }
        }
        if let tls {
            if case .success(let a) = address, !a.tls {
                issues.append(ConfigIssue(["tls"], "TLS settings need an mqtts:// broker, got '\(broker)'"))
            }
            issues += tls.validate().map { ConfigIssue(["tls"] + $0.path, $0.message) }
        }
        issues += outbox.validate().map { ConfigIssue(["outbox"] + $0.path, $0.message) }
        if healthInterval.nanoseconds < 1_000_000_000 {
            issues.append(ConfigIssue(["health_interval"], "must be at least 1s, got \(healthInterval)"))
        }
        return issues
    }
}

/// `mqtt.tls`: how the agent checks the broker and proves who it is.
public struct TLSConfig: Sendable, Decodable, Equatable {
    /// PEM file with the CA certificate(s) that signed the broker's certificate.
    public var caFile: String? = nil
    /// Directory of CA certificates (hashed names, as `c_rehash`/`openssl rehash` makes them).
    public var caDir: String? = nil
    /// Client certificate (PEM, chain allowed) for mutual TLS, e.g. AWS IoT.
    public var certFile: String? = nil
    /// The client certificate's private key (PEM, unencrypted).
    public var keyFile: String? = nil
    /// Lowest protocol version accepted: `tlsv1.2` (default) or `tlsv1.3`.
    public var version: String = "tlsv1.2"
    /// Skips checking that the broker's certificate names the host. For tests only; the chain is still checked.
    public var insecure: Bool = false

    public static let versions = ["tlsv1.2", "tlsv1.3"]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, insecure
        case caFile = "ca_file", caDir = "ca_dir", certFile = "cert_file", keyFile = "key_file"
    }

    public init(caFile: String? = nil, caDir: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                version: String = "tlsv1.2", insecure: Bool = false) {
        self.caFile = caFile; self.caDir = caDir; self.certFile = certFile; self.keyFile = keyFile
        self.version = version; self.insecure = insecure
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
        caDir = try c.decodeIfPresent(String.self, forKey: .caDir)
        certFile = try c.decodeIfPresent(String.self, forKey: .certFile)
        keyFile = try c.decodeIfPresent(String.self, forKey: .keyFile)
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? "tlsv1.2"
        insecure = try c.decodeIfPresent(Bool.self, forKey: .insecure) ?? false
    }

    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for (key, value) in [("ca_file", caFile), ("ca_dir", caDir), ("cert_file", certFile), ("key_file", keyFile)] {
            if let v = value, v.isEmpty { issues.append(ConfigIssue([key], "must name a file")) }
        }
        if certFile != nil && keyFile == nil { issues.append(ConfigIssue(["key_file"], "is needed with cert_file (mutual TLS needs both)")) }
        if keyFile != nil && certFile == nil { issues.append(ConfigIssue(["cert_file"], "is needed with key_file (mutual TLS needs both)")) }
        if !Self.versions.contains(version) {
            issues.append(ConfigIssue(["version"], "must be one of \(Self.versions.joined(separator: ", ")) (the lowest version accepted), got '\(version)'"))
        }
        return issues
    }
}

/// `mqtt.outbox`: the on-disk queue every event passes through before it is handed to the broker.
public struct OutboxConfig: Sendable, Decodable, Equatable {
    public enum Sync: String, Sendable, Decodable, CaseIterable {
        /// fdatasync after every event, before the pipeline goes on: nothing accepted is lost to a power cut.
        case everyEvent = "every_event"
        /// fdatasync as soon as possible after each group of events written together (group commit).
        case batch
        /// fdatasync at most every `sync_interval`.
        case interval
    }

    public static let defaultMaxEvents = 100_000
    public static let defaultMaxBytes = 16 << 20

    /// Nil: `$STATE_DIRECTORY/outbox` when systemd sets `STATE_DIRECTORY`, else `/var/lib/vigil/outbox`.
    public var dir: String? = nil
    public var maxBytes: Int = OutboxConfig.defaultMaxBytes
    /// Nil: `mqtt.queue_limit` when given, else `defaultMaxEvents`.
    public var maxEvents: Int? = nil
    public var sync: Sync = .batch
    public var syncInterval: ConfigDuration = .seconds(1)
    /// Messages per second sent from the backlog after a reconnect; live events go out besides.
    public var drainRate: Double = 100

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dir, sync
        case maxBytes = "max_bytes", maxEvents = "max_events", syncInterval = "sync_interval", drainRate = "drain_rate"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OutboxConfig()
        dir = try c.decodeIfPresent(String.self, forKey: .dir)
        maxBytes = try c.decodeIfPresent(ByteCount.self, forKey: .maxBytes)?.bytes ?? d.maxBytes
        maxEvents = try c.decodeIfPresent(Int.self, forKey: .maxEvents)
        if c.contains(.sync) {
            let text = try c.decode(String.self, forKey: .sync)
            guard let s = Sync(rawValue: text) else {
                throw DecodingError.dataCorruptedError(forKey: .sync, in: c, debugDescription:
                    "unknown sync policy '\(text)' (known: \(Sync.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            sync = s
        }
        syncInterval = try c.decodeIfPresent(ConfigDuration.self, forKey: .syncInterval) ?? d.syncInterval
        drainRate = try c.decodeIfPresent(Double.self, forKey: .drainRate) ?? d.drainRate
    }

    /// The directory to use: `dir`, else systemd's state directory, else `/var/lib/vigil/outbox`.
    /// `environment` is the process environment (`STATE_DIRECTORY` may list several, `:`-separated).
    public func resolvedDirectory(environment: [String: String]) -> String {
        if let dir { return dir }
        if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty {
            return String(state) + "/outbox"
        }
        return "/var/lib/vigil/outbox"
    }

    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let d = dir, d.isEmpty { issues.append(ConfigIssue(["dir"], "must name a directory")) }
        if maxBytes < 4096 { issues.append(ConfigIssue(["max_bytes"], "must be at least 4096 bytes, got \(maxBytes)")) }
        if let m = maxEvents, m < 1 { issues.append(ConfigIssue(["max_events"], "must be at least 1, got \(m)")) }
        if syncInterval.nanoseconds < 1_000_000 || syncInterval.nanoseconds > 3_600_000_000_000 {
            issues.append(ConfigIssue(["sync_interval"], "must be between 1ms and 1h, got \(syncInterval)"))
        }
        if !(drainRate >= 1 && drainRate <= 100_000) {
            issues.append(ConfigIssue(["drain_rate"], "must be between 1 and 100000 messages per second, got \(drainRate)"))
        }
        return issues
    }
}

/// A size in a config file: a number of bytes, or with a unit: `512k`, `16MiB`, `1GB`.
public struct ByteCount: Sendable, Hashable, Decodable {
    public var bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    /// `4096`, `64k`/`64KB`/`64KiB` (×1024), `16M`/`16MB`/`16MiB`, `1G`/`1GB`/`1GiB`. Nil when malformed.
    public init?(parsing text: String) {
        let t = text.trimmingWhitespace().lowercased()
        let units: [(String, Int)] = [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30),
                                      ("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30),
                                      ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        var number = Substring(t)
        var scale = 1
        for (suffix, s) in units where t.hasSuffix(suffix) {
            number = Substring(t.dropLast(suffix.count))
            scale = s
            break
        }
        guard let value = Double(number.trimmingWhitespace()), value.isFinite, value >= 0,
              value * Double(scale) < 9e18 else { return nil }
        bytes = Int((value * Double(scale)).rounded())
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            guard n >= 0 else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "a size must be zero or more bytes, got \(n)") }
            bytes = n
            return
        }
        let s = try c.decode(String.self)
        guard let b = ByteCount(parsing: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not a size (use e.g. 65536, 512k, 16MiB)")
        }
        self = b
    }
}

/// `mqtt://host:port` or `mqtts://host:port` split into parts.
public struct BrokerAddress: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// `mqtts://`: the connection uses TLS.
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool = false) { self.host = host; self.port = port; self.tls = tls }

    public struct ParseError: Error, Equatable { public var message: String }

    public static func parse(_ url: String) -> Result<BrokerAddress, ParseError> {
        // Never echo a URL that may carry a password (mqtt://user:secret@host).
        if url.contains("@") {
            return .failure(ParseError(message: "a broker URL cannot carry credentials: put the user in mqtt.username and the password in the file named by mqtt.password_file"))
        }
        let tls: Bool
        let scheme: String
        if url.hasPrefix("mqtt://") {
            tls = false; scheme = "mqtt://"
        } else if url.hasPrefix("mqtts://") {
            tls = true; scheme = "mqtts://"
        } else {
            return .failure(ParseError(message: "'\(url)' is not an mqtt:// or mqtts:// URL"))
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/") else {
            return .failure(ParseError(message: "'\(url)' must be \(scheme)HOST or \(scheme)HOST:PORT"))
        }
        var host = rest
        var port = tls ? 8883 : 1883
        if rest.hasPrefix("[") {  // [::1]:1883
            guard let close = rest.firstIndex(of: "]") else { return .failure(ParseError(message: "'\(url)' has an unclosed '['")) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return .failure(ParseError(message: "'\(url)' has a bad port")) }
                port = p
            } else if !after.isEmpty { return .failure(ParseError(message: "'\(url)' must be \(scheme)[IPv6]:PORT")) }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(ParseError(message: "'\(url)' has a bad port (1 to 65535)"))
            }
            port = p
        }
        guard !host.isEmpty else { return .failure(ParseError(message: "'\(url)' has no host")) }
        return .success(BrokerAddress(host: String(host), port: port, tls: tls))
    }
}
