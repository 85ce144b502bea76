"""Compaction killed with SIGKILL: after every step of a merge (and of the recovery that
follows a kill), and at random moments of a long run; and readers reading while another
process compacts. Each time, what readers see holds every post exactly once."""

from __future__ import annotations

import random
import shutil
import signal
import time
from pathlib import Path

import pytest
from compactkit import check_dataset, check_finished, run_child, start_child, write_parts

from jalsa.conversation.compaction import STEPS, Policy, compact, sized
from jalsa.conversation.dataset import PostDataset

pytestmark = pytest.mark.integration


def two_merges(dataset: PostDataset) -> Policy:
    """A policy under which six parts make two merges of three."""
    size = max(s for _, s in sized(dataset.parts()))
    return Policy(tiers=(size * 3 // 2, size * 7 // 4), max_bytes=size * 7 // 2, at_least=3)


@pytest.fixture
def template(tmp_path: Path) -> tuple[PostDataset, list[str]]:
    dataset = PostDataset(tmp_path / "template")
    return dataset, write_parts(dataset, 6, 400)


def fresh(template: tuple[PostDataset, list[str]], where: Path) -> PostDataset:
    shutil.copytree(template[0].root, where)
    return PostDataset(where)


def test_a_kill_after_any_step_loses_and_doubles_nothing(
    tmp_path: Path, template: tuple[PostDataset, list[str]]
) -> None:
    policy = two_merges(template[0])
    originals, total = template[1], 2400
    _, steps = run_child(fresh(template, tmp_path / "whole"), policy)
    assert steps[-1] == ["done"]
    names = [name for _, name in steps[:-1]]
    # two merges of three parts: each step once, the removal once per replaced part
    merge = ["staged", "fsynced", "journal", "renamed", "lineage", *3 * ["unlinked"], "finished"]
    assert names == 2 * merge and set(names) == set(STEPS)
    count = len(names)
    for k in range(1, count + 1):
        dataset = fresh(template, tmp_path / f"k{k}")
        killed, done = run_child(dataset, policy, kill_at=k)
        assert killed and done[-1][0] == str(k)
        check_dataset(dataset, originals, total)  # right even before any recovery
        if k % 2 == 0:  # killed again at its first or second step: the recovery's, if any
            run_child(dataset, policy, kill_at=1 + k % 4 // 2)
            check_dataset(dataset, originals, total)
        assert compact(dataset, policy) is not None
        check_finished(dataset, originals, total)
        assert len(dataset.parts()) == 2  # both merges done, each exactly once


def test_kills_at_random_moments_of_a_long_compaction(tmp_path: Path) -> None:
    dataset = PostDataset(tmp_path / "big")
    originals = write_parts(dataset, 30, 20000)  # 600,000 posts
    total = 600_000
    size = max(s for _, s in sized(dataset.parts()))
    # merges of up to twelve parts: three of them, each long enough to be killed in
    policy = Policy(tiers=(size * 3 // 2, size * 6), max_bytes=size * 12, at_least=4)
    template = tmp_path / "copy"
    shutil.copytree(dataset.root, template)
    started = time.perf_counter()
    _, steps = run_child(PostDataset(template), policy)
    whole = time.perf_counter() - started
    assert sum(1 for s in steps if s[-1] == "renamed") >= 3
    rng = random.Random(21)
    kills = 0
    for _ in range(8):
        child = start_child(dataset, policy)
        time.sleep(rng.uniform(0.05, 1.0) * whole)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=120)
        check_dataset(dataset, originals, total)
        if child.returncode == -signal.SIGKILL:
            kills += 1
        else:  # it had finished: start again from the small parts
            check_finished(dataset, originals, total)
            shutil.rmtree(dataset.root)
            shutil.copytree(template, dataset.root)
    assert kills >= 4  # most runs were cut short
    compact(dataset, policy)
    check_finished(dataset, originals, total)
    assert sorted(p.name for p in dataset.parts()) != originals


def test_readers_see_each_post_once_while_another_process_compacts(tmp_path: Path) -> None:
    dataset = PostDataset(tmp_path / "ds")
    originals = write_parts(dataset, 24, 400)
    policy = two_merges(dataset)  # here eight merges of three, each step held a moment
    child = start_child(dataset, policy, pause=0.05)
    reads = 0
    seen: set[tuple[str, ...]] = set()
    while child.poll() is None or reads == 0:
        check_dataset(dataset, originals, 9600)  # reads every post through a snapshot
        seen.add(tuple(p.name for p in dataset.parts()))
        reads += 1
    assert child.wait(60) == 0
    check_finished(dataset, originals, 9600)
    assert len(seen) >= 3  # the reads saw the dataset at several stages
