import Foundation
import Testing
import VigilAgent
import VigilCore

/// The libyaml wrapper, the composer and `YAMLNodeDecoder` that replaced Yams: the same trees,
/// marks, scalar rules and decoding errors Yams gave the config loader.
@Suite struct YAMLDecoderTests {
    func compose(_ yaml: String) throws -> YAMLNode {
        try #require(try YAMLNode.compose(yaml: yaml))
    }

    func decode<T: Decodable>(_ type: T.Type, _ yaml: String) throws -> T {
        try YAMLNodeDecoder().decode(type, from: try compose(yaml))
    }

    /// The error a decode throws, as `kind path`, the path written as the config loader reads it
    /// (int keys by their intValue) and the raw string values after a `|`.
    func decodingError<T: Decodable>(_ type: T.Type, _ yaml: String) throws -> String {
        do {
            _ = try decode(type, yaml)
            return "no error"
        } catch let e as DecodingError {
            func path(_ p: [any CodingKey]) -> String {
                p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
                    + " | " + p.map(\.stringValue).joined(separator: ",")
            }
            switch e {
            case let .typeMismatch(t, c): return "typeMismatch(\(t)) \(path(c.codingPath))"
            case let .keyNotFound(k, c): return "keyNotFound(\(k.stringValue)) \(path(c.codingPath))"
            case let .valueNotFound(t, c): return "valueNotFound(\(t)) \(path(c.codingPath))"
            case let .dataCorrupted(c): return "dataCorrupted \(path(c.codingPath)): \(c.debugDescription)"
            @unknown default: return "\(e)"
            }
        }
    }

    func syntaxError(_ yaml: String) -> YAMLError? {
        do {
            _ = try YAMLNode.compose(yaml: yaml)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Scalars

    struct Scalars: Decodable {
        var int: Int, int8: Int8, uint64: UInt64, double: Double, float: Float, bool: Bool, string: String
    }

    @Test func scalarsOfEachType() throws {
        let s = try decode(Scalars.self, """
            int: -42
            int8: 127
            uint64: 18446744073709551615
            double: 2.5e-3
            float: 1.5
            bool: yes
            string: hello world
            """)
        #expect(s.int == -42)
        #expect(s.int8 == 127)
        #expect(s.uint64 == UInt64.max)
        #expect(s.double == 0.0025)
        #expect(s.float == 1.5)
        #expect(s.bool == true)
        #expect(s.string == "hello world")
    }

    @Test func integerForms() throws {
        let v = try decode([String: Int].self, "dec: 30\nplus: +12\nhex: 0x1F\noct: 0o17\nold_oct: 017\nbin: 0b101\nsep: 1_000\nbase60: 1:30\nzero: 0\nneg_zero: -0\n")
        #expect(v == ["dec": 30, "plus": 12, "hex": 31, "oct": 15, "old_oct": 15, "bin": 5, "sep": 1000, "base60": 90, "zero": 0, "neg_zero": 0])
        #expect(try decodingError([String: Int8].self, "a: 200") == "typeMismatch(Int8) a | a")
        #expect(try decodingError([String: UInt64].self, "a: -1") == "typeMismatch(UInt64) a | a")
        #expect(try decodingError([String: Int].self, "a: 1.5") == "typeMismatch(Int) a | a")
        #expect(try decodingError([String: Int].self, "a: 08") == "typeMismatch(Int) a | a")
        #expect(try decodingError([String: Int].self, "a: 99999999999999999999") == "typeMismatch(Int) a | a")
    }

    @Test func floatForms() throws {
        let v = try decode([String: Double].self, "a: 1.5\nb: .5\nc: 1e3\nd: -2.5E-1\ne: 30\nf: .inf\ng: -.Inf\nh: +.INF\ni: 1_000.5\nj: 1:30.5\n")
        #expect(v == ["a": 1.5, "b": 0.5, "c": 1000, "d": -0.25, "e": 30, "f": .infinity, "g": -.infinity, "h": .infinity, "i": 1000.5, "j": 90.5])
        #expect(try decode([String: Double].self, "n: .nan")["n"]!.isNaN)
        #expect(try decode([String: Double].self, "n: .NaN")["n"]!.isNaN)
        #expect(try decodingError([String: Double].self, "a: fast") == "typeMismatch(Double) a | a")
    }

    @Test func booleansInAnyCaseFromPlainScalarsOnly() throws {
        let v = try decode([String: Bool].self, "a: yes\nb: No\nc: ON\nd: off\ne: true\nf: FALSE\ng: tRUE\nh: !!bool \"yes\"\n")
        #expect(v == ["a": true, "b": false, "c": true, "d": false, "e": true, "f": false, "g": true, "h": true])
        #expect(try decodingError([String: Bool].self, "a: 1") == "typeMismatch(Bool) a | a")
        #expect(try decodingError([String: Bool].self, "a: y") == "typeMismatch(Bool) a | a")
        #expect(try decodingError([String: Bool].self, "a: \"yes\"") == "typeMismatch(Bool) a | a")
        #expect(try decodingError([String: Bool].self, "a: !!str yes") == "typeMismatch(Bool) a | a")
    }

    @Test func quotedScalarsAreAlwaysText() throws {
        let s = try decode([String: String].self, "a: \"yes\"\nb: '1.0'\nc: \"30\"\nd: '~'\ne: \"\"\n")
        #expect(s == ["a": "yes", "b": "1.0", "c": "30", "d": "~", "e": ""])
        #expect(try decodingError([String: Double].self, "a: \"1.0\"") == "typeMismatch(Double) a | a")
        #expect(try decodingError([String: Int].self, "a: '30'") == "typeMismatch(Int) a | a")
        #expect(try decodingError([String: Int].self, "a: |\n  30\n") == "typeMismatch(Int) a | a")
        // … and a quoted null is not absent.
        struct O: Decodable { var a: String?; var b: String? }
        let o = try decode(O.self, "a: '~'\nb: \"null\"\n")
        #expect(o.a == "~")
        #expect(o.b == "null")
    }

    @Test func plainScalarsDecodeAsTheirTextToo() throws {
        // As Yams did: a String field takes any scalar's text (`device: 1234`, `vid: 0403`).
        let s = try decode([String: String].self, "a: 1234\nb: 0403\nc: yes\nd: 1.0\ne: .inf\n")
        #expect(s == ["a": "1234", "b": "0403", "c": "yes", "d": "1.0", "e": ".inf"])
    }

    @Test func nullIsAbsentOnlyForOptionals() throws {
        struct N: Decodable { var a: Int?; var b: String?; var c: Double?; var d: Bool?; var e: String?; var required: String }
        let n = try decode(N.self, "a: ~\nb: null\nc: NULL\nd:\nrequired: ~\n")
        #expect(n.a == nil)
        #expect(n.b == nil)
        #expect(n.c == nil)
        #expect(n.d == nil)
        #expect(n.e == nil)
        #expect(n.required == "~")  // as Yams: a non-optional String gets the text
        #expect(try decodingError([String: Int].self, "a: ~") == "typeMismatch(Int) a | a")
        #expect(try decode([Int?].self, "[1, ~, 3, null]") == [1, nil, 3, nil])
    }

    @Test func tagResolution() throws {
        let table: [(String, YAMLTag)] = [
            ("", .null), ("~", .null), ("null", .null), ("Null", .null), ("NULL", .null),
            ("yes", .bool), ("No", .bool), ("TRUE", .bool), ("off", .bool), ("yEs", .str),
            ("0", .int), ("-12", .int), ("+7", .int), ("0x1F", .int), ("0o17", .int), ("017", .int), ("0b101", .int),
            ("1_000", .int), ("1:30", .int),
            ("1.5", .float), (".5", .float), ("1e3", .float), ("-1.5E-3", .float), (".inf", .float), ("-.Inf", .float),
            (".nan", .float), (".NaN", .float), ("1:30.5", .float), ("1.", .float),
            ("<<", .merge), ("thirty", .str), ("°C", .str), ("2024-01-02", .str), ("1e", .str), ("+.5", .str), ("0x", .str),
        ]
        for (text, tag) in table {
            #expect(YAMLResolver.resolve(text) == tag, "\(text.debugDescription)")
        }
        let m = try compose("a: 12\nb: \"12\"\nc: !!int \"12\"\nd: ! 12\ne: |\n  12\n")
        #expect(m["a"]?.scalar?.resolvedTag == .int)
        #expect(m["b"]?.scalar?.resolvedTag == .str)
        #expect(m["c"]?.scalar?.resolvedTag == .int)
        #expect(m["d"]?.scalar?.resolvedTag == .str)
        #expect(m["e"]?.scalar?.resolvedTag == .str)
        #expect(m["b"]?.scalar?.style == .doubleQuoted)
        #expect(m["c"]?.scalar?.tag == YAMLTag(rawValue: "tag:yaml.org,2002:int"))
        #expect(m["e"]?.scalar?.style == .literal)
        #expect(m["e"]?.scalar?.value == "12\n")
    }

    // MARK: Trees and marks

    @Test func nestedMappingsAndListsKeepOrderAndMarks() throws {
        let root = try compose("""
            device: gw-1
            mqtt:
              broker: mqtt://h:1
            sources:
              - kind: simulator
                channels: [a, b]
              - {kind: serial, path: /dev/x}
            """)
        guard case .mapping(let m) = root else { Issue.record("not a mapping"); return }
        #expect(m.mark == YAMLMark(line: 1, column: 1))
        #expect(m.pairs.map { $0.key.scalar?.value } == ["device", "mqtt", "sources"])
        #expect(m.pairs.map(\.key.mark) == [YAMLMark(line: 1, column: 1), YAMLMark(line: 2, column: 1), YAMLMark(line: 4, column: 1)])
        #expect(root["device"]?.mark == YAMLMark(line: 1, column: 9))
        #expect(root["mqtt"]?.mark == YAMLMark(line: 3, column: 3))
        #expect(root["mqtt"]?["broker"] == .scalar(.init("mqtt://h:1", mark: YAMLMark(line: 3, column: 11))))
        let sources = try #require(root["sources"]?.sequence)
        #expect(sources.mark == YAMLMark(line: 5, column: 3))
        #expect(sources.items.map(\.mark) == [YAMLMark(line: 5, column: 5), YAMLMark(line: 7, column: 5)])
        #expect(root["sources"]?[0]?["channels"] == .sequence(.init([
            .scalar(.init("a", mark: YAMLMark(line: 6, column: 16))),
            .scalar(.init("b", mark: YAMLMark(line: 6, column: 19))),
        ], mark: YAMLMark(line: 6, column: 15))))
        #expect(root["sources"]?[1]?.mapping?.pair(forKey: "path")?.key.mark == YAMLMark(line: 7, column: 20))
        #expect(root["sources"]?[2] == nil)
    }

    @Test func emptyStreamsHaveNoDocument() throws {
        #expect(try YAMLNode.compose(yaml: "") == nil)
        #expect(try YAMLNode.compose(yaml: "# only a comment\n\n") == nil)
        #expect(try YAMLNode.compose(yaml: "---\n") == .scalar(.init("", mark: YAMLMark(line: 2, column: 1))))
    }

    @Test func utf8TextAndColumnsCountedInCharacters() throws {
        let root = try compose("unit: °C\n°C: \"µ°\"\nx: [°, é]\n")
        #expect(root["unit"]?.scalar?.value == "°C")
        #expect(root["°C"]?.scalar?.value == "µ°")
        #expect(root.mapping?.pair(forKey: "°C")?.key.mark == YAMLMark(line: 2, column: 1))
        #expect(root["°C"]?.mark == YAMLMark(line: 2, column: 5))
        #expect(root["x"]?[1]?.mark == YAMLMark(line: 3, column: 8))
        struct C: Decodable { var unit: String }
        #expect(try decode(C.self, "unit: \"°C\"").unit == "°C")
        // A byte-order mark is skipped, not counted as a column.
        #expect(try compose("\u{FEFF}a: 1\n").mapping?.pairs.first?.key.mark == YAMLMark(line: 1, column: 1))
    }

    @Test func invalidUTF8IsAReaderErrorAtItsPlace() {
        var bytes = Array("a: 1\nbé: x".utf8)
        bytes.append(0xFF)
        do {
            _ = try YAMLNode.compose(utf8: bytes)
            Issue.record("no error")
        } catch {
            #expect(error == .syntax(YAMLSyntaxError(stage: .reader, problem: "invalid leading UTF-8 octet", mark: YAMLMark(line: 2, column: 6))))
        }
        #expect(syntaxError("a: \"x\u{1}\"\n") == .syntax(YAMLSyntaxError(stage: .reader, problem: "control characters are not allowed", mark: YAMLMark(line: 1, column: 6))))
    }

    @Test func anchorsAndAliasesAreResolved() throws {
        let root = try compose("base: &b {x: 1, y: 2}\nother: *b\nlist: [&v 7, *v, *v]\n")
        #expect(root["other"] == root["base"])
        #expect(root["other"]?.mark == YAMLMark(line: 1, column: 7))
        #expect(root["list"]?.sequence?.items.map { $0.scalar?.value } == ["7", "7", "7"])
        struct D: Decodable { var base: [String: Int]; var other: [String: Int]; var list: [Int] }
        let d = try decode(D.self, "base: &b {x: 1, y: 2}\nother: *b\nlist: [&v 7, *v, *v]\n")
        #expect(d.other == ["x": 1, "y": 2])
        #expect(d.list == [7, 7, 7])
        // A later anchor of the same name replaces the earlier one.
        #expect(try compose("a: &x 1\nb: &x 2\nc: *x\n")["c"]?.scalar?.value == "2")
        #expect(syntaxError("a: *nope\n") == .syntax(YAMLSyntaxError(stage: .composer, problem: "found undefined alias", mark: YAMLMark(line: 1, column: 4))))
    }

    @Test func mergeKeysAsYamsAppliedThem() throws {
        let yaml = """
            defaults: &d {window: 30, z_on: 4}
            a: {<<: *d, z_on: 6}
            b: {<<: [{window: 1}, *d]}
            """
        let v = try decode([String: [String: Int]].self, yaml)
        #expect(v["a"] == ["window": 30, "z_on": 6])
        #expect(v["b"] == ["window": 1, "z_on": 4])
        #expect(try compose(yaml)["a"]?["window"]?.scalar?.value == "30")
    }

    @Test func duplicateKeysAreRejectedAtTheFirstOne() {
        #expect(syntaxError("a: 1\nb: 2\na: 3\n") == .duplicateKeys(["a"], mark: YAMLMark(line: 1, column: 1)))
        #expect(syntaxError("top:\n  d: 1\n  c: 1\n  d: 2\n  c: 2\n") == .duplicateKeys(["c", "d"], mark: YAMLMark(line: 3, column: 3)))
        #expect(syntaxError("- {x: 1, x: 2}\n") == .duplicateKeys(["x"], mark: YAMLMark(line: 1, column: 4)))
        #expect(syntaxError("a: {x: 1}\nb: {x: 1}\n") == nil)
    }

    @Test func syntaxErrorsCarryLibyamlsProblemContextAndMarks() {
        #expect(syntaxError("device: [gw-1\nsources: []\n") == .syntax(YAMLSyntaxError(
            stage: .parser, problem: "did not find expected ',' or ']'", mark: YAMLMark(line: 2, column: 8),
            context: "while parsing a flow sequence", contextMark: YAMLMark(line: 1, column: 9))))
        #expect(syntaxError("a: b: c\n") == .syntax(YAMLSyntaxError(
            stage: .scanner, problem: "mapping values are not allowed in this context", mark: YAMLMark(line: 1, column: 5))))
        #expect(syntaxError("a:\n  b: 1\n c: 2\n") == .syntax(YAMLSyntaxError(
            stage: .parser, problem: "did not find expected key", mark: YAMLMark(line: 3, column: 2),
            context: "while parsing a block mapping", contextMark: YAMLMark(line: 1, column: 1))))
        #expect(syntaxError("k: @x\n") == .syntax(YAMLSyntaxError(
            stage: .scanner, problem: "found character that cannot start any token", mark: YAMLMark(line: 1, column: 4),
            context: "while scanning for the next token", contextMark: YAMLMark(line: 1, column: 4))))
        #expect(syntaxError("a: 1\n---\nb: 2\n") == .syntax(YAMLSyntaxError(
            stage: .composer, problem: "but found another document", mark: YAMLMark(line: 2, column: 1),
            context: "expected a single document in the stream")))
        #expect(syntaxError("device: [gw-1\nsources: []\n")?.description == "2:8: while parsing a flow sequence did not find expected ',' or ']'")
    }

    // MARK: Decoding errors and coding paths

    struct Source: Decodable { var name: String; var rate: Double }
    struct Root: Decodable { var sources: [Source] }

    @Test func codingPathsAsYamsBuiltThem() throws {
        #expect(try decodingError(Root.self, "sources:\n  - {name: a, rate: 1}\n  - {name: b, rate: fast}\n")
            == "typeMismatch(Double) sources.1.rate | sources,Index 1,rate")
        #expect(try decodingError(Root.self, "sources:\n  - {name: a}\n") == "keyNotFound(rate) sources.0 | sources,Index 0")
        #expect(try decodingError(Root.self, "sources: {name: a}\n") == "typeMismatch(Array<YAMLNode>) sources | sources")
        #expect(try decodingError(Root.self, "sources: [5]\n") == "typeMismatch(Dictionary<String, YAMLNode>) sources.0 | sources,Index 0")
        #expect(try decodingError(Root.self, "sources: [{name: [x], rate: 1}]\n") == "typeMismatch(String) sources.0.name | sources,Index 0,name")
        #expect(try decodingError(Root.self, "[1]\n") == "typeMismatch(Dictionary<String, YAMLNode>)  | ")
        #expect(try decodingError([[Int]].self, "[[1, 2], [3, x]]\n") == "typeMismatch(Int) 1.1 | Index 1,Index 1")
    }

    struct Pair: Decodable {
        var a: Int, b: Int
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            a = try c.decode(Int.self)
            b = try c.decode(Int.self)
        }
    }

    @Test func aListThatRunsOutIsValueNotFound() throws {
        #expect(try decode([String: Pair].self, "p: [1, 2]")["p"].map { [$0.a, $0.b] } == [1, 2])
        #expect(try decodingError([String: Pair].self, "p: [1]") == "valueNotFound(Int) p.1 | p,Index 1")
    }

    @Test func dataCorruptedFromTheTypeKeepsItsPath() throws {
        struct S: Decodable { var summary: [String: ConfigDuration] }
        #expect(try decode(S.self, "summary: {interval: 10s, other: 2.5}").summary == ["interval": .seconds(10), "other": .seconds(2.5)])
        #expect(try decodingError(S.self, "summary: {interval: forever}")
            == "dataCorrupted summary.interval | summary,interval: 'forever' is not a duration (use e.g. 500ms, 20s, 5m, 1h)")
    }

    // MARK: Through the config loader

    func problems(_ yaml: String) -> [String] {
        do {
            _ = try ConfigLoader.parse(yaml, file: "t.yaml")
            return []
        } catch {
            return error.problems.map { "t.yaml:\($0)" }
        }
    }

    @Test func configLoaderMessages() {
        let good = ConfigLoaderTests.good
        #expect(problems(good + "\ndevice: gw-2\n") == ["t.yaml:1:1: duplicate key(s) device"])
        #expect(problems("device: [gw-1\nsources: []\n") == ["t.yaml:2:8: YAML syntax: while parsing a flow sequence did not find expected ',' or ']'"])
        #expect(problems("") == ["t.yaml:the file is empty"])
        // Yams said "expected a mapping" for every non-scalar where a scalar belonged, and for a
        // scalar where a list belonged; the decoder names the type wanted.
        #expect(problems(good.replacing("window: 30", with: "window: [30]")) == ["t.yaml:5:3: detector.window: expected a whole number, found a list"])
        #expect(problems("device: d\nsources: 5\n") == ["t.yaml:2:1: sources: expected a list, found '5'"])
        #expect(problems(good.replacing("  - kind: simulator", with: "  - kind: simulator\n    rate: fast"))
            == ["t.yaml:11:5: sources[0].rate: expected a number, found 'fast'"])
    }

    @Test func configLoaderReadsFilesWithoutFoundation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-yaml-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func load(_ name: String, _ bytes: [UInt8]?) -> String {
            let path = dir.appendingPathComponent(name).path
            if let bytes { _ = FileManager.default.createFile(atPath: path, contents: Data(bytes)) }
            do { return "OK \(try ConfigLoader.load(path: path).device)" } catch { return error.description.replacing(dir.path + "/", with: "") }
        }
        #expect(load("good.yaml", Array(ConfigLoaderTests.good.utf8)) == "OK gw-1")
        #expect(load("bom.yaml", [0xEF, 0xBB, 0xBF] + Array(ConfigLoaderTests.good.utf8)) == "OK gw-1")
        #expect(load("missing.yaml", nil) == "missing.yaml:cannot read the file: No such file or directory")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("dir.yaml"), withIntermediateDirectories: true)
        #expect(load("dir.yaml", nil) == "dir.yaml:cannot read the file: Is a directory")
        #expect(load("empty.yaml", []) == "empty.yaml:the file is empty")
        #expect(load("latin1.yaml", Array("device: caf".utf8) + [0xE9] + Array("\nsources: []\n".utf8))
            == "latin1.yaml:1:13: YAML syntax: invalid trailing UTF-8 octet")
    }
}
