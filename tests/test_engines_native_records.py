"""Plain-data records on disk (engines/native/records.py): what checkpoints and kept proven sets
are written as."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from dlnlandscape.engines.native.records import DERIVED, pack_record, unpack_record


@dataclass
class Doubled:
    """A record with a derived field: `twice` is not written, `rederive` rebuilds it."""

    values: np.ndarray
    twice: np.ndarray = field(metadata={DERIVED: True})
    note: tuple[int, ...] = ()

    def rederive(self) -> None:
        self.twice = 2 * self.values


def test_records_carry_a_digest_of_their_arrays(tmp_path: Path) -> None:
    """Checkpoints and kept sets (records.pack_record): an array changed after writing is
    refused, not read as numbers (np.load does not check zip's CRC)."""
    path = tmp_path / "r.npz"
    path.write_bytes(pack_record({"kind": "test"}, {"x": np.arange(4.0), "y": [np.ones(2, complex)]}))
    header, record = unpack_record(path, {})
    assert header == {"kind": "test"} and np.array_equal(record["x"], np.arange(4.0))
    with np.load(path, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files}
    members["a0"] = members["a0"] + 1e-12  # a tiny change: still numbers, no longer what was written
    np.savez(path, **members)
    with pytest.raises(ValueError, match="digest"):
        unpack_record(path, {})


def test_a_derived_field_is_rebuilt_not_written(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    big = np.arange(1000.0)
    data = pack_record({}, Doubled(np.arange(3.0) + 1j, big, (1, 2)))
    path.write_bytes(data)
    assert len(data) < big.nbytes  # the derived array is not in the file
    _, record = unpack_record(path, {"Doubled": Doubled})
    assert isinstance(record, Doubled) and record.note == (1, 2)
    assert np.array_equal(record.twice, 2 * (np.arange(3.0) + 1j))
