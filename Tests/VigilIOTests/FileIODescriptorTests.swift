import SystemPackage
import Testing
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

@Suite("FileIO: opening and syncing by descriptor")
struct FileIODescriptorTests {
    @Test("open creates with the given permissions, close-on-exec; sync and a directory fsync succeed")
    func openAndSync() throws {
        let dir = "/tmp/vigil-fileio-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkdir(dir, 0o700) == 0)
        defer { rmdir(dir) }
        let path = dir + "/f"
        defer { unlink(path) }
        let old = umask(0)
        let fd = try FileIO.open(path, .writeOnly, options: [.create, .truncate, .append], permissions: [.ownerReadWrite, .groupRead])
        umask(old)
        #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC == FD_CLOEXEC)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o640)
        try FileIO.writeAll(fd, Array("abc".utf8), path: path)
        try FileIO.sync(fd, path: path)
        let dirFD = try FileIO.open(dir, .readOnly, options: [.directory])
        try FileIO.sync(dirFD, path: dir, metadata: true)
        try dirFD.close()
        try fd.close()
        #expect(try FileIO.read(path) == Array("abc".utf8))
    }

    @Test("failures name the path, the call and the reason")
    func failures() throws {
        #expect(throws: FileIOError(path: "/nonexistent/vigil", operation: "open", errno: .noSuchFileOrDirectory)) {
            try FileIO.open("/nonexistent/vigil", .readOnly)
        }
        // fdatasync on no descriptor at all: EBADF.
        do { try FileIO.sync(FileDescriptor(rawValue: -1), path: "/dev/null"); Issue.record("no error") } catch {
            #expect(error == FileIOError(path: "/dev/null", operation: "fdatasync", errno: .badFileDescriptor))
            #expect(error.description == "/dev/null: fdatasync: Bad file descriptor")
        }
    }
}
