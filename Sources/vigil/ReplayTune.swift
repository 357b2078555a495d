import ArgumentParser
import VigilAgent
import VigilCore

/// `vigil replay --tune`: replays every file once per candidate budget (`Tuning.budgets`) and
/// prints the figures of each and the suggested `detector:` block, ready to paste.
extension Replay {
    func runTune(_ inputs: [String], options: VigilAgent.Replay.Options, settingsFor: (String) -> DetectorSettings) throws {
        var texts: [(path: String, text: String)] = []
        for path in inputs {
            guard let text = readFile(path) else {
                printError("\(path): cannot read the file")
                throw ExitCode(ExitStatus.noInput)
            }
            texts.append((path, text))
        }
        var trials: [[Tuning.Trial]] = []
        var rows = 0
        for budget in Tuning.budgets {
            var row: [Tuning.Trial] = []
            for (path, text) in texts {
                let r: VigilAgent.Replay
                do {
                    r = try VigilAgent.Replay(text: text, file: path, options: options) { name in
                        var s = settingsFor(name)
                        s.falseAlarmsPerDay = budget
                        return s
                    }
                } catch {
                    printError(error.description)
                    throw ExitCode(ExitStatus.dataError)
                }
                if budget == Tuning.budgets[0] { rows += r.rows.count }
                let span = (r.rows.last?.wallNanos ?? 0) - (r.rows.first?.wallNanos ?? 0)
                row.append(Tuning.Trial(evaluation: r.evaluation, episodes: r.episodes.count, days: Double(span) / 86_400e9))
            }
            trials.append(row)
        }
        let f = Evaluation.fixed
        let labelled = labels != nil
        print("tune: \(inputs.count) file(s), \(rows) rows, \(f(trials[0].reduce(0) { $0 + $1.days }, 2)) days" + (labelled ? ", labels \(labels!)" : ""))
        for (c, budget) in Tuning.budgets.enumerated() {
            var line = "false_alarms_per_day \(Self.number(budget)): episodes/day \(f(Tuning.episodesPerDay(trials[c]), 2))"
            if labelled {
                let e = Tuning.pooled(trials[c])
                line += "  F1 \(f(e.f1, 3))  FAR \(f(100 * e.falseAlarmRate, 2))%  MAR \(f(100 * e.missedAlarmRate, 2))%"
            }
            print(line)
        }
        let chosen: Int
        if labelled {
            let cv = Tuning.crossValidated(trials)
            chosen = cv.chosen
            let h = cv.heldOut
            print(inputs.count > 1
                  ? "suggested: best F1 over all files; held out (leave-one-file-out): F1 \(f(h.f1, 3))  FAR \(f(100 * h.falseAlarmRate, 2))%  MAR \(f(100 * h.missedAlarmRate, 2))%"
                  : "suggested: best F1 (one file: no held-out figure; give several files)")
        } else {
            chosen = Tuning.withinBudget(trials, target: targetFalseAlarmsPerDay)
            print("suggested: the most sensitive budget with at most \(Self.number(targetFalseAlarmsPerDay)) episode(s)/day on this (taken as normal) history")
        }
        print("detector:\n  false_alarms_per_day: \(Self.number(Tuning.budgets[chosen]))")
    }

    /// 1 → "1", 0.3 → "0.3".
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
}
