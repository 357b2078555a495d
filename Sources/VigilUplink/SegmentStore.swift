import Logging
import SystemPackage
import VigilCore
import VigilIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One segment file of the outbox.
struct SegmentFile {
    var number: UInt64
    var path: String
    var size: Int
    /// Open for appending (only the newest segment, while the disk works), else nil.
    var fd: FileDescriptor?
}

/// What the outbox's recovery could not keep: counted in `Outbox.Stats`, logged one line per file.
public struct RecoveryLosses: Sendable, Hashable {
    /// Bytes skipped or cut off: damaged stretches, torn tails, damaged headers.
    public var damagedBytes = 0
    /// Records in those bytes (the record starts found in them, at least one per damaged stretch).
    public var damagedRecords = 0
    /// Checksum-valid records with an impossible id (damage or forgery), dropped.
    public var impossibleIDs = 0
    /// Segment files moved aside as `.corrupt` (their intact records were kept).
    public var segmentsSetAside = 0

    public init(damagedBytes: Int = 0, damagedRecords: Int = 0, impossibleIDs: Int = 0, segmentsSetAside: Int = 0) {
        self.damagedBytes = damagedBytes; self.damagedRecords = damagedRecords
        self.impossibleIDs = impossibleIDs; self.segmentsSetAside = segmentsSetAside
    }

    /// Messages lost: damaged records plus dropped ones.
    public var records: Int { damagedRecords + impossibleIDs }

    mutating func add(_ o: RecoveryLosses) {
        damagedBytes += o.damagedBytes; damagedRecords += o.damagedRecords
        impossibleIDs += o.impossibleIDs; segmentsSetAside += o.segmentsSetAside
    }
}

/// The outbox's files: append-only segment files (see `OutboxFormat`) in one directory held with `flock`.
///
/// Not thread-safe: the outbox calls it under its lock, except `run(_:)`, which does the slow `fdatasync`
/// outside it. Any failure to write logs one line and stops the writing (`writable` false): the outbox
/// carries on in memory, and `rewrite` brings the live entries back to disk later.
struct SegmentStore {
    let path: String
    let settings: Outbox.Settings
    let logger: Logger
    var directory: FileDescriptor?
    /// Holds the directory's `flock` for as long as the outbox is open.
    var lock: FileLock?
    /// Oldest first; when writable, the last one is being appended to.
    var segments: [SegmentFile] = []
    /// Records go to disk (false: a read-only directory, or after a failure).
    var writable = false
    /// When the disk last failed (tried again `settings.diskRetry` seconds later).
    var failedAt: ContinuousClock.Instant?
    /// Descriptors of sealed or deleted segments, closed by the next sync (after their data is flushed).
    private var retired: [FileDescriptor] = []
    // Durability: every successful write bumps appendSerial; syncedSerial is the last one known synced.
    private(set) var appendSerial = 0
    private(set) var syncedSerial = 0
    /// `write(2)` calls, bytes written and `fdatasync` calls since start.
    private(set) var writes = 0
    private(set) var bytesWritten = 0
    private(set) var syncs = 0
    /// What recovery at start found damaged and could not keep.
    var recoveryLosses = RecoveryLosses()
    /// Test hook: writes fail with this errno, as a full or broken disk would.
    var injectedFailure: Errno?
    private var scratch: [UInt8] = []

    static let filePermissions = FilePermissions(rawValue: 0o640)

    init(path: String, settings: Outbox.Settings, logger: Logger, directory: FileDescriptor, lock: FileLock) {
        self.path = path; self.settings = settings; self.logger = logger; self.directory = directory; self.lock = lock
    }

    static func segmentPath(_ dir: String, _ number: UInt64) -> String {
        var hex = String(number, radix: 16)
        while hex.count < 16 { hex = "0" + hex }
        return dir + "/" + hex + ".seg"
    }

    /// The segment new entries are recorded in (0: none, they are in memory only).
    var activeSegment: UInt64 { writable ? segments.last?.number ?? 0 : 0 }
    var diskBytes: Int { segments.reduce(0) { $0 + $1.size } }

    // MARK: - Records

    /// Records the new entries (`ids` for `messages`, except those among `dropped`) and the removal of the
    /// older entries the bounds dropped, in one write. Returns the write's ticket for `takeSyncJob`, nil
    /// when nothing was written.
    mutating func recordAppend(_ messages: [OutboundMessage], ids: Range<UInt64>, dropped: [OutboundQueue.Entry]) -> Int? {
        guard writable else { return nil }
        let droppedIDs = Set(dropped.map(\.id))
        scratch.removeAll(keepingCapacity: true)
        for (id, m) in zip(ids, messages) where !droppedIDs.contains(id) {
            OutboxFormat.appendEntry(id: id, m, to: &scratch)
        }
        OutboxFormat.appendRemoval(dropped.map(\.id).filter { !ids.contains($0) }, reason: .dropped, to: &scratch)
        guard !scratch.isEmpty, write(scratch, what: "write") else { return nil }
        return appendSerial
    }

    /// Records that entries are gone. Not synced on purpose: a lost removal record means a duplicate after a
    /// power cut, never a loss.
    mutating func recordRemoval(_ ids: [UInt64], reason: OutboxFormat.RemovalReason) {
        guard writable, !ids.isEmpty else { return }
        scratch.removeAll(keepingCapacity: true)
        OutboxFormat.appendRemoval(ids, reason: reason, to: &scratch)
        _ = write(scratch, what: "write")
    }

    /// Writes `bytes` at the end of the active segment. On failure cuts off what got out, logs once and
    /// stops writing.
    private mutating func write(_ bytes: [UInt8], what: String) -> Bool {
        guard writable, let seg = segments.last, let fd = seg.fd else { return false }
        if let injectedFailure { degrade(injectedFailure, what: what); return false }
        do { try FileIO.writeAll(fd, bytes, path: seg.path) } catch {
            try? fd.resize(to: Int64(seg.size))
            degrade(error.errno, what: what)
            return false
        }
        segments[segments.count - 1].size += bytes.count
        writes += 1
        bytesWritten += bytes.count
        appendSerial += 1
        return true
    }

    /// Stops using the disk: one log line, descriptors handed to the next sync to close.
    mutating func degrade(_ e: Errno, what: String) {
        guard writable else { return }
        for i in segments.indices {
            if let fd = segments[i].fd { retired.append(fd) }
            segments[i].fd = nil
        }
        writable = false
        failedAt = ContinuousClock.now
        logger.error("outbox \(path): cannot \(what): \(FileIO.strerror(e.rawValue)); keeping events in memory from now on (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes; lost if the agent stops before the disk works again). Retrying the disk every \(Int(settings.diskRetry)) s")
    }

    // MARK: - Segments

    /// Starts a new segment when `incoming` bytes would take the active one past `segmentBytes`.
    mutating func rotateIfNeeded(incoming: Int, nextID: UInt64) {
        guard writable, let last = segments.last else { return }
        if last.size + incoming <= settings.segmentBytes || last.size <= OutboxFormat.headerSize { return }
        guard let segment = createSegment(number: last.number + 1, firstID: nextID) else { return }
        // The sealed segment's descriptor is closed by the next sync, after its data is flushed.
        let sealed = segments.count - 1
        if let fd = segments[sealed].fd { retired.append(fd) }
        segments[sealed].fd = nil
        segments.append(segment)
    }

    /// Creates segment `number` with its header, and makes its directory entry durable.
    private mutating func createSegment(number: UInt64, firstID: UInt64) -> SegmentFile? {
        let file = Self.segmentPath(path, number)
        let fd: FileDescriptor
        do { fd = try FileIO.open(file, .writeOnly, options: [.create, .truncate, .append], permissions: Self.filePermissions) } catch {
            degrade(error.errno, what: "create \(file)")
            return nil
        }
        let header = OutboxFormat.header(firstID: firstID)
        do { try FileIO.writeAll(fd, header, path: file) } catch {
            try? fd.close()
            _ = unlink(file)
            degrade(error.errno, what: "write \(file)")
            return nil
        }
        syncDirectory()
        writes += 1
        bytesWritten += header.count
        return SegmentFile(number: number, path: file, size: header.count, fd: fd)
    }

    /// Deletes the oldest segments while they hold nothing live (never the active one).
    mutating func reclaim(live: [UInt64: Int]) {
        guard writable else { return }
        while segments.count > 1, live[segments[0].number, default: 0] <= 0 {
            let old = segments.removeFirst()
            if let fd = old.fd { retired.append(fd) }
            _ = unlink(old.path)
        }
    }

    /// Past twice `maxBytes` on disk (removals cannot free space inside a file), the live entries are
    /// worth rewriting into a fresh segment.
    func needsCompaction(liveBytes: Int) -> Bool {
        guard writable else { return false }
        let disk = diskBytes
        return disk > max(2 * settings.maxBytes, 4 * settings.segmentBytes) && disk > 2 * liveBytes
    }

    /// Writes every live entry into a new segment, syncs it, then deletes every older segment. Used to
    /// compact and to come back to disk after a failure. Returns the new segment's number; nil (and
    /// nothing deleted) when it fails.
    ///
    /// `freeFirst` (coming back after a failure, maybe a full disk) first deletes the segments that hold
    /// nothing live, to make room; a crash in between may then bring back an acknowledged message (a
    /// duplicate), never lose one.
    mutating func rewrite(_ entries: [OutboundQueue.Entry], nextID: UInt64, live: [UInt64: Int], freeFirst: Bool = false) -> UInt64? {
        if freeFirst {
            segments.removeAll { seg in
                guard live[seg.number, default: 0] <= 0 else { return false }
                if let fd = seg.fd { retired.append(fd) }
                _ = unlink(seg.path)
                return true
            }
        }
        guard directory != nil else { return nil }
        let number = (segments.last?.number ?? 0) + 1
        let file = Self.segmentPath(path, number)
        if let injectedFailure { return failRewrite(injectedFailure, file: file, fd: nil) }
        let fd: FileDescriptor
        do { fd = try FileIO.open(file, .writeOnly, options: [.create, .truncate, .append], permissions: Self.filePermissions) } catch {
            return failRewrite(error.errno, file: file, fd: nil)
        }
        var bytes = OutboxFormat.header(firstID: nextID)
        var written = 0
        do throws(FileIOError) {
            for e in entries {
                OutboxFormat.appendEntry(id: e.id, e.message, to: &bytes)
                if bytes.count >= 1 << 20 {
                    try FileIO.writeAll(fd, bytes, path: file)
                    written += bytes.count
                    bytes.removeAll(keepingCapacity: true)
                }
            }
            try FileIO.writeAll(fd, bytes, path: file)
            written += bytes.count
            try FileIO.sync(fd, path: file)
        } catch {
            return failRewrite(error.errno, file: file, fd: fd)
        }
        syncDirectory()
        // The new segment holds everything live: the old ones can go.
        for old in segments {
            if let fd = old.fd { retired.append(fd) }
            _ = unlink(old.path)
        }
        segments = [SegmentFile(number: number, path: file, size: written, fd: fd)]
        writes += 1
        bytesWritten += written
        syncs += 1
        appendSerial += 1
        syncedSerial = appendSerial
        writable = true
        failedAt = nil
        return number
    }

    private mutating func failRewrite(_ e: Errno, file: String, fd: FileDescriptor?) -> UInt64? {
        try? fd?.close()
        _ = unlink(file)
        if writable { degrade(e, what: "write \(file)") } else { failedAt = ContinuousClock.now }
        return nil
    }

    /// After a failure: whether `settings.diskRetry` seconds have passed (and the directory is still held);
    /// true marks the attempt.
    mutating func retryDue() -> Bool {
        guard !writable, let failed = failedAt, directory != nil, lock != nil,
              ContinuousClock.now - failed >= .seconds(settings.diskRetry) else { return false }
        failedAt = ContinuousClock.now
        return true
    }

    /// `fsync` on the directory, so a new file's entry survives a power cut.
    func syncDirectory() {
        if let directory { try? FileIO.sync(directory, path: path, metadata: true) }
    }

    // MARK: - Syncing

    /// What one sync has to do: `fdatasync` these descriptors, then close the retired ones.
    struct SyncJob {
        var target: Int
        var flush: [FileDescriptor]
        var close: [FileDescriptor]
    }

    /// The work that makes everything written so far durable; nil when what `ticket` names (or, without
    /// one, everything) already is and nothing waits to be closed.
    mutating func takeSyncJob(upTo ticket: Int?) -> SyncJob? {
        if let ticket, syncedSerial >= ticket { return nil }
        if syncedSerial >= appendSerial && retired.isEmpty { return nil }
        let open = writable ? segments.last?.fd.map { [$0] } ?? [] : []
        let closing = retired
        retired.removeAll()
        return SyncJob(target: appendSerial, flush: syncedSerial < appendSerial ? closing + open : [], close: closing)
    }

    /// Runs `job` (outside the outbox's lock). Returns the failure, if any.
    static func run(_ job: SyncJob, path: String) -> Errno? {
        var failure: Errno?
        for fd in job.flush {
            do { try FileIO.sync(fd, path: path) } catch {
                // A closed/unlinked segment's descriptor may be gone: that data is not needed.
                if !job.close.contains(fd) { failure = error.errno }
            }
        }
        for fd in job.close { try? fd.close() }
        return failure
    }

    mutating func finishSync(_ job: SyncJob, failure: Errno?) {
        if let failure {
            degrade(failure, what: "fdatasync")
            return
        }
        syncedSerial = max(syncedSerial, job.target)
        if !job.flush.isEmpty { syncs += 1 }
    }

    /// Closes every descriptor (the lock's releases the `flock`) and stops writing.
    mutating func closeFiles() {
        for fd in retired { try? fd.close() }
        retired.removeAll()
        for i in segments.indices {
            try? segments[i].fd?.close()
            segments[i].fd = nil
        }
        try? directory?.close()
        lock?.release()
        directory = nil
        lock = nil
        writable = false
    }
}
