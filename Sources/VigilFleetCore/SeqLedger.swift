/// A run of sequence numbers a device has not (yet) delivered.
public struct Gap: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Missing below a delivered seq of the same run: may still arrive (backlog drains out of order).
        case open
        /// Still missing after the device proved its outbox had nothing older left, or after a clean stop.
        case lost
        /// Declared unused by a birth: between the previous run's last seq and the new run's `first_seq`.
        case skipped
    }
    public var first: UInt64
    public var last: UInt64
    public var state: State
    /// When the receiver first saw the numbers missing (Unix-epoch nanoseconds).
    public var openedNanos: Int64

    public init(first: UInt64, last: UInt64, state: State, openedNanos: Int64) {
        self.first = first; self.last = last; self.state = state; self.openedNanos = openedNanos
    }
    public var count: UInt64 { last - first + 1 }
}

/// What one delivered sequence number is.
public enum SeqVerdict: Sendable, Equatable {
    /// Above everything seen so far.
    case new
    /// Inside a gap: a late arrival. The gap's state before it arrived.
    case filled(Gap.State)
    /// Seen before: counted, not stored.
    case duplicate
    /// Below where this receiver's history of the device begins: stored if the store has not got it.
    case beforeHistory
}

/// Per-device bookkeeping of sequence numbers: dedupe and gap classification in memory bounded by the gaps.
///
/// Every seq from `floor` up to `next - 1` is either delivered or inside exactly one gap, so a seq in
/// that span and in no gap is a duplicate. The rule (docs/fleet.md, "Gaps"):
/// 1. A seq above `next` opens the gap `next…seq-1` (open); `next` becomes seq+1.
/// 2. A seq inside a gap fills it (the gap splits), whatever the gap's state was. Inside a skipped gap,
///    the part below it turns open: the run that used this seq used those too.
/// 3. A birth with `first_seq` F: if F > `next`, the gap `next…F-1` is skipped. If F ≤ `next` (the new
///    run's messages came before its birth), the missing run ending at F-1 becomes skipped, except seqs
///    up to a clean stop's `last_seq` (that run used them).
/// 4. Agent health with `outbox_events` 0 at seq S: every open seq below P is lost, where P is the highest
///    agent-health seq received below S. (The health message takes its outbox snapshot before its own seq
///    is drawn, so seqs just below S may still be in flight; everything below the previous report was
///    drawn a whole health interval before the snapshot that found the outbox empty.)
/// 5. A clean stop with `last_seq` L: the run used everything up to L, so `next…L` opens and every open
///    seq up to L is lost.
/// History starts at the first seq the receiver sees, or at F of a live (not retained) birth seen first.
public struct SeqLedger: Sendable, Equatable {
    /// Gaps kept in memory; past this, the oldest closed (lost or skipped) ones are forgotten (they stay in the
    /// store) and `floor` moves above them.
    public static let maxGaps = 1000

    /// The lowest seq of the history (nil: nothing seen yet).
    public private(set) var floor: UInt64?
    /// One past the highest seq accounted for (delivered or in a gap).
    public private(set) var next: UInt64?
    /// Sorted by `first`, disjoint.
    public private(set) var gaps: [Gap] = []
    /// `first_seq` of the latest birth.
    public private(set) var runStart: UInt64?
    /// The highest agent-health seqs received (rule 4), ascending, at most 16.
    public private(set) var healthSeqs: [UInt64] = []
    /// The highest `last_seq` of a clean stop: seqs up to it were used (rule 3 leaves them alone).
    public private(set) var cleanStopSeq: UInt64?

    /// Late arrivals into open gaps, lost gaps (recovered) and skipped gaps (a killed run's backlog).
    public private(set) var filled: Int64 = 0
    public private(set) var recovered: Int64 = 0
    public private(set) var duplicates: Int64 = 0
    public private(set) var beforeHistory: Int64 = 0
    /// Seqs classified lost or skipped, net of those that arrived later.
    public private(set) var lost: Int64 = 0
    public private(set) var skipped: Int64 = 0
    /// Births whose first_seq was below the previous run's: the numbering went back.
    public private(set) var resets: Int64 = 0

    public init() {}

    /// Restores a ledger saved by the store.
    public init(floor: UInt64?, next: UInt64?, gaps: [Gap], runStart: UInt64?, healthSeqs: [UInt64], cleanStopSeq: UInt64?,
                counts: (filled: Int64, recovered: Int64, duplicates: Int64, beforeHistory: Int64, lost: Int64, skipped: Int64),
                resets: Int64 = 0) {
        self.resets = resets
        self.floor = floor; self.next = next; self.gaps = gaps.sorted { $0.first < $1.first }
        self.runStart = runStart; self.healthSeqs = healthSeqs.sorted(); self.cleanStopSeq = cleanStopSeq
        (filled, recovered, duplicates, beforeHistory, lost, skipped) = counts
    }

    /// Seqs in open gaps.
    public var open: Int64 { gaps.reduce(0) { $0 + ($1.state == .open ? Int64($1.count) : 0) } }

    /// Index of the gap holding `seq`.
    func gapIndex(of seq: UInt64) -> Int? {
        var lo = 0, hi = gaps.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if gaps[mid].last < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo < gaps.count && gaps[lo].first <= seq ? lo : nil
    }

    /// Rules 1 and 2.
    public mutating func receive(_ seq: UInt64, now: Int64) -> SeqVerdict {
        guard let floor, let next else {
            self.floor = seq; self.next = seq + 1
            return .new
        }
        if let i = gapIndex(of: seq) {
            let state = gaps[i].state
            let first = gaps[i].first
            remove(seq, fromGapAt: i)
            // A killed run's backlog inside a skip: that run used everything below this seq too.
            if state == .skipped, first < seq { relabel(first...(seq - 1), only: .skipped, to: .open) }
            switch state {
            case .open: filled += 1
            case .lost: recovered += 1; lost -= 1
            case .skipped: filled += 1; skipped -= 1
            }
            return .filled(state)
        }
        if seq >= next {
            if seq > next { gaps.append(Gap(first: next, last: seq - 1, state: .open, openedNanos: now)) }
            self.next = seq + 1
            trim()
            return .new
        }
        if seq < floor { beforeHistory += 1; return .beforeHistory }
        duplicates += 1
        return .duplicate
    }

    /// Rule 3. `live`: the birth arrived as it was published (not as a retained copy on subscribing).
    public mutating func birth(firstSeq f: UInt64, live: Bool, now: Int64) {
        if let runStart, f <= runStart {
            // The same birth again (its retained copy on every resubscribe) changes nothing. A lower first_seq
            // means the device's numbering went back (its state directory was wiped): its messages below
            // `next` cannot be told from duplicates. Counted, so it shows.
            if f < runStart { resets += 1 }
            return
        }
        runStart = f
        guard let next else {
            if live { floor = f; self.next = f }
            return
        }
        if f > next {
            gaps.append(Gap(first: next, last: f - 1, state: .skipped, openedNanos: now))
            skipped += Int64(f - next)
            self.next = f
            trim()
        } else if f > 0, let i = gapIndex(of: f - 1) {
            // Seqs up to a clean stop's last_seq were used by that run: they stay open or lost.
            let used = cleanStopSeq.map { $0 + 1 } ?? 0
            let lower = max(gaps[i].first, used)
            if lower < f { relabel(lower...(f - 1), to: .skipped) }
        }
    }

    /// Rule 4, for agent health at `seq` (already received) reporting `outboxEvents`.
    public mutating func agentHealth(seq: UInt64, outboxEvents: Int) {
        if !healthSeqs.contains(seq) {
            healthSeqs.append(seq)
            healthSeqs.sort()
            if healthSeqs.count > 16 { healthSeqs.removeFirst(healthSeqs.count - 16) }
        }
        guard outboxEvents == 0, let previous = healthSeqs.last(where: { $0 < seq }) else { return }
        declareLost(below: previous)
    }

    /// Rule 5.
    public mutating func cleanStop(lastSeq: UInt64, now: Int64) {
        cleanStopSeq = max(cleanStopSeq ?? 0, lastSeq)
        guard let next else { return }
        if lastSeq >= next {
            gaps.append(Gap(first: next, last: lastSeq, state: .open, openedNanos: now))
            self.next = lastSeq + 1
        }
        declareLost(below: lastSeq + 1)
        trim()
    }

    /// Open gaps below `bound` become lost (a gap across it splits).
    mutating func declareLost(below bound: UInt64) {
        guard bound > 0 else { return }
        relabel(0...(bound - 1), only: .open, to: .lost)
    }

    /// Gap seqs inside `range` (those in state `only`, when given) take `state`; gaps across its ends split.
    private mutating func relabel(_ range: ClosedRange<UInt64>, only: Gap.State? = nil, to state: Gap.State) {
        var i = 0
        while i < gaps.count, gaps[i].first <= range.upperBound {
            let g = gaps[i]
            guard g.last >= range.lowerBound, g.state != state, only == nil || g.state == only else { i += 1; continue }
            if g.first < range.lowerBound {
                // Keep the part below the range as it is; relabel from the next index.
                gaps[i].last = range.lowerBound - 1
                var rest = g
                rest.first = range.lowerBound
                gaps.insert(rest, at: i + 1)
                i += 1
                continue
            }
            if g.last > range.upperBound {
                var rest = g
                rest.first = range.upperBound + 1
                gaps[i].last = range.upperBound
                gaps.insert(rest, at: i + 1)
            }
            count(gaps[i].state, -Int64(gaps[i].count))
            gaps[i].state = state
            count(state, Int64(gaps[i].count))
            i += 1
        }
    }

    private mutating func count(_ state: Gap.State, _ n: Int64) {
        switch state {
        case .open: break
        case .lost: lost += n
        case .skipped: skipped += n
        }
    }

    private mutating func remove(_ seq: UInt64, fromGapAt i: Int) {
        let g = gaps[i]
        if g.first == g.last { gaps.remove(at: i) }
        else if seq == g.first { gaps[i].first += 1 }
        else if seq == g.last { gaps[i].last -= 1 }
        else {
            gaps[i].last = seq - 1
            var upper = g
            upper.first = seq + 1
            gaps.insert(upper, at: i + 1)
            trim()
        }
    }

    /// Bounds memory: forgets the oldest gaps — closed ones first; an open one is declared lost when it
    /// goes — and raises `floor` past them (what arrives below `floor` is stored if absent).
    private mutating func trim() {
        while gaps.count > Self.maxGaps {
            let i = gaps.firstIndex { $0.state != .open } ?? 0
            let g = gaps.remove(at: i)
            if g.state == .open { lost += Int64(g.count) }
            floor = max(floor ?? 0, g.last + 1)
        }
    }
}
