import Logging
import VigilCore
import VigilSources

/// Everything a source's thread and pipeline are built from. A reload keeps a running source (its
/// thread, windows, open episodes and counters) exactly when its plan is unchanged.
struct SourcePlan: Equatable {
    var kind: String
    /// The kind's settings, field by field (every kind's settings are plain values).
    var settings: String
    var detectors: [DetectorSettings]
    var multivariate: DetectorSettings?
    var summaryInterval: ConfigDuration

    init(_ name: String, in config: VigilConfig) {
        let sc = config.sources.first { $0.name == name }
        kind = sc?.kind ?? ""
        settings = sc.map { String(reflecting: $0.settings) } ?? ""
        detectors = (sc?.channelNames ?? []).map { config.detectorSettings(forChannel: $0) }
        multivariate = config.multivariateSettings(forSource: name)
        summaryInterval = config.summary.interval
    }
}

/// What a reload did to the sources, by name, in config order.
public struct ReloadChanges: Sendable, Equatable, CustomStringConvertible {
    public var added: [String] = []
    public var removed: [String] = []
    /// Settings, detectors or summary interval changed: stopped (episodes ended, summaries sent) and started anew.
    public var restarted: [String] = []
    /// Unchanged: still running with their windows and episodes.
    public var kept: [String] = []

    /// `added=b removed=- restarted=- kept=a`
    public var description: String {
        [("added", added), ("removed", removed), ("restarted", restarted), ("kept", kept)]
            .map { "\($0.0)=\($0.1.isEmpty ? "-" : $0.1.joined(separator: ","))" }.joined(separator: " ")
    }

    /// Fields a running agent cannot take over without a restart (the outbox, the MQTT session,
    /// topics and the log level are set up once): their new values are ignored until then.
    public static func fieldsNeedingRestart(from old: VigilConfig, to new: VigilConfig) -> [String] {
        var out: [String] = []
        if old.device != new.device { out.append("device") }
        if old.mqtt != new.mqtt { out.append("mqtt") }
        if old.logLevel != new.logLevel { out.append("log_level") }
        if old.metrics != new.metrics { out.append("metrics") }
        return out
    }
}

extension Agent {
    /// What `reload(to:)` would do, without doing it.
    func changes(to new: VigilConfig) -> ReloadChanges {
        let old = state.withLock { $0.running.map { ($0.source.name, $0.plan) } }
        var c = ReloadChanges()
        let newNames = Set(new.sources.map(\.name))
        for sc in new.sources {
            guard let plan = old.first(where: { $0.0 == sc.name })?.1 else { c.added.append(sc.name); continue }
            if plan == SourcePlan(sc.name, in: new) { c.kept.append(sc.name) } else { c.restarted.append(sc.name) }
        }
        c.removed = old.map(\.0).filter { !newNames.contains($0) }
        return c
    }

    /// Applies `new`: removed and changed sources are stopped (their open episodes end with reason
    /// `shutdown`, their partial summaries are sent), added and changed ones built and started, the
    /// rest keep running untouched. Events keep one sequence. Throws, changing nothing, when a source
    /// cannot be built; a source whose thread cannot start is logged and left out.
    @discardableResult
    public func reload(to new: VigilConfig) throws(ConfigIssueList) -> ReloadChanges {
        let changes = changes(to: new)
        let build = Set(changes.added + changes.restarted)
        let built = try Self.buildSources(new, only: build, logger: logger)
        let old = state.withLock { $0.running }
        let leaving = old.filter { changes.removed.contains($0.source.name) || changes.restarted.contains($0.source.name) }
        for r in leaving { r.stop() }
        var running: [RunningSource] = []
        for sc in new.sources {
            if let kept = old.first(where: { $0.source.name == sc.name }), changes.kept.contains(sc.name) {
                running.append(kept)
            } else if let source = built.first(where: { $0.name == sc.name }) {
                let r = makeRunning(source, new)
                do { try r.thread.start() } catch {
                    logger.error("source could not start after the reload", metadata: ["source": "\(sc.name)", "error": "\(error)"])
                    continue
                }
                running.append(r)
            }
        }
        state.withLock { s in
            s.retiredReadings += leaving.reduce(0) { $0 + $1.pipeline.readings }
            s.running = running
            s.config = new
        }
        return changes
    }
}
