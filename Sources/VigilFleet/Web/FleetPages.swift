import Foundation
import VigilCore
import VigilFleetCore

/// The fleet page's filters, from the query string: a device name part, a channel (or source), a kind.
public struct PageFilter: Sendable, Equatable {
    public var device: String?
    public var channel: String?
    public var kind: FleetView.ProblemKind?

    public init(device: String? = nil, channel: String? = nil, kind: FleetView.ProblemKind? = nil) {
        self.device = device; self.channel = channel; self.kind = kind
    }

    func keeps(device name: String) -> Bool { device.map { name.contains($0) } ?? true }
    func keeps(_ p: FleetView.Problem) -> Bool {
        keeps(device: p.device) && (channel.map { p.subject == $0 } ?? true) && (kind.map { p.kind == $0 } ?? true)
    }
    /// With a channel or kind, only devices with a matching open problem are listed.
    var narrowsDevices: Bool { channel != nil || kind != nil }
}

/// The two pages, rendered server-side from store rows. Pure: no I/O. Everything changing lives in
/// `<main id="live">`, which the inline script swaps for a fresh copy when the change feed names it.
enum FleetPages {
    static func overview(devices: [FleetView.Device], problems: [FleetView.Problem], filter: PageFilter, canAcknowledge: Bool = false) -> Markup {
        let shownProblems = problems.filter(filter.keeps)
        let withProblem = Set(shownProblems.map(\.device))
        let shownDevices = devices.filter { filter.keeps(device: $0.device) && (!filter.narrowsDevices || withProblem.contains($0.device)) }
        let kinds: [Markup] = [Markup("<option value=\"\">any kind</option>")] + FleetView.ProblemKind.allCases.map { k in
            "<option\(filter.kind == k ? Markup(" selected") : Markup())>\(k.rawValue)</option>"
        }
        let form: Markup = """
            <form method="get" action="/"><label>device <input name="device" value="\(filter.device ?? "")"></label> \
            <label>channel <input name="channel" value="\(filter.channel ?? "")"></label> \
            <label>kind <select name="kind">\(kinds)</select></label> <button>filter</button> <a href="/">clear</a></form>
            """
        let live: Markup = """
            <h2>Open problems (\(shownProblems.count))</h2>\(problemTable(shownProblems, withDevice: true, canAcknowledge: canAcknowledge))
            <h2>Devices (\(shownDevices.count) of \(devices.count))</h2>\(deviceTable(shownDevices))
            """
        return page(title: "vigil-fleet", device: nil, heading: "Fleet", above: form, live: live)
    }

    static func device(_ d: FleetView.DeviceDetail, problems: [FleetView.Problem], series: [FleetView.ChannelSeries],
                       events: [FleetView.Event], canAcknowledge: Bool = false) -> Markup {
        let r = d.device
        let plots: [Markup] = series.map { s in
            "<section class=\"channel\"><h3>\(s.channel)\(s.unit.isEmpty ? "" : " (\(s.unit))")</h3>\(ChannelPlot(series: s).markup)</section>"
        }
        let rows: [Markup] = events.map { e in
            "<tr class=\"\(e.kind)\"><td>\(e.seq)</td><td>\(e.kind)</td><td>\(e.event)</td><td>\(e.subject)</td><td>\(e.ts)</td><td><code>\(payloadText(e.payload))</code></td></tr>"
        }
        let filterLinks: [Markup] = [Markup("<a href=\"?\">all</a>")] + ["anomaly", "health", "summary", "source", "agent"].map { k in
            " · <a href=\"?kind=\(k)\">\(k)</a>"
        }
        let live: Markup = """
            <p><span class="state \(r.state)">\(r.state)</span> since \(r.stateSince) · last seen \(r.lastSeen) · version \(r.version ?? "?") · \
            stored \(r.stored) · duplicates \(r.duplicates) · <b>lost \(r.lost)</b> · skipped \(r.skipped) · open seqs \(r.openSeqs)</p>
            <h2>Open problems (\(problems.count))</h2>\(problemTable(problems, withDevice: false, canAcknowledge: canAcknowledge))
            <h2>Channels</h2>\(plots.isEmpty ? Markup("<p class=\"empty\">no channels yet</p>") : Markup("\(plots)"))
            <h2>Event log</h2><p>\(filterLinks)</p>
            <table class="events"><tr><th>seq</th><th>kind</th><th>event</th><th>subject</th><th>ts</th><th>payload</th></tr>\(rows)</table>
            """
        return page(title: "\(r.device) · vigil-fleet", device: r.device, heading: "\(r.device)", above: "<p><a href=\"/\">← fleet</a></p>", live: live)
    }

    static func problemTable(_ problems: [FleetView.Problem], withDevice: Bool, canAcknowledge: Bool = false) -> Markup {
        guard !problems.isEmpty else { return "<p class=\"empty\">none</p>" }
        let rows: [Markup] = problems.map { p in
            let device: Markup = withDevice ? "<td><a href=\"/devices/\(p.device)\">\(p.device)</a></td>" : Markup()
            return "<tr class=\"problem \(p.kind.rawValue)\"><td>\(p.kind.rawValue)</td>\(device)<td>\(p.subject)</td><td>\(p.detail)</td><td>\(Timestamp.rfc3339(p.sinceNanos))</td>\(acknowledgement(p, canAcknowledge))</tr>"
        }
        let head: Markup = withDevice ? "<th>device</th>" : Markup()
        return "<table class=\"problems\"><tr><th>kind</th>\(head)<th>channel / source</th><th>detail</th><th>since</th><th>acknowledged</th></tr>\(rows)</table>"
    }

    /// Who acknowledged an anomaly and when; else, for a caller with the write role, a button that does.
    static func acknowledgement(_ p: FleetView.Problem, _ canAcknowledge: Bool) -> Markup {
        if let a = p.acknowledged {
            return "<td class=\"ack\">\(a.by) at \(a.at)\(a.note.isEmpty ? "" : ": \(a.note)")</td>"
        }
        guard canAcknowledge, let episode = p.episode else { return "<td></td>" }
        return "<td><button class=\"ack\" data-ack=\"/api/devices/\(p.device)/episodes/\(p.subject)/\(episode)/acknowledge\">acknowledge</button></td>"
    }

    static func deviceTable(_ devices: [FleetView.Device]) -> Markup {
        let rows: [Markup] = devices.map { d in
            """
            <tr class="device"><td><a href="/devices/\(d.device)">\(d.device)</a></td><td><span class="state \(d.state)">\(d.state)</span></td>\
            <td class="n\(d.openAnomalies > 0 ? " bad" : "")">\(d.openAnomalies)</td><td class="n\(d.healthProblems > 0 ? " bad" : "")">\(d.healthProblems)</td>\
            <td class="n\(d.sourcesDown > 0 ? " bad" : "")">\(d.sourcesDown)</td><td>\(d.lastSeen)</td><td class="n\(d.lost > 0 ? " bad" : "")">\(d.lost)</td>\
            <td class="n">\(d.skipped)</td><td class="n">\(d.openSeqs)</td><td class="n">\(d.stored)</td><td>\(d.version ?? "")</td></tr>
            """
        }
        return """
            <table class="devices"><tr><th>device</th><th>state</th><th>anomalies</th><th>health</th><th>sources down</th><th>last seen</th>\
            <th>lost</th><th>skipped</th><th>open seqs</th><th>stored</th><th>version</th></tr>\(rows)</table>
            """
    }

    static func payloadText(_ v: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(v)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    static func page(title: String, device: String?, heading: String, above: Markup, live: Markup) -> Markup {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\
        <title>\(title)</title><style>\(style)</style></head><body data-device="\(device ?? "")">\
        <header><h1>\(heading)</h1>\(above)</header><main id="live">\(live)</main><script>\(script)</script></body></html>
        """
    }

    static let style: Markup = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}h1{margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}\
        table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
        td.n{text-align:right}.bad{color:#b00;font-weight:bold}.state{padding:0 6px;border-radius:3px}.online{background:#cfc}\
        .offline{background:#fcc}.unknown{background:#eee}tr.anomaly td:first-child{color:#b00}tr.health td:first-child{color:#a60}\
        .events code{font-size:12px;word-break:break-all}.channel h3{margin:.6em 0 0}svg.plot{max-width:900px;display:block}\
        svg .band{fill:#9cf;opacity:.5}svg .mean{fill:none;stroke:#036;stroke-width:1.5}svg .point{fill:#036}\
        svg .episode{fill:#f44;opacity:.25}svg .health{fill:#fa0;opacity:.25}svg .frame{fill:none;stroke:#999}\
        svg text{font-size:11px;fill:#555}.empty{color:#777}
        """

    /// Live updates: after each committed batch the server sends `{"devices":[…]}` on /api/stream; a notice that
    /// concerns this page fetches it again and swaps `#live`. Without JavaScript the page is complete as served.
    static let script: Markup = """
        (function(){if(!window.EventSource||!window.fetch)return;var d=document.body.dataset.device,busy=0,again=0;\
        function reload(){if(busy){again=1;return}busy=1;fetch(location.href).then(function(r){return r.text()}).then(function(t){\
        var n=new DOMParser().parseFromString(t,'text/html').getElementById('live');if(n)document.getElementById('live').replaceWith(n)})\
        .finally(function(){busy=0;if(again){again=0;reload()}})}\
        document.addEventListener('click',function(e){var b=e.target.closest('button[data-ack]');if(!b)return;b.disabled=true;\
        fetch(b.dataset.ack,{method:'POST',headers:{'Content-Type':'application/json'},body:'{}'}).finally(reload)});\
        new EventSource('/api/stream').onmessage=function(e){var c=JSON.parse(e.data);if(!d||c.devices.indexOf(d)>=0)reload()}})();
        """
}
