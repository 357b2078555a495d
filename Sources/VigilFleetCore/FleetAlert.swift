import VigilCore

/// What an alert is about.
public enum AlertKind: String, Sendable, CaseIterable {
    /// An anomaly episode on a channel (or a source, for `t2`).
    case anomaly
    /// A sensor health problem (a check on a channel).
    case health
    /// The gateway went offline (its will or a clean stop); its end is the gateway back online.
    case offline
}

/// Whether the alert fires or resolves.
public enum AlertPhase: String, Sendable, CaseIterable {
    case start
    case end
}

/// One alert, derived by `FleetState` from a state transition (an episode opened or closed, a health problem
/// opened or cleared, a gateway online → offline → online). Stored in the batch that caused it, so it is
/// queued once however often the broker delivers the message again.
public struct FleetAlert: Sendable, Equatable {
    /// Unique and stable: `<device>/<kind>/<what>/<first seq or time>/<phase>`; a start and its end share all
    /// but the phase.
    public var id: String
    public var kind: AlertKind
    public var phase: AlertPhase
    public var device: String
    /// The channel or source (anomaly), the channel (health), empty (offline).
    public var subject: String
    /// The detector (anomaly), the check (health), `lost` or `clean` (offline: will or clean stop).
    public var name: String
    /// The agent's episode number (anomaly only).
    public var episode: Int64?
    /// The seq of the message that caused it (nil for a status message or a run's end).
    public var seq: UInt64?
    /// When the condition started: the agent's `ts` (anomaly, health), the receiver's time (offline).
    public var startsNanos: Int64
    /// When it ended (end phase only).
    public var endsNanos: Int64?
    /// Why it ended (end phase only): the agent's reason, `cleared`, `run ended` or `online`.
    public var reason: String?

    public init(id: String, kind: AlertKind, phase: AlertPhase, device: String, subject: String, name: String,
                episode: Int64? = nil, seq: UInt64? = nil, startsNanos: Int64, endsNanos: Int64? = nil, reason: String? = nil) {
        self.id = id; self.kind = kind; self.phase = phase; self.device = device; self.subject = subject; self.name = name
        self.episode = episode; self.seq = seq; self.startsNanos = startsNanos; self.endsNanos = endsNanos; self.reason = reason
    }
}

extension FleetAlert {
    static func anomaly(_ e: OpenEpisode, _ phase: AlertPhase, seq: UInt64?, endsNanos: Int64? = nil, reason: String? = nil) -> FleetAlert {
        let k = e.key
        return FleetAlert(id: "\(k.device)/anomaly/\(k.subject)/\(k.episode)/\(e.startSeq)/\(phase.rawValue)", kind: .anomaly,
                          phase: phase, device: k.device, subject: k.subject, name: e.detector, episode: k.episode, seq: seq,
                          startsNanos: e.startedNanos, endsNanos: endsNanos, reason: reason)
    }

    static func health(_ h: OpenHealthProblem, _ phase: AlertPhase, seq: UInt64?, endsNanos: Int64? = nil, reason: String? = nil) -> FleetAlert {
        let k = h.key
        return FleetAlert(id: "\(k.device)/health/\(k.channel)/\(k.check)/\(h.startSeq)/\(phase.rawValue)", kind: .health,
                          phase: phase, device: k.device, subject: k.channel, name: k.check, seq: seq,
                          startsNanos: h.startedNanos, endsNanos: endsNanos, reason: reason)
    }

    /// `since`: when the gateway went offline (the receiver's time), which names the offline period.
    static func offline(_ device: String, _ phase: AlertPhase, clean: Bool?, since: Int64, endsNanos: Int64? = nil) -> FleetAlert {
        FleetAlert(id: "\(device)/offline/\(since)/\(phase.rawValue)", kind: .offline, phase: phase, device: device, subject: "",
                   name: clean == true ? "clean" : "lost", startsNanos: since, endsNanos: endsNanos,
                   reason: phase == .end ? "online" : nil)
    }
}

/// How a webhook receives alerts.
public enum WebhookMode: String, Sendable, CaseIterable {
    /// Vigil's own JSON object per alert (`AlertBody.vigil`).
    case vigil
    /// Prometheus Alertmanager's `POST /api/v2/alerts`: an array of one alert (`AlertBody.alertmanager`).
    case alertmanager
}

/// The bytes a webhook receives for one alert. Field names and meanings are documented in docs/fleet.md.
public enum AlertBody {
    /// The version of the `vigil` body, its `schema` field.
    public static let schema = 1

    public static func render(_ a: FleetAlert, mode: WebhookMode) -> [UInt8] {
        switch mode {
        case .vigil: vigil(a)
        case .alertmanager: alertmanager(a)
        }
    }

    /// `{"schema":1,"id":…,"kind":…,"phase":…,"device":…,"subject":…,"name":…,["episode":…,]["seq":…,]
    /// "starts_at":…[,"ends_at":…,"reason":…]}`; absent fields are left out.
    public static func vigil(_ a: FleetAlert) -> [UInt8] {
        var w = JSONWriter()
        w.int("schema", schema)
        w.string("id", a.id)
        w.string("kind", a.kind.rawValue)
        w.string("phase", a.phase.rawValue)
        w.string("device", a.device)
        w.string("subject", a.subject)
        w.string("name", a.name)
        if let e = a.episode { w.int("episode", Int(e)) }
        if let s = a.seq { w.int("seq", Int(s)) }
        w.timestamp("starts_at", a.startsNanos)
        if let end = a.endsNanos { w.timestamp("ends_at", end) }
        if let r = a.reason { w.string("reason", r) }
        return w.finish()
    }

    /// The labels of a start and its end are the same, so Alertmanager resolves the alert it fired.
    public static func alertmanager(_ a: FleetAlert) -> [UInt8] {
        var labels: [(String, String)] = [("alertname", alertName(a.kind)), ("device", a.device)]
        switch a.kind {
        case .anomaly:
            labels += [("subject", a.subject), ("episode", a.episode.map { String($0) } ?? ""), ("detector", a.name)]
        case .health:
            labels += [("channel", a.subject), ("check", a.name)]
        case .offline:
            break
        }
        var out = Array(#"[{"labels":"#.utf8)
        object(labels, &out)
        out += Array(#","annotations":"#.utf8)
        var annotations = [("summary", summary(a)), ("vigil_id", a.id)]
        if let r = a.reason { annotations.append(("reason", r)) }
        object(annotations, &out)
        out += Array(#","startsAt":""#.utf8)
        Timestamp.appendRFC3339(a.startsNanos, to: &out)
        out.append(UInt8(ascii: "\""))
        if let end = a.endsNanos {
            out += Array(#","endsAt":""#.utf8)
            Timestamp.appendRFC3339(end, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out += Array("}]".utf8)
        return out
    }

    static func alertName(_ kind: AlertKind) -> String {
        switch kind {
        case .anomaly: "VigilAnomaly"
        case .health: "VigilSensorHealth"
        case .offline: "VigilGatewayOffline"
        }
    }

    /// One line for people: what, where, and for an end, why.
    public static func summary(_ a: FleetAlert) -> String {
        let what: String
        switch a.kind {
        case .anomaly: what = "anomaly on \(a.subject) (\(a.name), episode \(a.episode ?? 0))"
        case .health: what = "\(a.name) on \(a.subject)"
        case .offline: what = a.name == "clean" ? "offline (stopped)" : "offline (connection lost)"
        }
        switch a.phase {
        case .start: return "\(a.device): \(what)"
        case .end: return "\(a.device): \(what) ended: \(a.reason ?? "")"
        }
    }

    private static func object(_ pairs: [(String, String)], _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, (k, v)) in pairs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendQuoted(k, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONWriter.appendQuoted(v, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}
