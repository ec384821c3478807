"""CheckpointCallback and resume_from: exact resumption (also after SIGKILL / SIGTERM), crash-safe writes,
refusal of damaged files, and 'latest'."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from plies.learner import Callback, CheckpointCallback, Learner, latest_checkpoint
from plies.loaders import DataLoader, DataLoaders
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

SCRIPT = Path(__file__).parent / "scripts" / "train_tiny.py"
_spec = importlib.util.spec_from_file_location("plies_test_train_tiny", SCRIPT)
assert _spec is not None and _spec.loader is not None
train_tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_tiny)


@pytest.fixture(autouse=True)
def keep_sigterm_handler():
    old = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, old)


def run(tmp: Path, name: str, *args: str) -> dict[str, torch.Tensor]:
    """Train in this process with the test script; return the final weights."""
    train_tiny.main(["--path", str(tmp / name), "--out", str(tmp / f"{name}-out"), *args])
    return load_file(tmp / f"{name}-out" / "rank0.safetensors")


def history(tmp: Path, name: str) -> dict:
    return json.loads((tmp / f"{name}-out" / "rank0.json").read_text())


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"


@pytest.mark.parametrize(
    "fit, extra",
    [("one_cycle", []), ("fit", []), ("flat_cos", ["--accum", "32"])],  # accum: checkpoints between steps
    ids=["one_cycle", "fit", "flat_cos-accumulation"],
)
def test_crash_mid_epoch_then_resume_latest_is_exact(tmp_path, fit, extra):
    common = ["--fit", fit, "--epochs", "3", "--dropout", "0.3", "--ckpt-every", "5", *extra]
    ref = run(tmp_path, "ref", *common)
    with pytest.raises(train_tiny.Crash):  # 12 batches per epoch: dies after batch 17, in epoch 1
        run(tmp_path, "run", *common, "--crash-at", "17")
    assert (tmp_path / "run" / "models" / "checkpoint.safetensors").is_file()
    resumed = run(tmp_path, "run", *common, "--resume", "latest")
    assert_same_weights(ref, resumed)
    assert history(tmp_path, "run") == history(tmp_path, "ref")  # Recorder: per-epoch values and losses


def test_resume_from_explicit_path_and_name(tmp_path):
    common = ["--fit", "fit", "--epochs", "2", "--ckpt-every", "4"]
    ref = run(tmp_path, "ref", *common)
    with pytest.raises(train_tiny.Crash):
        run(tmp_path, "run", *common, "--crash-at", "9")
    file = tmp_path / "run" / "models" / "checkpoint.safetensors"
    copy = tmp_path / "elsewhere.safetensors"
    copy.write_bytes(file.read_bytes())
    assert_same_weights(ref, run(tmp_path, "run", *common, "--resume", str(copy)))
    with pytest.raises(train_tiny.Crash):
        run(tmp_path, "run2", *common, "--crash-at", "13")
    assert_same_weights(ref, run(tmp_path, "run2", *common, "--resume", "checkpoint"))  # a name in model_dir


def test_fine_tune_resumes_in_the_unfrozen_phase(tmp_path):
    common = ["--fit", "fine_tune", "--epochs", "2", "--ckpt-every", "5"]
    ref = run(tmp_path, "ref", *common)
    with pytest.raises(train_tiny.Crash):  # freeze phase: 12 batches; dies in the second phase
        run(tmp_path, "run", *common, "--crash-at", "20")
    assert_same_weights(ref, run(tmp_path, "run", *common, "--resume", "latest"))


def test_resume_latest_without_checkpoint_starts_fresh(tmp_path):
    ref = run(tmp_path, "ref", "--fit", "fit")
    fresh = run(tmp_path, "fresh", "--fit", "fit", "--resume", "latest")
    assert_same_weights(ref, fresh)


def test_sgdr_resumes_at_the_epoch_boundary(tmp_path):
    common = ["--fit", "sgdr", "--ckpt-every", "1000"]  # only end-of-epoch checkpoints; 3 epochs
    ref = run(tmp_path, "ref", *common)
    with pytest.raises(train_tiny.Crash):
        run(tmp_path, "run", *common, "--crash-at", "15")  # in epoch 1, last checkpoint after epoch 0
    assert_same_weights(ref, run(tmp_path, "run", *common, "--resume", "latest"))
    assert history(tmp_path, "run") == history(tmp_path, "ref")


class Counter(Callback):
    """A callback whose state matters: it counts training batches."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def after_batch(self) -> None:
        if self.learn.training:
            self.count += 1

    def state_dict(self) -> dict:
        return {"count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.count = state["count"]


def tiny_learner(path: Path, cbs=None, hidden: int = 8) -> Learner:
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x.sum(1, keepdim=True)
    dls = DataLoaders(
        DataLoader((x[:48], y[:48]), bs=16, shuffle=True, seed=1), DataLoader((x[48:], y[48:]), bs=16)
    )
    model = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    learn = Learner(dls, model, loss_func=nn.MSELoss(), path=path, cbs=cbs)
    learn.remove_cb(learn.progress)
    return learn


class Draws(Callback):
    """Before each training batch, draw from python's, numpy's and torch's global generators (as
    augmentations do) and keep the values by batch number."""

    def __init__(self) -> None:
        super().__init__()
        self.draws: dict[int, tuple[float, float, float]] = {}

    def before_batch(self) -> None:
        if self.learn.training:
            self.draws[self.learn.train_iter] = (
                random.random(),
                float(np.random.rand()),
                float(torch.rand(1)),
            )


class CrashAfter(Callback):
    order = 95  # after CheckpointCallback wrote this batch's checkpoint

    def __init__(self, n_batches: int) -> None:
        super().__init__()
        self.n_batches = n_batches

    def after_batch(self) -> None:
        if self.learn.training and self.learn.train_iter == self.n_batches:
            raise RuntimeError(f"simulated crash after batch {self.n_batches}")


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def test_resume_restores_the_python_numpy_and_torch_generators(tmp_path):
    ref = tiny_learner(tmp_path / "ref", cbs=[Draws()])
    seed_all(7)
    ref.fit(2)  # 3 batches per epoch
    assert len(ref.draws.draws) == 6
    run = tiny_learner(tmp_path / "run", cbs=[Draws(), CheckpointCallback(every_n_batches=2)])
    seed_all(7)
    with pytest.raises(RuntimeError, match="simulated crash after batch 3"):
        run.fit(2, cbs=CrashAfter(3))  # the last checkpoint is from after batch 2
    assert run.draws.draws == {i: ref.draws.draws[i] for i in range(3)}
    resumed = tiny_learner(tmp_path / "run", cbs=[Draws()])
    seed_all(123)  # a new process would start from other states: only the checkpoint can bring them back
    resumed.fit(2, resume_from="latest")
    assert sorted(resumed.draws.draws) == [2, 3, 4, 5]
    for i, (py, npy, tch) in resumed.draws.draws.items():
        assert py == ref.draws.draws[i][0], f"python's random, batch {i}"
        assert npy == ref.draws.draws[i][1], f"numpy's random, batch {i}"
        assert tch == ref.draws.draws[i][2], f"torch's random, batch {i}"


def test_checkpoint_file_is_plain_safetensors_with_json_state(tmp_path):
    learn = tiny_learner(tmp_path, cbs=CheckpointCallback(fname="ckpt"))
    learn.fit(1)
    file = tmp_path / "models" / "ckpt.safetensors"
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["ckpt.safetensors"]
    with safe_open(file, "pt") as f:
        meta = f.metadata()
        assert meta["format"] == "plies.checkpoint"
        state = json.loads(meta["state"])
        assert state["progress"] == {
            "epoch": 0,
            "n_epoch": 1,
            "train_iter": 3,
            "batches_done": 3,
            "epoch_done": True,
        }
        assert torch.equal(f.get_tensor(state["model"]["0.weight"]["key"]), learn.model[0].weight.detach())
    assert latest_checkpoint(tmp_path / "models") == file


class ValidateMidEpoch(Callback):
    """Runs learn.validate() after training batch 1 and notes what the nested pass left behind."""

    order = 100

    def after_batch(self) -> None:
        if self.learn.training and self.learn.train_iter == 1:
            handler = signal.getsignal(signal.SIGTERM)
            self.valid = self.learn.validate()
            self.file_after_validate = (self.learn.path / "models" / "checkpoint.safetensors").exists()
            self.same_handler = signal.getsignal(signal.SIGTERM) == handler


def test_validate_inside_a_fit_writes_no_checkpoint_and_keeps_the_sigterm_handler(tmp_path):
    probe = ValidateMidEpoch()
    learn = tiny_learner(tmp_path, cbs=[CheckpointCallback(), probe])
    learn.fit(1)
    assert len(probe.valid) == 1 and probe.valid[0] > 0  # the validation loss
    assert probe.file_after_validate is False  # no checkpoint at the nested pass's "after_epoch"
    assert probe.same_handler  # the fit's SIGTERM handler is still installed
    with safe_open(tmp_path / "models" / "checkpoint.safetensors", "pt") as f:
        state = json.loads(f.metadata()["state"])
    assert state["progress"]["train_iter"] == 3 and state["progress"]["epoch_done"] is True


def test_tampered_checkpoint_is_refused_naming_file(tmp_path):
    learn = tiny_learner(tmp_path, cbs=CheckpointCallback())
    learn.fit(1)
    file = tmp_path / "models" / "checkpoint.safetensors"
    data = bytearray(file.read_bytes())
    data[-5] ^= 0xFF  # a flipped bit in the tensor data
    file.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"checkpoint\.safetensors: checksum mismatch"):
        tiny_learner(tmp_path).fit(1, resume_from=file)
    file.write_bytes(bytes(data[:-5]) + bytes([data[-5] ^ 0xFF]) + bytes(data[-4:]))  # repaired
    tiny_learner(tmp_path).fit(1, resume_from=file)
    original = file.read_bytes()
    tampered = original.replace(b'epoch_done\\": true', b'epoch_done\\": 1234')  # the JSON state, same size
    assert tampered != original
    file.write_bytes(tampered)
    with pytest.raises(ValueError, match=r"checkpoint\.safetensors: checksum mismatch"):
        tiny_learner(tmp_path).fit(1, resume_from=file)


def test_truncated_checkpoint_is_refused(tmp_path):
    learn = tiny_learner(tmp_path, cbs=CheckpointCallback())
    learn.fit(1)
    file = tmp_path / "models" / "checkpoint.safetensors"
    data = file.read_bytes()
    for cut in (len(data) - 10, 100, 3):
        file.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"checkpoint .*checkpoint\.safetensors: truncated"):
            tiny_learner(tmp_path).fit(1, resume_from=file)


def test_a_pickle_file_is_not_a_checkpoint(tmp_path):
    file = tmp_path / "evil.safetensors"
    torch.save({"model": torch.zeros(2)}, file)  # a zip/pickle file under a checkpoint's name
    with pytest.raises(ValueError, match="evil.safetensors: truncated or not a safetensors file"):
        tiny_learner(tmp_path).fit(1, resume_from=file)


def test_latest_skips_a_damaged_newer_checkpoint(tmp_path):
    learn = tiny_learner(tmp_path, cbs=CheckpointCallback(fname="old"))
    learn.fit(1)
    learn = tiny_learner(tmp_path, cbs=CheckpointCallback(fname="new"))
    learn.fit(2)
    models = tmp_path / "models"
    assert latest_checkpoint(models) == models / "new.safetensors"
    new = models / "new.safetensors"
    new.write_bytes(new.read_bytes()[:-20])
    (models / ".new.safetensors.tmp-123").write_bytes(b"half written")
    with pytest.warns(UserWarning, match=r"skipping .*new\.safetensors: truncated"):
        assert latest_checkpoint(models) == models / "old.safetensors"


def test_callback_state_and_grad_scaler_are_restored(tmp_path):
    learn = tiny_learner(tmp_path, cbs=[CheckpointCallback(), Counter()])
    learn.to_fp16()
    learn.fit(2)
    assert learn.counter.count == 6
    scale = learn.scaler.get_scale()
    resumed = tiny_learner(tmp_path, cbs=[Counter()])
    resumed.to_fp16()
    resumed.fit(3, resume_from="latest")  # one more epoch after the 2 checkpointed ones
    assert resumed.counter.count == 9
    state = json.loads(safe_open(tmp_path / "models" / "checkpoint.safetensors", "pt").metadata()["state"])
    assert state["scaler"]["scale"] == scale and state["callbacks"]["counter"] == {"count": 6}


def test_resume_into_a_different_model_is_refused(tmp_path):
    tiny_learner(tmp_path, cbs=CheckpointCallback()).fit(1)
    with pytest.raises(ValueError, match="does not match this learner"):
        tiny_learner(tmp_path, hidden=5).fit(1, resume_from="latest")


def test_resume_beyond_n_epoch_is_refused(tmp_path):
    tiny_learner(tmp_path, cbs=CheckpointCallback()).fit(3)
    with pytest.raises(ValueError, match="same arguments"):
        tiny_learner(tmp_path).fit(2, resume_from="latest")


def test_checkpoint_callback_checks_its_arguments():
    with pytest.raises(ValueError, match="every_n_batches"):
        CheckpointCallback(every_n_batches=0)
    with pytest.raises(ValueError, match="fname"):
        CheckpointCallback(fname="a/b")
    with pytest.raises(TypeError):
        CheckpointCallback(every_n_batch=3)  # a typo is an error


def test_missing_resume_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        tiny_learner(tmp_path).fit(1, resume_from="nothing")


# ---- real processes: SIGKILL, a kill inside the write, SIGTERM ------------------------------------------

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def start(tmp: Path, name: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, str(SCRIPT), "--path", str(tmp / name), "--out", str(tmp / f"{name}-out"), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or ENV)


def wait_for_line(proc: subprocess.Popen, line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        out = proc.stdout.readline()
        if out.strip() == line:
            return
        if not out and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"never printed {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}")


SLOW_RUN = [
    "--fit",
    "one_cycle",
    "--epochs",
    "3",
    "--dropout",
    "0.3",
    "--ckpt-every",
    "4",
    "--print-batches",
    "--sleep",
    "0.05",
]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_reaches_the_uninterrupted_weights(tmp_path):
    proc = start(tmp_path, "run", *SLOW_RUN)
    wait_for_line(proc, "BATCH 18")  # epoch 1, batch 6; last checkpoint after batch 16
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    ref = run(tmp_path, "ref", *SLOW_RUN)
    resumed = run(tmp_path, "run", *SLOW_RUN, "--resume", "latest")
    assert_same_weights(ref, resumed)


@pytest.mark.slow
def test_kill_during_checkpoint_write_leaves_previous_checkpoint(tmp_path):
    env = {**ENV, "PLIES_CHECKPOINT_WRITE_DELAY": "1.5"}  # sleep between temp file and rename
    proc = start(tmp_path, "run", *SLOW_RUN, env=env)
    models = tmp_path / "run" / "models"
    deadline = time.monotonic() + 60
    while not (models / "checkpoint.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    first = (models / "checkpoint.safetensors").read_bytes()
    while not list(models.glob(".checkpoint.safetensors.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # the second write is in progress: temp file written, not renamed
    proc.wait(30)
    assert list(models.glob(".checkpoint.safetensors.tmp-*"))
    assert (models / "checkpoint.safetensors").read_bytes() == first
    assert latest_checkpoint(models) == models / "checkpoint.safetensors"
    ref = run(tmp_path, "ref", *SLOW_RUN)
    assert_same_weights(ref, run(tmp_path, "run", *SLOW_RUN, "--resume", "latest"))
    assert not list(models.glob(".checkpoint.safetensors.tmp-*"))  # the stale temp file is cleaned up


@pytest.mark.slow
def test_sigterm_writes_a_final_checkpoint_and_exits(tmp_path):
    args = [a for a in SLOW_RUN if a not in ("--ckpt-every", "4")] + ["--ckpt-every", "1000"]
    proc = start(tmp_path, "run", *args)
    wait_for_line(proc, "BATCH 7")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 128 + signal.SIGTERM
    assert not (tmp_path / "run-out").exists()  # the script did not go on after fit
    state = json.loads(
        safe_open(tmp_path / "run" / "models" / "checkpoint.safetensors", "pt").metadata()["state"]
    )
    assert 7 <= state["progress"]["train_iter"] < 36
    ref = run(tmp_path, "ref", *args)
    assert_same_weights(ref, run(tmp_path, "run", *args, "--resume", "latest"))


def test_latest_ignores_weights_saved_with_learn_save(tmp_path):
    learn = tiny_learner(tmp_path, cbs=CheckpointCallback())
    learn.fit(1)
    learn.save("weights")  # newer, also safetensors in the model dir, but not resumable
    assert latest_checkpoint(tmp_path / "models") == tmp_path / "models" / "checkpoint.safetensors"
    with pytest.raises(ValueError, match="weights.safetensors: holds weights only"):
        tiny_learner(tmp_path).fit(1, resume_from="weights")


def test_lr_find_writes_no_checkpoint(tmp_path):
    learn = tiny_learner(tmp_path, cbs=CheckpointCallback(every_n_batches=1))
    learn.lr_find(num_it=5, show_plot=False)
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []
    learn.fit(1)
    assert latest_checkpoint(tmp_path / "models") == tmp_path / "models" / "checkpoint.safetensors"


class StopAt(Callback):
    """Stands for a killed process: stops after training batch `n` (after CheckpointCallback ran)."""

    order = 100

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def after_batch(self) -> None:
        if self.learn.training and self.learn.train_iter == self.n:
            raise KeyboardInterrupt


def test_a_resumed_run_says_where_it_restarts(tmp_path, capsys):
    learn = tiny_learner(tmp_path, cbs=[CheckpointCallback(every_n_batches=2), StopAt(5)])
    with pytest.raises(KeyboardInterrupt):
        learn.fit(3)
    capsys.readouterr()
    # 3 batches an epoch: the last checkpoint (batch 4) is 1 batch into the second epoch
    file = tmp_path / "models" / "checkpoint.safetensors"
    tiny_learner(tmp_path).fit(3, resume_from="latest")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"resuming from {file}: epoch 2/3, after batch 1 of 3"
    resumed = tiny_learner(tmp_path)
    with resumed.no_logging():
        resumed.fit(3, resume_from="latest")
    assert "resuming" not in capsys.readouterr().out  # silent when logging is off
    tiny_learner(tmp_path / "elsewhere").fit(1, resume_from="latest")
    assert capsys.readouterr().out.splitlines()[0] == (
        f"resume_from='latest': no valid checkpoint in {tmp_path / 'elsewhere' / 'models'}; "
        "training starts from the beginning"
    )
    done = tmp_path / "done"
    tiny_learner(done, cbs=CheckpointCallback()).fit(2)
    capsys.readouterr()
    tiny_learner(done).fit(2, resume_from="latest")
    assert capsys.readouterr().out.splitlines()[0] == (
        f"resuming from {done / 'models' / 'checkpoint.safetensors'}: the run had finished its 2 epochs, "
        "nothing left to train"
    )
