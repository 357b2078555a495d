import Logging
import VigilAgent
import VigilCore

/// SIGHUP in `vigil run`: reads and checks the config file again; a config with problems is logged
/// (each problem at its file:line) and the running one kept; a good one is applied to the sources and
/// to Home Assistant's entities, the MQTT session and the outbox staying as they are.
struct Reload: Sendable {
    var path: String
    var broker: String?
    var device: String?
    var agent: Agent
    var announcer: HomeAssistantAnnouncer
    var logger: Logger

    func run() {
        logger.notice("reloading the config", metadata: ["config": "\(path)"])
        let new: VigilConfig
        switch readConfig(path, broker: broker, device: device) {
        case .failure(let problems):
            for line in problems.text.split(separator: "\n") {
                logger.error("config not reloaded, still running on the previous one: \(line)")
            }
            return
        case .success(let c): new = c
        }
        let old = agent.config
        var applied = new
        let restartOnly = ReloadChanges.fieldsNeedingRestart(from: old, to: new)
        if !restartOnly.isEmpty {
            logger.warning("config applied without \(restartOnly.joined(separator: ", ")): changes there apply after a restart")
            applied.device = old.device
            applied.mqtt = old.mqtt
            applied.logLevel = old.logLevel
            applied.metrics = old.metrics
        }
        do throws(ConfigIssueList) {
            let changes = try agent.reload(to: applied)
            logger.notice("config reloaded", metadata: ["added": "\(changes.added.joined(separator: ","))", "removed": "\(changes.removed.joined(separator: ","))",
                                                        "restarted": "\(changes.restarted.joined(separator: ","))", "kept": "\(changes.kept.joined(separator: ","))"])
            announcer.update(HomeAssistantAnnouncer.messages(applied, sources: agent.sources, board: BoardDetection.board(for: applied)),
                             republish: true)
        } catch {
            for line in placed(error.issues, inFile: path) {
                logger.error("config not reloaded, still running on the previous one: \(line)")
            }
        }
    }
}
