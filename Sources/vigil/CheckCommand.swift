import ArgumentParser
import Logging
import VigilAgent
import VigilCore
import VigilSources
import VigilUplink
#if canImport(Glibc)
import Glibc
#endif

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate a config file; exit 78 (EX_CONFIG) when it has problems.")

    @Option(name: .shortAndLong, help: "Config file (YAML); /etc/vigil/vigil.yaml unless only --board is given.")
    var config: String?

    @Option(help: "Print a board's preset (GPIO chip, free and reserved pins, serial devices, wiring): \(Boards.names), 'auto' for this machine, or 'list'. With --config, also check the config's GPIO lines against it and print the config.txt lines its I2C and I2S sources need.")
    var board: String?

    func run() throws {
        if board == "list" {
            for b in Boards.all { print(b.id + String(repeating: " ", count: max(2, 14 - b.id.count)) + b.name) }
            return
        }
        let preset = board.map(Self.board(named:))
        if config != nil || preset == nil {
            let path = config ?? "/etc/vigil/vigil.yaml"
            // With --board the GPIO lines are checked against that board, wherever this runs.
            let c = loadConfig(path, board: preset)
            // The password file too, by `vigil run`'s rules: a file run would refuse fails the check.
            if let password = loadPassword(c, configPath: path) {
                let warnings = password.warnings.map { ConfigIssue($0.path, "warning: " + $0.message) }
                for warning in placed(warnings, inFile: path) { printError(warning) }
            }
            let names = c.channelNames.map(\.name)
            print("\(path): OK — device '\(c.device)', \(c.sources.count) source(s), channels: \(names.joined(separator: ", ")), broker \(c.mqtt.broker)")
            // The overlays and dtparams the config's I²C and I²S sources need on that board.
            if let b = preset ?? c.namedBoard, let setup = c.describeSetup(on: b) { print(setup, terminator: "") }
        }
        if let preset { print(preset.describe(), terminator: "") }
    }

    /// The preset called `name`, or this machine's for `auto`; exits with EX_CONFIG when there is none.
    static func board(named name: String) -> Board {
        if name == "auto" {
            let path = "/proc/device-tree/model"
            guard let model = readFile(path), !model.isEmpty else {
                exitWithConfigError("--board auto: cannot read \(path) (not a Raspberry Pi?); name one of: \(Boards.names)")
            }
            guard let b = Boards.matching(model: model) else {
                exitWithConfigError("--board auto: no preset for '\(model.split(separator: "\0").first ?? "")'; presets: \(Boards.names)")
            }
            return b
        }
        guard let b = Boards.named(name) else { exitWithConfigError("--board: no preset called '\(name)'; presets: \(Boards.names), or auto") }
        return b
    }
}
