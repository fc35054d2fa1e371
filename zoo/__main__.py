"""`python -m zoo COMMAND ...`: the same as the `zoo` console script (zoo/cli/main.py)."""

import sys

from zoo.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
