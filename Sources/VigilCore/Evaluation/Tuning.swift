/// `vigil replay --tune`: which false-alarm budget to suggest for a user's recorded history.
///
/// Each candidate budget was replayed over every file. With labels the suggestion is the budget
/// with the best F1 pooled over all files, and its honest figure is leave-one-file-out: for each
/// file, the budget best on the *other* files, scored on that file, pooled — no file is scored by
/// a choice it took part in. Without labels every episode counts as a false alarm (the history is
/// taken as normal): the suggestion is the most sensitive budget whose episodes per day on the
/// data stay within the target.
public enum Tuning {
    /// The budgets tried, least sensitive first.
    public static let budgets: [Double] = [0.1, 0.3, 1, 3, 10]

    /// One candidate replayed over one file.
    public struct Trial: Sendable, Equatable {
        public var evaluation: Evaluation?
        public var episodes: Int
        public var days: Double
        public init(evaluation: Evaluation?, episodes: Int, days: Double) {
            self.evaluation = evaluation; self.episodes = episodes; self.days = days
        }
    }

    /// Episodes per day of one candidate over all files (0 when the files span no time).
    public static func episodesPerDay(_ trials: [Trial]) -> Double {
        let days = trials.reduce(0) { $0 + $1.days }
        return days > 0 ? Double(trials.reduce(0) { $0 + $1.episodes }) / days : 0
    }

    public static func pooled(_ trials: [Trial]) -> Evaluation {
        var e = Evaluation()
        for t in trials { if let x = t.evaluation { e.merge(x) } }
        return e
    }

    /// With labels: the index of the best candidate by pooled F1 (the earlier on a tie), and the
    /// leave-one-file-out evaluation. `trials[c][f]`: candidate c on file f.
    public static func crossValidated(_ trials: [[Trial]]) -> (chosen: Int, heldOut: Evaluation) {
        func best(excluding skip: Int?) -> Int {
            var bestIndex = 0, bestF1 = -1.0
            for (c, row) in trials.enumerated() {
                let f1 = pooled(row.enumerated().filter { $0.offset != skip }.map(\.element)).f1
                if f1 > bestF1 { bestF1 = f1; bestIndex = c }
            }
            return bestIndex
        }
        var heldOut = Evaluation()
        let files = trials.first?.count ?? 0
        for f in 0..<files where files > 1 {
            if let e = trials[best(excluding: f)][f].evaluation { heldOut.merge(e) }
        }
        return (best(excluding: nil), heldOut)
    }

    /// Without labels: the most sensitive candidate whose episodes per day ≤ `target`; the least
    /// sensitive when none is.
    public static func withinBudget(_ trials: [[Trial]], target: Double) -> Int {
        trials.indices.last { episodesPerDay(trials[$0]) <= target } ?? 0
    }
}
