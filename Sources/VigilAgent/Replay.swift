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
        /// Column of 0/1 labels (1 = anomalous row) to score the verdicts against; not replayed.
        public var labelColumn: String?
        /// Columns that are neither time nor values (e.g. SKAB's `changepoint`).
        public var exclude: [String] = []
        /// The first rows feed the detectors but are not scored (SKAB: 400).
        public var warmupRows = 0
        /// Per-channel detectors count toward the row verdict (false: only the multivariate one).
        public var channelDetectors = true
        /// A T² detector over all value columns together, with these settings.
        public var multivariate: DetectorSettings?
        public init() {}
    }

    public struct Row: Sendable {
        public var line: Int
        public var wallNanos: Int64
        public var values: [Double]
        public var verdicts: [Verdict]
        /// The label of the row (nil without a label column).
        public var label: Bool?
        public var multivariate: MultivariateVerdict?
        /// Some detector that counts is inside an episode after this row.
        public var predicted: Bool
    }

    public struct HealthRecord: Sendable {
        public var channel: String
        public var start: HealthStart
        /// nil when the problem was still going on at the end of the file.
        public var end: HealthEnd?
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
    public let file: String
    public let options: Options
    public private(set) var settings: [DetectorSettings] = []
    public private(set) var rows: [Row] = []
    public private(set) var episodes: [EpisodeRecord] = []
    public private(set) var health: [HealthRecord] = []
    /// The verdicts against the labels (nil without a label column).
    public private(set) var evaluation: Evaluation?

    /// Parses `text` (the whole CSV file) and runs one detector per value column.
    public init(text: String, file: String, options: Options, settings: (String) -> DetectorSettings) throws(InputError) {
        self.file = file
        self.options = options
        let all = Array(text.utf8)
        var lines = all.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        while let last = lines.last, last.isEmpty || Array(last) == [13] { lines.removeLast() }
        guard let headerLine = lines.first else { throw InputError(file: file, line: 1, message: "the file is empty") }
        var header = Array(headerLine)
        if header.last == 13 { header.removeLast() }
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
        var labelIndex: Int? = nil
        if let l = options.labelColumn {
            guard let i = names.firstIndex(of: l) else {
                throw InputError(file: file, line: 1, message: "no label column '\(l)' (columns: \(names.joined(separator: ", ")))")
            }
            labelIndex = i
        }
        for e in options.exclude where !names.contains(e) {
            throw InputError(file: file, line: 1, message: "no column '\(e)' to exclude (columns: \(names.joined(separator: ", ")))")
        }
        let valueIndices: [Int]
        if options.columns.isEmpty {
            valueIndices = names.indices.filter { $0 != timeIndex && $0 != labelIndex && !options.exclude.contains(names[$0]) }
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

        self.settings = channels.map { settings($0) }
        var detectors = self.settings.map { ChannelDetector(settings: $0) }
        var mv = options.multivariate.map { MultivariateDetector(settings: $0, floors: self.settings.map(\.stdFloor)) }
        var openHealth: [Int?] = [Int?](repeating: nil, count: channels.count * HealthCheck.allCases.count)
        func noteHealth(_ k: Int, _ h: HealthVerdict, _ d: ChannelDetector) {
            for c in HealthCheck.allCases {
                let slot = k * HealthCheck.allCases.count + c.rawValue
                if h.started.contains(c) {
                    openHealth[slot] = health.count
                    health.append(HealthRecord(channel: channels[k], start: d.health.lastStart(c), end: nil))
                }
                if h.ended.contains(c), let i = openHealth[slot] {
                    health[i].end = d.health.lastEnd(c)
                    openHealth[slot] = nil
                }
            }
        }
        var labels: [Bool] = []
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
                // The detectors take differences of these times: a bounded range keeps them in an Int64.
                switch Timestamp.parse(text, within: Timestamp.recordedRange) {
                case .success(let t): wall = t
                case .failure(.malformed):
                    throw InputError(file: file, line: lineNumber, message: "column '\(names[ti])': '\(text)' is not a time (RFC 3339, 'YYYY-MM-DD HH:MM:SS' or Unix seconds)")
                case .failure(.outOfRange):
                    throw InputError(file: file, line: lineNumber, message: "column '\(names[ti])': '\(text)' is outside 1970-01-01 … 2199-12-31, the times replay takes")
                }
            } else {
                wall = Int64(n) * 1_000_000_000
            }
            var values: [Double] = []
            var verdicts: [Verdict] = []
            var usable = true
            var predicted = false
            for (k, vi) in valueIndices.enumerated() {
                // An empty or non-numeric cell is a dropped reading, as a sensor's NaN would be.
                let x = Double(String(decoding: fields[vi], as: UTF8.self)) ?? .nan
                if !x.isFinite && detectors[k].checkIdle(monoNanos: wall, wallNanos: wall) {
                    var h = HealthVerdict()
                    h.started = .dropout
                    noteHealth(k, h, detectors[k])
                }
                let v = detectors[k].process(x, monoNanos: wall, wallNanos: wall)
                if !v.health.started.isEmpty || !v.health.ended.isEmpty { noteHealth(k, v.health, detectors[k]) }
                if options.channelDetectors {
                    if let e = v.ended { episodes.append(EpisodeRecord(channel: channels[k], episode: e)) }
                    if v.inEpisode { predicted = true }
                }
                if v.state == .dropped || v.state == .unhealthy { usable = false }
                values.append(x)
                verdicts.append(v)
            }
            var mvVerdict: MultivariateVerdict? = nil
            // Optional chaining mutates the detector in place (no copy of its window).
            if usable, let m = mv?.process(values, monoNanos: wall, wallNanos: wall) {
                if let e = m.ended { episodes.append(EpisodeRecord(channel: "T2", episode: e)) }
                if m.inEpisode { predicted = true }
                mvVerdict = m
            }
            var label: Bool? = nil
            if let li = labelIndex {
                let text = String(decoding: fields[li], as: UTF8.self)
                guard let l = Double(text) else {
                    throw InputError(file: file, line: lineNumber, message: "label column '\(names[li])': '\(text)' is not 0 or 1")
                }
                label = l != 0
                labels.append(l != 0)
            }
            rows.append(Row(line: lineNumber, wallNanos: wall, values: values, verdicts: verdicts, label: label,
                            multivariate: mvVerdict, predicted: predicted))
        }
        let end = rows.last?.wallNanos ?? 0
        for k in detectors.indices {
            if options.channelDetectors, let e = detectors[k].closeForShutdown(wallNanos: end) {
                var open = e
                open.reason = .shutdown
                episodes.append(EpisodeRecord(channel: channels[k], episode: open))
            }
        }
        if let e = mv?.closeForShutdown(wallNanos: end) { episodes.append(EpisodeRecord(channel: "T2", episode: e)) }
        episodes.sort { ($0.episode.startWallNanos, $0.channel) < ($1.episode.startWallNanos, $1.channel) }
        if labelIndex != nil {
            var e = Evaluation()
            e.add(labels: labels, predicted: rows.map(\.predicted), times: rows.map(\.wallNanos), scoredFrom: options.warmupRows)
            evaluation = e
        }
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
        if options.multivariate != nil { out += ",T2_z,T2_verdict" }
        if options.labelColumn != nil { out += ",label,predicted" }
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
            if options.multivariate != nil {
                if let m = r.multivariate {
                    out += m.z.isFinite ? ",\(JSONWriter.rounded(m.z, places: 4))" : ","
                    out += ",\(Self.name(state: m.state, started: m.started != nil))"
                } else { out += ",,dropped" }
            }
            if let l = r.label { out += l ? ",1" : ",0"; out += r.predicted ? ",1" : ",0" }
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

    static func name(_ v: Verdict) -> String { name(state: v.state, started: v.started != nil) }

    static func name(state: Verdict.State, started: Bool) -> String {
        switch state {
        case .dropped: return "dropped"
        case .unhealthy: return "unhealthy"
        case .warmingUp: return "warmup"
        case .normal: return "normal"
        case .anomalous: return started ? "anomaly_start" : "anomaly"
        case .settling: return "settling"
        }
    }

    /// Health problems: `channel,check,start,end,duration_ms,readings,value,detail`.
    public func healthCSV() -> String {
        var out = "channel,check,start,end,duration_ms,readings,value,detail\n"
        for h in health {
            out += "\(h.channel),\(h.start.check.name),\(Timestamp.rfc3339(h.start.wallNanos)),"
            out += h.end.map { "\(Timestamp.rfc3339($0.endWallNanos)),\($0.durationNanos / 1_000_000),\($0.readings)" } ?? ",,"
            out += ",\(h.start.value.isFinite ? "\(h.start.value)" : ""),\(JSONWriter.rounded(h.start.detail, places: 6))\n"
        }
        return out
    }

    /// The replay as a picture: readings, band, episodes, labels (see `SVGPlot`).
    public func plot(title: String? = nil) -> SVGPlot {
        let n = rows.count
        let series: [PlotSeries] = channels.indices.map { k in
            var values = [Double](repeating: .nan, count: n), scored = values, center = values, spread = values
            var inEpisode = [Bool](repeating: false, count: n), unhealthy = inEpisode
            for (i, r) in rows.enumerated() {
                let v = r.verdicts[k]
                values[i] = r.values[k]
                scored[i] = v.scored
                if v.state != .warmingUp && v.state != .dropped && v.state != .unhealthy { center[i] = v.mean; spread[i] = max(v.std, settings[k].stdFloor) }
                inEpisode[i] = options.channelDetectors && v.inEpisode
                unhealthy[i] = v.state == .unhealthy
            }
            return PlotSeries(name: channels[k], values: values, scored: scored, center: center, spread: spread,
                              k: settings[k].zOn, inEpisode: inEpisode, unhealthy: unhealthy,
                              showScored: settings[k].smoothing < 1)
        }
        let labels: [Bool]? = options.labelColumn == nil ? nil : rows.map { $0.label ?? false }
        var mvPanel: (z: [Double], inEpisode: [Bool], zOn: Double)? = nil
        if let m = options.multivariate {
            mvPanel = (rows.map { $0.multivariate?.z ?? .nan }, rows.map { $0.multivariate?.inEpisode ?? false }, m.zOn)
        }
        var t = title ?? file
        if let e = evaluation {
            t += " — F1 \(Evaluation.fixed(e.f1, 3)), FAR \(Evaluation.fixed(100 * e.falseAlarmRate, 1))%, MAR \(Evaluation.fixed(100 * e.missedAlarmRate, 1))%"
        }
        return SVGPlot(title: t, times: rows.map(\.wallNanos), labels: labels, scoredFrom: options.warmupRows,
                       series: series, multivariate: mvPanel)
    }
}
