"""The disconnectivity graph (Becker & Karplus 1997; Wales, *Energy Landscapes*): minima as
leaves at their loss, joined at the lowest saddle that connects them.

Why a tree.  Two minima are "connected at level E" when a path between them never rises above
E; the lowest such E is the barrier between them.  With every index-1 saddle's two descent ends
known (connections.py), the barriers follow by merging minima in order of saddle loss
(Kruskal's algorithm on a union–find): each merge is an internal node of the tree at the saddle's
loss.  Minima of one sign-flip orbit have the same loss and mirror-image connections, so a leaf
is an orbit, labelled with its size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Node:
    """A leaf (a minimum orbit) or a merge (the saddle at whose loss its children join)."""

    id: int
    level: float  # loss of the minimum, or of the merging saddle
    children: tuple[int, ...] = ()
    minima: tuple[int, ...] = ()  # table indices of the orbit's minima (leaves)
    saddle: int = -1  # table index of the merging saddle (merges)


@dataclass(frozen=True)
class Tree:
    nodes: list[Node]
    roots: list[int]  # one per set of minima no saddle joins to the rest
    barrier_to_lowest: dict[int, float] = field(default_factory=dict)  # leaf id → merge level − its loss

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodes": [
                {
                    "id": n.id,
                    "level": n.level,
                    "children": list(n.children),
                    "minima": list(n.minima),
                    "saddle": n.saddle,
                }
                for n in self.nodes
            ],
            "roots": self.roots,
            "barrier_to_lowest": {str(k): v for k, v in self.barrier_to_lowest.items()},
        }


def build_tree(minima: np.ndarray, orbit: np.ndarray, loss: np.ndarray, saddles: np.ndarray, ends: np.ndarray) -> Tree:
    """The tree of the minima (table indices), grouped by `orbit` ids, joined by the saddles
    (table indices) whose two ends (table indices, −1 if unknown) are both minima."""
    leaves: dict[int, int] = {}
    nodes: list[Node] = []
    for o in sorted({int(orbit[m]) for m in minima}, key=lambda o: loss[o]):
        members = tuple(int(m) for m in minima if orbit[m] == o)
        leaves[o] = len(nodes)
        nodes.append(Node(id=len(nodes), level=float(loss[members[0]]), minima=members))
    parent = list(range(len(nodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    is_min = set(int(m) for m in minima)
    edges = sorted(
        (float(loss[s]), int(s), leaves[int(orbit[a])], leaves[int(orbit[b])])
        for s, (a, b) in zip(saddles, ends)
        if int(a) in is_min and int(b) in is_min
    )
    top = {i: i for i in range(len(nodes))}  # union-find root → the tree node standing for it
    for level, saddle, a, b in edges:
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        merged = Node(id=len(nodes), level=level, children=(top[ra], top[rb]), saddle=saddle)
        nodes.append(merged)
        parent.append(len(parent))
        parent[ra] = parent[rb] = merged.id
        top[merged.id] = merged.id
    roots = sorted({top[root(i)] for i in leaves.values()}, key=lambda r: nodes[r].level)
    barrier: dict[int, float] = {}
    if leaves:
        lowest = min(leaves.values(), key=lambda i: nodes[i].level)
        ancestors = _ancestors(nodes, lowest)
        for leaf in leaves.values():
            joint = next((a for a in _ancestors(nodes, leaf) if a in ancestors), None)
            if joint is not None:
                barrier[leaf] = nodes[joint].level - nodes[leaf].level
    return Tree(nodes=nodes, roots=roots, barrier_to_lowest=barrier)


def _ancestors(nodes: list[Node], leaf: int) -> list[int]:
    """The leaf and every merge above it, lowest first."""
    parent_of = {c: n.id for n in nodes for c in n.children}
    chain = [leaf]
    while chain[-1] in parent_of:
        chain.append(parent_of[chain[-1]])
    return chain


def leaf_positions(tree: Tree) -> dict[int, float]:
    """x of every node: leaves left to right in depth-first order (lower branch first),
    merges above the middle of their children."""
    x: dict[int, float] = {}
    counter = [0]

    def place(i: int) -> float:
        node = tree.nodes[i]
        if not node.children:
            x[i] = float(counter[0])
            counter[0] += 1
        else:
            kids = sorted(node.children, key=lambda c: tree.nodes[c].level)
            x[i] = float(np.mean([place(c) for c in kids]))
        return x[i]

    for r in tree.roots:
        place(r)
    return x


__all__ = ["Node", "Tree", "build_tree", "leaf_positions"]
