"""Union-find over patient keys: clusters of source records that are one child."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class UnionFind(Generic[K]):
    def __init__(self, items: Iterable[K] = ()) -> None:
        self.parent: dict[K, K] = {}
        for item in items:
            self.parent[item] = item

    def add(self, item: K) -> None:
        self.parent.setdefault(item, item)

    def find(self, item: K) -> K:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: K, b: K) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[rb] = ra
        return True

    def groups(self) -> dict[K, list[K]]:
        out: dict[K, list[K]] = {}
        for item in self.parent:
            out.setdefault(self.find(item), []).append(item)
        return out
