"""Behaviour is unchanged by refactors: tiny digits runs of every model give, bit for bit, the
metrics committed in ``tests/fixtures/behaviour_runs.json`` (written before issue 29's move)."""
from __future__ import annotations

import json
import math

import pytest

from tests.fixtures.behaviour_runs import FIXTURE, RUNS, machine, pinned_metrics

PINNED = json.loads(FIXTURE.read_text())


def test_fixture_covers_every_registered_model():
    from ssvae.models import MODELS

    assert set(MODELS.names()) <= {cfg["model"] for cfg in RUNS.values()}
    assert set(PINNED["runs"]) == set(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_metrics_match_the_fixture_bit_for_bit(name):
    here = machine()
    if here != PINNED["machine"]:
        pytest.skip(f"fixture written on {PINNED['machine']}, this machine is {here}: float "
                    f"results differ across torch builds and CPU kernels; rewrite it with "
                    f"`python tests/fixtures/behaviour_runs.py` on the old commit to compare")
    got, want = pinned_metrics(name), PINNED["runs"][name]
    # every pinned metric is still there and unchanged; metrics added later (e.g. issue 26's
    # moderation metrics) are new behaviour, not a change of the old
    assert set(want) <= set(got), sorted(set(want) - set(got))
    for key, value in want.items():
        # bit for bit: floats compared by their exact hex form, NaN equal to NaN
        if isinstance(value, float) and not math.isnan(value):
            assert float(got[key]).hex() == value.hex(), (key, got[key], value)
        elif isinstance(value, float):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == value, (key, got[key], value)
