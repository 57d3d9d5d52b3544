"""`harness explain`: read a sparse model's vectors as words, and see why a document matched a query."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from harness.cli.common import comma_list, console, reported_errors
from harness.core.errors import InputError

if TYPE_CHECKING:
    from harness.encode import SparseRepresentation


def _terms_table(title: str, representation: SparseRepresentation, top: int) -> list[Table]:
    from harness.encode.explain import top_terms_by_view

    tables = []
    for view, terms in top_terms_by_view(representation, 0, top).items():
        table = Table(title=f"{title} · {view} · {int(representation.active_terms()[0])} active terms in all views")
        for column, justify in (("#", "right"), ("term", "left"), ("column", "right"), ("weight", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for rank, term in enumerate(terms, start=1):
            table.add_row(str(rank), escape(term.term), str(term.column), f"{term.weight:.4f}")
        if not terms:
            table.add_row("", "(no active term)", "", "")
        tables.append(table)
    return tables


def _texts_by_id(
    query_id: str, doc_id: str, suite: str | None, data: Path | None, language: str | None, languages: str | None
) -> tuple[str, str, str, str]:
    """(query text, document text, query language, document language) from one unit of a suite or folder."""
    from harness.cli.options import say_note
    from harness.run.api import RunRequest, select_suite, select_units

    request = RunRequest(suite=suite, data=data, language=language, languages=comma_list(languages))
    units = select_units(request, select_suite(request, say_note))
    if len(units) != 1:
        labels = ", ".join(f"{u.dataset.name}/{u.languages.label}" for u in units)
        raise InputError(f"pick one dataset and language with --languages (this selects: {labels})", key="--languages")
    task = units[0].load()
    if query_id not in task.queries.ids:
        raise InputError(f"no query {query_id!r} in {units[0].dataset.name}", key="--query-id")
    if doc_id not in task.corpus.ids:
        raise InputError(f"no document {doc_id!r} in {units[0].dataset.name}", key="--doc-id")
    query = task.queries.texts[task.queries.ids.index(query_id)]
    document = task.corpus.joined_texts()[task.corpus.ids.index(doc_id)]
    return query, document, task.languages.query, task.languages.document


def explain_command(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="Sparse model: card name or path, or a checkpoint folder or hf:ORG/NAME (e.g. `milco`).",
        ),
    ],
    text: Annotated[str | None, typer.Option("--text", help="Show this text's heaviest terms, view by view.")] = None,
    role: Annotated[
        str, typer.Option("--as", help="Encode --text as a `document` or a `query` (queries carry MILCO's alpha).")
    ] = "document",
    query: Annotated[str | None, typer.Option("--query", help="Query text to explain a match for.")] = None,
    document: Annotated[str | None, typer.Option("--document", help="Document text to explain a match for.")] = None,
    query_id: Annotated[str | None, typer.Option("--query-id", help="A query of --suite/--data, by id.")] = None,
    doc_id: Annotated[str | None, typer.Option("--doc-id", help="A document of --suite/--data, by id.")] = None,
    suite: Annotated[str | None, typer.Option("--suite", "-s", help="Suite holding --query-id/--doc-id.")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="BEIR folder holding --query-id/--doc-id.")] = None,
    languages: Annotated[
        str | None, typer.Option("--languages", help="The suite language (pair) to read the ids from, e.g. `de-en`.")
    ] = None,
    language: Annotated[str, typer.Option("--language", help="Language of the texts (ISO 639).")] = "en",
    top: Annotated[int, typer.Option("--top", min=1, help="Terms shown per view / contributions shown.")] = 20,
    device: Annotated[str, typer.Option(help="`auto`, `cpu`, `cuda`, ...")] = "auto",
    cards_dir: Annotated[list[Path] | None, typer.Option("--cards-dir", help="Extra folder of model cards.")] = None,
) -> None:
    """Explain a learned-sparse model (MILCO, SPLADE-v3, BGE-M3 sparse): every dimension is a word.

    Examples:

    * `harness explain -m milco --text "巴尔的摩：美国最伟大的城市"`: top terms of the English pivot
      view and of the source (echo) view.
    * `harness explain -m milco --query "where is Baltimore?" --document "Baltimore is a city in Maryland"`:
      the score, and each matching term's contribution (query weight x document weight).
    * `harness explain -m splade-v3 --data ../shared/data/beir-scifact --query-id 1 --doc-id 31715818`
    """
    with reported_errors():
        by_id = query_id is not None or doc_id is not None
        if sum([text is not None, query is not None or document is not None, by_id]) != 1:
            raise InputError("give --text, or --query with --document, or --query-id with --doc-id", key="--text")
        if role not in {"document", "query"}:
            raise InputError("--as takes `document` or `query`", key="--as")
        from harness.cli.options import say_note
        from harness.encode import EncodeSettings
        from harness.encode.explain import explain_match
        from harness.models.adapters import load_encoder
        from harness.models.checkpoints import choose_model

        chosen = choose_model(model, cards_dir or [])
        for note in chosen.notes:
            say_note(note)
        card = chosen.card
        query_language = document_language = language
        if by_id:
            if query_id is None or doc_id is None:
                raise InputError("give both --query-id and --doc-id", key="--query-id")
            query, document, query_language, document_language = _texts_by_id(
                query_id, doc_id, suite, data, language if data else None, languages
            )
        elif text is None and (query is None or document is None):
            raise InputError("give both --query and --document", key="--query")
        if card.adapter == "bm25":
            raise InputError("BM25 weights depend on a whole corpus; explain learned-sparse models", key="--model")
        encoder = load_encoder(card, EncodeSettings(batch_size=1, device=device))
        if encoder.family != "sparse":
            raise InputError(f"{card.name} is a {encoder.family} model; explain reads sparse vectors", key="--model")
        if text is not None:
            encode = encoder.encode_queries if role == "query" else encoder.encode_documents
            for table in _terms_table(role, encode([text], language), top):
                console.print(table)
            return
        assert query is not None and document is not None
        if by_id:
            console.print(f"[bold]query {escape(str(query_id))}:[/] {escape(query)}", highlight=False)
            console.print(f"[bold]document {escape(str(doc_id))}:[/] {escape(document)}", highlight=False)
        query_vector = encoder.encode_queries([query], query_language)
        document_vector = encoder.encode_documents([document], document_language)
        explanation = explain_match(query_vector, 0, document_vector, 0)
        for table in _terms_table("query", query_vector, top) + _terms_table("document", document_vector, top):
            console.print(table)
        table = Table(title=f"score {explanation.score:.4f} = sum of matching terms ({len(explanation.contributions)})")
        for column in ("term", "view", "query weight", "document weight", "contribution", "share"):
            table.add_column(column, justify="left" if column in {"term", "view"} else "right")
        for item in explanation.contributions[:top]:
            share = item.value / explanation.score if explanation.score else 0.0
            table.add_row(
                escape(item.term),
                escape(item.view),
                f"{item.query_weight:.4f}",
                f"{item.document_weight:.4f}",
                f"{item.value:.4f}",
                f"{share:.1%}",
            )
        console.print(table)
        views = ", ".join(f"{name} {value:.4f}" for name, value in explanation.per_view.items())
        console.print(f"by view: {escape(views)}", highlight=False)
