"""Issue 15.3: installs are pinned. requirements.lock holds an exact version (with hashes) for every
package the application and its tests need, every range in pyproject.toml admits the pinned
version, and the Makefile (so `make run`, `make test`, `.ci/run`) installs from it and re-installs
when it changes. Upgrading is `make lock` (or `make upgrade`: lock, then the whole suite)."""
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.fast  # no database, Redis or network: the fast lane

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from the lock's `name==version \\ --hash=...` entries."""
    out = {}
    for block in re.split(r"\n(?=\S)", LOCK.read_text()):
        m = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if m:
            out[canonicalize_name(m.group(1))] = (m.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return out


def extra_requirements(package: str, extra: str) -> list[Requirement]:
    """The requirements `package[extra]` adds, from the installed package's own metadata."""
    from importlib.metadata import requires

    out = []
    for line in requires(package) or []:
        dep = Requirement(line)
        if dep.marker is not None and "extra" in str(dep.marker) and dep.marker.evaluate({"extra": extra}):
            out.append(dep)
    return out


def test_every_requirement_is_pinned_with_hashes_within_the_ranges():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    locked = pins()
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in requirements.lock (run `make lock`)"
        version, hashes = locked[name]
        assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} is outside {req.specifier}"
        assert hashes, f"{req.name} has no hashes in the lock"
        for extra in req.extras:  # what the extra brings (psycopg[binary] -> psycopg-binary, redis[hiredis] -> hiredis)
            brought = extra_requirements(req.name, extra)
            assert brought, f"{req.name} declares no extra {extra!r}"
            for dep in brought:
                assert canonicalize_name(dep.name) in locked, f"{dep.name} ({req.name}[{extra}]) is not locked"
                assert dep.specifier.contains(locked[canonicalize_name(dep.name)][0], prereleases=True)
    for name, (version, hashes) in locked.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version) and hashes, name
    text = LOCK.read_text()
    assert "file://" not in text and "--index-url" not in text  # nothing of the machine that made it


def test_make_installs_from_the_lock_and_reinstalls_when_it_changes():
    makefile = (ROOT / "Makefile").read_text()
    rules = dict(re.findall(r"^(\S+):([^\n]*)$", makefile, re.M))
    assert "$(LOCK)" in rules["$(VENV)/.installed"] and "LOCK   := requirements.lock" in makefile
    assert "--require-hashes -r $(LOCK)" in makefile and "--no-deps -e ." in makefile
    assert "pip install --quiet -e ." not in makefile  # no unpinned resolution of the dependencies
    assert "$(VENV)/.installed" in rules["$(VENV)/.installed-test"]
    assert "$(VENV)/.installed" in rules["run"] and "$(VENV)/.installed-test" in rules["test"]
    assert "--upgrade --generate-hashes" in makefile and "lock" in rules["upgrade"] and "test" in rules["upgrade"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()  # CI goes through the same stamp
