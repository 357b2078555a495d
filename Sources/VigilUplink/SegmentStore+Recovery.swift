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

extension SegmentStore {
    /// What a directory held at start: the live entries, oldest first, and the highest id ever given.
    struct Recovered {
        var entries: [OutboundQueue.Entry] = []
        var lastID: UInt64 = 0
    }

    /// What opening a directory gave.
    enum Opened {
        case store(SegmentStore, Recovered)
        /// Another process holds the directory's lock (its pid, when the lock file names it).
        case held(pid: Int32?)
        /// The directory cannot be used at all (logged).
        case unusable
    }

    /// Opens (or creates) `dir`, locks it, and recovers every segment. `.unusable` when the directory cannot
    /// be used at all (logged: the outbox keeps to memory); `.held` when another process has it locked.
    /// A read-only directory, or one whose active segment cannot be opened, still gives its entries and is
    /// tried again later (`writable` false).
    static func open(_ dir: String, settings: Outbox.Settings, logger: Logger) -> Opened {
        func giveUp(_ what: String, _ e: Errno) {
            logger.error("outbox \(dir): cannot \(what): \(FileIO.strerror(e.rawValue)); keeping events in memory only (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes; lost if the agent stops while the broker is away)")
        }
        if let e = makeDirectories(dir) { giveUp("create the directory", Errno(rawValue: e)); return .unusable }
        let directory: FileDescriptor
        do { directory = try FileIO.open(dir, .readOnly, options: [.directory]) } catch {
            giveUp("open the directory", error.errno)
            return .unusable
        }
        let lock: FileLock
        do { lock = try FileLock.acquire(dir + "/lock") } catch {
            try? directory.close()
            switch error {
            case .held(_, let pid): return .held(pid: pid)
            case .io(let e): giveUp("\(e.operation) \(e.path)", e.errno); return .unusable
            }
        }
        // A lock file that could only be opened read-only means a read-only directory.
        let writable = access(dir, W_OK) == 0
        var store = SegmentStore(path: dir, settings: settings, logger: logger, directory: directory, lock: lock)
        let recovered = store.recover(removingEmpty: writable)
        var live: [UInt64: Int] = [:]
        for e in recovered.entries { live[e.segment, default: 0] += 1 }
        let lost = store.recoveryLosses
        if lost != RecoveryLosses() {
            logger.error("outbox \(dir): recovery lost \(lost.records) record(s) (\(lost.damagedRecords) in \(lost.damagedBytes) damaged byte(s), \(lost.impossibleIDs) with an impossible id); \(lost.segmentsSetAside) file(s) set aside as .corrupt")
        }
        if !recovered.entries.isEmpty {
            logger.notice("outbox \(dir): \(recovered.entries.count) unacknowledged message(s) recovered from \(store.segments.count) segment file(s); they are sent first")
        }
        guard writable else {
            store.failedAt = ContinuousClock.now
            logger.error("outbox \(dir) is read-only; keeping new events in memory (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes). Retrying the disk every \(Int(settings.diskRetry)) s")
            return .store(store, recovered)
        }
        // Continue the newest segment if it has room, else start one.
        if let last = store.segments.last, last.size < settings.segmentBytes {
            do { store.segments[store.segments.count - 1].fd = try FileIO.open(last.path, .writeOnly, options: [.append]) } catch {
                store.failedAt = ContinuousClock.now
                giveUp("open \(last.path) for writing", error.errno)
                return .store(store, recovered)
            }
        } else {
            let number = (store.segments.last?.number ?? 0) + 1
            let path = segmentPath(dir, number)
            let header = OutboxFormat.header(firstID: recovered.lastID + 1)
            do throws(FileIOError) {
                let fd = try FileIO.open(path, .writeOnly, options: [.create, .truncate, .append], permissions: filePermissions)
                do throws(FileIOError) { try FileIO.writeAll(fd, header, path: path) } catch {
                    try? fd.close()
                    _ = unlink(path)
                    throw error
                }
                store.segments.append(SegmentFile(number: number, path: path, size: header.count, fd: fd))
            } catch {
                store.failedAt = ContinuousClock.now
                giveUp("create \(path)", error.errno)
                return .store(store, recovered)
            }
            store.syncDirectory()
        }
        store.writable = true
        // Drop segments emptied before the last stop.
        store.reclaim(live: live)
        return .store(store, recovered)
    }

    /// Reads every segment, oldest first, and replays its records. Cuts off torn tails and sets aside files
    /// that are not segments (when `removingEmpty`, also deletes segments too short for their header).
    private mutating func recover(removingEmpty: Bool) -> Recovered {
        var numbers: [UInt64] = []
        if let directory, let d = fdopendir(dup(directory.rawValue)) {
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
        for n in numbers {
            let path = Self.segmentPath(self.path, n)
            let bytes: [UInt8]
            do { bytes = try FileIO.read(path) } catch {
                logger.error("outbox: cannot read \(path): \(error.reason); skipping it")
                continue
            }
            let scan = OutboxFormat.scan(bytes)
            if scan.firstID == nil && !scan.headerDamaged {
                // Too short for its header: a power cut right after creating it.
                if removingEmpty { _ = unlink(path) }
                continue
            }
            if let firstID = scan.firstID { maxID = max(maxID, firstID > 0 ? firstID - 1 : 0) }
            var impossibleIDs = 0
            for record in scan.records {
                switch record {
                case .entry(let id, let message):
                    // Checksum-valid but beyond any id ever given: damage or forgery; dropped, counted.
                    guard id <= OutboxFormat.maxID else { impossibleIDs += 1; continue }
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
            var losses = RecoveryLosses(damagedBytes: scan.skipped.reduce(0) { $0 + $1.length } + scan.tornTail,
                                        damagedRecords: scan.lostRecords, impossibleIDs: impossibleIDs)
            for skip in scan.skipped {
                logger.error("outbox: \(path): \(skip.length) damaged byte(s) at offset \(skip.offset) skipped; the records around them are intact")
            }
            if scan.tornTail > 0 {
                logger.warning("outbox: \(path): incomplete or damaged tail of \(scan.tornTail) byte(s) at offset \(scan.validEnd) cut off (a write interrupted by a power cut or crash)")
                if removingEmpty && !scan.headerDamaged && impossibleIDs == 0 {
                    _ = Interrupts.retry { truncate(path, off_t(scan.validEnd)) }
                }
            }
            if scan.headerDamaged || impossibleIDs > 0 {
                // Not to be appended to nor trusted again: kept aside for a look; its intact records live on
                // (the outbox rewrites them into a fresh segment).
                losses.damagedBytes += scan.headerDamaged ? OutboxFormat.headerSize : 0
                losses.segmentsSetAside = 1
                let why = scan.headerDamaged ? "damaged header" : "\(impossibleIDs) record(s) with an impossible id dropped"
                logger.error("outbox: \(path): \(why); \(scan.records.count - impossibleIDs) record(s) recovered by their own checksums; file moved aside as \(path).corrupt")
                _ = rename(path, path + ".corrupt")
                for (id, entry) in live where entry.segment == n { live[id]!.segment = 0 }
                recoveryLosses.add(losses)
                continue
            }
            recoveryLosses.add(losses)
            segments.append(SegmentFile(number: n, path: path, size: scan.validEnd, fd: nil))
        }
        var recovered = Recovered(lastID: maxID)
        for id in live.keys.sorted() {
            let (m, segment) = live[id]!
            recovered.entries.append(OutboundQueue.Entry(id: id, message: m, segment: segment, size: OutboxFormat.entrySize(m)))
        }
        return recovered
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
}
