import ArgumentParser
import Logging
import VigilAgent
import VigilCore
import VigilSources
import VigilUplink
#if canImport(Glibc)
import Glibc
#endif

@main
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Edge agent: reads sensors, scores each reading against a sliding window, and sends only anomalies and summaries over MQTT.",
        version: VigilVersion.current,
        subcommands: [Run.self, Check.self, Read.self, Replay.self, Probe.self, Simulate.self]
    )
}

/// Prints config problems and exits with EX_CONFIG (78), so systemd does not restart-loop.
func exitWithConfigError(_ text: String) -> Never {
    printError(text)
    exit(ExitStatus.config)
}

func printError(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    bytes.withUnsafeMutableBytes { _ = write(2, $0.baseAddress, $0.count) }
}

/// - Parameter board: check GPIO lines as if on this board (`vigil check --board`), and use its
///   header chip as the default.
func loadConfig(_ path: String, broker: String? = nil, device: String? = nil, board: Board? = nil) -> VigilConfig {
    switch readConfig(path, broker: broker, device: device, board: board) {
    case .success(let config): return config
    case .failure(let problems): exitWithConfigError(problems.text)
    }
}

/// What is wrong with a config, one `FILE:LINE:COLUMN: field: message` per line.
struct ConfigProblems: Error { var text: String }

/// The config checked as `vigil check` does (command-line overrides applied, sources built), or its
/// problems: `vigil run` reads it this way at start (exit 78 on problems) and on SIGHUP (kept running).
func readConfig(_ path: String, broker: String? = nil, device: String? = nil, board: Board? = nil) -> Result<VigilConfig, ConfigProblems> {
    do {
        var config = try ConfigLoader.load(path: path)
        if let board {
            config.board = board.id
            let issues = config.gpioIssues(on: board)
            if !issues.isEmpty { throw ConfigIssueList(issues: issues) }
        }
        if broker != nil || device != nil {
            if let b = broker { config.mqtt.broker = b }
            if let d = device { config.device = d }
            let issues = config.validate()
            if !issues.isEmpty {
                return .failure(ConfigProblems(text: issues.map { "command line: \($0.path.first == "mqtt" ? "--broker" : "--device"): \($0.message)" }.joined(separator: "\n")))
            }
        }
        _ = try Agent.buildSources(config)
        return .success(config)
    } catch let e as ConfigError {
        return .failure(ConfigProblems(text: e.description))
    } catch let e as ConfigIssueList {
        // Problems found while building sources: place them in the file too.
        return .failure(ConfigProblems(text: placed(e.issues, inFile: path).joined(separator: "\n")))
    } catch {
        return .failure(ConfigProblems(text: "\(path): \(error)"))
    }
}

/// Issues as `vigil check` prints them: `FILE:LINE:COLUMN: field: message`.
func placed(_ issues: [ConfigIssue], inFile path: String) -> [String] {
    (try? ConfigLoader.locate(issues: issues, inFile: path)) ?? issues.map { "\(path): \($0)" }
}

/// The password of `mqtt.password_file` (nil when the config names none) and the warnings about
/// its file, by the rules `vigil check` and `vigil run` share; exits with EX_CONFIG, naming the
/// config line, when the file cannot be used.
func loadPassword(_ config: VigilConfig, configPath: String) -> PasswordFile.Loaded? {
    let credentials = getenv("CREDENTIALS_DIRECTORY").map { String(cString: $0) }
    do throws(ConfigIssueList) {
        return try PasswordFile.load(config, configPath: configPath, credentialsDirectory: credentials)
    } catch {
        exitWithConfigError(placed(error.issues, inFile: configPath).joined(separator: "\n"))
    }
}

func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "wb") else {
        printError("\(path): cannot write: \(String(cString: strerror(errno)))")
        throw ExitCode(ExitStatus.noInput)
    }
    defer { fclose(f) }
    var bytes = Array(text.utf8)
    _ = fwrite(&bytes, 1, bytes.count, f)
}
