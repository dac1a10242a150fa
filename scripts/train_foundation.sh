#!/usr/bin/env bash
# Recipe of the shipped foundation model (models/mpm-foundation-v1): label-free pretraining on the
# Kolari stack (a 20 x 20 km block held out for evaluation) plus seeded synthetic scenes.
# CPU: about 20-40 minutes on 2 cores; uses CUDA when present. RECON_PRIOR=idw tries the
# residual-over-IDW decoder (bench/RESULTS.md: no gain yet at this training budget); LAYER_MASKING=0.5
# masks half of the stage-1 batches per layer (bench/RESULTS.md, "Why v1 loses to interpolation").
# TOKEN_MODE=layer trains per-layer tokens (the candidate successor of v1, bench/RESULTS.md "Per-layer
# tokens"): OUT=build_model/layer TOKEN_MODE=layer LAYER_MASKING=0.5 SYNTHETIC=16 STEPS1=2000 STEPS2=600
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-build_model}
OUT=${OUT:-models/mpm-foundation-v1}   # e.g. OUT=build_model/idw RECON_PRIOR=idw for the experiment
HELD_OUT="364000 7490000 384000 7510000"   # tests/conftest.py KOLARI_CROP
mkdir -p "$WORK"
# the Kolari demo stack (alignment only; deposits are never read by pretraining), reused when there
[ -f "$WORK/stack/stack.json" ] || .venv/bin/python -c "import sys; from engine import api; api.align_stack(api.kolari_spec(), sys.argv[1])" "$WORK/stack"
.venv/bin/python -m engine pretrain --stack "$WORK/stack" --exclude-bounds $HELD_OUT --tile 128 --max-tiles 64 \
  --synthetic ${SYNTHETIC:-48} --steps1 ${STEPS1:-3000} --steps2 ${STEPS2:-1500} --batch-size 16 --seed 0 \
  --recon-prior ${RECON_PRIOR:-none} ${TOKEN_MODE:+--token-mode $TOKEN_MODE} --layer-masking ${LAYER_MASKING:-0} --onnx --out "$WORK/pretrain"
mkdir -p "$OUT"
cp "$WORK"/pretrain/{weights.safetensors,model_card.json,MODEL_CARD.md,losses.csv,losses.png} "$OUT"/
rm -rf "$OUT/onnx" && cp -r "$WORK/pretrain/onnx" "$OUT/onnx"
echo "Shipped model written to $OUT"
