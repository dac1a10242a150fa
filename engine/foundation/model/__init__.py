"""Channel-agnostic foundation encoders: one small MAE-pretrained ViT per data source + fusion.

Importing this package does not import torch; each module imports it where needed, so the
ONNX Runtime path (backend "onnx-cpu", infer.embed_scene) works without torch installed.

Public API
----------
vocab.py      VOCAB; layer_id(name, source, vocab=None) -> int;
              resolve(name, source, vocab=None) -> (id, known); layer_ids(names, source) -> (ids, unknown_names)
config.py     ModelConfig (window 32, patch 4, dim 96, depth 4, heads 4, decoder 2 x 64, mask 0.75;
              token_mode "patch" (layers pooled per patch first) or "layer" (a token per layer and
              patch, axial blocks, layer_dim wide, pooled at the end));
              count_flops(config, channels) -> matmul FLOPs per window (int channels: one encoder;
              {source: n}: full embedding path); count_params(module)
encoder.py    SourceEncoder(config, source): forward(x, valid, layer_ids) -> tokens (B, N, D);
              encode(...) -> (tokens, present (B, N)); mae_forward(x, valid, layer_ids, input_channels=None)
              -> {loss, n_valid, mask, recon}; mae_layers_forward(x, valid, layer_ids, hidden=None): the
              same with the mask drawn per (layer, patch), mask (B, C, N)
fusion.py     SourceFusion(config): (tokens (B, S, N, D), present (B, S, N), source_ids (S,)) -> (B, N, D);
              FoundationModel(config, sources): embed(batch, return_present=False) -> (B, N, D),
              cross_source_loss(batch, target); pixel_embedding(tokens, grid, patch) -> (B, D, H, W)
              batch = {source: {"x": (B, C, H, W) float, NaN = invalid, "ids": (C,) layer ids, "valid": optional}}
pretrain.py   pretrain(scenes, config, steps_stage1, steps_stage2, out_dir, seed, device=None,
              feedback=None, resume=True, batch_size=16, lr=None, init_model=None, ...) -> summary dict
              (init_model: adapt a pretrained model instead of starting from random weights;
              layer_masking: share of stage-1 batches masked per layer)
evaluate.py   reconstruction_scores(model, source, windows, names, per_layer=False) -> model vs mean-fill,
              IDW (and regression-IDW when per_layer); linear_probe(...)
weights.py    save_model(model, out_dir, ...) -> card path; load_model(card_path, device="cpu") ->
              FoundationModel with .card (sha256 verified before parsing; safetensors only);
              read_card(path); verify_weights(card); open_model(path or None) -> ModelCard (the one
              model-card handle: .card .path .folder .name .sha256 .files .verify(); taken by load_model,
              select_backend, embedding_path, embed_stack in place of a path)
onnx_export.py export_onnx(model, out_dir, card_path=None) -> {source: path, "fusion": path}; read_metadata(path)
backend.py    select_backend(card_path_handle_or_model, name="auto"|"torch-cuda"|"torch-cpu"|"onnx-cpu",
              threads=None, feedback=None) -> backend with .name, .embed(batch, return_present=False)
              -> numpy (B, N, D), .layer_ids(names, source), .config, .sources
infer.py      embed_scene(backend, scene, stride=None, batch_size=32, feedback=None) -> SceneEmbedding
              (.grid (D, gh, gw), .present, .pixels() -> (D, H, W)); grid_to_pixels(grid, patch, shape)
"""
