"""Recipe `distribution` → a `tf.distribute.Strategy`. The one place strategies are made.

`auto` picks, in order: TPU if one is configured (`distribution.tpu`, TPU_NAME), multi-
worker if TF_CONFIG names more than one worker, mirrored if several GPUs are visible,
otherwise TensorFlow's default strategy. TF_CONFIG is checked as plain JSON before
TensorFlow is asked to use it, so a malformed one gives a clear error, not a hang.
`is_chief` says which process writes the run directory; `for_workers` shapes the data so
every worker of a cluster runs the same steps.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError

if TYPE_CHECKING:
    import tensorflow as tf

    from zoo.config.schema import Distribution

log = logging.getLogger("zoo")

_WORKER_TYPES = ("chief", "worker")


@dataclass(frozen=True)
class ClusterSpec:
    """The part of TF_CONFIG zoo relies on: how many workers, and which one this is."""

    workers: int
    task_type: str
    task_index: int
    has_chief: bool

    @property
    def is_chief(self) -> bool:
        """The chief writes checkpoints, exports and reports (worker 0 without a chief)."""
        if self.task_type == "chief":
            return True
        return self.task_type == "worker" and self.task_index == 0 and not self.has_chief


def read_tf_config(env: dict[str, str] | None = None) -> ClusterSpec | None:
    """Parse and check TF_CONFIG; None when unset. Raises ZooError naming what is wrong."""
    raw = (env if env is not None else os.environ).get("TF_CONFIG", "").strip()
    if not raw:
        return None
    fix = (
        'Expected e.g. {"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:23456"]}, '
        '"task": {"type": "worker", "index": 0}}.'
    )
    try:
        config: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ZooError(f"TF_CONFIG is not valid JSON ({exc}). {fix}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ZooError(f"TF_CONFIG needs a 'cluster' mapping and a 'task' mapping. {fix}")
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses:
            raise ZooError(f"TF_CONFIG cluster.{job} must be a list of 'host:port' strings. {fix}")
        for i, address in enumerate(addresses):
            problem = address_problem(address)
            if problem:
                raise ZooError(f"TF_CONFIG cluster.{job}[{i}] {problem} {fix}")
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in cluster:
        raise ZooError(
            f"TF_CONFIG task.type {task_type!r} is not a job in cluster "
            f"({', '.join(cluster)}). {fix}"
        )
    if not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise ZooError(
            f"TF_CONFIG task.index {index!r} is out of range: cluster.{task_type} has "
            f"{len(cluster[task_type])} address(es). {fix}"
        )
    workers = sum(len(cluster.get(job, [])) for job in _WORKER_TYPES)
    return ClusterSpec(
        workers=workers, task_type=task_type, task_index=index, has_chief="chief" in cluster
    )


def address_problem(address: Any) -> str | None:
    """Why `address` is no usable 'host:port' (None when it is)."""
    if not isinstance(address, str):
        return f"is {address!r}, not a 'host:port' string."
    host, sep, port = address.rpartition(":")
    if not sep:
        return f"is {address!r}, with no port; write 'host:port', e.g. 'localhost:12345'."
    if not host or host in ("[]",) or any(c.isspace() for c in address) or "/" in address:
        return f"is {address!r}: the host is empty or malformed; write 'host:port'."
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"is {address!r}: the port {port!r} is not a number from 1 to 65535."
    return None


def peers(env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(task name, address) of every other task in TF_CONFIG, e.g. ('worker 1', 'h:2')."""
    raw = (env if env is not None else os.environ).get("TF_CONFIG", "")
    config = json.loads(raw)
    task = config["task"]
    me = (task["type"], task.get("index", 0))
    return [
        (f"{job} {i}", address)
        for job, addresses in config["cluster"].items()
        for i, address in enumerate(addresses)
        if (job, i) != me
    ]


def silent_peers(tasks: list[tuple[str, str]], timeout: float = 1.0) -> list[tuple[str, str]]:
    """The tasks whose address accepts no TCP connection within `timeout` seconds."""
    import socket

    silent = []
    for name, address in tasks:
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                pass
        except OSError:
            silent.append((name, address))
    return silent


def rendezvous(own: str, tasks: list[tuple[str, str]], seconds: float) -> None:
    """Wait until every peer in `tasks` accepts a TCP connection; ZooError naming the
    silent ones after `seconds`.

    TensorFlow's own wait for peers (creating MultiWorkerMirroredStrategy) holds the GIL
    inside C++ for as long as it takes, so no Python timer or signal thread can act there.
    So zoo waits first, in Python: each worker listens on its own TF_CONFIG port (a beacon,
    closed just before TensorFlow binds the port) and probes the others until all answer.
    """
    import socket
    import time

    port = int(own.rpartition(":")[2])
    beacon = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    beacon.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        beacon.bind(("", port))
    except OSError as exc:
        beacon.close()
        raise ZooError(
            f"This worker's TF_CONFIG address {own} cannot be used: port {port} is busy "
            f"({exc.strerror}). Pick a free port in TF_CONFIG for every worker."
        ) from None
    beacon.listen(64)
    beacon.setblocking(False)
    deadline = time.monotonic() + seconds
    waiting = list(tasks)
    try:
        while True:
            while True:  # Answer (and drop) the peers' probes so the backlog never fills.
                try:
                    beacon.accept()[0].close()
                except OSError:
                    break
            waiting = silent_peers(waiting, timeout=0.5)
            if not waiting:
                return
            if time.monotonic() >= deadline:
                named = ", ".join(f"{name} at {address}" for name, address in waiting)
                raise ZooError(
                    f"Multi-worker start-up timed out after {seconds:g} s: no answer from "
                    f"{named}. Start every worker listed in TF_CONFIG (or fix its address), "
                    "or raise distribution.startup_timeout."
                )
            time.sleep(0.5)
    finally:
        beacon.close()


def _split_cpu(count: int) -> None:
    """Expose `count` logical CPU devices; only possible before TensorFlow starts its runtime."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        raise ZooError(
            f"distribution.cpu_devices is {count}, but TensorFlow already started with {have} "
            "CPU device(s) in this process. Run training in a fresh process "
            "(python -m zoo.train) to change it."
        ) from None


def _tpu_name(config: Distribution) -> str | None:
    return config.tpu or os.environ.get("TPU_NAME") or None


def resolve_name(config: Distribution, gpu_count: int) -> str:
    """The concrete strategy `auto` stands for on this machine (others are returned as is)."""
    if config.strategy != "auto":
        return config.strategy
    if _tpu_name(config):
        return "tpu"
    cluster = read_tf_config()
    if cluster is not None and cluster.workers > 1:
        return "multi_worker"
    return "mirrored" if gpu_count > 1 else "default"


def is_chief(config: Distribution) -> bool:
    """Whether this process writes the run directory: always, except on the followers of a
    multi-worker cluster (TF_CONFIG task other than the chief, or SLURM_PROCID > 0)."""
    if resolve_name(config, gpu_count=0) != "multi_worker":
        return True
    if config.cluster_resolver == "slurm":
        return os.environ.get("SLURM_PROCID", "0") == "0"
    spec = read_tf_config()
    return spec is None or spec.is_chief


def _tpu_strategy(config: Distribution) -> tf.distribute.Strategy:
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=_tpu_name(config) or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, OSError, tf.errors.OpError) as exc:
        raise ZooError(
            f"distribution.strategy is tpu, but no TPU could be reached ({str(exc)[:200]}). "
            "Run on a TPU VM, set distribution.tpu (or TPU_NAME) to the TPU's name or "
            "grpc:// address, or choose another strategy (auto, one_device, mirrored)."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def _multi_worker_strategy(config: Distribution) -> tf.distribute.Strategy:
    import tensorflow as tf

    resolvers = tf.distribute.cluster_resolver
    if config.cluster_resolver == "slurm":
        resolver = resolvers.SlurmClusterResolver()
    else:
        if read_tf_config() is None:
            raise ZooError(
                "distribution.strategy is multi_worker, but TF_CONFIG is not set. Set it on "
                "every worker (tools/local_cluster.py does this for a local cluster), or use "
                "distribution.cluster_resolver: slurm inside a Slurm job."
            )
        resolver = resolvers.TFConfigClusterResolver()
    from zoo import stage

    if config.cluster_resolver == "tf_config":
        spec = json.loads(os.environ["TF_CONFIG"])
        task = spec["task"]
        own = spec["cluster"][task["type"]][task.get("index", 0)]
        tasks = [(n, a) for n, a in peers() if n.split()[0] in _WORKER_TYPES]
        stage.set_stage(f"waiting for the cluster's other workers ({len(tasks)})")
        log.info("waiting up to %gs for %d peer(s) to answer", config.startup_timeout, len(tasks))
        rendezvous(own, tasks, config.startup_timeout)
    stage.set_stage("joining the cluster")
    with _signals_kill_at_once():
        chosen = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    stage.set_stage("training")
    return chosen


@contextlib.contextmanager
def _signals_kill_at_once() -> Iterator[None]:
    """While TensorFlow holds the GIL in C++, SIGTERM/SIGINT take their default action
    (the kernel ends the process at once), as no Python code could act on them there."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = {signal.SIGINT, signal.SIGTERM}
    handlers = {s: signal.signal(s, signal.SIG_DFL) for s in wanted}
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, wanted)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for s, handler in handlers.items():
            signal.signal(s, handler)


def strategy(config: Distribution) -> tf.distribute.Strategy:
    """The strategy a recipe asks for (see the module docstring for what `auto` picks)."""
    import tensorflow as tf

    if config.cpu_devices:
        _split_cpu(config.cpu_devices)
    # Physical, not logical: listing logical devices starts the runtime, after which
    # MultiWorkerMirroredStrategy can no longer configure its collective ops.
    gpu_count = len(tf.config.list_physical_devices("GPU"))
    name = resolve_name(config, gpu_count)
    if name == "default":
        chosen = tf.distribute.get_strategy()
    elif name == "one_device":
        device = (config.devices or ["/gpu:0" if gpu_count else "/cpu:0"])[0]
        chosen = tf.distribute.OneDeviceStrategy(device)
    elif name == "mirrored":
        devices = config.devices
        if devices is None and not gpu_count:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        chosen = tf.distribute.MirroredStrategy(devices=devices)
    elif name == "tpu":
        chosen = _tpu_strategy(config)
    else:
        chosen = _multi_worker_strategy(config)
    log.info("strategy: %s with %d replica(s)", type(chosen).__name__, chosen.num_replicas_in_sync)
    return chosen


def for_workers(
    dataset: tf.data.Dataset, strategy: Any, global_batch: int, examples: int | None
) -> tuple[tf.data.Dataset, int | None]:
    """(`dataset` as `fit` should see it under `strategy`, the steps that make one pass).

    Unchanged (steps None: Keras counts them) except on a multi-worker cluster. There,
    every worker must run exactly the same number of steps with no empty batch: a worker
    that runs out first, or a replica handed an empty batch, breaks Keras's distributed
    step (an empty input reaches the convolutions as the wrong shape). So the data is
    regrouped into whole global batches (dropping at most `global_batch - 1` examples a
    pass, on training and validation only; the final evaluation sees every example),
    repeated, and `examples // global_batch` steps make one pass (`examples` None: the
    dataset already repeats and the recipe fixes the steps). It is split between workers
    by element: TFDS writes small datasets as one file, which FILE sharding (the default)
    cannot split, and every worker runs the same seeded pipeline, so taking every N-th
    per-replica batch gives each worker a disjoint share."""
    from zoo.training import compat_multi_worker

    if not compat_multi_worker.needed(strategy):
        return dataset, None
    import tensorflow as tf

    steps = None
    whole = dataset.unbatch().batch(global_batch, drop_remainder=True)
    if examples is not None:
        steps = examples // global_batch
        if steps == 0:
            raise ZooError(
                f"A split of {examples} examples is smaller than training.batch_size "
                f"({global_batch}); multi-worker training needs at least one whole global "
                "batch. Use a larger split or a smaller batch."
            )
        whole = whole.repeat()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return whole.prefetch(tf.data.AUTOTUNE).with_options(options), steps
