"""How an attack cell splits into shards that run as separate tasks (a parallel executor
spreads one cell over its free workers), each a whole number of batches so every batch and
its seed are the ones an unsplit run attacks."""

from __future__ import annotations


def images_per_shard(setting: int | None, executor: str, concurrency: int, n: int) -> int:
    """Images per shard of an ``n``-image cell (0: whole cells). ``setting`` is the
    ``images_per_shard`` the user gave; by default only a parallel executor splits, so
    that one cell can occupy every worker that is free."""
    if setting is not None:
        return setting
    if executor == "serial" or concurrency <= 1:
        return 0
    return -(-n // concurrency)


def shard_bounds(n: int, batch_size: int, per_shard: int) -> list[tuple[int, int]]:
    """Image ranges of a cell's shards: ``per_shard`` rounded up to whole batches, so each
    batch (and its seed) is the one an unsplit run attacks. One range: the cell is whole."""
    if per_shard <= 0 or per_shard >= n:
        return [(0, n)]
    size = -(-per_shard // batch_size) * batch_size
    return [(i, min(i + size, n)) for i in range(0, n, size)]
