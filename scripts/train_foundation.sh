#!/usr/bin/env bash
# Recipe of the shipped foundation model (models/mpm-foundation-v1): label-free pretraining on the
# Kolari stack (a 20 x 20 km block held out for evaluation) plus seeded synthetic scenes.
# CPU: about 10 minutes on 2 cores; uses CUDA when present.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-build_model}
OUT=models/mpm-foundation-v1
HELD_OUT="364000 7490000 384000 7510000"   # tests/conftest.py KOLARI_CROP
mkdir -p "$WORK"
.venv/bin/python -m engine demo --out "$WORK"   # the Kolari demo stack, in $WORK/stack (reused when there)
.venv/bin/python -m engine pretrain --stack "$WORK/stack" --exclude-bounds $HELD_OUT --tile 128 --max-tiles 64 \
  --synthetic ${SYNTHETIC:-48} --steps1 ${STEPS1:-3000} --steps2 ${STEPS2:-1500} --batch-size 16 --seed 0 \
  --onnx --out "$WORK/pretrain"
mkdir -p "$OUT"
cp "$WORK"/pretrain/{weights.safetensors,model_card.json,MODEL_CARD.md,losses.csv,losses.png} "$OUT"/
rm -rf "$OUT/onnx" && cp -r "$WORK/pretrain/onnx" "$OUT/onnx"
echo "Shipped model written to $OUT"
