import Foundation
import Testing
import VigilCore

/// The board presets (one table, Sources/VigilCore/Boards/BoardPresets.swift): lookup, the validation
/// GPIO configs use, the consistency of every wiring diagram, `vigil check --board`, and the boards/*.txt
/// files the package ships, which must be exactly what the binary prints.
@Suite struct PackagingBoardTests {
    @Test func presetsForTheFourBoards() {
        #expect(Boards.all.map(\.id) == ["rpi-zero-2w", "rpi-3b-plus", "rpi-4b", "rpi-5"])
        #expect(Boards.named("pi4")?.id == "rpi-4b")
        #expect(Boards.named("Raspberry Pi 4 Model B")?.id == "rpi-4b")
        #expect(Boards.named("RPI_5")?.id == "rpi-5")
        #expect(Boards.named("3b+")?.id == "rpi-3b-plus")
        #expect(Boards.named("zero2w")?.id == "rpi-zero-2w")
        #expect(Boards.named("pi400") == nil)
        #expect(Boards.named("") == nil)
        // /proc/device-tree/model strings (NUL-terminated).
        #expect(Boards.matching(model: "Raspberry Pi 4 Model B Rev 1.5\0")?.id == "rpi-4b")
        #expect(Boards.matching(model: "Raspberry Pi 3 Model B Plus Rev 1.3\0")?.id == "rpi-3b-plus")
        #expect(Boards.matching(model: "Raspberry Pi 3 Model B Rev 1.2\0") == nil, "a 3B is not a 3B+")
        #expect(Boards.matching(model: "Raspberry Pi Zero 2 W Rev 1.0\0")?.id == "rpi-zero-2w")
        #expect(Boards.matching(model: "Raspberry Pi 5 Model B Rev 1.0\0")?.id == "rpi-5")
        #expect(Boards.pi5.headerChip.label == "pinctrl-rp1")
        #expect(Boards.pi4B.headerChip.label == "pinctrl-bcm2711")
        #expect(Boards.zero2W.headerChip.label == "pinctrl-bcm2835" && Boards.pi3BPlus.headerChip.label == "pinctrl-bcm2835")
    }

    @Test(arguments: Boards.all.map(\.id))
    func validationRejectsMissingAndReservedLines(id: String) throws {
        let b = try #require(Boards.named(id))
        #expect(b.usableLines == Array(2...13) + Array(16...27))
        #expect(b.problem(line: 17) == nil)
        let reserved = try #require(b.problem(line: 14))
        #expect(reserved.contains("reserved") && reserved.contains("header pin 8"), "\(reserved)")
        #expect(b.problem(line: 0)?.contains("EEPROM") == true)
        #expect(b.problem(line: 28)?.contains("not on the 40-pin header") == true)
        #expect(b.problem(line: -1) != nil)
        #expect(b.problem(line: 17, chip: b.headerChip.label) == nil)
        #expect(b.problem(line: 17, chip: "no-such-chip")?.contains("no gpiochip labelled") == true)
        let issues = b.issues(lines: [(["sources", "1", "line"], 15), (["sources", "2", "line"], 22)])
        #expect(issues.count == 1)
        #expect(issues.first?.field == "sources[1].line")
    }

    /// Every diagram: the signal on a free line of the header chip, power from 3V3 (header GPIOs are not
    /// 5 V tolerant), grounds on GND pins, and the drawing marks the pins listed.
    @Test(arguments: Boards.all.map(\.id))
    func wiringIsConsistentWithTheHeader(id: String) throws {
        let b = try #require(Boards.named(id))
        #expect(Set(b.wiring.map(\.sensor)) == Set(Sensor.allCases))
        for w in b.wiring {
            if let line = w.line {
                #expect(b.problem(line: line) == nil, "\(w.sensor) on GPIO\(line)")
                let signalPin = try #require(Header.physicalPin(ofLine: line))
                #expect(w.wires.contains { $0.pin == signalPin }, "\(w.sensor): no wire to header pin \(signalPin)")
            }
            for wire in w.wires {
                guard let p = wire.pin else { continue }
                let pin = try #require(Header.pin(p))
                let name = wire.from.uppercased()
                if name.contains("VCC") || name.contains("VDD") { #expect(pin == .power3v3, "\(w.sensor) \(wire.from) on \(pin.label)") }
                if name.contains("GND") { #expect(pin == .ground, "\(w.sensor) \(wire.from) on \(pin.label)") }
                if case .gpio(let n) = pin { #expect(n == w.line, "\(w.sensor) \(wire.from) on GPIO\(n)") }
            }
            // The default wirings can all be connected at once: no pin carries two signals.
        }
        let signals = b.wiring.compactMap(\.line)
        #expect(Set(signals).count == signals.count)
        let text = b.describe()
        for s in Sensor.allCases { #expect(text.contains(s.title)) }
        #expect(text.contains(b.headerChip.label))
        for p in b.serialPorts { #expect(text.contains(p.path)) }
        #expect(Header.pins.count == 40)
        #expect(Header.pins.filter { if case .gpio = $0 { return true } else { return false } }.count == 28)
    }

    @Test func checkBoardPrintsThePreset() throws {
        let r = try #require(try Command.run(Vigil.binary, ["check", "--board", "pi5"]))
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == Boards.pi5.describe())
        let list = try #require(try Command.run(Vigil.binary, ["check", "--board", "list"]))
        #expect(list.stdout.split(separator: "\n").map { String($0.prefix { $0 != " " }) } == Boards.all.map(\.id))
        let unknown = try #require(try Command.run(Vigil.binary, ["check", "--board", "pi400"]))
        #expect(unknown.status == 78)
        #expect(unknown.stderr.contains("rpi-4b"), "the error lists the presets: \(unknown.stderr)")
        // With a config too: both are checked and printed.
        let both = try #require(try Command.run(Vigil.binary, ["check", "--config", Repo.path("packaging/vigil.yaml"), "--board", "rpi-4b"]))
        #expect(both.status == 0, "\(both)")
        #expect(both.stdout.contains(": OK") && both.stdout.contains("Raspberry Pi 4 Model B (rpi-4b)"))
    }

    /// boards/<id>.txt are generated (scripts/gen-boards.sh): they must match the table.
    @Test(arguments: Boards.all.map(\.id))
    func boardFilesMatchThePresets(id: String) throws {
        let board = try #require(Boards.named(id))
        let file = try #require(Repo.read(Repo.path("boards/\(board.id).txt")), "boards/\(board.id).txt is missing: run scripts/gen-boards.sh")
        #expect(file == board.describe(), "boards/\(board.id).txt is stale: run scripts/gen-boards.sh")
    }
}
