import Synchronization
import VigilCore

/// A source's counters that travel forward: each writes its counts, in the order they are
/// published (`source_<name>` in summaries and health events).
public protocol PublishedCounters: Sendable, Equatable {
    func publish(into counts: inout CountWriter)
}

/// Fills a `SourceCounters` in place: the first fill appends each count, later ones overwrite the
/// values where they stand, so once the names are there nothing allocates.
public struct CountWriter {
    var counts: [SourceCounters.Count] = []
    private var index = 0
    /// Whether a value differs from what the counts held.
    private(set) var changed = false

    init(_ counts: [SourceCounters.Count] = []) { self.counts = counts }

    public mutating func callAsFunction(_ name: String, _ value: Int) {
        if index < counts.count {
            if counts[index].value != value { counts[index].value = value; changed = true }
        } else {
            counts.append(SourceCounters.Count(name, value))
            changed = true
        }
        index += 1
    }
}

extension PublishedCounters {
    /// The counts in the shape summaries and health events carry.
    public func sourceCounters(source: String) -> SourceCounters {
        var w = CountWriter()
        publish(into: &w)
        return SourceCounters(source: source, counts: w.counts)
    }
}

/// What a source reports forward about itself, through its sink: its counters when they change,
/// and its device's up/down transitions (the counters first, so a `source_down` carries them as
/// they are at that moment). The typed counters may be read from any thread (`counters`); the
/// pushing is done on the source's own thread only.
public final class SourceReporter<Counters: PublishedCounters>: @unchecked Sendable {
    private let typed: Mutex<Counters>
    /// The published shape, reused from push to push (source thread only).
    private var published: SourceCounters
    private var pushedOnce = false
    /// The state last reported: nil before the first (source thread only).
    private(set) var lastState: Bool?

    public init(source: String, _ initial: Counters) {
        typed = Mutex(initial)
        published = SourceCounters(source: source)
    }

    /// A snapshot of the typed counters.
    public var counters: Counters { typed.withLock { $0 } }

    /// Changes the typed counters (and whatever else the source keeps with them).
    @discardableResult
    public func update<R>(_ body: (inout Counters) -> R) -> R { typed.withLock { body(&$0) } }

    /// Changes the counters and pushes them to `sink` when a published count changed.
    @discardableResult
    public func update<R>(pushingTo sink: ReadingSink, _ body: (inout Counters) -> R) -> R {
        let r = typed.withLock { body(&$0) }
        push(to: sink)
        return r
    }

    /// Pushes the counters to `sink` if a published count changed since the last push (always the
    /// first time, so a sink knows them from the start).
    public func push(to sink: ReadingSink) {
        var w = CountWriter()
        swap(&w.counts, &published.counts)
        counters.publish(into: &w)
        swap(&w.counts, &published.counts)
        guard w.changed || !pushedOnce else { return }
        pushedOnce = true
        sink.counters(published)
    }

    /// Reports a transition of `device` (counters first).
    public func report(up: Bool, device: String, reason: String, to sink: ReadingSink) {
        lastState = up
        push(to: sink)
        sink.sourceState(up: up, device: device, reason: reason, wallNanos: Clock.wallNanos())
    }

    /// Reports `up` unless it is the state last reported; returns whether it did.
    @discardableResult
    public func reportIfChanged(up: Bool, device: String, reason: String, to sink: ReadingSink) -> Bool {
        guard lastState != up else { return false }
        report(up: up, device: device, reason: reason, to: sink)
        return true
    }
}

extension SourceReporter {
    /// A device that failed and will be retried (an I²C chip, a sound card): reports `device` down
    /// with `reason` and logs it at warning, the first time only (further failures are only
    /// counted by the caller); `source` names the source in the log line (`bme280 air`).
    public func reportRetrying(device: String, reason: String, delay: Int64, source: String,
                               log: SourceLogger, to sink: ReadingSink) {
        guard lastState != false else { return }
        log(.warning, "\(source): \(reason); retrying in \(ConfigDuration(nanoseconds: delay)) (further failures are only counted)")
        report(up: false, device: device, reason: reason, to: sink)
    }
}
