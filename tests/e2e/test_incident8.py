"""INCIDENT-8 end to end on a freshly started embedded cluster: INCIDENT-8B's checks (tests/e2e/test_incident8b.py)
with the lab's browse load, a Locust mix of catalogue, item and tag pages 1-3 s apart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.test_incident8b import check_slow_database

pytestmark = pytest.mark.slow
INCIDENT = "8"  # the provisioned cluster fixture of tests/e2e/conftest.py


def test_all_passes_and_the_database_gets_its_exact_resources_back(cluster: Cluster, baseline: dict[str, Any]) -> None:
    check_slow_database(cluster, baseline, INCIDENT)
