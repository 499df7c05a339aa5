"""Using a trained model: load it from a run, optimise it for inference (BN folding, bf16, int8), evaluate, predict,
embed, explain (Grad-CAM) and export it."""
