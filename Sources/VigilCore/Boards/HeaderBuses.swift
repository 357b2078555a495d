/// A bus on the 40-pin header that takes GPIO lines once it is enabled: an I²C bus, the PCM/I²S
/// interface. A source that uses one (an ADS1115 on /dev/i2c-1, an I²S microphone) makes its lines
/// unusable for GPIO sources, and needs lines in config.txt, which `vigil check --board` prints.
public struct HeaderBus: Sendable, Equatable {
    /// `I2C1`, `I2S`.
    public var name: String
    /// Each line it takes, with its role: `(2, "SDA1")`.
    public var lines: [Role]
    /// The config.txt lines that turn it on (for I²S: with the overlay of a capture card).
    public var enable: [String]

    public struct Role: Sendable, Equatable {
        public var line: Int
        public var signal: String
        public init(_ line: Int, _ signal: String) { self.line = line; self.signal = signal }
    }

    public func role(of line: Int) -> Role? { lines.first { $0.line == line } }

    /// `GPIO2 SDA1 (pin 3), GPIO3 SCL1 (pin 5)`
    public var pinList: String {
        lines.map { "GPIO\($0.line) \($0.signal) (pin \(Header.physicalPin(ofLine: $0.line) ?? 0))" }.joined(separator: ", ")
    }
}

/// A bus a source uses, for checks against the board preset. Sources declare it in
/// `SourceSettings.headerBuses`; the core knows no kind by name.
public struct HeaderBusUse: Sendable, Equatable {
    public enum Bus: Sendable, Equatable {
        /// An I²C bus by its device: `/dev/i2c-1`.
        case i2c(device: String)
        /// The PCM/I²S interface (a microphone on the header).
        case i2s
    }
    public var bus: Bus
    /// The field that chooses it, relative to the source entry.
    public var path: [String]
    public init(_ bus: Bus, path: [String]) { self.bus = bus; self.path = path }
}

extension Board {
    /// The preset's bus for `use`; nil for a bus it does not know (an i2c-gpio bus, another
    /// controller's overlay): those are not the preset's business.
    public func bus(for use: HeaderBusUse.Bus) -> HeaderBus? {
        switch use {
        case .i2c(let device): return i2cBuses.first { $0.device == device }?.bus
        case .i2s: return i2s
        }
    }

    /// The header buses, as `describe()` prints them.
    func describeBuses() -> String {
        var t = "\nI2C and I2S\n-----------\n"
        for b in i2cBuses {
            t += "  \(b.bus.name) (\(b.device)): \(b.bus.pinList); enable with \(b.bus.enable.joined(separator: " and "))\n"
        }
        t += "  \(i2s.name) (PCM): \(i2s.pinList)\n"
        t += "  An I2S microphone (INMP441, SPH0645) needs a capture card declared by an overlay: \(i2s.enable.joined(separator: " and ")).\n"
        t += "  GPIO sources may not use the lines of a bus an I2C or I2S source of the same config uses.\n"
        return t
    }
}

/// An I²C bus of a preset: the device the kernel gives it and its lines.
public struct I2CBusPreset: Sendable, Equatable {
    public var device: String
    public var bus: HeaderBus
}

extension Boards {
    /// I2C1 on GPIO2/3, the same on every 40-pin board (the ID EEPROM's I2C0 on GPIO0/1 is reserved).
    static let i2c1 = I2CBusPreset(device: "/dev/i2c-1", bus: HeaderBus(
        name: "I2C1", lines: [.init(2, "SDA1"), .init(3, "SCL1")], enable: ["dtparam=i2c_arm=on"]))

    /// The PCM/I²S pins, the same on every 40-pin board. `dtparam=i2s=on` routes them; a MEMS
    /// microphone has no driver of its own, so a codec overlay that passes I²S data through declares
    /// the capture card (adau7002-simple, as Sources/VigilSources/Microphone/README.md uses).
    static let i2sPins = HeaderBus(
        name: "I2S", lines: [.init(18, "PCM_CLK/BCLK"), .init(19, "PCM_FS/LRCLK"), .init(20, "PCM_DIN"), .init(21, "PCM_DOUT")],
        enable: ["dtparam=i2s=on", "dtoverlay=adau7002-simple"])
}

// MARK: - Config checks

/// One config.txt line a config needs on a board, and the source that needs it.
public struct BoardSetupLine: Sendable, Equatable {
    public var line: String
    /// `sources[0] 'hum' (ads1x15)`
    public var neededBy: String
    public init(line: String, neededBy: String) { self.line = line; self.neededBy = neededBy }
}

extension VigilConfig {
    /// The buses the sources use that the board knows, with the source index.
    func busesInUse(on board: Board) -> [(source: Int, use: HeaderBusUse, bus: HeaderBus)] {
        var out: [(source: Int, use: HeaderBusUse, bus: HeaderBus)] = []
        for (i, s) in sources.enumerated() {
            for use in s.headerBuses { if let bus = board.bus(for: use.bus) { out.append((i, use, bus)) } }
        }
        return out
    }

    func describeSource(_ i: Int) -> String { "sources[\(i)] '\(sources[i].name)' (\(sources[i].kind))" }

    /// GPIO lines on the header chip that a bus another source uses takes.
    func busConflicts(on board: Board, lines: [(source: Int, path: [String], line: Int)]) -> [ConfigIssue] {
        let buses = busesInUse(on: board)
        guard !buses.isEmpty else { return [] }
        let taken = Set(buses.flatMap { $0.bus.lines.map(\.line) })
        let free = Board.ranges(board.usableLines.filter { !taken.contains($0) })
        return lines.compactMap { l in
            guard let b = buses.first(where: { $0.bus.role(of: l.line) != nil }), let role = b.bus.role(of: l.line) else { return nil }
            let pin = Header.physicalPin(ofLine: l.line).map { " (header pin \($0))" } ?? ""
            let device: String
            if case .i2c(let d) = b.use.bus { device = " (\(d))" } else { device = "" }
            return ConfigIssue(["sources", "\(l.source)"] + l.path,
                "GPIO\(l.line)\(pin) is \(role.signal) of \(b.bus.name)\(device) on \(board.name), which \(describeSource(b.source)) uses; free for sensors: \(free)")
        }
    }

    /// The config.txt lines this config needs on `board`, once each, in source order.
    public func setup(on board: Board) -> [BoardSetupLine] {
        var out: [BoardSetupLine] = []
        for (i, _, bus) in busesInUse(on: board) {
            for line in bus.enable where !out.contains(where: { $0.line == line }) {
                out.append(BoardSetupLine(line: line, neededBy: describeSource(i)))
            }
        }
        return out
    }
}

extension VigilConfig {
    /// What `vigil check --board` prints after the OK line: the config.txt lines this config needs
    /// on `board` (then a reboot); nil when it needs none.
    public func describeSetup(on board: Board) -> String? {
        let lines = setup(on: board)
        guard !lines.isEmpty else { return nil }
        let width = lines.map(\.line.count).max() ?? 0
        var t = "On \(board.name) this config needs in /boot/firmware/config.txt (then a reboot):\n"
        for l in lines { t += "  " + l.line + String(repeating: " ", count: width - l.line.count) + "   for \(l.neededBy)\n" }
        return t
    }
}
