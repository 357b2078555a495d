import VigilCore

/// `vigil replay`: the detector over recorded data, so thresholds can be tuned on real history.
public struct Replay {
    public struct Options: Sendable {
        /// Column holding the time; nil picks `timestamp`, `datetime`, `time` or `ts`, else the first column.
        public var timeColumn: String?
        /// Value columns; empty means every column but the time column.
        public var columns: [String] = []
        /// Field separator; nil detects `;`, tab or `,` from the header.
        public var delimiter: UInt8?
        public init() {}
    }

    public struct Row: Sendable {
        public var line: Int
        public var wallNanos: Int64
        public var values: [Double]
        public var verdicts: [Verdict]
    }

    public struct EpisodeRecord: Sendable {
        public var channel: String
        public var episode: Episode
    }

    public struct InputError: Error, CustomStringConvertible, Sendable {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    public let channels: [String]
    public private(set) var rows: [Row] = []
    public private(set) var episodes: [EpisodeRecord] = []

    /// Parses `text` (the whole CSV file) and runs one detector per value column.
    public init(text: String, file: String, options: Options, settings: (String) -> DetectorSettings) throws(InputError) {
        let all = Array(text.utf8)
        var lines = all.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        while let last = lines.last, last.isEmpty || Array(last) == [13] { lines.removeLast() }
        guard let headerLine = lines.first else { throw InputError(file: file, line: 1, message: "the file is empty") }
        let header = Array(headerLine)
        let delimiter = options.delimiter ?? Self.detectDelimiter(header)
        let names = Self.split(header, delimiter).map { String(decoding: $0, as: UTF8.self) }

        let timeIndex: Int?
        if let t = options.timeColumn {
            if t == "none" { timeIndex = nil } else {
                guard let i = names.firstIndex(of: t) else {
                    throw InputError(file: file, line: 1, message: "no time column '\(t)' (columns: \(names.joined(separator: ", ")))")
                }
                timeIndex = i
            }
        } else {
            timeIndex = names.firstIndex { ["timestamp", "datetime", "time", "ts", "date"].contains($0.lowercased()) } ?? 0
        }
        let valueIndices: [Int]
        if options.columns.isEmpty {
            valueIndices = names.indices.filter { $0 != timeIndex }
        } else {
            valueIndices = try options.columns.map { (c: String) throws(InputError) -> Int in
                guard let i = names.firstIndex(of: c) else {
                    throw InputError(file: file, line: 1, message: "no column '\(c)' (columns: \(names.joined(separator: ", ")))")
                }
                return i
            }
        }
        guard !valueIndices.isEmpty else { throw InputError(file: file, line: 1, message: "no value columns to replay") }
        channels = valueIndices.map { names[$0] }

        var detectors = channels.map { ChannelDetector(settings: settings($0)) }
        rows.reserveCapacity(lines.count - 1)
        for (n, raw) in lines.dropFirst().enumerated() {
            let lineNumber = n + 2
            var bytes = Array(raw)
            if bytes.last == 13 { bytes.removeLast() }
            if bytes.isEmpty { continue }
            let fields = Self.split(bytes, delimiter)
            guard fields.count == names.count else {
                throw InputError(file: file, line: lineNumber, message: "has \(fields.count) fields, the header has \(names.count)")
            }
            let wall: Int64
            if let ti = timeIndex {
                let text = String(decoding: fields[ti], as: UTF8.self)
                guard let t = Timestamp.parse(text) else {
                    throw InputError(file: file, line: lineNumber, message: "column '\(names[ti])': '\(text)' is not a time (RFC 3339, 'YYYY-MM-DD HH:MM:SS' or Unix seconds)")
                }
                wall = t
            } else {
                wall = Int64(n) * 1_000_000_000
            }
            var values: [Double] = []
            var verdicts: [Verdict] = []
            for (k, vi) in valueIndices.enumerated() {
                // An empty or non-numeric cell is a dropped reading, as a sensor's NaN would be.
                let x = Double(String(decoding: fields[vi], as: UTF8.self)) ?? .nan
                let v = detectors[k].process(x, monoNanos: wall, wallNanos: wall)
                if let e = v.ended { episodes.append(EpisodeRecord(channel: channels[k], episode: e)) }
                values.append(x)
                verdicts.append(v)
            }
            rows.append(Row(line: lineNumber, wallNanos: wall, values: values, verdicts: verdicts))
        }
        let end = rows.last?.wallNanos ?? 0
        for k in detectors.indices {
            if let e = detectors[k].closeForShutdown(wallNanos: end) {
                var open = e
                open.reason = .shutdown
                episodes.append(EpisodeRecord(channel: channels[k], episode: open))
            }
        }
        episodes.sort { ($0.episode.startWallNanos, $0.channel) < ($1.episode.startWallNanos, $1.channel) }
    }

    static func detectDelimiter(_ header: [UInt8]) -> UInt8 {
        for d in [UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: ",")] where header.contains(d) { return d }
        return UInt8(ascii: ",")
    }

    /// Splits on `delimiter`, honouring double quotes (no embedded newlines).
    static func split(_ line: [UInt8], _ delimiter: UInt8) -> [[UInt8]] {
        var fields: [[UInt8]] = []
        var current: [UInt8] = []
        var quoted = false
        var i = 0
        while i < line.count {
            let c = line[i]
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < line.count && line[i + 1] == UInt8(ascii: "\"") { current.append(c); i += 1 } else { quoted = false }
                } else { current.append(c) }
            } else if c == UInt8(ascii: "\"") {
                quoted = true
            } else if c == delimiter {
                fields.append(current)
                current = []
            } else {
                current.append(c)
            }
            i += 1
        }
        fields.append(current)
        return fields.map { f in
            var s = f[...]
            while s.first == 32 { s = s.dropFirst() }
            while s.last == 32 { s = s.dropLast() }
            return Array(s)
        }
    }

    /// Per-row output: time, then value, z and verdict for each channel.
    public func rowsCSV() -> String {
        var out = "timestamp"
        for c in channels { out += ",\(c),\(c)_z,\(c)_verdict" }
        out += "\n"
        for r in rows {
            out += Timestamp.rfc3339(r.wallNanos)
            for (x, v) in zip(r.values, r.verdicts) {
                out += ","
                out += x.isFinite ? "\(x)" : ""
                out += ","
                out += v.z.isFinite ? "\(JSONWriter.rounded(v.z, places: 4))" : ""
                out += ",\(Self.name(v))"
            }
            out += "\n"
        }
        return out
    }

    public func episodesCSV() -> String {
        var out = "channel,episode,start,end,duration_ms,peak_z,peak_value,anomalous,readings,reason\n"
        for r in episodes {
            let e = r.episode
            out += "\(r.channel),\(e.id),\(Timestamp.rfc3339(e.startWallNanos)),\(Timestamp.rfc3339(e.lastWallNanos)),\(e.durationNanos / 1_000_000),\(JSONWriter.rounded(e.peakZ, places: 3)),\(e.peakValue),\(e.anomalous),\(e.readings),\(e.reason.rawValue)\n"
        }
        return out
    }

    static func name(_ v: Verdict) -> String {
        switch v.state {
        case .dropped: return "dropped"
        case .warmingUp: return "warmup"
        case .normal: return "normal"
        case .anomalous: return v.started != nil ? "anomaly_start" : "anomaly"
        case .settling: return "settling"
        }
    }
}
