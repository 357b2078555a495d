import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

// Opening and syncing by descriptor, for files kept open (the outbox's segment files).
extension FileIO {
    /// `open(2)` (EINTR retried) with an error naming the path; `permissions` is needed with `.create`.
    public static func open(_ path: String, _ mode: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions = [],
                            permissions: FilePermissions? = nil) throws(FileIOError) -> FileDescriptor {
        do {
            return try FileDescriptor.open(FilePath(path), mode, options: options.union(.closeOnExec), permissions: permissions)
        } catch {
            throw FileIOError(path: path, operation: "open", errno: Errno(error))
        }
    }

    /// `fdatasync(2)`, or `fsync(2)` when `metadata` (a directory, after creating a file in it); EINTR
    /// is retried.
    public static func sync(_ fd: FileDescriptor, path: String, metadata: Bool = false) throws(FileIOError) {
        let rc = Interrupts.retry { metadata ? fsync(fd.rawValue) : fdatasync(fd.rawValue) }
        if rc != 0 {
            throw FileIOError(path: path, operation: metadata ? "fsync" : "fdatasync", errno: Errno(rawValue: errno))
        }
    }
}
