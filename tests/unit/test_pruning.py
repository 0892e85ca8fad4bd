from __future__ import annotations

from kaptain.workflows.pruning import SuccessiveHalving, rungs


def test_rungs_grow_by_eta_and_stop_below_max_resource() -> None:
    assert rungs(1, 3, None, 30) == [1, 3, 9, 27]
    assert rungs(2, 2, 10, 100) == [2, 4, 8]
    assert rungs(5, 3, None, 4) == []


def test_a_rung_judges_nothing_until_eta_trials_reached_it() -> None:
    halving = SuccessiveHalving(eta=3)
    assert halving.report(0, [0.1]) is False
    assert halving.report(1, [0.9]) is False
    # the third trial at rung 1: only the best ceil(3/3) = 1 survives
    assert halving.report(2, [0.2]) is True


def test_maximize_keeps_the_best_and_minimize_the_lowest() -> None:
    up = SuccessiveHalving(eta=2)
    up.report(0, [0.5])
    assert up.report(1, [0.4]) is True  # worse than the top half
    assert up.report(2, [0.9]) is False
    down = SuccessiveHalving(eta=2, maximize=False)
    down.report(0, [0.5])
    assert down.report(1, [0.4]) is False  # lower loss is better
    assert down.report(2, [0.6]) is True


def test_each_trial_is_judged_once_per_rung() -> None:
    halving = SuccessiveHalving(eta=2)
    halving.report(0, [0.9])
    assert halving.report(1, [0.8]) is True
    # a later report of the same values does not judge rung 1 again
    assert halving.report(1, [0.8]) is False
    # at rung 2 it competes with the trials that reached rung 2
    halving.report(0, [0.9, 0.95])
    assert halving.report(1, [0.8, 0.99]) is False
