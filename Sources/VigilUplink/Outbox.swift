import Logging
import Synchronization
import SystemPackage
import VigilCore

/// The queue every message passes through on its way to the broker: written to disk first, removed only
/// when the broker has acknowledged it.
///
/// - `append` writes one record with one `write(2)` before it returns, so a killed process loses nothing it
///   accepted; `fdatasync` follows the sync policy (every event, group commit, or a fixed interval), which
///   decides what a power cut can take: nothing, the batch being written, or the last interval.
/// - Records live in append-only segment files (see `OutboxFormat`); a PUBACK appends a small removal
///   record, and a segment file is deleted once it and all older ones hold nothing live. When the files
///   grow to twice `maxBytes` (removals cannot free space inside a file) the live entries are rewritten into
///   a fresh segment and the old files deleted.
/// - Bounded by `maxEvents` and `maxBytes`: past either, the oldest waiting summary is dropped, else the
///   oldest waiting event; drops are counted per kind. Health reports are never dropped (they carry the
///   counts); the reporter sends one at a time, so they add at most one entry past the bounds.
/// - One process per directory: `open` takes `<dir>/lock` and throws `DirectoryInUse` (naming the holder's
///   pid) when another process has it.
/// - Any disk failure (full, read-only, I/O error) logs one line and the
///   outbox carries on in memory with the same bounds; it tries the disk again every minute.
///
/// Thread-safe. Producers call `enqueue` (or `append`), which wakes the consumer (the uplink); the uplink's
/// network thread takes, acknowledges and puts back. The parts: `BoundedQueue` (what is kept, dropped and
/// sent next), `SegmentStore` (the files), `OutboxSyncer` (when they are synced).
public final class Outbox: Sendable {
    public struct Settings: Sendable {
        /// Nil keeps everything in memory.
        public var directory: String?
        public var maxEvents: Int
        public var maxBytes: Int
        public var sync: OutboxConfig.Sync
        /// Seconds, for `.interval`.
        public var syncInterval: Double
        /// A segment file is closed and a new one started past this size.
        public var segmentBytes: Int
        /// After a disk failure, seconds until the disk is tried again.
        public var diskRetry: Double

        public init(directory: String?, maxEvents: Int = OutboxConfig.defaultMaxEvents,
                    maxBytes: Int = OutboxConfig.defaultMaxBytes, sync: OutboxConfig.Sync = .batch,
                    syncInterval: Double = 1, segmentBytes: Int? = nil, diskRetry: Double = 60) {
            self.diskRetry = diskRetry
            self.directory = directory
            self.maxEvents = max(1, maxEvents)
            self.maxBytes = max(1, maxBytes)
            self.sync = sync
            self.syncInterval = max(0.001, syncInterval)
            self.segmentBytes = segmentBytes ?? min(max(maxBytes / 8, 64 << 10), 4 << 20)
        }
    }

    public enum Storage: String, Sendable { case disk, memory }

    public struct Stats: Sendable, Hashable {
        /// Entries held (waiting or in flight) and their bytes.
        public var events: Int
        public var bytes: Int
        public var inflight: Int
        /// Health reports held (waiting or in flight): never dropped by the bounds.
        public var healthReports: Int
        public var storage: Storage
        /// Dropped by the bounds (or appended after `close`), per kind, since start.
        public var droppedSummaries: Int
        public var droppedEvents: Int
        public var appended: Int
        /// Removed because the broker acknowledged them (or they were refused as malformed).
        public var removed: Int
        /// Entries found on disk at start.
        public var recovered: Int
        /// What recovery at start found damaged and could not keep (records lost, files set aside).
        public var recoveryLosses: RecoveryLosses
        /// Segment files and their total size.
        public var segments: Int
        public var diskBytes: Int
        /// `write(2)` calls, bytes written and `fdatasync` calls since start.
        public var writes: Int
        public var bytesWritten: Int
        public var syncs: Int
        public var dropped: Int { droppedSummaries + droppedEvents }
    }


    typealias Taken = BoundedQueue.Taken

    public let settings: Settings
    private let logger: Logger
    private let state: Mutex<State>
    private let syncer: OutboxSyncer
    private let consumer = Mutex(ConsumerReference())

    private struct State {
        var queue = BoundedQueue()
        /// Nil: memory only, by choice or because the directory could not be used at all.
        var store: SegmentStore?
        var closed = false
        /// Entries found on disk at start.
        var recovered = 0
    }

    /// The outbox directory is locked by another process (another agent on the same `mqtt.outbox.dir`).
    /// Two agents on one directory would each send and delete the other's messages, and their sequence
    /// numbers would collide: the second one must not start.
    public struct DirectoryInUse: Error, Sendable, Equatable, CustomStringConvertible {
        public var directory: String
        /// The holder's process id, as it wrote it into `<directory>/lock`.
        public var pid: Int32?

        public var description: String {
            "outbox \(directory) is in use by another vigil process (\(pid.map { "pid \($0)" } ?? "pid unknown")); give each agent its own mqtt.outbox.dir"
        }
    }

    /// Opens (or creates) `settings.directory`, locks it for the life of this outbox and recovers what it
    /// holds. Throws only when another process holds the directory; any other problem is logged and the
    /// outbox keeps to memory.
    public static func open(settings: Settings, logger: Logger) throws(DirectoryInUse) -> Outbox {
        guard let dir = settings.directory else { return Outbox(settings: settings, logger: logger, opened: .unusable) }
        let opened = SegmentStore.open(dir, settings: settings, logger: logger)
        if case .held(let pid) = opened { throw DirectoryInUse(directory: dir, pid: pid) }
        return Outbox(settings: settings, logger: logger, opened: opened)
    }

    /// Like `open`, but a directory held by another process is logged and the outbox keeps to memory.
    /// Prefer `open`: the agent must refuse to share a directory.
    public convenience init(settings: Settings, logger: Logger) {
        var opened = SegmentStore.Opened.unusable
        if let dir = settings.directory {
            opened = SegmentStore.open(dir, settings: settings, logger: logger)
            if case .held(let pid) = opened {
                logger.error("\(DirectoryInUse(directory: dir, pid: pid)); keeping events in memory only")
            }
        }
        self.init(settings: settings, logger: logger, opened: opened)
    }

    private init(settings: Settings, logger: Logger, opened: SegmentStore.Opened) {
        self.settings = settings
        self.logger = logger
        var s = State()
        if case .store(var store, let recovered) = opened {
            s.queue.restore(recovered.entries, lastID: recovered.lastID)
            s.recovered = recovered.entries.count
            // Entries from segments set aside (segment 0) go back to disk in a fresh segment.
            if recovered.entries.contains(where: { $0.segment == 0 }), store.writable,
               let segment = store.rewrite(s.queue.index.entries, nextID: s.queue.nextID, live: s.queue.liveBySegment) {
                s.queue.moveAll(toSegment: segment)
            }
            s.store = store
        }
        let onDisk = s.store != nil
        state = Mutex(s)
        syncer = OutboxSyncer(policy: settings.sync, interval: settings.syncInterval)
        if onDisk, settings.sync != .everyEvent {
            startSyncThread()
        }
    }

    /// An outbox in memory only (tests, and `vigil` without a usable state directory).
    public static func inMemory(maxEvents: Int, maxBytes: Int = .max, logger: Logger) -> Outbox {
        Outbox(settings: Settings(directory: nil, maxEvents: maxEvents, maxBytes: maxBytes), logger: logger)
    }

    deinit {
        close()
    }

    // MARK: - Producers

    /// Takes `message` for sending: appends it (written, and synced per the sync policy, before this
    /// returns) and wakes the consumer. Thread-safe, never blocks on the network.
    public func enqueue(_ message: OutboundMessage) {
        append(contentsOf: [message])
    }

    /// Adds `message` and applies the bounds. On return the record has been written (and synced, under
    /// `every_event`). Returns how many entries the bounds dropped (possibly `message` itself).
    @discardableResult
    public func append(_ message: OutboundMessage) -> Int {
        append(contentsOf: [message])
    }

    /// Adds several messages with one write (and at most one sync), then wakes the consumer. Returns how
    /// many entries were dropped.
    @discardableResult
    public func append(contentsOf messages: [OutboundMessage]) -> Int {
        guard !messages.isEmpty else { return 0 }
        let (accepted, ticket, dropped, droppedBefore) = state.withLock { s -> (Bool, Int?, Int, Int) in
            let before = s.queue.dropped
            if s.closed {
                s.queue.refuse(messages)
                return (false, nil, messages.count, before)
            }
            retryDiskIfDue(&s)
            let (ticket, dropped) = appendLocked(&s, messages)
            return (true, ticket, dropped, before)
        }
        if let ticket {
            if settings.sync == .everyEvent { syncNow(upTo: ticket) } else { syncer.appended() }
        }
        if dropped > 0 {
            let total = droppedBefore + dropped
            if Self.crossesPowerOfTen(from: droppedBefore, to: total) {
                logger.warning("outbox full (max_events \(settings.maxEvents), max_bytes \(settings.maxBytes)): \(total) message(s) dropped so far, oldest summaries first, then oldest events")
            }
        }
        if accepted { consumer.withLock { $0.value }?.outboxDidAppend() }
        return dropped
    }

    private func appendLocked(_ s: inout State, _ messages: [OutboundMessage]) -> (ticket: Int?, dropped: Int) {
        if s.store?.writable == true {
            s.store!.rotateIfNeeded(incoming: messages.reduce(0) { $0 + OutboxFormat.entrySize($1) }, nextID: s.queue.nextID)
        }
        let admitted = s.queue.admit(messages, segment: s.store?.activeSegment ?? 0,
                                     maxEvents: settings.maxEvents, maxBytes: settings.maxBytes)
        guard s.store?.writable == true else { return (nil, admitted.dropped.count) }
        let ticket = s.store!.recordAppend(messages, ids: admitted.ids, dropped: admitted.dropped)
        s.store!.reclaim(live: s.queue.liveBySegment)
        compactIfNeeded(&s)
        return (ticket, admitted.dropped.count)
    }

    /// Registers what takes messages out (the uplink), held weakly; it replaces any earlier one.
    func setConsumer(_ c: any OutboxConsumer) {
        consumer.withLock { $0.value = c }
    }

    // MARK: - Uplink side

    /// A new connection: everything in flight goes back to waiting, and what is queued now is backlog.
    /// Returns how many entries were in flight.
    @discardableResult
    func beginSession() -> Int { state.withLock { $0.queue.beginSession() } }

    /// The connection ended: in-flight entries go back to waiting. Returns how many.
    @discardableResult
    func endSession() -> Int { state.withLock { $0.queue.endSession() } }

    /// The next entry to publish, marked in flight (see `BoundedQueue.next`).
    func next(backlogAllowed: Bool) -> Taken? { state.withLock { $0.queue.next(backlogAllowed: backlogAllowed) } }

    /// Whether a live entry, or a backlog entry, waits to be sent.
    func waiting() -> (live: Bool, backlog: Bool) { state.withLock { $0.queue.waiting() } }

    /// Puts a taken entry back to waiting (its publish failed).
    func putBack(_ id: UInt64) { state.withLock { $0.queue.putBack(id) } }

    /// Removes acknowledged entries (one removal record for all of them). Unknown ids are ignored.
    func acknowledge(_ ids: [UInt64]) {
        remove(ids, reason: .acknowledged)
    }

    /// Removes an entry libmosquitto refused as malformed; it counts as a dropped event.
    func reject(_ id: UInt64) {
        remove([id], reason: .dropped)
    }

    private func remove(_ ids: [UInt64], reason: OutboxFormat.RemovalReason) {
        guard !ids.isEmpty else { return }
        state.withLock { s in
            let gone = s.queue.remove(ids, asDropped: reason == .dropped)
            guard s.store?.writable == true, !gone.isEmpty else { return }
            s.store!.recordRemoval(gone, reason: reason)
            s.store!.reclaim(live: s.queue.liveBySegment)
            compactIfNeeded(&s)
        }
    }

    /// Nothing left: every entry acknowledged (or dropped).
    var isEmpty: Bool { state.withLock { $0.queue.isEmpty } }

    public var stats: Stats {
        state.withLock { s in
            Stats(events: s.queue.count, bytes: s.queue.bytes, inflight: s.queue.index.inflightCount,
                  healthReports: s.queue.index.healthReports,
                  storage: s.store?.writable == true ? .disk : .memory,
                  droppedSummaries: s.queue.droppedSummaries, droppedEvents: s.queue.droppedEvents,
                  appended: s.queue.appended, removed: s.queue.removed, recovered: s.recovered,
                  recoveryLosses: s.store?.recoveryLosses ?? RecoveryLosses(),
                  segments: s.store?.segments.count ?? 0, diskBytes: s.store?.diskBytes ?? 0,
                  writes: s.store?.writes ?? 0, bytesWritten: s.store?.bytesWritten ?? 0, syncs: s.store?.syncs ?? 0)
        }
    }

    /// Everything held, oldest first (tests and diagnostics).
    var messages: [OutboundMessage] { state.withLock { $0.queue.index.entries.map(\.message) } }

    // MARK: - Disk upkeep (under the state lock)

    /// Past twice `maxBytes` on disk, rewrites the live entries into a fresh segment.
    private func compactIfNeeded(_ s: inout State) {
        guard s.store?.needsCompaction(liveBytes: s.queue.bytes) == true else { return }
        let disk = s.store!.diskBytes
        if let segment = s.store!.rewrite(s.queue.index.entries, nextID: s.queue.nextID, live: s.queue.liveBySegment) {
            s.queue.moveAll(toSegment: segment)
            logger.debug("outbox compacted: \(disk) bytes on disk to \(s.store?.segments.first?.size ?? 0)")
        }
    }

    /// After a disk failure, tries the disk again once `settings.diskRetry` seconds have passed.
    private func retryDiskIfDue(_ s: inout State) {
        guard !s.closed, s.store?.retryDue() == true else { return }
        if let segment = s.store!.rewrite(s.queue.index.entries, nextID: s.queue.nextID, live: s.queue.liveBySegment, freeFirst: true) {
            s.queue.moveAll(toSegment: segment)
            logger.notice("outbox \(s.store!.path): writing to disk again; \(s.queue.count) event(s) saved")
        }
    }

    /// Test hook: the next writes fail with this errno (0: no failure), as a full or broken disk would.
    func injectWriteFailure(_ code: Int32) {
        state.withLock { $0.store?.injectedFailure = code == 0 ? nil : Errno(rawValue: code) }
    }

    // MARK: - Syncing and closing

    /// Makes everything written so far durable (`fdatasync` on the written segment files), unless what
    /// `ticket` names is already. Concurrent callers share one sync (group commit).
    func syncNow(upTo ticket: Int?) {
        syncer.exclusive {
            guard let (job, path) = state.withLock({ s in s.store?.takeSyncJob(upTo: ticket).map { ($0, s.store!.path) } }) else { return }
            let failure = SegmentStore.run(job, path: path)
            state.withLock { $0.store?.finishSync(job, failure: failure) }
        }
    }

    private func startSyncThread() {
        // The thread keeps the outbox alive until `close` stops it.
        do {
            try syncer.start { [self] in
                syncNow(upTo: nil)
                // A disk that failed is retried every second until it works again.
                return state.withLock { s in retryDiskIfDue(&s); return s.store.map { !$0.writable && $0.failedAt != nil } ?? false }
            }
        } catch {
            logger.error("outbox: could not start its sync thread (\(error)); syncing on every append instead")
        }
    }

    /// Syncs what was written, stops the sync thread and closes the files. Later appends are counted as
    /// dropped. Safe to call twice.
    public func close() {
        syncer.stop()
        syncNow(upTo: nil)
        syncer.exclusive {
            state.withLock { s in
                guard !s.closed else { return }
                s.closed = true
                s.store?.closeFiles()
            }
        }
    }

    static func crossesPowerOfTen(from a: Int, to b: Int) -> Bool {
        var p = 1
        while p <= b {
            if a < p { return true }
            p *= 10
        }
        return false
    }
}

/// What takes messages out of an outbox (the uplink): told after each accepted append, so it can wake up.
protocol OutboxConsumer: AnyObject, Sendable {
    func outboxDidAppend()
}

private struct ConsumerReference {
    weak var value: (any OutboxConsumer)?
}
