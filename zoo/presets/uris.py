"""Preset addresses: a folder, `file://PATH`, `hf://ORG/NAME[@REVISION]` or
`kaggle://OWNER/MODEL/keras/VARIANT[/VERSION]`, turned into a checked local folder.

Why one module: publishing and loading must agree on what an address means, and every
scheme must fail the same way (one ZooError, exit 2) when it is unknown, unreachable or
damaged. Hub downloads go through the hubs' own client libraries (an optional extra,
imported only here) and end up in zoo's cache, `$ZOO_CACHE_DIR` or
`$XDG_CACHE_HOME/zoo` (default `~/.cache/zoo`), under `presets/<sha256 of manifest>`:
the same content is stored once, and a cached copy is verified again before each use.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooError
from zoo.presets import format as fmt
from zoo.presets import network
from zoo.settings import presets_cache_root

SCHEMES = ("file", "hf", "kaggle")
EXTRA = "pip install 'keras-recipe-zoo[hub]'"


@dataclass(frozen=True)
class Address:
    scheme: str  # "folder", "file", "hf" or "kaggle"
    target: str  # A path, "org/name" or "owner/model/keras/variant[/version]"
    revision: str | None = None
    text: str = ""

    @property
    def remote(self) -> bool:
        return self.scheme in ("hf", "kaggle")


def parse(uri: str | os.PathLike[str]) -> Address:
    """The scheme and target of `uri`; an unknown scheme is a ZooError listing the known."""
    text = os.fspath(uri)
    if "://" not in text:
        return Address("folder", text, text=text)
    scheme, rest = text.split("://", 1)
    if scheme not in SCHEMES:
        raise ZooError(
            f"Unknown preset address scheme {scheme!r} in {text!r}. Give a folder, "
            "file://PATH, hf://ORG/NAME or kaggle://OWNER/MODEL/keras/VARIANT."
        )
    if scheme == "file":
        return Address("file", rest, text=text)
    target, _, revision = rest.partition("@")
    parts = [p for p in target.split("/") if p]
    if scheme == "hf" and len(parts) != 2:
        raise ZooError(f"{text!r}: a Hugging Face preset address is hf://ORG/NAME[@REVISION].")
    if scheme == "kaggle" and (len(parts) not in (4, 5) or parts[2] != "keras"):
        raise ZooError(
            f"{text!r}: a Kaggle preset address is kaggle://OWNER/MODEL/keras/VARIANT[/VERSION]."
        )
    return Address(scheme, "/".join(parts), revision or None, text=text)


def resolve(uri: str | os.PathLike[str]) -> tuple[Path, dict]:
    """(local folder, verified manifest) of the preset at `uri`."""
    address = parse(uri)
    if not address.remote:
        folder = Path(address.target).expanduser()
        if not folder.exists():
            raise ZooError(f"No preset at {address.text}: no such folder.")
        if not folder.is_dir():
            raise ZooError(f"{address.text} is a file; a preset is a folder with manifest.json.")
        return folder, fmt.verify(folder, address.text)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=_cache_dir()) as tmp:
        download = Path(tmp) / "preset"
        _download(address, download)
        manifest = fmt.verify(download, address.text)
        final = _cache_dir() / fmt.manifest_hash(download)
        if final.is_dir():
            try:
                return final, fmt.verify(final, address.text)
            except ZooError:
                shutil.rmtree(final)  # A damaged cached copy: replace it with the download.
        download.rename(final)
    return final, manifest


def _cache_dir() -> Path:
    path = presets_cache_root()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZooError(
            f"Cannot create the preset cache {path}: {exc.strerror}; set ZOO_CACHE_DIR to a "
            "writable folder."
        ) from None
    return path


def unreachable(address: Address, exc: BaseException) -> ZooError:
    detail = (str(exc).splitlines() or [type(exc).__name__])[0]
    detail = detail if len(detail) <= 240 else detail[:240] + "..."
    host = "Hugging Face Hub" if address.scheme == "hf" else "Kaggle"
    return ZooError(
        f"Cannot reach {host} for {address.text}: {type(exc).__name__}: {detail}. Check the "
        "network connection, the address and your credentials, or download the preset "
        "folder and give its path."
    )


def _download(address: Address, into: Path) -> None:
    """Fetch every file of the preset at `address` into the new folder `into`."""
    if address.scheme == "hf":
        hub = _import("huggingface_hub")
        try:
            network.call(
                lambda: hub.snapshot_download(
                    repo_id=address.target, revision=address.revision, local_dir=str(into)
                ),
                host="Hugging Face Hub",
                endpoint=endpoint(address),
                what=address.text,
            )
        except network.HubTimeout:
            raise
        except Exception as exc:  # Network, authentication or missing repository.
            raise unreachable(address, exc) from None
        shutil.rmtree(into / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping.
        return
    kagglehub = _import("kagglehub")
    try:
        with quiet():  # kagglesdk prints whole HTTP requests on failures.
            path = network.call(
                lambda: kagglehub.model_download(address.target),
                host="Kaggle",
                endpoint=endpoint(address),
                what=address.text,
            )
    except network.HubTimeout:
        raise
    except Exception as exc:  # Network, authentication or missing model.
        raise unreachable(address, exc) from None
    shutil.copytree(path, into)


def endpoint(address: Address) -> str:
    """The base URL a hub address is fetched from (HF_ENDPOINT; Kaggle's API endpoint)."""
    if address.scheme == "hf":
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        from kagglesdk.kaggle_env import get_endpoint, get_env

        return str(get_endpoint(get_env()))
    except Exception:  # An old or absent kagglesdk: name the public endpoint.
        return "https://www.kaggle.com"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what a hub library prints to stdout (zoo reports errors itself)."""
    import logging

    hub_log = logging.getLogger("kagglehub")
    level = hub_log.level
    hub_log.setLevel(logging.WARNING)  # Its "Uploading ..." progress lines.
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        hub_log.setLevel(level)


def _import(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise ZooError(f"Preset addresses of this kind need {name}: {EXTRA}.") from None
