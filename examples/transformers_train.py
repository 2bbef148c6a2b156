"""A tiny GPT-2 (built from a config: random weights, nothing downloaded) trained by the
Hugging Face Trainer, watched by gradtui's callback.

python examples/transformers_train.py                   # train, print gradtui's findings
python examples/transformers_train.py --bug detached    # plant a bug: detached, frozen, high_lr
torchrun --nproc_per_node=2 examples/transformers_train.py   # DDP on CPU: one file per rank
gradtui attach runs/transformers.jsonl                  # in another terminal, while it runs
gradtui report runs/transformers.jsonl --fail-on error
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path

import torch
import transformers

from gradtui.integrations.transformers import GradtuiCallback


class CountingUp(torch.utils.data.Dataset):
    """Sequences that count up from a random start: next-token prediction a tiny model learns."""

    def __init__(self, n: int = 512, length: int = 16) -> None:
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 48, (n, 1), generator=g) + torch.arange(length)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def build(bug: str) -> tuple[transformers.GPT2LMHeadModel, torch.optim.Optimizer]:
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=64,
        n_positions=32,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = transformers.GPT2LMHeadModel(config)
    if bug == "detached":  # block 0's output is cut from the graph
        model.transformer.h[0].register_forward_hook(
            lambda _m, _a, out: (
                (out[0].detach(), *out[1:]) if isinstance(out, tuple) else out.detach()
            )
        )
    params = [
        p for n, p in model.named_parameters() if not (bug == "frozen" and ".h.1.mlp.c_fc" in n)
    ]  # frozen: one layer is left out of the optimizer
    if bug == "high_lr":
        return model, torch.optim.SGD(params, lr=30.0)
    return model, torch.optim.AdamW(params, lr=3e-3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--record", default="runs/transformers.jsonl")
    parser.add_argument("--bug", choices=("none", "detached", "frozen", "high_lr"), default="none")
    args = parser.parse_args()

    model, optimizer = build(args.bug)
    callback = GradtuiCallback(record=args.record)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    trainer = transformers.Trainer(
        model=model,
        args=transformers.TrainingArguments(
            output_dir=str(Path(args.record).parent),
            max_steps=args.steps,
            per_device_train_batch_size=16,
            logging_steps=20,
            report_to="none",
            save_strategy="no",
            use_cpu=True,
            disable_tqdm=True,
            max_grad_norm=0.0 if args.bug == "high_lr" else 1.0,  # clipping would tame it
        ),
        train_dataset=CountingUp(),
        optimizers=(optimizer, schedule),
        callbacks=[callback],
    )
    trainer.train()
    print(f"rank {trainer.args.process_index}: recorded {callback.path}")
    if trainer.is_world_process_zero():
        for finding in callback.diagnoses():
            print(f"[{finding.severity}] {finding.kind}: {finding.message}")
    if torch.distributed.is_initialized():  # gloo can abort at exit while DDP still holds it
        del trainer, model
        gc.collect()
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
