"""Models: every architecture family behind the one `Encoder` contract. `adapters` holds one module per
family (found by the card's `adapter:`); `weights` and `common` find and load checkpoints; `analysis` is
BM25's per-language analysis, `translation` machine translation, `nllb_e5` NLLB-E5's layout and
distillation, `flores` FLORES-200 language codes.

May import: core, data, evaluation, catalog, encode. Inside: common/weights/flores <- analysis,
translation, nllb_e5 <- adapters (the order the import-direction test holds).
"""
