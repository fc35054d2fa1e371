"""zoo's version, read from the installed distribution `keras-recipe-zoo`.

Why not the import name: the distribution is called keras-recipe-zoo (the name `zoo` is
taken on PyPI), and looking the version up under `zoo` found nothing, so every run
recorded "not installed". Bottom layer: imports nothing of zoo.
"""

from importlib import metadata

DISTRIBUTION = "keras-recipe-zoo"

try:
    __version__ = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:  # A source tree used without installing it.
    __version__ = "0+unknown"
