"""`python -m zoo.train RECIPE ...`: the same as `zoo train RECIPE ...` (zoo/cli/train.py).

Kept because the mission names this command; it only forwards to the CLI. (The public
training function is `zoo.train_recipe`, so this module shadows nothing.)
"""

import sys

from zoo.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
