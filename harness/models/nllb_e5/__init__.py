"""NLLB-E5: NLLB-200's encoder, a projection and E5 with LoRA; its on-disk layout and its distillation."""
