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
    /// The file was larger than the caller allowed (`errno` is then EFBIG).
    public var tooLarge: Bool

    public init(path: String, operation: String, errno: Errno, tooLarge: Bool = false) {
        self.path = path; self.operation = operation; self.errno = errno; self.tooLarge = tooLarge
    }

    /// `No such file or directory`, or `larger than 1048576 bytes`.
    public var reason: String { tooLarge ? "larger than the limit" : FileIO.strerror(errno.rawValue) }
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
            if bytes.count + n > maxBytes { throw FileIOError(path: path, operation: "read", errno: .fileTooLarge, tooLarge: true) }
            bytes.append(contentsOf: chunk[..<n])
        }
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
