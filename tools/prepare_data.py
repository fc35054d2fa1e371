"""`python tools/prepare_data.py ...`: the same as `zoo prepare ...` (zoo/cli/prepare.py),
run from a checkout without installing it."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # This checkout's zoo.

from zoo.cli.prepare import main

if __name__ == "__main__":
    sys.exit(main())
