import Foundation
import Testing
import VigilAgent
import VigilTestSupport

/// Config files written to hurt (issue 15, defects 1 and 3): each is refused quickly with exit 78
/// and a message naming the file, instead of eating time and memory until the kernel steps in.
@Suite struct HostileConfigTests {
    /// 483 bytes that expand to ten million merged pairs: `mN` merges ten copies of `mN-1`.
    static let mergeKeyBomb: String = {
        var lines = ["m0: &m0 {k0: 1}"]
        for n in 1...7 {
            lines.append("m\(n): &m\(n) {<<: [" + Array(repeating: "*m\(n - 1)", count: 10).joined(separator: ", ") + "]}")
        }
        lines.append("<<: *m7")
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func aMergeKeyBombIsRefusedWhereItGrowsTooLarge() throws {
        // m5 (line 6) is the first mapping past the bound: its list of merges expands to 333,331 nodes.
        do {
            _ = try YAMLNode.compose(yaml: Self.mergeKeyBomb)
            Issue.record("the bomb was composed")
        } catch {
            guard case .syntax(let s) = error else { Issue.record("\(error)"); return }
            #expect(s.mark == YAMLMark(line: 6, column: 14), "\(error)")
            #expect(s.problem == "more than 100000 nodes once aliases are expanded", "\(error)")
        }
    }

    @Test func aMergeKeyBombIsAConfigErrorAtItsLine() {
        #expect(configProblems(Self.mergeKeyBomb) == ["t.yaml:6:14: YAML syntax: more than 100000 nodes once aliases are expanded"])
    }

    @Test func vigilCheckRefusesAMergeKeyBombWithExit78() throws {
        let check = try VigilProcess(config: Self.mergeKeyBomb, command: "check", arguments: [])
        #expect(check.waitForExit(timeout: 20))
        #expect(check.exitStatus == 78)
        #expect(check.stderr.contains("vigil.yaml:6:14: YAML syntax: more than 100000 nodes once aliases are expanded"), "\(check.stderr)")
    }

    @Test func mergesWithinTheBoundStillWork() throws {
        // m4: 33,333 nodes once expanded, under the bound; its one key survives all the merging.
        let yaml = Self.mergeKeyBomb.split(separator: "\n").prefix(5).joined(separator: "\n") + "\n<<: *m4\n"
        let root = try #require(try YAMLNode.compose(yaml: yaml))
        #expect(root["k0"]?.scalar?.value == "1")
        #expect(root["m4"]?.mapping?.flattenedPairs.count == 10_000)
    }

    @Test(arguments: [("/dev/zero", "not a regular file"), ("/dev/null", "not a regular file"), ("/tmp", "Is a directory")])
    func vigilCheckRefusesAConfigThatIsNotARegularFile(path: String, reason: String) throws {
        let check = try #require(try Command.run(Vigil.binary, ["check", "--config", path]))
        #expect(check.status == 78, "\(check)")
        #expect(check.stderr == "\(path):cannot read the file: \(reason)\n", "\(check)")
    }

    @Test func vigilCheckRefusesAConfigLargerThanOneMiB() throws {
        let dir = try Repo.temporaryDirectory("bigconfig")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/vigil.yaml"
        // A comment line repeated past 1 MiB: valid YAML, but no config is that large.
        try String(repeating: "# " + String(repeating: "x", count: 1021) + "\n", count: 1025).write(toFile: path, atomically: true, encoding: .utf8)
        let check = try #require(try Command.run(Vigil.binary, ["check", "--config", path]))
        #expect(check.status == 78, "\(check)")
        #expect(check.stderr == "\(path):cannot read the file: larger than 1048576 bytes (1 MiB), too large for a config\n", "\(check)")
    }
}
