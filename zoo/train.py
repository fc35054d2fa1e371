"""`python -m zoo.train RECIPE ...`: the same as `zoo train RECIPE ...` (zoo/cli/train.py).

Kept because the mission names this command. The library's training function is also
called `zoo.train`, and `import zoo.train` binds this module over it; so the module is made
callable and forwards calls to `zoo.api.train`: `zoo.train(recipe)` trains either way.
"""

import sys
import types
from typing import Any


class _TrainModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from zoo.api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _TrainModule

if __name__ == "__main__":
    from zoo.cli.train import main

    sys.exit(main())
