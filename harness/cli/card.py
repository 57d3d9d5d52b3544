"""`harness card MODEL`: the card a model runs with, printed as YAML (a checkpoint's is read from its files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.arguments import argument
from harness.cli.common import reported_errors


def card_command(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A card name or file, a checkpoint folder, or a hub checkpoint `hf:ORG/NAME[@REVISION]`.",
            show_default=False,
        ),
    ],
    cards_dir: Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra folder of model cards.")] = None,
) -> None:
    """Print the model card `-m MODEL` runs with, as YAML on stdout (what was assumed goes to stderr).

    A checkpoint's card is read from its own files (sentence-transformers configuration, colbert-ai
    `artifact.metadata`, BGE-M3 heads, else `config.json` with mean pooling). Save it, edit it, and run the
    file: a saved card that is not edited is the same experiment as the checkpoint itself.

    * `harness card path/to/my-checkpoint > cards/my-model.yaml`
    * `harness run --data path/to/scifact -m cards/my-model.yaml`
    * `harness card hf:intfloat/multilingual-e5-small` (from the local Hugging Face cache, or the hub)
    """
    with reported_errors():
        from harness.cli.options import say_note
        from harness.models.checkpoints import choose_model

        with argument("MODEL", "--model"):
            chosen = choose_model(model, cards_dir or [])
        for note in chosen.notes:
            say_note(note)
        if chosen.text is not None:
            typer.echo(chosen.text, nl=False)
        else:
            assert chosen.card.path is not None  # a card read from a file
            typer.echo(chosen.card.path.read_text(encoding="utf-8"), nl=False)
