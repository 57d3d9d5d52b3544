"""Models: every architecture family behind the one `Encoder` contract. `adapters` holds one module per
family (found by the card's `adapter:`, or declared by an installed package); `weights` and `common` find
and load checkpoints; `facts` reads a checkpoint's size and license without loading it; `checkpoints`
reads a checkpoint folder or hub id into a card; `analysis` is BM25's per-language analysis,
`translation` machine translation, `nllb_e5` NLLB-E5's layout and distillation, `flores` FLORES-200
language codes.

May import: core, data, evaluation, catalog, encode. Inside: common/weights/facts/flores <- analysis,
translation, nllb_e5 <- adapters <- checkpoints (the order the import-direction test holds).
"""
