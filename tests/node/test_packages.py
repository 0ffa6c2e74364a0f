"""Which npm `packages:` a workflow may name: registry packages only, checked at deploy."""

from __future__ import annotations

import pytest

from relayflow.codestep.node import PackagesError, normalise


def test_registry_packages_are_kept_once_and_sorted() -> None:
    given = ["lodash", " @scope/name@^1.2 ", "dayjs@1.11.10", "lodash", "", "# a comment"]
    assert normalise(given) == ["@scope/name@^1.2", "dayjs@1.11.10", "lodash"]
    assert normalise(["axios@>=1 <2", "left-pad@latest"]) == ["axios@>=1 <2", "left-pad@latest"]


@pytest.mark.parametrize(
    "spec",
    [
        "git+https://example.com/x.git",
        "user/repo",
        "../local-folder",
        "x@file:../y",
        "alias@npm:lodash",
        "https://example.com/x.tgz",
        "--global",
        "lodash\nleft-pad",
    ],
)
def test_anything_but_a_registry_package_is_refused_with_examples(spec: str) -> None:
    with pytest.raises(PackagesError, match="is not an npm registry package; give a name"):
        normalise([spec])
