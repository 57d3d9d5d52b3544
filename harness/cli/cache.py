"""`harness cache list|size|prune|verify`: the embedding store that `harness run` and `harness sweep` encode through."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from harness.cli.common import console, log_console, reported_errors
from harness.core.errors import InputError

if TYPE_CHECKING:
    from harness.store.cache import StoreEntry

app = typer.Typer(
    help="The embedding store: encodings kept between runs (default ~/.cache/harness/embeddings).",
    no_args_is_help=True,
)

CacheDir = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir", help="The store's folder, as given to `harness run --cache-dir` (default: the user cache)."
    ),
]


def _root(cache_dir: Path | None) -> Path:
    from harness.store import default_store_dir

    return cache_dir.expanduser() / "embeddings" if cache_dir else default_store_dir()


def _dtype(entry: StoreEntry) -> str:
    """The dtype the model computed in, and the stored one where it differs."""
    computed = entry.output.get("dtype")
    if not computed or computed == entry.dtype:
        return entry.dtype
    return f"{computed}, stored {entry.dtype}"


def _lengths(entry: StoreEntry) -> str:
    """Max query / document length in tokens, `–` where the model has none (BM25)."""
    query, document = entry.output.get("max_query_length"), entry.output.get("max_document_length")
    if query is None and document is None:
        return "–"
    return f"{query or '–'}/{document or '–'}"


@app.command("list")
def list_command(cache_dir: CacheDir = None) -> None:
    """Each stored encoding: model, store key (model identity / texts digests), card SHA-256, dtype, max
    query/document length, role, language, texts, shards (committed / expected), size, last written. Below,
    for a card stored under several keys, the identity fields that differ between them."""
    with reported_errors():
        from rich.table import Table

        from harness.reporting.render import human_bytes
        from harness.store.cache import identity_differences, list_entries

        root = _root(cache_dir)
        entries = list_entries(root)
        table = Table(title=f"Embedding store {escape(str(root))}")
        columns = ("model", "key", "card", "dtype", "max len q/d", "role", "language", "texts", "shards", "size")
        for column in (*columns, "written"):
            table.add_column(column, justify="right" if column in {"texts", "shards", "size"} else "left")
        for entry in entries:
            written = datetime.fromtimestamp(entry.modified, timezone.utc).strftime("%Y-%m-%d %H:%M")
            readable = entry.unreadable is None
            table.add_row(
                escape(entry.model),
                escape(f"{entry.model_key[:8]}/{entry.texts_key[:8]}"),
                escape(entry.card_digest[:8]) if readable else "–",
                escape(_dtype(entry)) if readable else "–",
                escape(_lengths(entry)) if readable else "–",
                entry.role,
                escape(entry.language),
                f"{entry.texts:,}",
                f"{entry.shards}/{entry.expected_shards}",
                human_bytes(entry.bytes),
                written,
            )
        log_console.print(table)
        if not entries:
            console.print("the store is empty")
        for card, fields in identity_differences(entries).items():
            keys = {entry.model_key for entry in entries if entry.model == card and entry.unreadable is None}
            line = f"{card} is stored under {len(keys)} keys, which differ in {', '.join(fields)}"
            console.print(escape(line), highlight=False, soft_wrap=True)
        for entry in entries:
            if entry.unreadable is not None:
                line = f"{entry.path}/entry.json is unreadable ({entry.unreadable}): `prune --all` removes it"
                console.print(escape(line), highlight=False, soft_wrap=True)


@app.command("size")
def size_command(cache_dir: CacheDir = None) -> None:
    """Bytes on disk, per model and in total."""
    with reported_errors():
        from harness.reporting.render import human_bytes
        from harness.store.cache import list_entries

        entries = list_entries(_root(cache_dir))
        per_model: dict[str, int] = {}
        for entry in entries:
            per_model[entry.model] = per_model.get(entry.model, 0) + entry.bytes
        for model, size in sorted(per_model.items()):
            console.print(f"{escape(model)}\t{human_bytes(size)}", highlight=False)
        console.print(f"total\t{human_bytes(sum(per_model.values()))} in {len(entries)} entries", highlight=False)


@app.command("prune")
def prune_command(
    cache_dir: CacheDir = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model card's encodings.")] = None,
    older_than: Annotated[
        float | None, typer.Option("--older-than", min=0, help="Only entries last written more than DAYS ago.")
    ] = None,
    incomplete: Annotated[bool, typer.Option("--incomplete", help="Only entries a run left unfinished.")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every entry.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")] = False,
) -> None:
    """Remove stored encodings (a later run encodes them again). Name what to remove: `--model`,
    `--older-than`, `--incomplete`, or `--all`; criteria combine."""
    with reported_errors():
        from harness.reporting.render import human_bytes
        from harness.store.cache import list_entries, remove, select

        if not (everything or model or older_than is not None or incomplete):
            raise InputError("say what to prune: --model NAME, --older-than DAYS, --incomplete or --all", key="prune")
        entries = list_entries(_root(cache_dir))
        chosen = select(entries, model, older_than, incomplete)
        for entry in chosen:
            verb = "would remove" if dry_run else "removing"
            why = f" (its entry.json is unreadable: {entry.unreadable})" if entry.unreadable is not None else ""
            console.print(f"{verb} {escape(str(entry.path))}{escape(why)}", highlight=False, soft_wrap=True)
        freed = sum(entry.bytes for entry in chosen) if dry_run else remove(chosen)
        verb = "would free" if dry_run else "freed"
        console.print(f"{len(chosen)} entries, {verb} {human_bytes(freed)}", highlight=False)
        for entry in entries:
            if entry.unreadable is not None and entry not in chosen:
                line = (
                    f"kept {entry.path}: its entry.json is unreadable ({entry.unreadable}), so its model and "
                    "shards are unknown; `prune --all` removes it"
                )
                console.print(escape(line), highlight=False, soft_wrap=True)


@app.command("verify")
def verify_command(cache_dir: CacheDir = None) -> None:
    """Check every stored encoding: each entry's entry.json, and each shard's files against the rows, shapes
    and checksums its meta.json records (every stored byte is read once). Prints each damaged file and why,
    and exits 2 when anything is damaged, 0 when the store is clean. A run moves a damaged shard aside and
    encodes it again (`harness run --no-recompute` stops at it instead); `prune` removes whole entries."""
    with reported_errors():
        from harness.store.cache import verify

        root = _root(cache_dir)
        check = verify(root)
        for error in check.damaged:
            console.print(f"damaged {escape(str(error))}", highlight=False, soft_wrap=True)
        for path in check.set_aside:
            console.print(f"moved aside by a run (delete it once inspected): {escape(str(path))}", soft_wrap=True)
        summary = f"checked {check.entries} entries, {check.shards} shards"
        if check.without_checksums:
            summary += f" ({check.without_checksums} written before checksums: rows and shapes checked)"
        if check.damaged:
            advice = "a run moves each damaged shard aside and encodes it again; `harness cache prune` removes entries"
            raise InputError(f"{summary}: {len(check.damaged)} damaged (listed above); {advice}", path=root)
        console.print(f"{escape(summary)}: nothing damaged in {escape(str(root))}", highlight=False, soft_wrap=True)
