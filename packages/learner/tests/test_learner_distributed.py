"""Data-parallel training: 2 gloo processes on the CPU (env-var launch and torchrun) against one process
with the doubled batch; the process-group plumbing in one process."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from plies.learner import (
    Callback,
    DistributedTrainer,
    Learner,
    distrib_barrier,
    rank0_first,
    setup_distrib,
    teardown_distrib,
)
from plies.loaders import DataLoader, DataLoaders
from safetensors.torch import load_file
from torch import nn

SCRIPT = Path(__file__).parent / "scripts" / "train_tiny.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]  # the `torchrun` command, wherever torch is
_spec = importlib.util.spec_from_file_location("plies_test_train_tiny_ddp", SCRIPT)
assert _spec is not None and _spec.loader is not None
train_tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_tiny)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_env(world: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    env.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(free_port()),
        WORLD_SIZE=str(world),
        CUDA_VISIBLE_DEVICES="",
        PYTHONUNBUFFERED="1",
    )
    if sys.platform.startswith("linux"):
        env["GLOO_SOCKET_IFNAME"] = "lo"  # stay on the loopback interface
    return env


def check_all(procs: list[subprocess.Popen], timeout: float = 240) -> None:
    outs = [p.communicate(timeout=timeout) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"


def results(out: Path, rank: int) -> tuple[dict[str, torch.Tensor], dict]:
    return load_file(out / f"rank{rank}.safetensors"), json.loads((out / f"rank{rank}.json").read_text())


def single_process(tmp: Path, *args: str) -> tuple[dict[str, torch.Tensor], dict]:
    train_tiny.main(["--path", str(tmp / "single"), "--out", str(tmp / "single-out"), *args])
    return results(tmp / "single-out", 0)


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], rtol: float = 1e-4) -> None:
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=rtol, atol=1e-6, msg=lambda m, k=k: f"{k}: {m}")


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def run_ranks(tmp: Path, *args: str, timeout: float = 240) -> list[tuple[int, str]]:
    """The test script as 2 ranks with torchrun's environment variables: (exit code, stderr) of each.

    The port is found free, then released for rank 0 to bind: should another process take it in
    between, the ranks fail with "Address already in use" and are launched again on a new port.
    """
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--path",
        str(tmp / "ddp"),
        "--path-per-rank",
        "--out",
        str(tmp / "ddp-out"),
        *args,
    ]
    for _ in range(3):
        env = loopback_env(2)
        procs = [
            subprocess.Popen(
                cmd,
                env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for r in range(2)
        ]
        err0 = procs[0].communicate(timeout=timeout)[1]  # rank 0 binds the port
        if procs[0].returncode != 0 and "address already in use" in err0.lower():
            procs[1].kill()  # it may be talking to whatever took the port
            procs[1].communicate()
            continue
        err1 = procs[1].communicate(timeout=timeout)[1]
        return [(procs[0].returncode, err0), (procs[1].returncode, err1)]
    raise RuntimeError("run_ranks: the port was taken three times in a row")


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_with_the_doubled_batch(tmp_path):
    # ranks are seeded differently on purpose: the model comes from rank 0, the data order is rank 0's
    common = ["--fit", "one_cycle", "--epochs", "2", "--n-valid", "37", "--get-preds", "--ckpt-every", "4"]
    ddp = ["--bs", "8", "--seed-per-rank", *common]
    for code, err in run_ranks(tmp_path, *ddp, "--crash-at", "9"):  # both die in epoch 1 (6 batches each)
        assert code != 0 and "simulated crash after batch 9" in err, err[-3000:]
    for code, err in run_ranks(tmp_path, *ddp, "--resume", "latest"):  # from the batch-8 checkpoint
        assert code == 0, f"exit {code}\nstderr:\n{err[-4000:]}"
    (w0, h0), (w1, h1) = results(tmp_path / "ddp-out", 0), results(tmp_path / "ddp-out", 1)
    ws, hs = single_process(tmp_path, "--bs", "16", *common)
    weights = [k for k in ws if k not in ("preds", "targs")]
    for k in weights:
        assert torch.equal(w0[k], w1[k]), f"{k} differs between ranks"
    assert_close({k: w0[k] for k in weights}, {k: ws[k] for k in weights})
    # metrics: train loss (averaged over ranks), valid loss and accuracy over the 37 items, each counted once
    assert h0["values"] == h1["values"]
    torch.testing.assert_close(torch.tensor(h0["values"]), torch.tensor(hs["values"]), rtol=1e-5, atol=1e-6)
    # get_preds under distrib_ctx: every validation item once, in dataset order
    assert w0["preds"].shape == (37, 3)
    assert torch.equal(w0["targs"], ws["targs"])
    torch.testing.assert_close(w0["preds"], ws["preds"], rtol=1e-4, atol=1e-6)
    # only rank 0 wrote files (its checkpoint); rank 1's learner path stays empty (it resumed from rank 0's)
    assert [p.name for p in files_under(tmp_path / "ddp-r0")] == ["checkpoint.safetensors"]
    assert files_under(tmp_path / "ddp-r1") == []


@pytest.mark.slow
def test_torchrun_with_gradient_accumulation_lr_find_and_save_best(tmp_path):
    # one learner path for both ranks (a shared disk): SaveModelCallback writes on rank 0 only, and
    # every rank reloads the best weights only once rank 0 has finished writing them
    common = ["--fit", "fit", "--epochs", "2", "--lr-find", "--save-best"]
    env = loopback_env(2)
    cmd = [
        *TORCHRUN,
        "--standalone",  # torchrun binds a free port itself: no window for another process to take it
        "--nproc_per_node",
        "2",
        str(SCRIPT),
        "--path",
        str(tmp_path / "ddp"),
        "--out",
        str(tmp_path / "ddp-out"),
        "--bs",
        "8",
        "--accum",
        "32",
        *common,
    ]
    for name in ("WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name)
    check_all([subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)])
    (w0, h0), (w1, h1) = results(tmp_path / "ddp-out", 0), results(tmp_path / "ddp-out", 1)
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f"{k} differs between ranks"
    assert h0["lr_find"] == h1["lr_find"] and h0["lr_find_restored"] and h1["lr_find_restored"]
    assert [p.name for p in files_under(tmp_path / "ddp")] == ["model.safetensors"]
    best = load_file(tmp_path / "ddp" / "models" / "model.safetensors")  # plain safetensors
    for k in w0:  # both ranks ended on the best weights (reloaded from that file)
        assert torch.equal(best[f"/model/{k}"], w0[k]), k
    # 4 micro-batches of 8 per rank and step == 4 micro-batches of 16 in one process
    ws, hs = single_process(tmp_path, "--bs", "16", "--accum", "64", *common)
    assert_close(w0, ws)
    torch.testing.assert_close(torch.tensor(h0["values"]), torch.tensor(hs["values"]), rtol=1e-5, atol=1e-6)


# ---- one process ----------------------------------------------------------------------------------------


def tiny_learner(path: Path, bn: bool = False) -> Learner:
    torch.manual_seed(0)
    x = torch.randn(40, 3)
    y = x.sum(1, keepdim=True)
    dls = DataLoaders(DataLoader((x, y), bs=8), DataLoader((x[:8], y[:8]), bs=8))
    layers = [nn.Linear(3, 4)] + ([nn.BatchNorm1d(4)] if bn else []) + [nn.Linear(4, 1)]
    learn = Learner(dls, nn.Sequential(*layers), loss_func=nn.MSELoss(), path=path)
    learn.remove_cb(learn.progress)
    return learn


def test_distrib_ctx_without_torchrun_is_a_no_op(tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    learn = tiny_learner(tmp_path)
    model = learn.model
    with learn.distrib_ctx():
        assert not dist.is_initialized()
        assert not any(isinstance(cb, DistributedTrainer) for cb in learn.cbs)
        learn.fit(1)
    assert learn.model is model


def test_setup_distrib_explains_a_missing_launcher(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(RuntimeError, match="MASTER_ADDR.*torchrun --nproc_per_node"):
        setup_distrib()


@pytest.fixture
def one_rank_group():
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1)
    yield
    teardown_distrib()


def test_distributed_trainer_wraps_during_fit_and_unwraps_after(tmp_path, one_rank_group):
    learn = tiny_learner(tmp_path)
    seen = []
    learn.add_cb(DistributedTrainer())
    learn.add_cb(Callback(after_batch=lambda cb: seen.append(type(cb.learn.model))))
    learn.fit(1)
    assert seen and all(issubclass(t, nn.parallel.DistributedDataParallel) for t in seen)
    assert type(learn.model) is nn.Sequential
    assert list(learn.model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # no 'module.'
    assert rank0_first(lambda: 42) == 42
    distrib_barrier()


def test_sync_bn_on_cpu_is_refused(tmp_path, one_rank_group):
    learn = tiny_learner(tmp_path, bn=True)
    learn.add_cb(DistributedTrainer(sync_bn=True))
    with pytest.raises(ValueError, match="SyncBatchNorm runs on GPUs only"):
        learn.fit(1)
