/// What became of one message.
public enum IngestOutcome: Sendable, Equatable {
    case status(Status)
    /// A birth whose first_seq is below the device's current run: its numbering went back.
    case sequenceReset(device: String, from: UInt64, to: UInt64)
    /// A sequenced message handed to the store; the verdict says whether it filled a gap.
    case stored(SeqVerdict)
    case duplicate
    case rejected(Rejection)
}

/// The receiver's whole picture of the fleet, updated one message at a time: the device registry, each
/// device's sequence ledger, open anomaly episodes, open health problems and source up/down. Pure: the
/// receiver feeds it messages and writes the `ChangeSet` it hands out to the store.
///
/// Run boundaries: a birth with a new `first_seq` ends the device's previous run, so the episodes and
/// health problems that run left open (a killed agent never sends their end) are closed then; a start
/// that arrives afterwards with a seq below the new run's `first_seq` (a killed run's backlog) is stored
/// but does not open anything.
public struct FleetState: Sendable {
    public let decoder: MessageDecoder
    public private(set) var devices: [String: DeviceRecord] = [:]
    public private(set) var openEpisodes: [EpisodeKey: OpenEpisode] = [:]
    public private(set) var openHealth: [HealthKey: OpenHealthProblem] = [:]
    public private(set) var sources: [SourceKey: SourceStatus] = [:]
    /// Rejections since the store was created, by `Rejection.code`.
    public private(set) var rejections: [String: Int64] = [:]

    /// Ends that arrived before their start (the start was in a drained backlog), by key: their seq.
    /// A start older than such an end opens nothing. Kept in memory only, at most `maxOrphans` each.
    private var orphanEnds: [EpisodeKey: UInt64] = [:]
    private var orphanHealthEnds: [HealthKey: UInt64] = [:]
    static let maxOrphans = 10_000

    private var changes = ChangeSet()
    private var touchedDevices: Set<String> = []

    public init(decoder: MessageDecoder, devices: [DeviceRecord] = [], openEpisodes: [OpenEpisode] = [],
                openHealth: [OpenHealthProblem] = [], sources: [SourceStatus] = [], rejections: [String: Int64] = [:]) {
        self.decoder = decoder
        for d in devices { self.devices[d.device] = d }
        for e in openEpisodes { self.openEpisodes[e.key] = e }
        for h in openHealth { self.openHealth[h.key] = h }
        for s in sources { self.sources[s.key] = s }
        self.rejections = rejections
    }

    /// Takes one MQTT message. `retained`: delivered as a retained copy on subscribing, not live.
    @discardableResult
    public mutating func ingest(topic: String, payload: [UInt8], retained: Bool, receivedNanos now: Int64) -> IngestOutcome {
        changes.received += 1
        switch decoder.decode(topic: topic, payload: payload) {
        case .failure(let r):
            rejections[r.code, default: 0] += 1
            changes.rejections[r.code, default: 0] += 1
            return .rejected(r)
        case .success(.status(let device, let status)):
            let run = devices[device]?.ledger.runStart
            apply(status, device: device, live: !retained, now: now)
            if case .birth(let b) = status, let run, b.firstSeq < run {
                return .sequenceReset(device: device, from: run, to: b.firstSeq)
            }
            return .status(status)
        case .success(.sequenced(let m)):
            return apply(m, now: now)
        }
    }

    /// Hands out what changed since the last call.
    public mutating func takeChanges() -> ChangeSet {
        var out = changes
        out.devices = touchedDevices.sorted().compactMap { devices[$0] }
        changes = ChangeSet()
        touchedDevices = []
        return out
    }

    private mutating func touch(_ device: String, now: Int64) {
        if devices[device] == nil { devices[device] = DeviceRecord(device: device, now: now) }
        devices[device]!.lastSeenNanos = max(devices[device]!.lastSeenNanos, now)
        touchedDevices.insert(device)
    }

    private mutating func apply(_ status: Status, device: String, live: Bool, now: Int64) {
        touch(device, now: now)
        var d = devices[device]!
        let online = status.isOnline
        if d.state != (online ? .online : .offline) {
            // A gateway first seen offline or online raises nothing: only a change the receiver saw.
            if d.state == .online, !online {
                changes.alerts.append(.offline(device, .start, clean: status.clean, since: now))
            } else if d.state == .offline, online {
                changes.alerts.append(.offline(device, .end, clean: d.cleanOffline, since: d.stateSinceNanos, endsNanos: now))
            }
            d.state = online ? .online : .offline
            d.stateSinceNanos = now
        }
        switch status {
        case .birth(let b):
            d.version = b.version
            let newRun = d.ledger.runStart.map { b.firstSeq > $0 } ?? true
            d.ledger.birth(firstSeq: b.firstSeq, live: live, now: now)
            if newRun {
                d.lastBirth = b
                d.lastBirthReceivedNanos = now
                d.births += 1
                endRun(of: device, before: b.firstSeq, at: b.startedNanos ?? now)
            }
        case .cleanStop(let last, _):
            d.cleanOffline = true
            if let last { d.ledger.cleanStop(lastSeq: last, now: now) }
        case .lastWill: d.cleanOffline = false
        case .legacyOnline, .legacyOffline: break
        }
        devices[device] = d
    }

    /// Closes what the device's runs before `firstSeq` left open.
    private mutating func endRun(of device: String, before firstSeq: UInt64, at end: Int64) {
        for (k, e) in openEpisodes.sorted(by: { $0.key < $1.key }) where k.device == device && e.startSeq < firstSeq {
            openEpisodes[k] = nil
            changes.episodes[k] = .some(nil)
            changes.alerts.append(.anomaly(e, .end, seq: nil, endsNanos: end, reason: "run ended"))
        }
        for (k, h) in openHealth.sorted(by: { $0.key < $1.key }) where k.device == device && h.startSeq < firstSeq {
            openHealth[k] = nil
            changes.health[k] = .some(nil)
            changes.alerts.append(.health(h, .end, seq: nil, endsNanos: end, reason: "run ended"))
        }
        orphanEnds = orphanEnds.filter { $0.key.device != device }
        orphanHealthEnds = orphanHealthEnds.filter { $0.key.device != device }
    }

    private mutating func apply(_ m: SequencedMessage, now: Int64) -> IngestOutcome {
        touch(m.device, now: now)
        devices[m.device]!.messages += 1
        let verdict = devices[m.device]!.ledger.receive(m.seq, now: now)
        guard verdict != .duplicate else { return .duplicate }
        devices[m.device]!.stored += 1
        changes.events.append(StoredEvent(device: m.device, seq: m.seq, kind: m.kind, event: m.event, subject: m.subject,
                                          tsNanos: m.tsNanos, receivedNanos: now, payload: m.payload))
        // A killed run's backlog, arriving after the next run's birth, opens nothing.
        let current = m.seq >= (devices[m.device]!.ledger.runStart ?? 0)
        switch m.body {
        case .anomalyStart(let k, let detector, let z):
            if current, orphanEnds.removeValue(forKey: k).map({ $0 < m.seq }) ?? true {
                let e = OpenEpisode(key: k, startSeq: m.seq, startedNanos: m.tsNanos, detector: detector, z: z)
                openEpisodes[k] = e
                changes.episodes[k] = e
                changes.alerts.append(.anomaly(e, .start, seq: m.seq))
            }
        case .anomalyEnd(let k, let reason):
            if let open = openEpisodes[k], open.startSeq < m.seq {
                openEpisodes[k] = nil
                changes.episodes[k] = .some(nil)
                changes.alerts.append(.anomaly(open, .end, seq: m.seq, endsNanos: m.tsNanos, reason: reason))
            } else if current, orphanEnds.count < Self.maxOrphans {
                orphanEnds[k] = m.seq
            }
        case .healthStart(let k):
            if current, orphanHealthEnds.removeValue(forKey: k).map({ $0 < m.seq }) ?? true {
                let h = OpenHealthProblem(key: k, startSeq: m.seq, startedNanos: m.tsNanos)
                openHealth[k] = h
                changes.health[k] = h
                changes.alerts.append(.health(h, .start, seq: m.seq))
            }
        case .healthEnd(let k):
            if let open = openHealth[k], open.startSeq < m.seq {
                openHealth[k] = nil
                changes.health[k] = .some(nil)
                changes.alerts.append(.health(open, .end, seq: m.seq, endsNanos: m.tsNanos, reason: "cleared"))
            } else if current, orphanHealthEnds.count < Self.maxOrphans {
                orphanHealthEnds[k] = m.seq
            }
        case .sourceChange(let c):
            let key = SourceKey(device: m.device, source: c.source)
            if (sources[key]?.seq ?? 0) <= m.seq {
                let s = SourceStatus(key: key, up: c.up, sinceNanos: m.tsNanos, path: c.path, reason: c.reason, seq: m.seq)
                sources[key] = s
                changes.sources.append(s)
            }
        case .summary(let r):
            changes.summaries.append(StoredSummary(device: m.device, seq: m.seq, tsNanos: m.tsNanos, record: r))
        case .agentHealth(let depth):
            devices[m.device]!.ledger.agentHealth(seq: m.seq, outboxEvents: depth)
        }
        return .stored(verdict)
    }
}
