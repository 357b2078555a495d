import VigilCore

/// The outbox's in-memory index: every live entry (waiting, or sent and waiting for its PUBACK), in id order.
///
/// Ids only grow, so entries sit in an array sorted by id; removing one leaves a hole (nil) that is
/// skipped and squeezed out once holes outnumber entries. Lookups by id are binary searches. The drop
/// policy ("the oldest summary, else the oldest event") and the send cursors scan forward from hints
/// that only move back when in-flight entries are put back, so each costs O(1) amortised.
struct OutboundQueue {
    struct Entry: Equatable {
        var id: UInt64
        var message: OutboundMessage
        /// Segment file holding its record (0 when in memory only).
        var segment: UInt64
        /// Bytes it counts against `max_bytes` (its record's size).
        var size: Int
        /// Handed to libmosquitto, not acknowledged yet.
        var inflight = false
    }

    private var ids: [UInt64] = []
    private var slots: [Entry?] = []
    private var head = 0
    private var holes = 0
    private(set) var count = 0
    private(set) var bytes = 0
    private(set) var inflightCount = 0
    /// Live summaries (for the drop policy: skip the scan when there are none).
    private(set) var summaries = 0
    /// Live health reports (never dropped: the reporter waits while one is held).
    private(set) var healthReports = 0
    /// No droppable summary / event has an id below these.
    private var summaryHint: UInt64 = 0
    private var eventHint: UInt64 = 0

    var isEmpty: Bool { count == 0 }
    var lastID: UInt64? { ids.last }

    /// Adds `entry`, whose id must be above every id added before.
    mutating func append(_ entry: Entry) {
        precondition(ids.last.map { entry.id > $0 } ?? true, "outbox ids must grow")
        ids.append(entry.id)
        slots.append(entry)
        count += 1
        bytes += entry.size
        if entry.message.priority == .summary { summaries += 1 }
        if entry.message.priority == .health { healthReports += 1 }
        if entry.inflight { inflightCount += 1 }
    }

    /// Index of the first slot with id ≥ `id`.
    private func lowerBound(_ id: UInt64) -> Int {
        var lo = head, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func index(of id: UInt64) -> Int? {
        let i = lowerBound(id)
        return i < ids.count && ids[i] == id && slots[i] != nil ? i : nil
    }

    func entry(_ id: UInt64) -> Entry? {
        index(of: id).flatMap { slots[$0] }
    }

    /// Removes the entry with `id`; nil when there is none.
    @discardableResult
    mutating func remove(_ id: UInt64) -> Entry? {
        guard let i = index(of: id), let e = slots[i] else { return nil }
        slots[i] = nil
        count -= 1
        bytes -= e.size
        holes += 1
        if e.message.priority == .summary { summaries -= 1 }
        if e.message.priority == .health { healthReports -= 1 }
        if e.inflight { inflightCount -= 1 }
        while head < slots.count, slots[head] == nil { head += 1; holes -= 1 }
        if holes > 64 && holes > count { squeeze() }
        if head > 4096 && head * 2 > slots.count { squeeze() }
        return e
    }

    private mutating func squeeze() {
        var newIDs: [UInt64] = []
        var newSlots: [Entry?] = []
        newIDs.reserveCapacity(count + 16)
        newSlots.reserveCapacity(count + 16)
        for i in head..<slots.count {
            if let e = slots[i] { newIDs.append(e.id); newSlots.append(e) }
        }
        ids = newIDs
        slots = newSlots
        head = 0
        holes = 0
    }

    /// The first entry not in flight with `from` ≤ id < `below`.
    func firstWaiting(from: UInt64, below: UInt64 = .max) -> Entry? {
        var i = lowerBound(from)
        while i < slots.count {
            if let e = slots[i] {
                if e.id >= below { return nil }
                if !e.inflight { return e }
            }
            i += 1
        }
        return nil
    }

    mutating func setInflight(_ id: UInt64, _ value: Bool) {
        guard let i = index(of: id), slots[i]!.inflight != value else { return }
        slots[i]!.inflight = value
        inflightCount += value ? 1 : -1
        if !value {
            // It can be dropped again.
            if slots[i]!.message.priority == .summary { summaryHint = min(summaryHint, id) } else { eventHint = min(eventHint, id) }
        }
    }

    /// Puts every in-flight entry back to waiting. Returns how many there were.
    @discardableResult
    mutating func clearInflight() -> Int {
        let n = inflightCount
        guard n > 0 else { return 0 }
        for i in head..<slots.count where slots[i]?.inflight == true { slots[i]!.inflight = false }
        inflightCount = 0
        summaryHint = 0
        eventHint = 0
        return n
    }

    /// The entry the drop policy picks: the oldest waiting summary, else the oldest waiting event.
    /// Entries in flight are not picked (their PUBACK may be on its way), nor health reports (they carry
    /// the drop counts).
    mutating func dropCandidate() -> Entry? {
        if summaries > 0, let s = scanOldest(.summary, from: summaryHint) {
            summaryHint = s.id
            return s
        }
        if let e = scanOldest(.event, from: eventHint) {
            eventHint = e.id
            return e
        }
        return nil
    }

    private func scanOldest(_ priority: OutboundMessage.Priority, from: UInt64) -> Entry? {
        var i = lowerBound(from)
        while i < slots.count {
            if let e = slots[i], !e.inflight, e.message.priority == priority { return e }
            i += 1
        }
        return nil
    }

    /// Every live entry, oldest first.
    var entries: [Entry] {
        slots[head...].compactMap { $0 }
    }

    /// Live entries per segment.
    var entriesPerSegment: [UInt64: Int] {
        var out: [UInt64: Int] = [:]
        for i in head..<slots.count { if let e = slots[i] { out[e.segment, default: 0] += 1 } }
        return out
    }

    mutating func setSegment(_ segment: UInt64) {
        for i in head..<slots.count where slots[i] != nil { slots[i]!.segment = segment }
    }
}
