import Foundation

/// A small tmpfs mounted for a test (a disk that fills up, or turns read-only), unmounted when released.
/// Needs the right to mount (root with CAP_SYS_ADMIN); `init` throws otherwise, so tests can skip.
public final class TmpfsMount: Sendable {
    public let path: String

    public init(sizeBytes: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tmpfs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        path = dir.path
        let status = try runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(sizeBytes),mode=0755", "tmpfs", path])
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw TestSupportError("cannot mount a tmpfs on \(path) (mount exited with \(status)); needs CAP_SYS_ADMIN")
        }
    }

    /// `mount -o remount,ro` (true) or `remount,rw` (false).
    public func setReadOnly(_ readOnly: Bool) throws {
        let status = try runTool("/bin/mount", ["-o", "remount,\(readOnly ? "ro" : "rw")", path])
        guard status == 0 else { throw TestSupportError("remount \(readOnly ? "ro" : "rw") of \(path) exited with \(status)") }
    }

    deinit {
        _ = try? runTool("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}
