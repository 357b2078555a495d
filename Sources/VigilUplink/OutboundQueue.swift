import VigilCore

/// The uplink's in-memory queue: messages waiting to be sent, in the order they were enqueued.
///
/// Summaries and events sit in two FIFOs so that dropping "the oldest summary, else the oldest event" is O(1);
/// a sequence number merges them back into one order when sending.
struct OutboundQueue {
    struct Entry: Equatable {
        var seq: UInt64
        var message: OutboundMessage
    }

    private var summaries = Ring<Entry>()
    private var events = Ring<Entry>()
    private var nextSeq: UInt64 = 0

    var count: Int { summaries.count + events.count }
    var isEmpty: Bool { summaries.isEmpty && events.isEmpty }

    /// Appends `message`, then drops until at most `limit` remain. Returns how many were dropped.
    mutating func append(_ message: OutboundMessage, limit: Int) -> Int {
        let entry = Entry(seq: nextSeq, message: message)
        nextSeq &+= 1
        if message.priority == .summary { summaries.append(entry) } else { events.append(entry) }
        return trim(to: limit)
    }

    /// Removes the oldest message, whatever its priority.
    mutating func popFirst() -> Entry? {
        switch (summaries.first, events.first) {
        case let (s?, e?): return s.seq < e.seq ? summaries.popFirst() : events.popFirst()
        case (_?, nil): return summaries.popFirst()
        case (nil, _?): return events.popFirst()
        case (nil, nil): return nil
        }
    }

    /// Puts entries that were taken out (and not acknowledged) back in front, oldest first.
    /// Every entry taken out is older than every entry still queued, so each FIFO stays in order.
    mutating func pushFront<S: Sequence>(_ entries: S) where S.Element == Entry {
        for entry in entries.sorted(by: { $0.seq > $1.seq }) {
            if entry.message.priority == .summary { summaries.prepend(entry) } else { events.prepend(entry) }
        }
    }

    /// Drops the oldest summary, else the oldest event, until at most `limit` remain.
    mutating func trim(to limit: Int) -> Int {
        var dropped = 0
        while count > max(limit, 0) {
            if summaries.popFirst() == nil { _ = events.popFirst() }
            dropped += 1
        }
        return dropped
    }

    /// Everything queued, oldest first (for tests and diagnostics).
    var messages: [OutboundMessage] {
        var all = summaries.elements + events.elements
        all.sort { $0.seq < $1.seq }
        return all.map(\.message)
    }
}

/// A growable ring buffer: O(1) append, prepend and popFirst.
struct Ring<Element> {
    private var storage: [Element?] = Array(repeating: nil, count: 16)
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }
    var first: Element? { count == 0 ? nil : storage[head] }

    mutating func append(_ element: Element) {
        growIfFull()
        storage[(head + count) % storage.count] = element
        count += 1
    }

    mutating func prepend(_ element: Element) {
        growIfFull()
        head = (head - 1 + storage.count) % storage.count
        storage[head] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return element
    }

    var elements: [Element] {
        (0..<count).map { storage[(head + $0) % storage.count]! }
    }

    private mutating func growIfFull() {
        guard count == storage.count else { return }
        var bigger = [Element?](repeating: nil, count: storage.count * 2)
        for i in 0..<count { bigger[i] = storage[(head + i) % storage.count] }
        storage = bigger
        head = 0
    }
}
