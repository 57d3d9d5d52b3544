"""Single-vector bi-encoders on an XMOD backbone (DPR-XM): the dense path plus language routing.

Pooling, prefixes and normalisation are the dense adapter's; the only addition is XMOD's `lang_ids`,
chosen from the language of the texts being encoded (see `harness.models.adapters.xmod`).
"""

from __future__ import annotations

from typing import Any

from harness.catalog.cards import ModelCard
from harness.core.errors import InputError
from harness.encode import EncodeSettings, Role
from harness.models.adapters.dense import DenseEncoder, DenseParameters
from harness.models.adapters.xmod import XmodRouter, XmodRoutingParameters, is_xmod


class DenseXmodParameters(DenseParameters, XmodRoutingParameters):
    pass


class DenseXmodEncoder(DenseEncoder):
    Parameters = DenseXmodParameters
    params: DenseXmodParameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        if not is_xmod(self.model.config):
            raise InputError(
                f"adapter dense-xmod needs an XMOD checkpoint; {self.weights.path} is "
                f"{self.model.config.model_type!r} (use adapter `dense`)",
                path=card.path,
                key="adapter",
            )
        self.router = XmodRouter(self.model.config.languages, self.params, card.path)

    def _model_inputs(self, language: str, role: Role, batch_size: int) -> dict[str, Any]:
        return {"lang_ids": self.router.lang_ids(language, batch_size, self.device)}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "language_routing": self.router.describe()}


ADAPTER = DenseXmodEncoder
