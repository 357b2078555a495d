import VigilCore
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

/// A sysfs attribute that could not be read: the call that failed and its `errno`.
public struct SysfsReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// `open` or `read`.
    public var operation: String
    public var errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path; self.operation = operation; self.errno = errno
    }

    /// The OS's words for `errno`: `Input/output error`, `Connection timed out`.
    public var message: String { SysfsFile.strerror(errno) }

    /// `/sys/bus/iio/devices/iio:device0/in_temp_input: Connection timed out`
    public var description: String { "\(path): \(message)" }
}

/// Reads a whole sysfs attribute: its bytes, or the failed call's errno. The sources take one of
/// these so tests can stand in for a driver that answers EIO or ETIMEDOUT, which a regular file
/// cannot; the real one is `SysfsFile.read`.
public typealias SysfsReader = @Sendable (_ path: String) -> Result<[UInt8], SysfsReadError>

/// Reading sysfs attributes the way the kernel expects: open, read, close, every time.
public enum SysfsFile {
    /// Largest attribute read; sysfs attributes are at most a page, the ones read here under 100 bytes.
    public static let maxBytes = 512

    /// `open(2)` with `O_RDONLY | O_CLOEXEC`, `read(2)` until end of file or `maxBytes`, `close(2)`
    /// (`FileIO.readPrefix`); `EINTR` is retried. Reading a driver's attribute is what makes it
    /// measure (dht11) or convert (w1_therm), so a failed measurement comes back as the `read`'s errno.
    public static func read(_ path: String) -> Result<[UInt8], SysfsReadError> {
        do { return .success(try FileIO.readPrefix(path, capacity: maxBytes)) } catch {
            return .failure(SysfsReadError(path: error.path, operation: error.operation, errno: error.errno.rawValue))
        }
    }

    /// `strerror(3)`: `No such file or directory`.
    public static func strerror(_ code: Int32) -> String { FileIO.strerror(code) }

    /// The names in directory `path` (no `.` or `..`), sorted; nil with errno when it cannot be listed.
    public static func list(_ path: String) -> Result<[String], SysfsReadError> {
        guard let dir = opendir(path) else {
            return .failure(SysfsReadError(path: path, operation: "opendir", errno: errno))
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names.sorted())
    }

    /// Whether `path` exists (as anything).
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

/// Why one read of a sysfs sensor gave no reading, as the sources count it.
public enum SysfsFailureKind: String, Sendable, Equatable {
    /// The device or its file is not there (ENOENT, ENODEV, no device matched).
    case missing
    /// The driver's read failed with EIO (dht11: bad checksum or timing).
    case eio
    /// The driver's read failed with ETIMEDOUT (dht11: the sensor did not answer).
    case etimedout
    /// Any other errno (EISDIR, EACCES, EINVAL, EAGAIN, …).
    case otherErrors = "other_errors"
    /// The file was read but held no reading (not a number, not the expected layout).
    case garbage

    /// How a read error counts: by its errno.
    public static func classify(_ error: SysfsReadError) -> SysfsFailureKind {
        switch error.errno {
        case ENOENT, ENODEV: return .missing
        case EIO: return .eio
        case ETIMEDOUT: return .etimedout
        default: return .otherErrors
        }
    }
}
