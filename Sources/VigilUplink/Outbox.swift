import Logging
import Synchronization
import VigilCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
///   oldest waiting event; drops are counted per kind.
/// - Any disk failure (full, read-only, I/O error, directory locked by another agent) logs one line and the
///   outbox carries on in memory with the same bounds; it tries the disk again every minute.
///
/// Thread-safe. Producers call `append`; the uplink's network thread takes, acknowledges and puts back.
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
        public var storage: Storage
        /// Dropped by the bounds (or appended after `close`), per kind, since start.
        public var droppedSummaries: Int
        public var droppedEvents: Int
        public var appended: Int
        /// Removed because the broker acknowledged them (or they were refused as malformed).
        public var removed: Int
        /// Entries found on disk at start.
        public var recovered: Int
        /// Segment files and their total size.
        public var segments: Int
        public var diskBytes: Int
        /// `write(2)` calls, bytes written and `fdatasync` calls since start.
        public var writes: Int
        public var bytesWritten: Int
        public var syncs: Int
        public var dropped: Int { droppedSummaries + droppedEvents }
    }

    /// One message taken for sending.
    struct Taken: Equatable {
        var id: UInt64
        var message: OutboundMessage
        /// Older than the current connection: subject to the drain rate.
        var backlog: Bool
    }

    public let settings: Settings
    private let logger: Logger
    private let state: Mutex<State>
    /// Held while a `fdatasync` runs: one at a time, and file descriptors are closed only under it.
    private let syncGate = Mutex<Void>(())
    private let syncWake = WakePipe()
    private let syncThread = Mutex<pthread_t?>(nil)

    /// Opens (or creates) `settings.directory` and recovers what it holds. Never fails: on any problem the
    /// outbox logs why and keeps to memory.
    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var s = State()
        if let dir = settings.directory {
            Self.open(directory: dir, settings: settings, into: &s, logger: logger)
        }
        let onDisk = s.store != nil
        state = Mutex(s)
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

    /// Adds `message` and applies the bounds. On return the record has been written (and synced, under
    /// `every_event`). Returns how many entries the bounds dropped (possibly `message` itself).
    @discardableResult
    public func append(_ message: OutboundMessage) -> Int {
        append(contentsOf: [message])
    }

    /// Adds several messages with one write (and at most one sync). Returns how many entries were dropped.
    @discardableResult
    public func append(contentsOf messages: [OutboundMessage]) -> Int {
        guard !messages.isEmpty else { return 0 }
        let (ticket, dropped, droppedBefore) = state.withLock { s -> (Int?, Int, Int) in
            let before = s.droppedSummaries + s.droppedEvents
            if s.closed {
                for m in messages { if m.priority == .summary { s.droppedSummaries += 1 } else { s.droppedEvents += 1 } }
                return (nil, messages.count, before)
            }
            retryDiskIfDue(&s)
            return appendLocked(&s, messages, before: before)
        }
        if let ticket {
            if settings.sync == .everyEvent {
                syncNow(upTo: ticket)
            } else if settings.sync == .batch {
                syncWake.signal()
            }
        }
        if dropped > 0 {
            let total = droppedBefore + dropped
            if Self.crossesPowerOfTen(from: droppedBefore, to: total) {
                logger.warning("outbox full (max_events \(settings.maxEvents), max_bytes \(settings.maxBytes)): \(total) message(s) dropped so far, oldest summaries first, then oldest events")
            }
        }
        return dropped
    }

    private func appendLocked(_ s: inout State, _ messages: [OutboundMessage], before: Int) -> (Int?, Int, Int) {
        let total = messages.reduce(0) { $0 + OutboxFormat.entrySize($1) }
        if s.writable { rotateIfNeeded(&s, incoming: total) }
        let segment = s.writable ? s.store!.segments.last!.number : 0
        var newIDs: [UInt64] = []
        for m in messages {
            let id = s.nextID
            s.nextID += 1
            newIDs.append(id)
            s.queue.append(OutboundQueue.Entry(id: id, message: m, segment: segment, size: OutboxFormat.entrySize(m)))
            s.liveBySegment[segment, default: 0] += 1
            s.appended += 1
        }
        var dropped: [UInt64] = []
        while s.queue.count > settings.maxEvents || s.queue.bytes > settings.maxBytes,
              let victim = s.queue.dropCandidate() {
            s.queue.remove(victim.id)
            s.liveBySegment[victim.segment, default: 1] -= 1
            if victim.message.priority == .summary { s.droppedSummaries += 1 } else { s.droppedEvents += 1 }
            dropped.append(victim.id)
        }
        var ticket: Int?
        if s.writable {
            let droppedSet = Set(dropped)
            s.scratch.removeAll(keepingCapacity: true)
            for (id, m) in zip(newIDs, messages) where !droppedSet.contains(id) {
                OutboxFormat.appendEntry(id: id, m, to: &s.scratch)
            }
            OutboxFormat.appendRemoval(dropped.filter { !newIDs.contains($0) }, reason: .dropped, to: &s.scratch)
            if !s.scratch.isEmpty, writeLocked(&s, s.scratch, what: "write") {
                ticket = s.appendSerial
            }
            reclaimLocked(&s)
            compactIfNeeded(&s)
        }
        return (ticket, dropped.count, before)
    }

    // MARK: - Uplink side

    /// A new connection: everything in flight goes back to waiting, and what is queued now is backlog.
    /// Returns how many entries were in flight.
    @discardableResult
    func beginSession() -> Int {
        state.withLock { s in
            let n = s.queue.clearInflight()
            s.liveBoundary = s.nextID
            s.liveCursor = s.nextID
            s.backlogCursor = 0
            return n
        }
    }

    /// The connection ended: in-flight entries go back to waiting. Returns how many.
    @discardableResult
    func endSession() -> Int {
        state.withLock { s in
            let n = s.queue.clearInflight()
            s.liveCursor = s.liveBoundary
            s.backlogCursor = 0
            return n
        }
    }

    /// The next entry to publish, marked in flight: the oldest one when `backlogAllowed` (so order holds while
    /// the drain rate allows), else the oldest live one (born during this connection), which may overtake a
    /// rate-limited backlog.
    func next(backlogAllowed: Bool) -> Taken? {
        state.withLock { s in
            if backlogAllowed, let e = s.queue.firstWaiting(from: s.backlogCursor, below: s.liveBoundary) {
                s.queue.setInflight(e.id, true)
                s.backlogCursor = e.id + 1
                return Taken(id: e.id, message: e.message, backlog: true)
            }
            if let e = s.queue.firstWaiting(from: s.liveCursor) {
                s.queue.setInflight(e.id, true)
                s.liveCursor = e.id + 1
                return Taken(id: e.id, message: e.message, backlog: false)
            }
            return nil
        }
    }

    /// Whether a live entry, or a backlog entry, waits to be sent.
    func waiting() -> (live: Bool, backlog: Bool) {
        state.withLock { s in
            (s.queue.firstWaiting(from: s.liveCursor) != nil,
             s.queue.firstWaiting(from: s.backlogCursor, below: s.liveBoundary) != nil)
        }
    }

    /// Puts a taken entry back to waiting (its publish failed).
    func putBack(_ id: UInt64) {
        state.withLock { s in
            s.queue.setInflight(id, false)
            if id >= s.liveBoundary { s.liveCursor = min(s.liveCursor, id) } else { s.backlogCursor = min(s.backlogCursor, id) }
        }
    }

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
            var gone: [UInt64] = []
            for id in ids {
                guard let e = s.queue.remove(id) else { continue }
                s.liveBySegment[e.segment, default: 1] -= 1
                gone.append(id)
                if reason == .dropped {
                    if e.message.priority == .summary { s.droppedSummaries += 1 } else { s.droppedEvents += 1 }
                } else {
                    s.removed += 1
                }
            }
            guard s.writable, !gone.isEmpty else { return }
            s.scratch.removeAll(keepingCapacity: true)
            OutboxFormat.appendRemoval(gone, reason: reason, to: &s.scratch)
            // Not synced on purpose: a lost removal record means a duplicate after a power cut, never a loss.
            _ = writeLocked(&s, s.scratch, what: "write")
            reclaimLocked(&s)
            compactIfNeeded(&s)
        }
    }

    /// Nothing left: every entry acknowledged (or dropped).
    var isEmpty: Bool { state.withLock { $0.queue.isEmpty } }

    public var stats: Stats {
        state.withLock { s in
            Stats(events: s.queue.count, bytes: s.queue.bytes, inflight: s.queue.inflightCount,
                  storage: s.writable ? .disk : .memory,
                  droppedSummaries: s.droppedSummaries, droppedEvents: s.droppedEvents,
                  appended: s.appended, removed: s.removed, recovered: s.recovered,
                  segments: s.store?.segments.count ?? 0,
                  diskBytes: s.store?.segments.reduce(0) { $0 + $1.size } ?? 0,
                  writes: s.writes, bytesWritten: s.bytesWritten, syncs: s.syncs)
        }
    }

    /// Everything held, oldest first (tests and diagnostics).
    var messages: [OutboundMessage] { state.withLock { $0.queue.entries.map(\.message) } }

    // MARK: - Closing

    /// Syncs what was written, stops the sync thread and closes the files. Later appends are counted as
    /// dropped. Safe to call twice.
    public func close() {
        let thread = syncThread.withLock { t -> pthread_t? in defer { t = nil }; return t }
        state.withLock { $0.stopSync = true }
        if let thread {
            syncWake.signal()
            pthread_join(thread, nil)
        }
        syncNow(upTo: nil)
        syncGate.withLock { _ in
            state.withLock { s in
                guard !s.closed else { return }
                s.closed = true
                for fd in s.retiredFDs { _ = closeFD(fd) }
                s.retiredFDs.removeAll()
                if var store = s.store {
                    for i in store.segments.indices where store.segments[i].fd >= 0 {
                        _ = closeFD(store.segments[i].fd)
                        store.segments[i].fd = -1
                    }
                    if store.dirFD >= 0 { _ = closeFD(store.dirFD) }
                    if store.lockFD >= 0 { _ = closeFD(store.lockFD) } // releases the flock
                    store.dirFD = -1
                    store.lockFD = -1
                    s.store = store
                }
                s.writable = false
            }
        }
    }

    // MARK: - Syncing

    /// Makes everything written so far durable (`fdatasync` on the written segment files), unless what
    /// `ticket` names is already. Concurrent callers share one sync (group commit).
    func syncNow(upTo ticket: Int?) {
        syncGate.withLock { _ in
            let job = state.withLock { s -> (target: Int, fds: [Int32], close: [Int32])? in
                if let ticket, s.syncedSerial >= ticket { return nil }
                let open = s.writable ? (s.store?.segments.last.map { [$0.fd] } ?? []) : []
                if s.syncedSerial >= s.appendSerial && s.retiredFDs.isEmpty { return nil }
                let retired = s.retiredFDs
                s.retiredFDs.removeAll()
                let needSync = s.syncedSerial < s.appendSerial
                return (s.appendSerial, needSync ? retired + open : [], retired)
            }
            guard let job else { return }
            var failure: Int32 = 0
            for fd in job.fds where fd >= 0 {
                while fdatasync(fd) != 0 {
                    if errno == EINTR { continue }
                    // A closed/unlinked segment's descriptor may be gone: that data is not needed.
                    if job.close.contains(fd) { break }
                    failure = errno
                    break
                }
            }
            for fd in job.close { _ = closeFD(fd) }
            state.withLock { s in
                if failure == 0 {
                    s.syncedSerial = max(s.syncedSerial, job.target)
                    if !job.fds.isEmpty { s.syncs += 1 }
                } else if s.writable {
                    degradeLocked(&s, errno: failure, what: "fdatasync")
                }
            }
        }
    }

    private func startSyncThread() {
        // The thread keeps the outbox alive until `close` stops it.
        let thread: Threads.Handle
        do { thread = try Threads.start { [self] in syncLoop() } } catch {
            logger.error("outbox: could not start its sync thread (\(error)); syncing on every append instead")
            return
        }
        syncThread.withLock { $0 = thread }
    }

    private func syncLoop() {
        while true {
            switch settings.sync {
            case .interval:
                let deadline = ContinuousClock.now + .seconds(settings.syncInterval)
                while ContinuousClock.now < deadline, !state.withLock({ $0.stopSync }) {
                    let left = deadline - ContinuousClock.now
                    syncWake.wait(seconds: Double(left.components.seconds) + Double(left.components.attoseconds) / 1e18)
                }
            default:
                syncWake.wait(seconds: 1)
            }
            if state.withLock({ $0.stopSync }) { return }
            syncNow(upTo: nil)
            state.withLock { s in retryDiskIfDue(&s) }
        }
    }

    // MARK: - Files (all under the state lock)

    private func segmentPath(_ dir: String, _ number: UInt64) -> String {
        Self.segmentPath(dir, number)
    }

    static func segmentPath(_ dir: String, _ number: UInt64) -> String {
        var hex = String(number, radix: 16)
        while hex.count < 16 { hex = "0" + hex }
        return dir + "/" + hex + ".seg"
    }

    /// Test hook: the next writes fail with this errno (0: no failure), as a full or broken disk would.
    func injectWriteFailure(_ code: Int32) {
        state.withLock { $0.injectedFailure = code }
    }

    /// Writes `bytes` at the end of the active segment. On failure cuts off what got out, logs once and
    /// turns to memory.
    private func writeLocked(_ s: inout State, _ bytes: [UInt8], what: String) -> Bool {
        guard s.writable, let seg = s.store?.segments.last, seg.fd >= 0 else { return false }
        var done = 0
        var failure: Int32 = s.injectedFailure
        if failure != 0 { degradeLocked(&s, errno: failure, what: what); return false }
        bytes.withUnsafeBytes { buf in
            while done < buf.count {
                let n = write(seg.fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { failure = EIO; return }
                done += n
            }
        }
        if failure != 0 {
            if done > 0 { _ = ftruncate(seg.fd, off_t(seg.size)) }
            degradeLocked(&s, errno: failure, what: what)
            return false
        }
        s.store!.segments[s.store!.segments.count - 1].size += bytes.count
        s.writes += 1
        s.bytesWritten += bytes.count
        s.appendSerial += 1
        return true
    }

    private func rotateIfNeeded(_ s: inout State, incoming: Int) {
        guard let last = s.store?.segments.last else { return }
        if last.size + incoming <= settings.segmentBytes || last.size <= OutboxFormat.headerSize { return }
        let number = last.number + 1
        guard let seg = createSegment(&s, number: number, firstID: s.nextID) else { return }
        // The sealed segment's descriptor is closed by the next sync, after its data is flushed.
        let sealed = s.store!.segments.count - 1
        s.retiredFDs.append(s.store!.segments[sealed].fd)
        s.store!.segments[sealed].fd = -1
        s.store!.segments.append(seg)
    }

    /// Creates segment `number` with its header, and makes its directory entry durable.
    private func createSegment(_ s: inout State, number: UInt64, firstID: UInt64) -> SegmentFile? {
        guard let store = s.store else { return nil }
        let path = segmentPath(store.path, number)
        let fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o640)
        if fd < 0 {
            degradeLocked(&s, errno: errno, what: "create \(path)")
            return nil
        }
        let header = OutboxFormat.header(firstID: firstID)
        let n = header.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n != header.count {
            let e = n < 0 ? errno : ENOSPC
            _ = closeFD(fd)
            _ = unlink(path)
            degradeLocked(&s, errno: e, what: "write \(path)")
            return nil
        }
        _ = fsync(store.dirFD)
        s.writes += 1
        s.bytesWritten += header.count
        return SegmentFile(number: number, path: path, size: header.count, fd: fd)
    }

    /// Deletes the oldest segments while they hold nothing live (never the active one).
    private func reclaimLocked(_ s: inout State) {
        guard s.writable, var store = s.store else { return }
        var changed = false
        while store.segments.count > 1, s.liveBySegment[store.segments[0].number, default: 0] <= 0 {
            let old = store.segments.removeFirst()
            if old.fd >= 0 { s.retiredFDs.append(old.fd) }
            _ = unlink(old.path)
            s.liveBySegment[old.number] = nil
            changed = true
        }
        if changed { s.store = store }
    }

    /// Past twice `maxBytes` on disk, rewrites the live entries into a fresh segment.
    private func compactIfNeeded(_ s: inout State) {
        guard s.writable, let store = s.store else { return }
        let disk = store.segments.reduce(0) { $0 + $1.size }
        guard disk > max(2 * settings.maxBytes, 4 * settings.segmentBytes), disk > 2 * s.queue.bytes else { return }
        if rewriteLocked(&s) {
            logger.debug("outbox compacted: \(disk) bytes on disk to \(s.store?.segments.first?.size ?? 0)")
        }
    }

    /// Writes every live entry into a new segment, syncs it, then deletes every older segment. Used to
    /// compact and to come back to disk after a failure. False (and nothing deleted) when it fails.
    ///
    /// `freeFirst` (coming back after a failure, maybe a full disk) first deletes the segments that hold
    /// nothing live, to make room; a crash in between may then bring back an acknowledged message (a
    /// duplicate), never lose one.
    @discardableResult
    private func rewriteLocked(_ s: inout State, freeFirst: Bool = false) -> Bool {
        if freeFirst, var st = s.store {
            st.segments.removeAll { seg in
                guard s.liveBySegment[seg.number, default: 0] <= 0 else { return false }
                if seg.fd >= 0 { s.retiredFDs.append(seg.fd) }
                _ = unlink(seg.path)
                s.liveBySegment[seg.number] = nil
                return true
            }
            s.store = st
        }
        guard let store = s.store, store.dirFD >= 0 else { return false }
        let number = (store.segments.last?.number ?? 0) + 1
        let path = segmentPath(store.path, number)
        if s.injectedFailure != 0 { return failRewrite(&s, errno: s.injectedFailure, path: path, fd: -1) }
        let fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return failRewrite(&s, errno: errno, path: path, fd: -1) }
        var bytes = OutboxFormat.header(firstID: s.nextID)
        var written = 0
        func flush() -> Int32 {
            var done = 0
            let rc: Int32 = bytes.withUnsafeBytes { buf in
                while done < buf.count {
                    let n = write(fd, buf.baseAddress! + done, buf.count - done)
                    if n < 0 { if errno == EINTR { continue }; return errno }
                    if n == 0 { return EIO }
                    done += n
                }
                return 0
            }
            written += done
            bytes.removeAll(keepingCapacity: true)
            return rc
        }
        for e in s.queue.entries {
            OutboxFormat.appendEntry(id: e.id, e.message, to: &bytes)
            if bytes.count >= 1 << 20 {
                let rc = flush()
                if rc != 0 { return failRewrite(&s, errno: rc, path: path, fd: fd) }
            }
        }
        let rc = flush()
        if rc != 0 { return failRewrite(&s, errno: rc, path: path, fd: fd) }
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            return failRewrite(&s, errno: errno, path: path, fd: fd)
        }
        _ = fsync(store.dirFD)
        // The new segment holds everything live: the old ones can go.
        for old in store.segments {
            if old.fd >= 0 { s.retiredFDs.append(old.fd) }
            _ = unlink(old.path)
        }
        s.store!.segments = [SegmentFile(number: number, path: path, size: written, fd: fd)]
        s.queue.setSegment(number)
        s.liveBySegment = [number: s.queue.count]
        s.writes += 1
        s.bytesWritten += written
        s.syncs += 1
        s.appendSerial += 1
        s.syncedSerial = s.appendSerial
        s.writable = true
        s.failedAt = nil
        return true
    }

    private func failRewrite(_ s: inout State, errno e: Int32, path: String, fd: Int32) -> Bool {
        if fd >= 0 { _ = closeFD(fd) }
        _ = unlink(path)
        if s.writable { degradeLocked(&s, errno: e, what: "write \(path)") } else { s.failedAt = ContinuousClock.now }
        return false
    }

    /// Stops using the disk: one log line, descriptors handed to the next sync to close.
    private func degradeLocked(_ s: inout State, errno e: Int32, what: String) {
        guard s.writable, var store = s.store else { return }
        for i in store.segments.indices where store.segments[i].fd >= 0 {
            s.retiredFDs.append(store.segments[i].fd)
            store.segments[i].fd = -1
        }
        s.store = store
        s.writable = false
        s.failedAt = ContinuousClock.now
        logger.error("outbox \(store.path): cannot \(what): \(String(cString: strerror(e))); keeping events in memory from now on (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes; lost if the agent stops before the disk works again). Retrying the disk every \(Int(settings.diskRetry)) s")
    }

    /// After a disk failure, tries the disk again once `settings.diskRetry` seconds have passed.
    private func retryDiskIfDue(_ s: inout State) {
        guard !s.writable, !s.closed, let failed = s.failedAt, let store = s.store, store.dirFD >= 0, store.lockFD >= 0,
              ContinuousClock.now - failed >= .seconds(settings.diskRetry) else { return }
        s.failedAt = ContinuousClock.now
        if rewriteLocked(&s, freeFirst: true) {
            logger.notice("outbox \(store.path): writing to disk again; \(s.queue.count) event(s) saved")
        }
    }

    // MARK: - Opening and recovery

    private static func open(directory dir: String, settings: Settings, into s: inout State, logger: Logger) {
        func giveUp(_ what: String, _ e: Int32) {
            logger.error("outbox \(dir): cannot \(what): \(String(cString: strerror(e))); keeping events in memory only (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes; lost if the agent stops while the broker is away)")
        }
        if let e = makeDirectories(dir) { return giveUp("create the directory", e) }
        let dirFD = openFile(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { return giveUp("open the directory", errno) }
        var writable = true
        var lockFD = openFile(dir + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        if lockFD < 0 && (errno == EROFS || errno == EACCES) {
            writable = false
            lockFD = openFile(dir + "/lock", O_RDONLY | O_CLOEXEC)
        }
        guard lockFD >= 0 else {
            let e = errno
            _ = closeFD(dirFD)
            return giveUp("open \(dir)/lock", e)
        }
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            _ = closeFD(lockFD)
            _ = closeFD(dirFD)
            if e == EWOULDBLOCK {
                logger.error("outbox \(dir) is in use by another vigil process; keeping events in memory only (give each agent its own mqtt.outbox.dir)")
                return
            }
            return giveUp("lock \(dir)/lock", e)
        }
        s.store = Store(path: dir, dirFD: dirFD, lockFD: lockFD, segments: [])

        // Recover every segment, oldest first.
        var numbers: [UInt64] = []
        if let d = fdopendir(dup(dirFD)) {
            while let ent = readdir(d) {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name.hasSuffix(".seg"), name.count == 20, let n = UInt64(name.prefix(16), radix: 16) else { continue }
                numbers.append(n)
            }
            closedir(d)
        }
        numbers.sort()
        var live: [UInt64: (message: OutboundMessage, segment: UInt64)] = [:]
        var maxID: UInt64 = 0
        var segments: [SegmentFile] = []
        for n in numbers {
            let path = segmentPath(dir, n)
            guard let bytes = readWholeFile(path) else {
                logger.error("outbox: cannot read \(path): \(String(cString: strerror(errno))); skipping it")
                continue
            }
            let scan = OutboxFormat.scan(bytes)
            guard let firstID = scan.firstID else {
                // Too short for its header (a power cut right after creating it) or not ours.
                if bytes.count > OutboxFormat.headerSize {
                    logger.error("outbox: \(path) is not an outbox segment (bad header); moved aside as \(path).corrupt")
                    _ = rename(path, path + ".corrupt")
                } else if writable {
                    _ = unlink(path)
                }
                continue
            }
            maxID = max(maxID, firstID > 0 ? firstID - 1 : 0)
            for skip in scan.skipped {
                logger.error("outbox: \(path): \(skip.length) damaged byte(s) at offset \(skip.offset) skipped; the records around them are intact")
            }
            if scan.tornTail > 0 {
                logger.warning("outbox: \(path): incomplete or damaged tail of \(scan.tornTail) byte(s) at offset \(scan.validEnd) cut off (a write interrupted by a power cut or crash)")
                if writable { _ = truncate(path, off_t(scan.validEnd)) }
            }
            for record in scan.records {
                switch record {
                case .entry(let id, let message):
                    maxID = max(maxID, id)
                    if live[id] == nil { live[id] = (message, n) } else { live[id]!.segment = n }
                case .removal(_, let ranges):
                    for r in ranges {
                        if r.upperBound - r.lowerBound >= UInt64(live.count) {
                            for id in live.keys where r.contains(id) { live[id] = nil }
                        } else {
                            for id in r { live[id] = nil }
                        }
                    }
                }
            }
            segments.append(SegmentFile(number: n, path: path, size: scan.validEnd, fd: -1))
        }
        s.nextID = maxID + 1
        for id in live.keys.sorted() {
            let (m, seg) = live[id]!
            s.queue.append(OutboundQueue.Entry(id: id, message: m, segment: seg, size: OutboxFormat.entrySize(m)))
            s.liveBySegment[seg, default: 0] += 1
        }
        s.recovered = live.count
        s.store!.segments = segments
        if !live.isEmpty {
            logger.notice("outbox \(dir): \(live.count) unacknowledged message(s) recovered from \(segments.count) segment file(s); they are sent first")
        }
        guard writable else {
            s.failedAt = ContinuousClock.now
            logger.error("outbox \(dir) is read-only; keeping new events in memory (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes). Retrying the disk every \(Int(settings.diskRetry)) s")
            return
        }
        s.writable = true
        // Continue the newest segment if it has room, else start one.
        if let last = segments.last, last.size < settings.segmentBytes {
            let fd = openFile(last.path, O_WRONLY | O_APPEND | O_CLOEXEC)
            if fd >= 0 {
                s.store!.segments[s.store!.segments.count - 1].fd = fd
            } else {
                s.writable = false
                s.failedAt = ContinuousClock.now
                giveUp("open \(last.path) for writing", errno)
                return
            }
        } else {
            let number = (segments.last?.number ?? 0) + 1
            let path = segmentPath(dir, number)
            let fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o640)
            let header = OutboxFormat.header(firstID: s.nextID)
            let n = fd >= 0 ? header.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } : -1
            guard n == header.count else {
                let e = fd >= 0 && n >= 0 ? ENOSPC : errno
                if fd >= 0 { _ = closeFD(fd); _ = unlink(path) }
                s.writable = false
                s.failedAt = ContinuousClock.now
                giveUp("create \(path)", e)
                return
            }
            _ = fsync(dirFD)
            s.store!.segments.append(SegmentFile(number: number, path: path, size: header.count, fd: fd))
        }
        // Drop segments emptied before the last stop.
        var store = s.store!
        while store.segments.count > 1, s.liveBySegment[store.segments[0].number, default: 0] <= 0 {
            let old = store.segments.removeFirst()
            _ = unlink(old.path)
        }
        s.store = store
    }

    /// `mkdir -p` with mode 0750; nil on success, else errno.
    private static func makeDirectories(_ path: String) -> Int32? {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o750) != 0 && errno != EEXIST { return errno }
        }
        var st = stat()
        guard stat(path, &st) == 0 else { return errno }
        return (st.st_mode & S_IFMT) == S_IFDIR ? nil : ENOTDIR
    }

    private static func readWholeFile(_ path: String) -> [UInt8]? {
        let fd = openFile(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = closeFD(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
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

// MARK: - State

struct SegmentFile {
    var number: UInt64
    var path: String
    var size: Int
    /// Open for appending (only the newest segment), else -1.
    var fd: Int32
}

struct Store {
    var path: String
    var dirFD: Int32
    /// Holds the directory's `flock` for as long as the outbox is open.
    var lockFD: Int32
    /// Oldest first; when writable, the last one is being appended to.
    var segments: [SegmentFile]
}

private struct State {
    var queue = OutboundQueue()
    var nextID: UInt64 = 1
    var store: Store?
    /// Records go to disk (false: memory only, by choice or after a failure).
    var writable = false
    /// When the disk last failed (retried `settings.diskRetry` seconds later).
    var failedAt: ContinuousClock.Instant?
    var liveBySegment: [UInt64: Int] = [:]
    var closed = false
    var stopSync = false
    var scratch: [UInt8] = []
    var injectedFailure: Int32 = 0

    // Sending: entries with ids ≥ liveBoundary were born during the current connection.
    var liveBoundary: UInt64 = 0
    var liveCursor: UInt64 = 0
    var backlogCursor: UInt64 = 0

    // Durability: every successful write bumps appendSerial; syncedSerial is the last one known synced.
    var appendSerial = 0
    var syncedSerial = 0
    /// Descriptors of sealed or deleted segments, closed by the next sync (after their data is flushed).
    var retiredFDs: [Int32] = []

    var droppedSummaries = 0
    var droppedEvents = 0
    var appended = 0
    var removed = 0
    var recovered = 0
    var writes = 0
    var bytesWritten = 0
    var syncs = 0
}

private func closeFD(_ fd: Int32) -> Int32 { close(fd) }

private func openFile(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
