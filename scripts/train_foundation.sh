#!/usr/bin/env bash
# Recipe of the shipped foundation model (models/mpm-foundation-v2): label-free pretraining on the
# Kolari stack (a 20 x 20 km block held out for evaluation) plus seeded synthetic scenes, per-layer
# tokens, half of the stage-1 batches masked per layer. CPU: about 40 minutes on 2 cores; uses CUDA
# when present. The retired v1 was TOKEN_MODE=patch LAYER_MASKING=0 SYNTHETIC=48 STEPS1=3000
# STEPS2=1500 (bench/RESULTS.md, "Why v1 loses to interpolation" and "Per-layer tokens");
# RECON_PRIOR=idw tries the residual-over-IDW decoder (no gain yet at this training budget).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-build_model}
OUT=${OUT:-models/mpm-foundation-v2}   # e.g. OUT=build_model/idw RECON_PRIOR=idw for the experiment
HELD_OUT="364000 7490000 384000 7510000"   # tests/conftest.py KOLARI_CROP
mkdir -p "$WORK"
# the Kolari demo stack (alignment only; deposits are never read by pretraining), reused when there
[ -f "$WORK/stack/stack.json" ] || .venv/bin/python -c "import sys; from engine import api; api.align_stack(api.kolari_spec(), sys.argv[1])" "$WORK/stack"
.venv/bin/python -m engine pretrain --stack "$WORK/stack" --exclude-bounds $HELD_OUT --tile 128 --max-tiles 64 \
  --synthetic ${SYNTHETIC:-16} --steps1 ${STEPS1:-3000} --steps2 ${STEPS2:-800} --batch-size 16 --seed 0 \
  --recon-prior ${RECON_PRIOR:-none} --token-mode ${TOKEN_MODE:-layer} --layer-masking ${LAYER_MASKING:-0.5} --onnx --out "$WORK/pretrain"
mkdir -p "$OUT"
cp "$WORK"/pretrain/{weights.safetensors,model_card.json,MODEL_CARD.md,losses.csv,losses.png} "$OUT"/
rm -rf "$OUT/onnx" && cp -r "$WORK/pretrain/onnx" "$OUT/onnx"
echo "Shipped model written to $OUT"
