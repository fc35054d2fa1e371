"""A stand-in worker for tests of tools/local_cluster.py (no TensorFlow, starts at once).

`python -m tests.cluster_sleeper DIR FAILING`: writes its pid to DIR/worker-<index>.pid,
then the worker whose index is FAILING (-1: none) exits 3 and the others sleep.
"""

import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    folder, failing = Path(sys.argv[1]), int(sys.argv[2])
    tmp = folder / f".worker-{index}.pid"
    tmp.write_text(str(os.getpid()))
    tmp.rename(folder / f"worker-{index}.pid")
    print(f"worker {index} started", flush=True)
    if index == failing:
        time.sleep(0.5)
        sys.exit(3)
    time.sleep(120)
