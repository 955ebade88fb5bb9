"""distributed_info_nce / gather_with_grad: 2 processes on the gloo backend (CPU) against
the single-process loss and gradients of the same global batch."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import subprocess_pythonpath

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():  # pragma: no cover
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

from timbrefast import losses  # noqa: E402

WORLD = 2
ROOT = Path(__file__).resolve().parents[1]

# Each case: (name, kwargs); the worker and the single-process reference use the same kwargs.
CASES = {
    "bilinear": dict(temperature=0.7, symmetric=False, normalize=False, use_w=True, labels=False),
    "bilinear_sym": dict(temperature=0.5, symmetric=True, normalize=False, use_w=True, labels=False),
    "cosine_sym": dict(temperature=0.1, symmetric=True, normalize=True, use_w=False, labels=False),
    "supervised": dict(temperature=0.2, symmetric=False, normalize=True, use_w=False, labels=True),
}

WORKER = textwrap.dedent(
    """
    import os
    import sys
    import numpy as np
    import torch
    import torch.distributed as dist
    from timbrefast import losses

    rank, world, init_file, data, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=world)
    d = np.load(data)
    n = d["a"].shape[0] // world
    rows = slice(rank * n, (rank + 1) * n)
    results = {}
    for name, kw in CASES.items():
        a = torch.from_numpy(d["a"][rows].copy()).requires_grad_()
        p = torch.from_numpy(d["p"][rows].copy()).requires_grad_()
        w = torch.from_numpy(d["w"].copy()).requires_grad_() if kw["use_w"] else None
        labels = torch.from_numpy(d["labels"][rows].copy()) if kw["labels"] else None
        loss = losses.distributed_info_nce(a, p, weight=w, temperature=kw["temperature"], symmetric=kw["symmetric"],
                                           normalize=kw["normalize"], labels=labels)
        loss.backward()
        results[name + "_loss"] = loss.detach().numpy()
        results[name + "_ga"] = a.grad.numpy()
        results[name + "_gp"] = p.grad.numpy()
        if w is not None:
            gw = w.grad.clone()
            dist.all_reduce(gw)
            results[name + "_gw"] = gw.numpy()
    # gather_with_grad alone, with unequal batch sizes per rank
    x = torch.full((rank + 1, 3), float(rank + 1), dtype=torch.float64, requires_grad=True)
    g = losses.gather_with_grad(x)
    results["gather"] = g.detach().numpy()
    (g * torch.arange(g.shape[0], dtype=torch.float64)[:, None]).sum().backward()
    results["gather_grad"] = x.grad.numpy()
    np.savez(out, **results)
    print(f"rank {rank}: results saved", flush=True)
    # Both ranks are past every collective and have written their results: leave without
    # the process-group teardown, which once hung one rank for minutes in CI after its
    # peer had exited (the results are all that this worker owes the test).
    dist.barrier()
    print(f"rank {rank}: done", flush=True)
    os._exit(0)
    """
)


def single_process(d, kw):
    a = torch.from_numpy(d["a"]).requires_grad_()
    p = torch.from_numpy(d["p"]).requires_grad_()
    w = torch.from_numpy(d["w"]).requires_grad_() if kw["use_w"] else None
    if kw["labels"]:
        loss = losses.supervised_info_nce(a, p, torch.from_numpy(d["labels"]), weight=w, temperature=kw["temperature"],
                                          symmetric=kw["symmetric"], normalize=kw["normalize"])
    elif w is not None:
        loss = losses.bilinear_info_nce(a, p, w, temperature=kw["temperature"], symmetric=kw["symmetric"])
    else:
        loss = losses.info_nce(a, p, temperature=kw["temperature"], symmetric=kw["symmetric"],
                               normalize=kw["normalize"])
    loss.backward()
    return loss.detach().numpy(), a.grad.numpy(), p.grad.numpy(), None if w is None else w.grad.numpy()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    rng = np.random.default_rng(0)
    n, dim = 2 * 37, 12
    data = dict(
        a=rng.standard_normal((n, dim)),
        p=rng.standard_normal((n, dim)),
        w=rng.standard_normal((dim, dim)) * 0.3,
        labels=rng.integers(0, 5, n).astype(np.int64),
    )
    np.savez(tmp / "data.npz", **data)
    script = tmp / "worker.py"
    script.write_text(f"CASES = {CASES!r}\n" + WORKER)
    env = dict(os.environ, PYTHONPATH=subprocess_pythonpath(),
               TIMBREFAST_NUM_THREADS="1", OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen([sys.executable, str(script), str(r), str(WORLD), str(tmp / "init"), str(tmp / "data.npz"),
                          str(tmp / f"out{r}.npz")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for r in range(WORLD)
    ]
    logs = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            partial = logs + [q.communicate()[0].decode(errors="replace") for q in procs[len(logs):]]
            pytest.fail("a gloo worker hung for 120 s; their output:\n" + "\n---\n".join(partial))
        logs.append(out.decode(errors="replace"))
        assert proc.returncode == 0, "\n".join(logs)
    outs = [dict(np.load(tmp / f"out{r}.npz")) for r in range(WORLD)]
    return data, outs


@pytest.mark.parametrize("name", list(CASES))
def test_two_ranks_equal_single_process(runs, name):
    data, outs = runs
    kw = CASES[name]
    loss, ga, gp, gw = single_process(data, kw)
    n = data["a"].shape[0] // WORLD
    # The global loss is the mean of the ranks' losses; gradients are summed over
    # ranks by the gather's backward, so each rank's slice / WORLD is the global one.
    np.testing.assert_allclose(np.mean([o[name + "_loss"] for o in outs]), loss, rtol=1e-12)
    for r, o in enumerate(outs):
        rows = slice(r * n, (r + 1) * n)
        np.testing.assert_allclose(o[name + "_ga"] / WORLD, ga[rows], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(o[name + "_gp"] / WORLD, gp[rows], rtol=1e-9, atol=1e-12)
        if gw is not None:
            np.testing.assert_allclose(o[name + "_gw"] / WORLD, gw, rtol=1e-9, atol=1e-12)


def test_gather_with_grad_unequal_sizes(runs):
    _, outs = runs
    expected = np.concatenate([np.full((1, 3), 1.0), np.full((2, 3), 2.0)])
    for o in outs:
        np.testing.assert_array_equal(o["gather"], expected)
    # d/dx of sum_k k * g[k] summed over both ranks: 2 * k for this rank's rows
    np.testing.assert_array_equal(outs[0]["gather_grad"], np.full((1, 3), 2.0 * 0))
    np.testing.assert_array_equal(outs[1]["gather_grad"], np.array([[2.0] * 3, [4.0] * 3]))


def test_needs_a_process_group():
    if dist.is_initialized():  # pragma: no cover
        pytest.skip("a process group is already initialised in this process")
    with pytest.raises(RuntimeError, match="process group"):
        losses.distributed_info_nce(torch.randn(2, 3), torch.randn(2, 3))
    with pytest.raises(RuntimeError, match="process group"):
        losses.gather_with_grad(torch.randn(2, 3))
