/// A single-board computer Vigil runs on: which gpiochip carries the header's GPIO lines, which
/// lines are free for sensors and which are taken, the serial devices it has, and how to wire the
/// supported sensors to it. The presets are in `Boards.all` (BoardPresets.swift) — the one place this
/// data lives; `vigil check --board NAME` prints a preset and boards/*.txt are generated from it.
public struct Board: Sendable {
    /// Short stable name: `rpi-4b`.
    public var id: String
    /// `Raspberry Pi 4 Model B` — also the start of `/proc/device-tree/model` on that board.
    public var name: String
    /// Other names accepted by `vigil check --board` (compared without case, spaces, `-`, `_`, `.`).
    public var aliases: [String]
    public var soc: String
    /// The chip whose lines 0…27 are the header's GPIO0…GPIO27 (BCM numbering). Match it by label:
    /// device numbers change between kernels.
    public var headerChip: GPIOChip
    /// Other gpiochips the board has (not on the header).
    public var otherChips: [GPIOChip]
    /// Header GPIO lines a sensor must not use, and why.
    public var reserved: [ReservedLine]
    /// Usable lines that come with a catch.
    public var cautions: [ReservedLine]
    public var serialPorts: [SerialPort]
    /// Where a USB device (an ESP8266 board) is plugged in.
    public var usbPorts: String
    /// The default wiring of each supported sensor.
    public var wiring: [SensorWiring]
    public var notes: [String]
    /// The I²C buses on the header (the same on every preset here: I2C1 on GPIO2/3).
    public var i2cBuses: [I2CBusPreset] = [Boards.i2c1]
    /// The PCM/I²S pins (GPIO18-21 on every preset here).
    public var i2s: HeaderBus = Boards.i2sPins

    public struct GPIOChip: Sendable, Equatable {
        public var label: String
        /// The device it usually is, for orientation only.
        public var usualDevice: String
        public var lines: Int
        public var note: String
    }

    public struct ReservedLine: Sendable, Equatable {
        public var line: Int
        public var reason: String
    }

    public struct SerialPort: Sendable, Equatable {
        public var path: String
        public var description: String
    }

    /// The header GPIO lines (BCM numbers 0…27).
    public static let headerLines = Array(0...27)

    /// Header GPIO lines free for sensors: 0…27 without the reserved ones.
    public var usableLines: [Int] {
        let taken = Set(reserved.map(\.line))
        return Self.headerLines.filter { !taken.contains($0) }
    }

    public func wiring(for sensor: Sensor) -> SensorWiring? { wiring.first { $0.sensor == sensor } }
}

/// The sensors the presets have wiring for.
public enum Sensor: String, Sendable, CaseIterable {
    case dht22
    case sound
    case ds18b20
    case esp8266

    public var title: String {
        switch self {
        case .dht22: return "DHT22 (AM2302) temperature and humidity sensor"
        case .sound: return "digital sound sensor module (KY-038 / LM393 comparator, DO output)"
        case .ds18b20: return "DS18B20 1-Wire temperature sensor"
        case .esp8266: return "ESP8266 board (NodeMCU, Wemos D1 mini) over USB"
        }
    }
}

/// How one sensor connects: wires from its pins to header pins (or a USB cable), parts and setup.
public struct SensorWiring: Sendable {
    public var sensor: Sensor
    /// The header GPIO line that carries the signal, if any (BCM number = line of the header chip).
    public var line: Int?
    public var wires: [Wire]
    /// Resistors and the like.
    public var parts: [String]
    /// Steps on the Pi (config.txt overlays, where the device shows up).
    public var setup: [String]

    public struct Wire: Sendable {
        /// `2 DATA` — the sensor's pin.
        public var from: String
        /// The header pin it goes to (physical number 1…40); nil for a wire that does not go to the header.
        public var pin: Int?
        public var note: String
        public init(_ from: String, pin: Int?, _ note: String = "") { self.from = from; self.pin = pin; self.note = note }
    }
}

/// The 40-pin header, the same on every board here: physical pin → what it carries.
public enum Header {
    public enum Pin: Sendable, Equatable {
        case power3v3, power5v, ground
        case gpio(Int)

        public var label: String {
            switch self {
            case .power3v3: return "3V3"
            case .power5v: return "5V"
            case .ground: return "GND"
            case .gpio(let n): return "GPIO\(n)"
            }
        }
    }

    /// Index 0 is physical pin 1.
    public static let pins: [Pin] = [
        .power3v3, .power5v, .gpio(2), .power5v, .gpio(3), .ground, .gpio(4), .gpio(14), .ground, .gpio(15),
        .gpio(17), .gpio(18), .gpio(27), .ground, .gpio(22), .gpio(23), .power3v3, .gpio(24), .gpio(10), .ground,
        .gpio(9), .gpio(25), .gpio(11), .gpio(8), .ground, .gpio(7), .gpio(0), .gpio(1), .gpio(5), .ground,
        .gpio(6), .gpio(12), .gpio(13), .ground, .gpio(19), .gpio(16), .gpio(26), .gpio(20), .ground, .gpio(21),
    ]

    public static func pin(_ physical: Int) -> Pin? {
        (1...40).contains(physical) ? pins[physical - 1] : nil
    }

    /// The physical pin of header GPIO line `line`.
    public static func physicalPin(ofLine line: Int) -> Int? {
        pins.firstIndex(of: .gpio(line)).map { $0 + 1 }
    }
}

// MARK: - Lookup and validation

extension Board {
    static func normalized(_ s: String) -> String {
        String(s.lowercased().unicodeScalars.filter { !" -_.".unicodeScalars.contains($0) }.map(Character.init))
    }

    /// Whether `name` is this board's id, name or an alias.
    public func answers(to query: String) -> Bool {
        let n = Self.normalized(query)
        return !n.isEmpty && ([id, name] + aliases).contains { Self.normalized($0) == n }
    }

    /// Why `line` of gpiochip `chip` (a label; nil: the header chip) cannot carry a sensor on this
    /// board, or nil when it can. The GPIO source's config validation calls this for every line.
    public func problem(line: Int, chip: String? = nil) -> String? {
        if let chip, chip != headerChip.label {
            if otherChips.contains(where: { $0.label == chip }) {
                return "gpiochip '\(chip)' on \(name) is not wired to the 40-pin header; header GPIOs are lines of '\(headerChip.label)'"
            }
            return "\(name) has no gpiochip labelled '\(chip)'; header GPIOs are lines of '\(headerChip.label)'"
        }
        guard Self.headerLines.contains(line) else {
            return "GPIO\(line) is not on the 40-pin header of \(name) (header GPIOs: 0-27; free for sensors: \(Self.ranges(usableLines)))"
        }
        if let r = reserved.first(where: { $0.line == line }) {
            let pin = Header.physicalPin(ofLine: line).map { " (header pin \($0))" } ?? ""
            return "GPIO\(line)\(pin) is reserved on \(name): \(r.reason); free for sensors: \(Self.ranges(usableLines))"
        }
        return nil
    }

    /// Config issues for GPIO lines given at `path`s, e.g. `(["sources", "2", "line"], 14)`.
    public func issues(lines: [(path: [String], line: Int)], chip: String? = nil) -> [ConfigIssue] {
        lines.compactMap { l in problem(line: l.line, chip: chip).map { ConfigIssue(l.path, $0) } }
    }

    /// `2-13, 16-27`
    static func ranges(_ values: [Int]) -> String {
        var out: [String] = []
        var i = 0
        let v = values.sorted()
        while i < v.count {
            var j = i
            while j + 1 < v.count && v[j + 1] == v[j] + 1 { j += 1 }
            out.append(i == j ? "\(v[i])" : "\(v[i])-\(v[j])")
            i = j + 1
        }
        return out.joined(separator: ", ")
    }
}

extension Boards {
    /// The preset called `name` (id, model name or alias; case, spaces, `-`, `_` and `.` do not matter).
    public static func named(_ name: String) -> Board? { all.first { $0.answers(to: name) } }

    /// The preset for the model string in `/proc/device-tree/model` (`Raspberry Pi 4 Model B Rev 1.5`).
    public static func matching(model: String) -> Board? {
        let m = model.split(separator: "\0").first.map(String.init) ?? model
        return all.filter { m.hasPrefix($0.name) }.max { $0.name.count < $1.name.count }
    }

    /// `rpi-zero-2w, rpi-3b-plus, rpi-4b, rpi-5`
    public static var names: String { all.map(\.id).joined(separator: ", ") }
}

// MARK: - Text

extension Board {
    /// Everything about the preset, as `vigil check --board` prints it (and boards/<id>.txt holds).
    public func describe() -> String {
        var t = "\(name) (\(id))\n"
        t += String(repeating: "=", count: name.count + id.count + 3) + "\n\n"
        t += "SoC: \(soc)\n"
        if !aliases.isEmpty { t += "Also called: \(aliases.joined(separator: ", "))\n" }
        t += "\nGPIO\n----\n"
        t += "Header GPIOs are the lines of the gpiochip labelled \"\(headerChip.label)\" (\(headerChip.lines) lines; \(headerChip.usualDevice)).\n"
        t += "Line numbers are BCM GPIO numbers: GPIO17 is line 17. Find the chip by its label (gpiodetect), not by its number.\n"
        if !headerChip.note.isEmpty { t += headerChip.note + "\n" }
        for c in otherChips { t += "Other chip: \"\(c.label)\" (\(c.lines) lines; \(c.usualDevice)) - \(c.note)\n" }
        t += "Free for sensors: GPIO \(Self.ranges(usableLines))\n"
        t += "Reserved:\n"
        for r in reserved {
            t += "  GPIO\(r.line)".padding(9) + " pin \(Header.physicalPin(ofLine: r.line).map(String.init) ?? "-")".padding(8) + " \(r.reason)\n"
        }
        if !cautions.isEmpty {
            t += "Usable, with care:\n"
            for r in cautions {
                t += "  GPIO\(r.line)".padding(9) + " pin \(Header.physicalPin(ofLine: r.line).map(String.init) ?? "-")".padding(8) + " \(r.reason)\n"
            }
        }
        t += "\nSerial devices\n--------------\n"
        let pathWidth = serialPorts.map(\.path.count).max() ?? 0
        for p in serialPorts { t += "  " + p.path.padding(pathWidth) + "  \(p.description)\n" }
        t += "USB: \(usbPorts)\n"
        t += describeBuses()
        if !notes.isEmpty {
            t += "\nNotes\n-----\n"
            for n in notes { t += "- \(n)\n" }
        }
        for w in wiring {
            t += "\n" + wiringDiagram(w)
        }
        return t
    }

    /// One sensor's wiring: the wires, a drawing of the header with the pins used, parts and setup.
    public func wiringDiagram(_ w: SensorWiring) -> String {
        let title = "Wiring: \(w.sensor.title)"
        var t = title + "\n" + String(repeating: "-", count: title.count) + "\n"
        if let line = w.line {
            t += "Signal on GPIO\(line) = line \(line) of \"\(headerChip.label)\", header pin \(Header.physicalPin(ofLine: line) ?? 0).\n"
        }
        t += "\n"
        let fromWidth = w.wires.map(\.from.count).max() ?? 0
        for wire in w.wires {
            let target: String
            if let p = wire.pin, let pin = Header.pin(p) {
                target = "header pin \(p)".padding(14) + " \(pin.label)"
            } else {
                target = ""
            }
            var line = "  " + wire.from.padding(fromWidth) + "  ----->  " + target
            if !wire.note.isEmpty { line += target.isEmpty ? wire.note : "   (\(wire.note))" }
            t += line + "\n"
        }
        let used = Dictionary(w.wires.compactMap { wire in wire.pin.map { ($0, wire.from) } }, uniquingKeysWith: { a, _ in a })
        if !used.isEmpty {
            t += "\n" + headerDrawing(marks: used.mapValues { "\(w.sensor.rawValue.uppercased()) \($0)" })
        }
        if !w.parts.isEmpty { t += "\nParts: " + w.parts.joined(separator: "; ") + "\n" }
        if !w.setup.isEmpty {
            t += "Setup:\n"
            for s in w.setup { t += "  - \(s)\n" }
        }
        return t
    }

    /// The 40-pin header seen from above, pin 1 top left, with `marks` next to the pins they name.
    public func headerDrawing(marks: [Int: String]) -> String {
        let reservedLines = Set(reserved.map(\.line))
        func label(_ p: Int) -> String {
            guard let pin = Header.pin(p) else { return "" }
            if case .gpio(let n) = pin, reservedLines.contains(n) { return pin.label + "*" }
            return pin.label
        }
        let leftMarkWidth = stride(from: 1, through: 39, by: 2).map { (marks[$0].map { $0.count + 3 }) ?? 0 }.max() ?? 0
        var t = "  " + String(repeating: " ", count: leftMarkWidth) + "      odd  even\n"
        for row in 0..<20 {
            let l = row * 2 + 1, r = l + 1
            let lm = marks[l].map { $0 + " ->" } ?? ""
            let rm = marks[r].map { "<- " + $0 } ?? ""
            var line = "  " + lm.leftPadding(leftMarkWidth) + " " + label(l).leftPadding(7)
            line += " " + String(l).leftPadding(2) + " o o " + String(r).padding(2) + " " + label(r).padding(7)
            if !rm.isEmpty { line += " " + rm }
            t += line.trailingSpacesRemoved + "\n"
        }
        t += "  Pin 1 has the square pad, at the end of the header nearest the microSD card slot; * = reserved.\n"
        return t
    }
}

fileprivate extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    var trailingSpacesRemoved: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
