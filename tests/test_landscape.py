"""dln landscape: descent connections from index-1 saddles, the disconnectivity tree, the files
(landscape/, reports/landscape.py) — on the (1,1,1) closed form, the pinned local-minimum
showcase (its separating saddle at the msolve-certified 3.21332486) and a deliberately
incomplete table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlnlandscape.cli import main
from dlnlandscape.landscape import landscape
from dlnlandscape.landscape.connections import connect
from dlnlandscape.landscape.graph import build_tree
from dlnlandscape.model.config import load_config
from dlnlandscape.model.problem import Problem

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LOCAL_LOSS, GLOBAL_LOSS, SADDLE_LOSS = 3.19058967, 2.87236386, 3.21332486  # tests/test_local_minimum.py


def _one_one_one() -> tuple[Problem, np.ndarray]:
    """(1,1,1), one sample, s_xy = 3 > λ1λ2 (DOMAIN.md): the origin (index 1) and the two real
    minima ±(w1, w2) with w1 w2 = (s_xy − λ1λ2)/x²."""
    x, l1, l2, sxy = 1.5, 0.5, 0.7, 3.0
    p = Problem.from_data((1, 1, 1), [[x]], [[sxy / x]], [np.array([[l1**2]]), np.array([[l2**2]])])
    pp = (sxy - l1 * l2) / x**2
    w1 = np.sqrt(pp * l2 / l1)
    points = np.array([[w1, (l1 / l2) * w1], [-w1, -(l1 / l2) * w1], [0.0, 0.0]])
    assert np.abs(p.gradient(points)).max() < 1e-12
    return p, points


def test_one_one_one_origin_joins_the_two_minima_at_its_closed_form_barrier():
    p, points = _one_one_one()
    index = (np.linalg.eigvalsh(p.hessian(points).real) < 0).sum(axis=1)
    assert index.tolist() == [0, 0, 1]
    c = connect(p, points, index)
    assert c.saddles.tolist() == [2] and sorted(c.ends[0].tolist()) == [0, 1] and c.arrived.all()
    loss = p.loss(points).real
    tree = build_tree(np.array([0, 1]), np.array([0, 0, 2]), loss, c.saddles, c.ends)
    assert len(tree.nodes) == 1 and tree.barrier_to_lowest == {0: 0.0}  # one orbit: nothing to merge
    separate = build_tree(np.array([0, 1]), np.array([0, 1, 2]), loss, c.saddles, c.ends)  # orbits not collapsed
    merge = separate.nodes[-1]
    assert merge.saddle == 2 and merge.level == pytest.approx(loss[2]) and loss[2] == pytest.approx(0.5 * 2.0**2)
    assert separate.barrier_to_lowest[1] == pytest.approx(loss[2] - loss[0], rel=1e-12)


def test_a_minimum_missing_from_the_table_is_reported():
    """Remove one minimum: the branch that ran into it converges to a critical point the table
    does not have, and says so."""
    p, points = _one_one_one()
    table = points[[0, 2]]
    c = connect(p, table, np.array([0, 1]), signs=np.ones((1, 2)))  # no symmetry: both branches integrated
    assert c.arrived.all() and sorted(c.ends[0].tolist()) == [-1, 0]
    lost = c.end_points[0][c.ends[0] < 0][0]
    np.testing.assert_allclose(lost, points[1], atol=1e-8)


def test_local_minimum_showcase_its_separating_saddle_and_files(tmp_path):
    """configs/local-minimum.yaml: every index-1 saddle's two branches end at minima; the local
    minimum orbit joins the global one at the saddle 3.21332486 (test_local_minimum's
    independent value), so its barrier is 3.21332486 − 3.19058967; the files are written."""
    result = landscape(load_config(CONFIGS / "local-minimum.yaml"))
    c = result.connections
    assert c.saddles.size == 4 and c.arrived.all() and (c.ends >= 0).all()
    assert set(result.index[c.ends.ravel()].tolist()) == {0}
    assert c.integrated.sum() == 2  # one saddle per sign-flip orbit, the other mapped
    tree = result.tree
    leaves = [n for n in tree.nodes if not n.children]
    assert [round(n.level, 6) for n in leaves] == [round(GLOBAL_LOSS, 6), round(LOCAL_LOSS, 6)]
    assert [len(n.minima) for n in leaves] == [2, 2]
    top = tree.nodes[tree.roots[0]]
    assert len(tree.roots) == 1 and top.level == pytest.approx(SADDLE_LOSS, abs=1e-7)
    assert tree.barrier_to_lowest[leaves[1].id] == pytest.approx(SADDLE_LOSS - LOCAL_LOSS, abs=1e-7)
    assert result.missing() == 0
    # steepest descent: the loss never rises along a branch, from the saddle's to its minimum's
    for row, (s1, l1, s2, l2) in c.profiles.items():
        for side, (arc, loss) in enumerate(((s1, l1), (s2, l2))):
            assert np.all(np.diff(arc) >= 0) and np.all(np.diff(loss) <= 1e-12 * abs(loss[0]))
            assert loss[0] == pytest.approx(result.loss[c.saddles[row]], rel=1e-12)
            assert loss[-1] == pytest.approx(result.loss[c.ends[row, side]], rel=1e-9)
    out = tmp_path / "out"
    main(["landscape", str(CONFIGS / "local-minimum.yaml"), "--out", str(out), "--quiet"], standalone_mode=False)
    summary = json.loads((out / "landscape.json").read_text())
    assert summary["index_1_saddles"] == 4 and summary["branches_to_minima"] == 8 and summary["trees"] == 1
    assert summary["solve_complete"].startswith("yes (")  # what the table it is matched against rests on
    assert (out / "disconnectivity.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (out / "disconnectivity.svg").read_text()[:2000]
    rows = (out / "connections.csv").read_text().splitlines()
    assert rows[0].startswith("saddle,saddle_loss,integrated,end_1,") and len(rows) == 5
    # the default loss plane: the global minimum, the local minimum joined to it, the pass between
    from dlnlandscape.reports.planes import default_triple, run_points

    _, _, loss, index = run_points(out)
    a, b, c = default_triple(out, loss, index)
    assert (loss[a], loss[b], loss[c]) == pytest.approx((GLOBAL_LOSS, LOCAL_LOSS, SADDLE_LOSS), abs=1e-7)
    assert index[c] == 1
    figure = tmp_path / "plane.png"
    main(["plot", "plane", str(out), "--out", str(figure)], standalone_mode=False)
    assert figure.read_bytes()[:4] == b"\x89PNG"
    profile = tmp_path / "profile.svg"
    main(["plot", "profile", str(out), "--out", str(profile)], standalone_mode=False)
    assert "<svg" in profile.read_text()[:2000]
    with pytest.raises(SystemExit) as bad:
        main(["plot", "plane", str(out), "--out", str(tmp_path / "p2.png"), "--points", "0,0,1"])
    assert bad.value.code != 0 and not (tmp_path / "p2.png").exists()


def test_landscape_refuses_a_foreign_output_directory(tmp_path):
    """Never destroy what the tool did not write: a non-empty directory of the user's is refused."""
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit) as exit_info:
        main(["landscape", str(CONFIGS / "local-minimum.yaml"), "--out", str(foreign), "--quiet"])
    assert exit_info.value.code == 2
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
