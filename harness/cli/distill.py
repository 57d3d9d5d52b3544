"""`harness distill nllb-e5`: train the parts of a model the harness then evaluates."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.cli.common import console, error_console, reported_errors

app = typer.Typer(help="Train models for the harness to evaluate (`harness distill nllb-e5`).", no_args_is_help=True)

DEFAULT_OUTPUT = Path("~/.cache/harness/models/nllb-e5")


class Activation(str, Enum):
    gelu = "gelu"
    relu = "relu"
    tanh = "tanh"


@app.command("nllb-e5")
def distill_nllb_e5(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help='JSON lines: {"english": ..., "text": ..., "language": "hi", "role": "query"}; only `english` is '
            "required (`text` defaults to it, `language` to en, `role` to passage).",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(help="Folder to write (the layout of docs/nllb-e5.md); the `nllb-e5` card reads the default."),
    ] = DEFAULT_OUTPUT,
    nllb: Annotated[
        str, typer.Option(help="NLLB-200 checkpoint: a local folder or a hub id.")
    ] = "facebook/nllb-200-distilled-600M",
    nllb_revision: Annotated[str | None, typer.Option(help="Hub revision of --nllb (default: pinned).")] = None,
    e5: Annotated[str, typer.Option(help="E5 checkpoint (teacher, and student body): folder or hub id.")] = (
        "intfloat/e5-large-v2"
    ),
    e5_revision: Annotated[str | None, typer.Option(help="Hub revision of --e5 (default: pinned).")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the data.")] = 1,
    max_steps: Annotated[int | None, typer.Option(min=1, help="Stop after this many optimiser steps.")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 1e-4,
    lora_rank: Annotated[int, typer.Option(min=1, help="LoRA rank r on E5's query/key/value (paper: 32).")] = 32,
    lora_alpha: Annotated[int, typer.Option(min=1, help="LoRA alpha (paper: 64).")] = 64,
    lora_dropout: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.1,
    projection_hidden: Annotated[int, typer.Option(min=1, help="Projection hidden size (paper: 4096).")] = 4096,
    activation: Annotated[Activation, typer.Option(help="Projection activation.")] = Activation.gelu,
    max_length: Annotated[int, typer.Option(min=3, help="NLLB tokens per text, code and </s> included.")] = 508,
    device: Annotated[str, typer.Option(help="`auto` (CUDA when present), `cpu`, `cuda`, ...")] = "auto",
    seed: Annotated[int, typer.Option()] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty --output folder.")] = False,
) -> None:
    """Distil E5 into NLLB-200's encoder (NLLB-E5, Acharya et al. 2024).

    The student (frozen NLLB encoder -> projection -> E5 with LoRA) learns E5's embedding of the
    English text by mean squared error; it reads the English text itself or a parallel translation.
    Only the projection and the LoRA adapter train. The folder is written when training ends,
    complete or not at all.

    Examples:

    * `harness distill nllb-e5 --data pairs.jsonl` (GPU if present; writes ~/.cache/harness/models/nllb-e5)
    * `harness run --suite xquad -m nllb-e5` (evaluates it)
    """
    with reported_errors():
        from harness.models.nllb_e5.distill import DistillSettings, distill, weights_spec
        from harness.models.nllb_e5.layout import E5_DEFAULT, NLLB_DEFAULT

        settings = DistillSettings(
            data=data,
            output=output.expanduser(),
            nllb=weights_spec(nllb, nllb_revision, NLLB_DEFAULT),
            e5=weights_spec(e5, e5_revision, E5_DEFAULT),
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            learning_rate=learning_rate,
            lora_rank=lora_rank,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            projection_hidden=projection_hidden,
            activation=activation.value,
            max_nllb_tokens=max_length,
            device=device,
            seed=seed,
            overwrite=overwrite,
        )
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.6f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=error_console, disable=not error_console.is_terminal) as bars:
            task = bars.add_task("distilling", total=None, loss=float("nan"))

            def on_step(step: int, total: int, loss: float) -> None:
                bars.update(task, completed=step, total=total, loss=loss)

            result = distill(settings, on_step)
        losses = result.losses
        console.print(
            f"{len(losses)} steps on {result.device}: loss {losses[0]:.6f} -> {losses[-1]:.6f} "
            f"(mean of the last {min(10, len(losses))}: {sum(losses[-10:]) / len(losses[-10:]):.6f})"
        )
        console.print(f"wrote [bold]{escape(str(result.output))}[/]")
