"""What every benchmark module shares: one results dict per module, written as JSON
(``$GATEWAY_BENCH_JSON``, else a temporary file) and printed as a report at the end."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bench.bench_queue import machine


def results_fixture(name: str, report: Callable[[dict[str, Any]], str]) -> Any:
    """A module-scoped ``results`` fixture for the benchmark ``name``."""

    @pytest.fixture(scope="module")
    def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
        found: dict[str, Any] = {
            "machine": machine(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        }
        yield found
        found["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        target = os.environ.get("GATEWAY_BENCH_JSON") or str(
            tmp_path_factory.mktemp("bench") / f"{name}.json"
        )
        Path(target).write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
        print("\n" + report(found) + f"\n  JSON: {target}")

    return results
