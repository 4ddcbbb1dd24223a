"""Issue 22: the depth scan's cheap paths (strings dropped by splitting at quotes when there is
no escape; balanced brackets peeled a level per pass) must agree with the exact scan."""
import random

import pytest

from plugin_app.domain import jsondepth as J

pytestmark = pytest.mark.fast


def test_the_cheap_scan_agrees_with_the_pattern_and_the_running_depth():
    rng = random.Random(22)
    alphabet = b'[]{}"\\ ab,:'
    peeled = 0
    for _ in range(20000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        exact = J._STRING.sub(b"", raw).translate(None, J._DROP)
        assert J._brackets(raw) == exact, raw
        for limit in (0, 1, 2, 3, 5):
            if J._balanced_within(exact, limit):
                peeled += 1
                assert J._depth(exact) <= limit, (raw, limit)
    assert peeled > 1000  # the cheap path is taken, and never says yes wrongly


@pytest.mark.parametrize("n,deep", [(64, False), (65, True), (300, True)])
def test_nesting_at_and_past_the_limit(n, deep):
    for text in ("[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, "[" * n + '"]]]"' + "]" * n):
        if deep:
            with pytest.raises(J.TooDeep):
                J.check(text)
        else:
            J.check(text)
    J.check('[' + '{"x": "[[[[["},' * 200 + '1]')  # wide, shallow, brackets inside strings
