import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

@Suite struct IIOParsingTests {
    func value(_ s: String) -> Int64? { IIOParsing.milliValue(Array(s.utf8)) }

    @Test func milliValues() {
        #expect(value("23100\n") == 23100)
        #expect(value("45200") == 45200)
        #expect(value("-4200\n") == -4200)
        #expect(value("+7\n") == 7)
        #expect(value("  0 \n") == 0)
        #expect(value("") == nil)
        #expect(value("\n") == nil)
        #expect(value("-") == nil)
        #expect(value("23.1\n") == nil)
        #expect(value("23100 23100") == nil)
        #expect(value("abc") == nil)
        #expect(value("1234567890123456789") == nil)
        #expect(value("--5") == nil)
    }

    @Test func unitsAreTheExactQuotient() {
        #expect(IIOParsing.units(fromMilli: 45200) == 45.2)
        #expect(IIOParsing.units(fromMilli: 23100) == 23.1)
        #expect(IIOParsing.units(fromMilli: -4200) == -4.2)
        #expect(IIOParsing.units(fromMilli: 23125) == 23.125)
    }

    @Test func deviceNames() {
        #expect(IIOParsing.deviceName(Array("dht11@4\n".utf8)) == "dht11@4")
        #expect(IIOParsing.deviceName(Array("\n".utf8)) == nil)
        #expect(IIOParsing.deviceName([0xFF, 0x0A]) == nil)
    }

    @Test func nameMatching() {
        #expect(IIOParsing.nameMatches("dht11", wanted: "dht11"))
        #expect(IIOParsing.nameMatches("dht11@4", wanted: "dht11"))
        #expect(IIOParsing.nameMatches("dht11@0", wanted: "dht11"))
        #expect(IIOParsing.nameMatches("4.dht11", wanted: "dht11"))
        #expect(IIOParsing.nameMatches("dht11@4", wanted: "dht11@4"))
        #expect(!IIOParsing.nameMatches("dht11@17", wanted: "dht11@4"))
        #expect(!IIOParsing.nameMatches("dht110", wanted: "dht11"))
        #expect(!IIOParsing.nameMatches("bme280", wanted: "dht11"))
        #expect(!IIOParsing.nameMatches("xdht11", wanted: "dht11"))
    }
}

@Suite struct SysfsFileTests {
    @Test func readsAFileWhole() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.write("a", "23100\n")
        #expect(try SysfsFile.read(tree.path("a")).get() == Array("23100\n".utf8))
        tree.write("empty", "")
        #expect(try SysfsFile.read(tree.path("empty")).get() == [])
    }

    @Test func openAndReadErrorsCarryTheirErrno() {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.mkdir("dir")
        #expect(SysfsFile.read(tree.path("none")) == .failure(SysfsReadError(path: tree.path("none"), operation: "open", errno: ENOENT)))
        // A directory opens read-only; its read(2) fails.
        let dir = SysfsFile.read(tree.path("dir"))
        #expect(dir == .failure(SysfsReadError(path: tree.path("dir"), operation: "read", errno: EISDIR)))
        if case .failure(let e) = dir { #expect(e.description == "\(tree.path("dir")): Is a directory") }
    }

    @Test func classification() {
        func kind(_ e: Int32) -> SysfsFailureKind { .classify(SysfsReadError(path: "/x", operation: "read", errno: e)) }
        #expect(kind(ENOENT) == .missing)
        #expect(kind(ENODEV) == .missing)
        #expect(kind(EIO) == .eio)
        #expect(kind(ETIMEDOUT) == .etimedout)
        #expect(kind(EISDIR) == .otherErrors)
        #expect(kind(EINVAL) == .otherErrors)
        #expect(kind(EAGAIN) == .otherErrors)
        #expect(SysfsReadError(path: "/x", operation: "read", errno: ETIMEDOUT).description == "/x: Connection timed out")
        #expect(SysfsReadError(path: "/x", operation: "read", errno: EIO).description == "/x: Input/output error")
    }

    @Test func listing() throws {
        let tree = SysfsTree()
        defer { tree.remove() }
        tree.mkdir("b")
        tree.write("a", "")
        #expect(try SysfsFile.list(tree.root).get() == ["a", "b"])
        if case .failure(let e) = SysfsFile.list(tree.path("none")) { #expect(e.errno == ENOENT) } else { Issue.record("listed a missing directory") }
    }
}

// MARK: - The source
