import SystemPackage
import Testing
import VigilIO
#if canImport(Glibc)
import Glibc
#endif

@Suite("FileIO: whole-file reads and typed errors")
struct FileIOTests {
    private func tempFile(_ bytes: [UInt8]) -> String {
        var template = Array("/tmp/vigil-fileio-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return String(cString: template)
    }

    @Test("a file larger than one read chunk comes back whole")
    func wholeFile() throws {
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = tempFile(bytes)
        defer { unlink(path) }
        #expect(try FileIO.read(path) == bytes)
    }

    @Test("a missing file names the path, the call and the reason")
    func missing() {
        #expect(throws: FileIOError(path: "/nonexistent/vigil", operation: "open", errno: .noSuchFileOrDirectory)) {
            try FileIO.read("/nonexistent/vigil")
        }
        do { _ = try FileIO.read("/nonexistent/vigil") } catch {
            #expect(error.description == "/nonexistent/vigil: open: No such file or directory")
        }
    }

    @Test("a limit refuses a longer file and an endless one (/dev/zero)")
    func limit() throws {
        let path = tempFile(Array(repeating: 7, count: 101))
        defer { unlink(path) }
        #expect(try FileIO.read(path, maxBytes: 101).count == 101)
        do { _ = try FileIO.read(path, maxBytes: 100); Issue.record("no error") } catch { #expect(error.tooLarge) }
        do { _ = try FileIO.read("/dev/zero", maxBytes: 1 << 20); Issue.record("no error") } catch {
            #expect(error.tooLarge)
            #expect(error.description == "/dev/zero: read: larger than the limit")
        }
    }

    @Test("readPrefix stops at its capacity")
    func prefix() throws {
        let path = tempFile(Array("123456789".utf8))
        defer { unlink(path) }
        #expect(try FileIO.readPrefix(path, capacity: 4) == Array("1234".utf8))
        #expect(try FileIO.readPrefix(path, capacity: 64) == Array("123456789".utf8))
    }

    @Test("writeAll writes every byte")
    func writeAll() throws {
        let path = tempFile([])
        defer { unlink(path) }
        let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.truncate])
        try FileIO.writeAll(fd, Array(repeating: UInt8(9), count: 70_000), path: path)
        try fd.close()
        #expect(try FileIO.read(path) == Array(repeating: UInt8(9), count: 70_000))
    }
}
