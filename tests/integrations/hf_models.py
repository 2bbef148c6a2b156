"""A tiny GPT-2 built from a config (random weights, nothing downloaded), a bug to plant, and
the same training as a hand-written loop."""

from __future__ import annotations

from pathlib import Path

import torch
import transformers
from torch import nn

BUGS = ("none", "detached", "frozen", "high_lr")


class Tokens(torch.utils.data.Dataset):
    """Sequences that count up from a random start: a task a tiny model can learn."""

    def __init__(self, n: int = 128, length: int = 8) -> None:
        g = torch.Generator().manual_seed(0)
        start = torch.randint(0, 24, (n, 1), generator=g)
        self.ids = start + torch.arange(length)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def model(bug: str = "none") -> transformers.GPT2LMHeadModel:
    assert bug in BUGS
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=32, n_positions=16, n_embd=16, n_layer=2, n_head=2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    net = transformers.GPT2LMHeadModel(config)
    if bug == "detached":  # block 0's output is cut from the graph: nothing before it learns
        net.transformer.h[0].register_forward_hook(_detach)
    return net


def _detach(_module: nn.Module, _args: object, output: object) -> object:
    if isinstance(output, tuple):
        return (output[0].detach(), *output[1:])
    return output.detach()


def optimizer(net: nn.Module, bug: str) -> torch.optim.Optimizer:
    params = [
        p for n, p in net.named_parameters() if not (bug == "frozen" and ".h.1.mlp.c_fc" in n)
    ]  # frozen: one layer is left out of the optimizer
    if bug == "high_lr":
        return torch.optim.SGD(params, lr=30.0)
    return torch.optim.Adam(params, lr=3e-3)


def arguments(out: Path, steps: int, **options: object) -> transformers.TrainingArguments:
    settings = {
        "output_dir": str(out),
        "max_steps": steps,
        "per_device_train_batch_size": 8,
        "report_to": "none",
        "save_strategy": "no",
        "logging_steps": 1,
        "train_sampling_strategy": "sequential",
        "use_cpu": True,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "max_grad_norm": 0.0,
        **options,
    }
    return transformers.TrainingArguments(**settings)


def train(out: Path, bug: str = "none", steps: int = 12, callbacks=(), **options) -> list[float]:
    """Train with the Trainer; returns the loss of every step (logged each step)."""
    net = model(bug)
    opt = optimizer(net, bug)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    trainer = transformers.Trainer(
        model=net,
        args=arguments(out, steps, **options),
        train_dataset=Tokens(),
        optimizers=(opt, schedule),
        callbacks=list(callbacks),
    )
    trainer.train()
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def hand_written(bug: str, steps: int, record: Path, clip: float = 0.0, **watch) -> None:
    """The same training as ``train``, in a plain loop watched by gradtui.watch."""
    import gradtui

    net = model(bug)
    opt = optimizer(net, bug)
    loader = torch.utils.data.DataLoader(Tokens(), batch_size=8, shuffle=False)
    batches = iter(loader)
    net.train()
    with gradtui.watch(net, opt, record=record, **watch) as monitor:
        for _ in range(steps):
            opt.zero_grad()
            batch = next(batches)
            tokens = batch["labels"].ne(-100).sum().float()  # as this Trainer counts them
            loss = net(**batch, num_items_in_batch=tokens).loss
            loss.backward()
            monitor.step(loss)
            if clip:
                monitor.clip_grad_norm_(clip)
            opt.step()
