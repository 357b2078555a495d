import VigilCore

/// `kind: serial` — a device printing one line of readings at a time over a serial port: an
/// ESP8266/Arduino over USB-serial, or a pseudo-terminal (socat, ser2net, `vigil simulate --serial`).
///
/// ```yaml
/// - kind: serial
///   name: esp
///   usb: { vid: "10c4", pid: "ea60" }      # or  path: /dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0
///   baud: 115200
///   format: kv                             # t=21.5,h=40.1,snd=55
///   fields:
///     - { field: t, channel: temperature, unit: "°C" }
///     - { field: h, channel: humidity, unit: "%RH" }
///     - { field: snd, channel: sound, unit: dB, scale: 0.1 }
/// ```
public struct SerialSourceConfig: Sendable, Decodable {
    public var name: String
    /// The device: `/dev/ttyUSB0`, `/dev/serial/by-id/…`, a pty or a symlink to one. Exactly one of
    /// `path` and `usb` is set.
    public var path: String?
    /// The device by USB identity, looked up each time the port is (re)opened.
    public var usb: USBPortSelector?
    public var baud: Int
    /// 5 … 8.
    public var dataBits: Int
    public var parity: SerialParity
    /// 1 or 2.
    public var stopBits: Int
    public var flowControl: SerialFlowControl
    public var format: SerialLineFormat
    /// For `csv` and `semicolon`: the columns of every line. Without it the first line that looks
    /// like a header (no numbers, names at least one mapped field) sets them.
    public var csvColumns: [String]?
    /// Longest line in bytes; a longer one is discarded up to the next line break and counted.
    public var maxLineLength: Int
    /// First delay before reopening a device that failed or disappeared; doubles up to `reopenMax`.
    public var reopenMin: ConfigDuration
    public var reopenMax: ConfigDuration
    /// Input fields → channels, in channel order.
    public var fields: [SerialFieldMapping]

    public static let defaultName = "serial"

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, path, usb, baud, parity, format, fields
        case dataBits = "data_bits", stopBits = "stop_bits", flowControl = "flow_control"
        case csvColumns = "csv_columns", maxLineLength = "max_line_length"
        case reopenMin = "reopen_min", reopenMax = "reopen_max"
    }

    public init(name: String = SerialSourceConfig.defaultName, path: String? = nil, usb: USBPortSelector? = nil,
                baud: Int = 115_200, dataBits: Int = 8, parity: SerialParity = .none, stopBits: Int = 1,
                flowControl: SerialFlowControl = .none, format: SerialLineFormat = .kv, csvColumns: [String]? = nil,
                maxLineLength: Int = 512, reopenMin: ConfigDuration = .seconds(1), reopenMax: ConfigDuration = .seconds(30),
                fields: [SerialFieldMapping]) {
        self.name = name; self.path = path; self.usb = usb
        self.baud = baud; self.dataBits = dataBits; self.parity = parity; self.stopBits = stopBits
        self.flowControl = flowControl; self.format = format; self.csvColumns = csvColumns
        self.maxLineLength = maxLineLength; self.reopenMin = reopenMin; self.reopenMax = reopenMax
        self.fields = fields
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SerialSourceConfig(fields: [])
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? d.name
        path = try c.decodeIfPresent(String.self, forKey: .path)
        usb = try c.decodeIfPresent(USBPortSelector.self, forKey: .usb)
        baud = try c.decodeIfPresent(Int.self, forKey: .baud) ?? d.baud
        dataBits = try c.decodeIfPresent(Int.self, forKey: .dataBits) ?? d.dataBits
        parity = try c.decodeIfPresent(SerialParity.self, forKey: .parity) ?? d.parity
        stopBits = try c.decodeIfPresent(Int.self, forKey: .stopBits) ?? d.stopBits
        flowControl = try c.decodeIfPresent(SerialFlowControl.self, forKey: .flowControl) ?? d.flowControl
        format = try c.decodeIfPresent(SerialLineFormat.self, forKey: .format) ?? d.format
        csvColumns = try c.decodeIfPresent([String].self, forKey: .csvColumns)
        maxLineLength = try c.decodeIfPresent(Int.self, forKey: .maxLineLength) ?? d.maxLineLength
        reopenMin = try c.decodeIfPresent(ConfigDuration.self, forKey: .reopenMin) ?? d.reopenMin
        reopenMax = try c.decodeIfPresent(ConfigDuration.self, forKey: .reopenMax) ?? d.reopenMax
        fields = try c.decode([SerialFieldMapping].self, forKey: .fields)
    }

    /// The channels this source feeds, in order (one per entry of `fields`).
    public var channelNames: [String] { fields.map(\.channel) }

    /// Each channel name with the path of the entry that defines it, relative to the source entry:
    /// `("temperature", ["fields", "0", "channel"])`.
    public var channelPaths: [(name: String, path: [String])] {
        fields.enumerated().map { (i, f) in (f.channel, ["fields", "\(i)", "channel"]) }
    }

    /// Limits that `validate()` enforces.
    public static let baudRange = 50...4_000_000
    public static let maxLineLengthRange = 16...65_536
    public static let minReopen = ConfigDuration.milliseconds(100)

    /// Field checks beyond decoding, with paths relative to the source entry
    /// (`fields[1].channel: 'temperature' is mapped twice`). Channel names' topic safety and
    /// uniqueness across sources are checked by `VigilConfig.validate()`.
    public func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func add(_ path: [String], _ message: String) { issues.append(ConfigIssue(path, message)) }

        if name.isEmpty { add(["name"], "must not be empty") }
        switch (path, usb) {
        case (nil, nil):
            add(["path"], "a serial source needs a port: set path (e.g. /dev/ttyUSB0) or usb (vid, pid)")
        case (.some, .some):
            add(["usb"], "set either path or usb, not both")
        case (let p?, nil):
            if p.isEmpty { add(["path"], "must not be empty") } else if !p.hasPrefix("/") {
                add(["path"], "must be an absolute device path like /dev/ttyUSB0, got '\(p)'")
            }
        case (nil, let u?):
            issues += u.validate().map { ConfigIssue(["usb"] + $0.path, $0.message) }
        }
        if !Self.baudRange.contains(baud) {
            add(["baud"], "must be between \(Self.baudRange.lowerBound) and \(Self.baudRange.upperBound), got \(baud)")
        }
        if !(5...8).contains(dataBits) { add(["data_bits"], "must be 5, 6, 7 or 8, got \(dataBits)") }
        if stopBits != 1 && stopBits != 2 { add(["stop_bits"], "must be 1 or 2, got \(stopBits)") }
        if !Self.maxLineLengthRange.contains(maxLineLength) {
            add(["max_line_length"], "must be between \(Self.maxLineLengthRange.lowerBound) and \(Self.maxLineLengthRange.upperBound), got \(maxLineLength)")
        }
        if reopenMin < Self.minReopen { add(["reopen_min"], "must be at least 100ms, got \(reopenMin)") }
        if reopenMax < reopenMin { add(["reopen_max"], "must not be below reopen_min (\(reopenMin)), got \(reopenMax)") }

        var columnIndex: [String: Int] = [:]
        if let columns = csvColumns {
            if format != .csv && format != .semicolon {
                add(["csv_columns"], "only applies to format csv or semicolon, not \(format.rawValue)")
            }
            if columns.isEmpty { add(["csv_columns"], "must list at least one column") }
            for (i, col) in columns.enumerated() {
                if col.isEmpty { add(["csv_columns", "\(i)"], "must not be empty"); continue }
                if let j = columnIndex[col] {
                    add(["csv_columns", "\(i)"], "'\(col)' is already csv_columns[\(j)]")
                } else {
                    columnIndex[col] = i
                }
            }
        }

        if fields.isEmpty { add(["fields"], "must map at least one field to a channel") }
        var seenFields: [String: Int] = [:]
        var seenChannels: [String: Int] = [:]
        for (i, f) in fields.enumerated() {
            func fail(_ key: String, _ message: String) { add(["fields", "\(i)", key], message) }
            if f.field.isEmpty {
                fail("field", "must not be empty")
            } else if seenFields[f.field] != nil {
                fail("field", "'\(f.field)' is mapped twice")
            } else {
                seenFields[f.field] = i
                if let columns = csvColumns, !columns.isEmpty, columnIndex[f.field] == nil,
                   format == .csv || format == .semicolon {
                    fail("field", "'\(f.field)' is not one of csv_columns (\(columns.joined(separator: ", ")))")
                }
            }
            if f.channel.isEmpty {
                fail("channel", "must not be empty")
            } else if seenChannels[f.channel] != nil {
                fail("channel", "'\(f.channel)' is mapped twice")
            } else {
                seenChannels[f.channel] = i
            }
            if !f.scale.isFinite || f.scale == 0 { fail("scale", "must be finite and not 0, got \(f.scale)") }
            if !f.offset.isFinite { fail("offset", "must be finite, got \(f.offset)") }
        }
        return issues
    }
}

/// `usb: { vid: "10c4", pid: "ea60", serial: "0001" }` — a port by USB identity.
public struct USBPortSelector: Sendable, Hashable, Decodable, CustomStringConvertible {
    /// Hex as written (`10c4`, `0x10C4`).
    public var vid: String
    public var pid: String
    /// The adapter's USB serial number, to tell two identical adapters apart.
    public var serial: String?

    enum CodingKeys: String, CodingKey, CaseIterable { case vid, pid, serial }

    public init(vid: String, pid: String, serial: String? = nil) { self.vid = vid; self.pid = pid; self.serial = serial }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vid = try Self.decodeHex(c, .vid)
        pid = try Self.decodeHex(c, .pid)
        serial = try c.decodeIfPresent(String.self, forKey: .serial)
    }

    /// YAML reads `vid: 0403` as the number 403; its digits are the hex digits meant.
    private static func decodeHex(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> String {
        if let s = try? c.decode(String.self, forKey: key) { return s }
        return String(try c.decode(Int.self, forKey: key))
    }

    public var vendorID: UInt16? { Self.parseHex(vid) }
    public var productID: UInt16? { Self.parseHex(pid) }

    /// `10c4:ea60` (serial `0001`)
    public var description: String {
        let ids = "\(vendorID.map(Self.hex4) ?? vid):\(productID.map(Self.hex4) ?? pid)"
        return serial.map { "\(ids) (serial \($0))" } ?? ids
    }

    /// `0x10c4` → `10c4` (four lowercase hex digits, as lsusb prints them).
    public static func hex4(_ v: UInt16) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// 1 to 4 hex digits, optionally after `0x`.
    public static func parseHex(_ text: String) -> UInt16? {
        var s = Substring(text)
        if s.hasPrefix("0x") || s.hasPrefix("0X") { s = s.dropFirst(2) }
        guard (1...4).contains(s.count) else { return nil }
        return UInt16(s, radix: 16)
    }

    func validate() -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if vendorID == nil { issues.append(ConfigIssue(["vid"], "must be a USB vendor id in hex like 10c4, got '\(vid)'")) }
        if productID == nil { issues.append(ConfigIssue(["pid"], "must be a USB product id in hex like ea60, got '\(pid)'")) }
        if let s = serial, s.isEmpty { issues.append(ConfigIssue(["serial"], "must not be empty (leave it out to match any)")) }
        return issues
    }
}

/// One input field mapped to a channel: value = raw · scale + offset.
public struct SerialFieldMapping: Sendable, Hashable, Decodable {
    /// The key (kv, json) or column name (csv, semicolon) in the input line.
    public var field: String
    public var channel: String
    public var unit: String
    public var scale: Double
    public var offset: Double

    enum CodingKeys: String, CodingKey, CaseIterable { case field, channel, unit, scale, offset }

    public init(field: String, channel: String, unit: String = "", scale: Double = 1, offset: Double = 0) {
        self.field = field; self.channel = channel; self.unit = unit; self.scale = scale; self.offset = offset
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        field = try c.decode(String.self, forKey: .field)
        channel = try c.decode(String.self, forKey: .channel)
        unit = try c.decodeIfPresent(String.self, forKey: .unit) ?? ""
        scale = try c.decodeIfPresent(Double.self, forKey: .scale) ?? 1
        offset = try c.decodeIfPresent(Double.self, forKey: .offset) ?? 0
    }
}

/// How a line of readings is written.
public enum SerialLineFormat: String, Sendable, Hashable, CaseIterable, Decodable {
    /// `t=21.5,h=40.1 snd=55` — pairs separated by `,` `;` space or tab; `key:value` too.
    case kv
    /// Comma-separated values under a header line or `csv_columns`.
    case csv
    /// `;`-separated values under a header line or `csv_columns`.
    case semicolon
    /// One flat JSON object per line: `{"t":21.5,"h":40.1}`.
    case json

    public init(from decoder: Decoder) throws {
        self = try decodeNamed(decoder, what: "format")
    }
}

public enum SerialParity: String, Sendable, Hashable, CaseIterable, Decodable {
    case none, odd, even
    public init(from decoder: Decoder) throws { self = try decodeNamed(decoder, what: "parity") }
}

public enum SerialFlowControl: String, Sendable, Hashable, CaseIterable, Decodable {
    case none, rtscts, xonxoff
    public init(from decoder: Decoder) throws { self = try decodeNamed(decoder, what: "flow control") }
}

extension SerialSourceConfig: SourceKind {
    public static let kind = "serial"
    public static var probe: (any DeviceProbe)? { SerialPortsProbe() }
    public func makeSource(_ context: SourceContext) throws(SourceConfigError) -> Source {
        try SerialSource(config: self, log: context.log)
    }
}
