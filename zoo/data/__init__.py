"""Datasets → `DataBundle`: batched `tf.data` pipelines per split plus what models need
to know about the data (`DataInfo`). The trainer calls `load`; sources know nothing of
models, and models nothing of sources.
"""

from zoo.data.bundle import DataBundle, DataInfo
from zoo.data.loader import ensure_ready, load

__all__ = ["DataBundle", "DataInfo", "ensure_ready", "load"]
