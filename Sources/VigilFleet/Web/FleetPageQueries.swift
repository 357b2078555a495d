import VigilCore
import VigilFleetCore

/// What the web page shows beyond the JSON API's rows: the fleet's open problems in one list, and per
/// channel the summary series with its anomaly episodes and health periods.
extension FleetView {
    public enum ProblemKind: String, Sendable, CaseIterable {
        case anomaly, health, source
    }
    /// An open anomaly episode, an open health problem or a source that is down.
    public struct Problem: Sendable, Equatable {
        public var device: String, kind: ProblemKind, subject: String, detail: String, sinceNanos: Int64
        /// An anomaly's episode number and its acknowledgement, if any.
        public var episode: Int64? = nil
        public var acknowledged: Acknowledgement? = nil
    }
    public struct SummaryPoint: Sendable, Equatable {
        public var fromNanos: Int64, tsNanos: Int64, mean: Double?, min: Double?, max: Double?
    }
    /// An anomaly episode or a health problem of one channel; `endNanos` nil while it is open.
    public struct Period: Sendable, Equatable {
        public var kind: ProblemKind, label: String, startNanos: Int64, endNanos: Int64?
    }
    public struct ChannelSeries: Sendable, Equatable {
        public var channel: String, unit: String, points: [SummaryPoint], periods: [Period]
    }
}

extension FleetDatabase {
    /// Every open problem of the fleet: anomalies, then health problems, then sources down, oldest first in each.
    public func openProblems() throws -> [FleetView.Problem] {
        try read { db in
            let anomalies = try db.fetch("\(FleetSchema.episodesWithAcknowledgement) ORDER BY o.started_ns, o.device, o.subject").map { r in
                let e = Self.episode(r)
                let detail = "episode \(e.episode)" + (e.detector.isEmpty ? "" : ", \(e.detector)") + (e.z.map { ", z \(PlotNumber.text($0))" } ?? "")
                return FleetView.Problem(device: e.device, kind: .anomaly, subject: e.subject, detail: detail, sinceNanos: r.int("started_ns") ?? 0,
                                         episode: e.episode, acknowledged: e.acknowledged)
            }
            let health = try db.fetch("SELECT * FROM health_problems ORDER BY started_ns, device, channel").map { r in
                FleetView.Problem(device: r["device"].text, kind: .health, subject: r["channel"].text, detail: r["check_name"].text,
                                  sinceNanos: r.int("started_ns") ?? 0)
            }
            let sources = try db.fetch("SELECT * FROM sources WHERE NOT up ORDER BY since_ns, device, source").map { r in
                FleetView.Problem(device: r["device"].text, kind: .source, subject: r["source"].text,
                                  detail: [r["path"].text, r["reason"].text].filter { !$0.isEmpty }.joined(separator: ": "),
                                  sinceNanos: r.int("since_ns") ?? 0)
            }
            return anomalies + health + sources
        }
    }

    /// Per channel of `device` (by name): its newest `limit` summaries, oldest first, and the anomaly episodes
    /// and health periods among its newest `maxEvents` anomaly and health events.
    public func channelSeries(device: String, limit: Int = 720, maxEvents: Int = 2000) throws -> [FleetView.ChannelSeries] {
        try read { db in
            let channels = try db.fetch("""
                SELECT channel FROM summaries WHERE device = ? UNION SELECT subject FROM events WHERE device = ? AND kind IN ('anomaly', 'health')
                ORDER BY 1
                """, device, device).map { $0.values.first?.text ?? "" }
            return try channels.map { channel in
                let rows = try db.fetch("""
                    SELECT from_ns, ts_ns, mean, min, max, unit FROM summaries WHERE device = ? AND channel = ? ORDER BY ts_ns DESC LIMIT ?
                    """, device, channel, limit)
                let points = rows.reversed().map {
                    FleetView.SummaryPoint(fromNanos: $0.int("from_ns") ?? 0, tsNanos: $0.int("ts_ns") ?? 0, mean: $0.double("mean"),
                                           min: $0.double("min"), max: $0.double("max"))
                }
                let events = try db.fetch("""
                    SELECT kind, event, ts_ns, payload FROM events WHERE device = ? AND subject = ? AND kind IN ('anomaly', 'health')
                    ORDER BY seq DESC LIMIT ?
                    """, device, channel, maxEvents)
                return FleetView.ChannelSeries(channel: channel, unit: rows.first?.string("unit") ?? "", points: points,
                                               periods: channelPeriods(events.reversed()))
            }
        }
    }
}

/// Pairs start and end events (oldest first) by episode number or health check; a start without an end is open.
func channelPeriods(_ events: [SQLRow]) -> [FleetView.Period] {
    var periods: [FleetView.Period] = []
    var open: [String: Int] = [:]   // key -> index in periods
    for e in events {
        let kind = e["kind"].text, event = e["event"].text, ts = e.int("ts_ns") ?? 0
        guard case .object(let p)? = try? JSONParser.parse(Array(e["payload"].text.utf8)) else { continue }
        let problemKind: FleetView.ProblemKind = kind == "anomaly" ? .anomaly : .health
        let label = kind == "anomaly" ? "episode \(p["episode"]?.integer ?? 0)" : (p["check"]?.string ?? "")
        let key = kind + "/" + label
        if event == "start" {
            open[key] = periods.count
            periods.append(FleetView.Period(kind: problemKind, label: label, startNanos: ts, endNanos: nil))
        } else if let i = open.removeValue(forKey: key) {
            periods[i].endNanos = ts
        } else if let started = p["started"]?.string.flatMap({ Timestamp.parse($0) }) {
            // Its start is older than the events read (or was lost): the end says when it began.
            periods.append(FleetView.Period(kind: problemKind, label: label, startNanos: started, endNanos: ts))
        }
    }
    return periods
}
