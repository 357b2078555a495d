import Testing
import VigilCore

/// `vigil replay --tune`'s choice: best pooled F1, the leave-one-file-out figure, and the
/// budget chosen without labels — exact on constructed trials.
@Suite struct TuningTests {
    /// One file of two rows (an anomaly, then a normal row), called right or all wrong.
    static func file(right: Bool) -> Tuning.Trial {
        var e = Evaluation()
        e.add(labels: [true, false], predicted: right ? [true, false] : [false, true], times: [0, 1])
        return Tuning.Trial(evaluation: e, episodes: 1, days: 1)
    }

    @Test func leaveOneFileOutNeverScoresAFileWithItsOwnChoice() {
        let trials = [[Self.file(right: true), Self.file(right: true), Self.file(right: false)],
                      [Self.file(right: false), Self.file(right: true), Self.file(right: true)]]
        let cv = Tuning.crossValidated(trials)
        #expect(cv.chosen == 0)   // both pool to F1 2/3: the earlier (less sensitive) wins the tie
        // file 0 held out: candidate 1 is better on files 1, 2 (F1 1 against 0.5) and calls file 0 wrong;
        // file 1: a tie, candidate 0, right; file 2: candidate 0 (1 against 0.5), wrong.
        #expect(cv.heldOut.truePositives == 1 && cv.heldOut.trueNegatives == 1)
        #expect(cv.heldOut.falsePositives == 2 && cv.heldOut.falseNegatives == 2 && cv.heldOut.files == 3)
    }

    @Test func withoutLabelsTheMostSensitiveBudgetWithinTheTargetIsChosen() {
        let quiet = [Tuning.Trial(evaluation: nil, episodes: 1, days: 2)]
        let busy = [Tuning.Trial(evaluation: nil, episodes: 3, days: 1), Tuning.Trial(evaluation: nil, episodes: 1, days: 1)]
        #expect(Tuning.episodesPerDay(quiet) == 0.5 && Tuning.episodesPerDay(busy) == 2)
        #expect(Tuning.withinBudget([quiet, busy], target: 1) == 0)
        #expect(Tuning.withinBudget([quiet, busy], target: 2) == 1)
        #expect(Tuning.withinBudget([quiet, busy], target: 0.1) == 0)   // none fits: the least sensitive
        #expect(Tuning.episodesPerDay([Tuning.Trial(evaluation: nil, episodes: 4, days: 0)]) == 0)
    }
}
