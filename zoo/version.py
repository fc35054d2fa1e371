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

# What a run records beside zoo itself (environment.json, the model card, presets).
RECORDED = ("tensorflow", "keras", "tensorflow-datasets", "numpy")


def versions() -> dict[str, str]:
    """Python, zoo and the packages a result depends on: the one place they are read."""
    import platform

    out = {"python": platform.python_version(), "zoo": __version__}
    for name in RECORDED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
