import SystemPackage
import Testing
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

@Suite("FileLock: one holder, named by pid")
struct FileLockTests {
    @Test("the holder's pid is written; a second acquire (another open file, as another process would) is refused naming it; release frees it")
    func exclusive() throws {
        let path = "/tmp/vigil-lock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let first = try FileLock.acquire(path)
        #expect(FileLock.holder(path) == getpid())
        #expect(throws: FileLock.Failure.held(path: path, pid: getpid())) { _ = try FileLock.acquire(path) }
        #expect("\(FileLock.Failure.held(path: path, pid: 7))" == "\(path) is held by another process (pid 7)")
        first.release()
        first.release() // twice is harmless
        let second = try FileLock.acquire(path)
        second.release()
    }

    @Test("a lock file in a directory that does not exist is an I/O failure naming the path and call")
    func missingDirectory() {
        #expect(throws: FileLock.Failure.io(FileIOError(path: "/nonexistent-vigil/lock", operation: "open", errno: .noSuchFileOrDirectory))) {
            _ = try FileLock.acquire("/nonexistent-vigil/lock")
        }
    }
}
