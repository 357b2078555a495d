import VigilCore

/// The outbox's queue policy, in memory and without I/O: ids, the bounds and what is dropped past them,
/// and which entry goes out next.
///
/// - Past `maxEvents` or `maxBytes` the oldest waiting summary is dropped, else the oldest waiting event;
///   entries in flight are never dropped (their PUBACK may be on its way). Drops are counted per kind.
/// - Entries queued before the current connection are backlog (sent oldest first, as the drain rate
///   allows); entries born during it are live and may overtake a rate-limited backlog.
struct BoundedQueue {
    /// One message taken for sending.
    struct Taken: Equatable {
        var id: UInt64
        var message: OutboundMessage
        /// Older than the current connection: subject to the drain rate.
        var backlog: Bool
    }

    private(set) var index = OutboundQueue()
    private(set) var nextID: UInt64 = 1
    /// Live entries per segment file (segment 0: memory only), so the store knows which files it may delete.
    private(set) var liveBySegment: [UInt64: Int] = [:]

    private(set) var droppedSummaries = 0
    private(set) var droppedEvents = 0
    private(set) var appended = 0
    private(set) var removed = 0

    // Sending: entries with ids ≥ liveBoundary were born during the current connection.
    private var liveBoundary: UInt64 = 0
    private var liveCursor: UInt64 = 0
    private var backlogCursor: UInt64 = 0

    var count: Int { index.count }
    var bytes: Int { index.bytes }
    var isEmpty: Bool { index.isEmpty }
    var dropped: Int { droppedSummaries + droppedEvents }

    // MARK: - Adding and dropping

    /// Entries found on disk at start, oldest first; new ids continue after `lastID`.
    mutating func restore(_ entries: [OutboundQueue.Entry], lastID: UInt64) {
        for e in entries { add(e) }
        nextID = lastID + 1
    }

    /// Adds `messages` (recorded in `segment`) and applies the bounds. Returns the ids given to the
    /// messages and the entries dropped to make room (possibly some of the messages themselves).
    mutating func admit(_ messages: [OutboundMessage], segment: UInt64, maxEvents: Int, maxBytes: Int)
        -> (ids: Range<UInt64>, dropped: [OutboundQueue.Entry]) {
        let first = nextID
        for m in messages {
            add(OutboundQueue.Entry(id: nextID, message: m, segment: segment, size: OutboxFormat.entrySize(m)))
            nextID += 1
            appended += 1
        }
        var dropped: [OutboundQueue.Entry] = []
        while index.count > maxEvents || index.bytes > maxBytes, let victim = index.dropCandidate() {
            forget(victim.id)
            countDrop(victim.message)
            dropped.append(victim)
        }
        return (first..<nextID, dropped)
    }

    /// Counts messages refused outright (appended after the outbox was closed) as dropped.
    mutating func refuse(_ messages: [OutboundMessage]) {
        for m in messages { countDrop(m) }
    }

    /// Removes entries by id: acknowledged, or (`asDropped`) refused as malformed and counted as dropped.
    /// Returns the ids that were there.
    mutating func remove(_ ids: [UInt64], asDropped: Bool) -> [UInt64] {
        var gone: [UInt64] = []
        for id in ids {
            guard let e = forget(id) else { continue }
            gone.append(id)
            if asDropped { countDrop(e.message) } else { removed += 1 }
        }
        return gone
    }

    /// Every entry now lives in `segment` (after the live entries were rewritten into it).
    mutating func moveAll(toSegment segment: UInt64) {
        index.setSegment(segment)
        liveBySegment = [segment: index.count]
    }

    private mutating func add(_ e: OutboundQueue.Entry) {
        index.append(e)
        liveBySegment[e.segment, default: 0] += 1
    }

    @discardableResult
    private mutating func forget(_ id: UInt64) -> OutboundQueue.Entry? {
        guard let e = index.remove(id) else { return nil }
        liveBySegment[e.segment, default: 1] -= 1
        if liveBySegment[e.segment] == 0 { liveBySegment[e.segment] = nil }
        return e
    }

    private mutating func countDrop(_ m: OutboundMessage) {
        if m.priority == .summary { droppedSummaries += 1 } else { droppedEvents += 1 }
    }

    // MARK: - Sending

    /// A new connection: everything in flight goes back to waiting, and what is queued now is backlog.
    /// Returns how many entries were in flight.
    mutating func beginSession() -> Int {
        let n = index.clearInflight()
        liveBoundary = nextID
        liveCursor = nextID
        backlogCursor = 0
        return n
    }

    /// The connection ended: in-flight entries go back to waiting. Returns how many.
    mutating func endSession() -> Int {
        let n = index.clearInflight()
        liveCursor = liveBoundary
        backlogCursor = 0
        return n
    }

    /// The next entry to publish, marked in flight: the oldest one when `backlogAllowed` (so order holds
    /// while the drain rate allows), else the oldest live one, which may overtake a rate-limited backlog.
    mutating func next(backlogAllowed: Bool) -> Taken? {
        if backlogAllowed, let e = index.firstWaiting(from: backlogCursor, below: liveBoundary) {
            index.setInflight(e.id, true)
            backlogCursor = e.id + 1
            return Taken(id: e.id, message: e.message, backlog: true)
        }
        if let e = index.firstWaiting(from: liveCursor) {
            index.setInflight(e.id, true)
            liveCursor = e.id + 1
            return Taken(id: e.id, message: e.message, backlog: false)
        }
        return nil
    }

    /// Whether a live entry, or a backlog entry, waits to be sent.
    func waiting() -> (live: Bool, backlog: Bool) {
        (index.firstWaiting(from: liveCursor) != nil, index.firstWaiting(from: backlogCursor, below: liveBoundary) != nil)
    }

    /// Puts a taken entry back to waiting (its publish failed).
    mutating func putBack(_ id: UInt64) {
        index.setInflight(id, false)
        if id >= liveBoundary { liveCursor = min(liveCursor, id) } else { backlogCursor = min(backlogCursor, id) }
    }
}
