"""A search process runs its math on one thread (api/threads.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_one_thread_of_math_limits_numpy_blas_and_torch():
    pytest.importorskip("threadpoolctl")
    code = ("import numpy, json; from threadpoolctl import threadpool_info; "
            "from papersift.api.threads import one_thread_of_math; one_thread_of_math(); "
            "import sys; t = sys.modules.get('torch'); "
            "print(json.dumps([[i['internal_api'], i['num_threads']] for i in threadpool_info()]))")
    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    pools = json.loads(out.stdout.strip().splitlines()[-1])
    assert pools and all(n == 1 for _, n in pools), pools
