"""Installing Attest prints no setuptools deprecation warning (issue 17).

`project.license` as a table ({text = ...}) is deprecated: setuptools warned about it three
times on a first install. The licence is an SPDX expression string now.
"""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_license_is_an_spdx_expression_and_setuptools_reads_it_without_warning() -> None:
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["license"] == "AGPL-3.0-or-later"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), ROOT / "pyproject.toml")
    said = [str(w.message) for w in caught if "license" in str(w.message).lower()]
    assert said == []
