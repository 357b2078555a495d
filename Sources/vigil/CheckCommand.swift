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
    static let configuration = CommandConfiguration(abstract: "Validate a config file; exit 78 (EX_CONFIG) when it has problems.")

    @Option(name: .shortAndLong, help: "Config file (YAML).")
    var config: String = "/etc/vigil/vigil.yaml"

    func run() throws {
        let c = loadConfig(config)
        let names = c.channelNames.map(\.name)
        print("\(config): OK — device '\(c.device)', \(c.sources.count) source(s), channels: \(names.joined(separator: ", ")), broker \(c.mqtt.broker)")
    }
}
