"""`python -m zoo.train RECIPE ...`: the same as `zoo train RECIPE ...` (see zoo/cli/train.py).

Kept because the mission names this command; it only forwards to the CLI.
"""

import sys

from zoo.cli.train import _CallableModule, main

sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    sys.exit(main())
