"""Plain-data records on disk: dataclasses, dicts, lists and arrays as one `.npz`, no pickles.

Why its own module.  Two files of the native engine outlive the process that wrote them — a
monodromy checkpoint (checkpoint.py) and a kept proven set (proven.py) — and both must be read
back without running code (`allow_pickle=False`) and refused when damaged, in one format.

Format.  The arrays are the file's members `a0`, `a1`, …; member `manifest` is a JSON string: the
caller's header, the record with every array replaced by `{"__array__": name}` (dataclasses by
type name and fields, tuples, complex numbers and dict keys spelt out), and a sha256 digest of
the arrays — np.load does not check zip's CRC, and a changed byte in a float still reads as a
number.  A dataclass field whose metadata has `DERIVED` is not written (it is a function of the
others, and can be large: a slice's witness images); reading calls the record's `rederive()`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError

DERIVED = "derived"  # dataclass field metadata key: rebuilt by the record's rederive(), not written


def pack_record(header: dict[str, Any], record: Any, name: str = "record") -> bytes:
    """One `.npz` file's bytes: `record` (dataclasses, dicts, lists, arrays …) as JSON under
    `name` beside `header`, its arrays as the file's other members (`unpack_record` reads it).
    The manifest is the first member, so a file's first bytes carry the header (a recogniser
    can look for a signature there)."""
    arrays: dict[str, np.ndarray] = {}
    encoded = encode(record, arrays)
    manifest = {**header, name: encoded, "digest": _digest(arrays)}
    buffer = io.BytesIO()
    np.savez(buffer, manifest=np.array(json.dumps(manifest)), **arrays)
    return buffer.getvalue()


def unpack_record(path: Path, classes: dict[str, type], name: str = "record") -> tuple[dict[str, Any], Any]:
    """The header (the manifest without the record) and the record of a `pack_record` file;
    `classes` names the dataclasses it may hold.  Raises OSError, ValueError or KeyError on a
    file that is not one, or whose arrays changed since they were written."""
    manifest, arrays = read_record(path)
    encoded = manifest.pop(name)
    return manifest, decode(encoded, arrays, classes)


def read_record(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The manifest and the arrays; a manifest that records a digest must match the arrays
    (np.load does not check zip's CRC, and a changed byte in a float still reads as a number)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {member: data[member] for member in data.files}
    manifest = json.loads(str(arrays.pop("manifest")))
    if "digest" in manifest and manifest.pop("digest") != _digest(arrays):
        raise ValueError("its arrays do not match the digest written with them (the file was changed or damaged)")
    return manifest, arrays


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(repr((key, array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-able form of `value`; arrays go to `arrays` and are referenced by name."""
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kept = [f for f in dataclasses.fields(value) if not f.metadata.get(DERIVED)]
        fields = {f.name: encode(getattr(value, f.name), arrays) for f in kept}
        return {"__type__": type(value).__name__, "fields": fields}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, (complex, np.complexfloating)):
        return {"__complex__": [float(value.real), float(value.imag)]}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"checkpoint: cannot save a {type(value).__name__}")


def decode(value: Any, arrays: dict[str, np.ndarray], classes: dict[str, type]) -> Any:
    if isinstance(value, list):
        return [decode(v, arrays, classes) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__tuple__" in value:
        return tuple(decode(v, arrays, classes) for v in value["__tuple__"])
    if "__complex__" in value:
        return complex(*value["__complex__"])
    if "__dict__" in value:
        return {decode(k, arrays, classes): decode(v, arrays, classes) for k, v in value["__dict__"]}
    if "__type__" in value:
        cls = classes.get(value["__type__"])
        if cls is None:
            raise ConfigError(
                "checkpoint", "--resume", f"unknown record {value['__type__']!r}; remove it to start afresh"
            )
        fields = {k: decode(v, arrays, classes) for k, v in value["fields"].items()}
        derived = {f.name for f in dataclasses.fields(cls) if f.metadata.get(DERIVED)}
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        record = cls(**{k: v for k, v in fields.items() if k in init}, **{k: None for k in derived & init})
        for k, v in fields.items():  # fields the constructor does not take
            if k not in init:
                object.__setattr__(record, k, v)
        if derived:
            record.rederive()
        return record
    return {k: decode(v, arrays, classes) for k, v in value.items()}


__all__ = ["DERIVED", "decode", "encode", "pack_record", "read_record", "unpack_record"]
