import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock(2)` on a lock file, held for as long as the value lives (or until `release`), with
/// the holder's process id written into the file so a second process can say who holds it.
///
/// The lock is on the open file description: it ends when the process ends, however it ends, so a
/// killed agent never leaves a stale lock behind.
public final class FileLock: Sendable {
    public let path: String
    /// Nil after `release`.
    private let descriptor: Mutex<FileDescriptor?>

    /// Why a lock could not be taken.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Another process holds it; its pid as written in the file (nil when it cannot be read).
        case held(path: String, pid: Int32?)
        /// The lock file cannot be opened or locked.
        case io(FileIOError)

        public var description: String {
            switch self {
            case .held(let path, let pid):
                return "\(path) is held by another process (\(pid.map { "pid \($0)" } ?? "pid unknown"))"
            case .io(let error):
                return error.description
            }
        }
    }

    private init(path: String, descriptor: FileDescriptor) {
        self.path = path; self.descriptor = Mutex(descriptor)
    }

    /// Opens (or creates, mode 0640) `path`, takes `LOCK_EX | LOCK_NB` and writes this process's id into it.
    /// On a read-only file system the file is opened read-only and locked without writing the pid.
    public static func acquire(_ path: String) throws(Failure) -> FileLock {
        var writable = true
        let fd: FileDescriptor
        do { fd = try FileIO.open(path, .readWrite, options: [.create], permissions: FilePermissions(rawValue: 0o640)) } catch {
            guard error.errno == .readOnlyFileSystem || error.errno == .permissionDenied,
                  let readOnly = try? FileIO.open(path, .readOnly) else { throw .io(error) }
            writable = false
            fd = readOnly
        }
        // A lock this process released a moment ago can still be held by a child being spawned (it
        // shares the open file description until its exec closes it): wait that out, briefly, but
        // never for another process's lock.
        var attempts = 0
        while Interrupts.retry({ flock(fd.rawValue, LOCK_EX | LOCK_NB) }) != 0 {
            let e = errno
            if e == EWOULDBLOCK, attempts < 200, holder(path) == getpid() {
                attempts += 1
                usleep(10_000)
                continue
            }
            try? fd.close()
            if e == EWOULDBLOCK { throw .held(path: path, pid: holder(path)) }
            throw .io(FileIOError(path: path, operation: "flock", errno: Errno(rawValue: e)))
        }
        if writable {
            // Best effort: the lock itself is what excludes; the pid only names the holder.
            _ = try? fd.resize(to: 0)
            _ = try? fd.writeAll(toAbsoluteOffset: 0, Array("\(getpid())\n".utf8))
        }
        return FileLock(path: path, descriptor: fd)
    }

    /// The pid written in a lock file, if it holds one.
    public static func holder(_ path: String) -> Int32? {
        guard let bytes = try? FileIO.readPrefix(path, capacity: 32) else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.flatMap { Int32($0) }
    }

    deinit { release() }

    /// Releases the lock (closing the descriptor); safe to call twice. The file stays.
    public func release() {
        descriptor.withLock { fd in
            try? fd?.close()
            fd = nil
        }
    }
}
