import ArgumentParser
import VigilFleet
import VigilFleetCore
import VigilIO

/// `--webhook …`: where alerts go (docs/fleet.md, Alerts).
struct WebhookOptions: ParsableArguments {
    @Option(help: "POST an alert here on anomaly and health start/end and gateway offline/online: http://HOST[:PORT][/PATH].")
    var webhook: String?
    @Option(name: .customLong("webhook-mode"), help: "vigil (one JSON object per alert) or alertmanager (POST /api/v2/alerts).")
    var webhookMode: String = "vigil"
    @Option(name: .customLong("webhook-header-file"), help: "A file holding one header line sent with every alert, e.g. 'Authorization: Bearer …'.")
    var webhookHeaderFile: String?
    @Option(name: .customLong("webhook-queue"), help: "Alerts waiting for delivery at most; more are dropped and counted.")
    var webhookQueue: Int = 10_000

    /// The target these options give (nil: no webhook), appending what is wrong to `problems`.
    func target(_ problems: inout [String]) -> WebhookTarget? {
        let mode = WebhookMode(rawValue: webhookMode) ?? .vigil
        if WebhookMode(rawValue: webhookMode) == nil { problems.append("--webhook-mode: '\(webhookMode)' is not vigil or alertmanager") }
        if !(1...1_000_000).contains(webhookQueue) { problems.append("--webhook-queue: 1 to 1000000, got \(webhookQueue)") }
        guard let webhook else {
            if webhookHeaderFile != nil { problems.append("--webhook-header-file: needs --webhook") }
            return nil
        }
        var target: WebhookTarget
        switch WebhookTarget.parse(url: webhook, mode: mode) {
        case .success(let t): target = t
        case .failure(let why): problems.append("--webhook: \(why)"); return nil
        }
        if let file = webhookHeaderFile {
            do {
                let text = String(decoding: try FileIO.read(file, maxBytes: 8192), as: UTF8.self)
                switch WebhookTarget.parseHeader(text, file: file) {
                case .success(let h): target.headers = [h]
                case .failure(let why): problems.append("--webhook-header-file: \(why)")
                }
            } catch {
                problems.append("--webhook-header-file: \(error)")
            }
        }
        return target
    }
}
