import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

extension FileIO {
    /// Replaces `path` with `bytes` atomically: a temporary file beside it (`<path>.tmp`), synced,
    /// renamed over it, the directory synced. A reader sees the old file or the new one, never a part.
    /// Nil on success, else the reason: the failed call's error, or the bare `strerror` of a failed
    /// rename (the temporary file is removed).
    /// - Parameter ignoringUmask: give the file exactly `permissions` (a file another user must read).
    public static func replace(_ path: String, with bytes: [UInt8], permissions: FilePermissions = FilePermissions(rawValue: 0o640),
                               ignoringUmask: Bool = false) -> String? {
        let tmp = path + ".tmp"
        do throws(FileIOError) {
            let fd = try open(tmp, .writeOnly, options: [.create, .truncate], permissions: permissions)
            defer { try? fd.close() }
            if ignoringUmask, fchmod(fd.rawValue, permissions.rawValue) != 0 {
                throw FileIOError(path: tmp, operation: "fchmod", errno: Errno(rawValue: errno))
            }
            try writeAll(fd, bytes, path: tmp)
            try sync(fd, path: tmp, metadata: true)
        } catch {
            _ = unlink(tmp)
            return error.reason
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            _ = unlink(tmp)
            return strerror(e)
        }
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if let d = try? open(dir.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : dir, .readOnly, options: [.directory]) {
            try? sync(d, path: dir, metadata: true)
            try? d.close()
        }
        return nil
    }
}
