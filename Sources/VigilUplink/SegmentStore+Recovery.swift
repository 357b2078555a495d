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

    /// Opens (or creates) `dir`, locks it, and recovers every segment. Nil when the directory cannot be
    /// used at all (logged: the outbox keeps to memory). A read-only directory, or one whose active segment
    /// cannot be opened, still gives its entries and is tried again later (`writable` false).
    static func open(_ dir: String, settings: Outbox.Settings, logger: Logger) -> (SegmentStore, Recovered)? {
        func giveUp(_ what: String, _ e: Errno) {
            logger.error("outbox \(dir): cannot \(what): \(FileIO.strerror(e.rawValue)); keeping events in memory only (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes; lost if the agent stops while the broker is away)")
        }
        if let e = makeDirectories(dir) { giveUp("create the directory", Errno(rawValue: e)); return nil }
        let directory: FileDescriptor
        do { directory = try FileIO.open(dir, .readOnly, options: [.directory]) } catch {
            giveUp("open the directory", error.errno)
            return nil
        }
        var writable = true
        var lock: FileDescriptor
        do { lock = try FileIO.open(dir + "/lock", .readWrite, options: [.create], permissions: filePermissions) } catch {
            guard error.errno == .readOnlyFileSystem || error.errno == .permissionDenied,
                  let readOnly = try? FileIO.open(dir + "/lock", .readOnly) else {
                try? directory.close()
                giveUp("open \(dir)/lock", error.errno)
                return nil
            }
            writable = false
            lock = readOnly
        }
        if flock(lock.rawValue, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            try? lock.close()
            try? directory.close()
            if e == EWOULDBLOCK {
                logger.error("outbox \(dir) is in use by another vigil process; keeping events in memory only (give each agent its own mqtt.outbox.dir)")
                return nil
            }
            giveUp("lock \(dir)/lock", Errno(rawValue: e))
            return nil
        }
        var store = SegmentStore(path: dir, settings: settings, logger: logger, directory: directory, lock: lock)
        let recovered = store.recover(removingEmpty: writable)
        var live: [UInt64: Int] = [:]
        for e in recovered.entries { live[e.segment, default: 0] += 1 }
        if !recovered.entries.isEmpty {
            logger.notice("outbox \(dir): \(recovered.entries.count) unacknowledged message(s) recovered from \(store.segments.count) segment file(s); they are sent first")
        }
        guard writable else {
            store.failedAt = ContinuousClock.now
            logger.error("outbox \(dir) is read-only; keeping new events in memory (at most \(settings.maxEvents) events, \(settings.maxBytes) bytes). Retrying the disk every \(Int(settings.diskRetry)) s")
            return (store, recovered)
        }
        // Continue the newest segment if it has room, else start one.
        if let last = store.segments.last, last.size < settings.segmentBytes {
            do { store.segments[store.segments.count - 1].fd = try FileIO.open(last.path, .writeOnly, options: [.append]) } catch {
                store.failedAt = ContinuousClock.now
                giveUp("open \(last.path) for writing", error.errno)
                return (store, recovered)
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
                return (store, recovered)
            }
            store.syncDirectory()
        }
        store.writable = true
        // Drop segments emptied before the last stop.
        store.reclaim(live: live)
        return (store, recovered)
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
            guard let firstID = scan.firstID else {
                // Too short for its header (a power cut right after creating it) or not ours.
                if bytes.count > OutboxFormat.headerSize {
                    logger.error("outbox: \(path) is not an outbox segment (bad header); moved aside as \(path).corrupt")
                    _ = rename(path, path + ".corrupt")
                } else if removingEmpty {
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
                if removingEmpty { _ = Interrupts.retry { truncate(path, off_t(scan.validEnd)) } }
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
