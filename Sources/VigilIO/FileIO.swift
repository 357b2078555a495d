import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

// Typed POSIX I/O in one place, over apple/swift-system: every EINTR retry, every whole-file read
// and every errno-to-error step of the agent goes through here instead of a hand-rolled loop.

/// A failed file operation: which file, which call, and the errno.
public struct FileIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// The C call that failed: `open`, `read`, `write`, `fstat`.
    public var operation: String
    public var errno: Errno
    /// Why the file was refused though every call succeeded; nil when a call failed.
    public var refusal: Refusal?

    /// A file the caller would not read.
    public enum Refusal: Sendable, Equatable {
        /// Larger than the caller allowed (`errno` is then EFBIG).
        case tooLarge(limit: Int)
        /// A directory, a device (/dev/zero), a FIFO or a socket where a file was wanted (`errno`
        /// is then EISDIR for a directory, else EINVAL).
        case notRegularFile(directory: Bool)
    }

    public init(path: String, operation: String, errno: Errno, refusal: Refusal? = nil) {
        self.path = path; self.operation = operation; self.errno = errno; self.refusal = refusal
    }

    /// The file was larger than the caller allowed.
    public var tooLarge: Bool { if case .tooLarge = refusal { return true } else { return false } }

    /// `No such file or directory`, `larger than the limit`, `Is a directory`, `not a regular file`.
    public var reason: String {
        switch refusal {
        case .tooLarge: return "larger than the limit"
        case .notRegularFile(directory: false): return "not a regular file"
        case .notRegularFile(directory: true), nil: return FileIO.strerror(errno.rawValue)
        }
    }
    public var description: String { "\(path): \(operation): \(reason)" }
}

public enum FileIO {
    /// The whole file, read with open(2)/read(2) until end of file; EINTR is retried.
    /// - Parameter maxBytes: a file longer than this is refused (`tooLarge`), so a config pointed at
    ///   /dev/zero cannot grow without bound.
    public static func read(_ path: String, maxBytes: Int = .max) throws(FileIOError) -> [UInt8] {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
            throw FileIOError(path: path, operation: "open", errno: Errno(error))
        }
        defer { try? fd.close() }
        return try readToEnd(fd, path: path, maxBytes: maxBytes)
    }

    /// Reads `fd` until end of file (or `maxBytes`, past which it throws `tooLarge`).
    public static func readToEnd(_ fd: FileDescriptor, path: String, maxBytes: Int = .max) throws(FileIOError) -> [UInt8] {
        var bytes: [UInt8] = []
        let chunkSize = maxBytes >= 64 * 1024 ? 64 * 1024 : max(maxBytes, 0) + 1
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let n: Int
            do { n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) } } catch {
                throw FileIOError(path: path, operation: "read", errno: Errno(error))
            }
            if n == 0 { return bytes }
            if bytes.count + n > maxBytes {
                throw FileIOError(path: path, operation: "read", errno: .fileTooLarge, refusal: .tooLarge(limit: maxBytes))
            }
            bytes.append(contentsOf: chunk[..<n])
        }
    }

    /// A regular file's bytes and permission bits (a config, a password file).
    public struct RegularFile: Sendable {
        public var bytes: [UInt8]
        public var permissions: FilePermissions
    }

    /// As `read`, for a file that must be a regular file: a directory, a device (/dev/zero) or a FIFO
    /// is refused (`notRegularFile`) after an open that cannot block (O_NONBLOCK) and before any read.
    public static func readRegularFile(_ path: String, maxBytes: Int) throws(FileIOError) -> RegularFile {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec, .nonBlocking]) } catch {
            throw FileIOError(path: path, operation: "open", errno: Errno(error))
        }
        defer { try? fd.close() }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else { throw FileIOError(path: path, operation: "fstat", errno: Errno(rawValue: Glibc.errno)) }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG else {
            let directory = type == S_IFDIR
            throw FileIOError(path: path, operation: "fstat", errno: directory ? .isDirectory : .invalidArgument,
                              refusal: .notRegularFile(directory: directory))
        }
        let bytes = try readToEnd(fd, path: path, maxBytes: maxBytes)
        return RegularFile(bytes: bytes, permissions: FilePermissions(rawValue: st.st_mode & 0o7777))
    }

    /// Up to `capacity` bytes of a small file (a sysfs attribute), in one open/read/close.
    public static func readPrefix(_ path: String, capacity: Int) throws(FileIOError) -> [UInt8] {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
            throw FileIOError(path: path, operation: "open", errno: Errno(error))
        }
        defer { try? fd.close() }
        var bytes = [UInt8](repeating: 0, count: capacity)
        var count = 0
        while count < capacity {
            let n: Int
            do {
                n = try bytes.withUnsafeMutableBytes {
                    try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[count...]), retryOnInterrupt: true)
                }
            } catch { throw FileIOError(path: path, operation: "read", errno: Errno(error)) }
            if n == 0 { break }
            count += n
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    public static func writeAll(_ fd: FileDescriptor, _ bytes: some Sequence<UInt8>, path: String) throws(FileIOError) {
        do { _ = try fd.writeAll(bytes) } catch { throw FileIOError(path: path, operation: "write", errno: Errno(error)) }
    }

    /// `strerror(3)`: `No such file or directory`.
    public static func strerror(_ code: Int32) -> String { String(cString: Glibc.strerror(code)) }
}

/// Retrying a raw system call that swift-system does not wrap (poll, clock_nanosleep, ioctl).
public enum Interrupts {
    /// Calls `body` until it does not fail with EINTR; returns its result (-1 with errno set on
    /// another failure), the shape of swift-system's `retryOnInterrupt`.
    @inlinable
    public static func retry<T: FixedWidthInteger>(_ body: () -> T) -> T {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return r
        }
    }

    /// The same for calls that return the error number instead of setting errno (clock_nanosleep).
    @inlinable
    public static func retryReturningError(_ body: () -> Int32) -> Int32 {
        while true {
            let r = body()
            if r == EINTR { continue }
            return r
        }
    }
}

extension Errno {
    /// The errno of a swift-system call's error (they throw `Errno`, typed only as `any Error`).
    init(_ error: any Error) { self = (error as? Errno) ?? .ioError }
}
