#!/usr/bin/env bash
# The GDP quality study (experiments/gdp_quality.py) on one GPU, every arm in its own process:
# the two seeds' dense models first (in parallel), then 2 seeds × 2 ρ × 4 arms = 16 processes at once
# (small CIFAR-style ResNets leave a GPU mostly idle, so running the arms side by side is what fills it).
#
#   experiments/gdp_quality_gpu.sh runs/gdp-quality-gpu [recipe overrides...]
# Environment: RECIPE (default prune/gdp-quality-resnet56), PYTHON (default python3), SEEDS ("0 1"),
# RHOS ("0.5 0.3"), ARMS ("gdp l1 slimming uniform"; gdp-scratch is optional), DEVICE (cuda).
set -euo pipefail
out=${1:?usage: gdp_quality_gpu.sh OUT_DIR [overrides...]}
shift
recipe=${RECIPE:-prune/gdp-quality-resnet56}
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
run() { "$py" experiments/gdp_quality.py --recipe "$recipe" --device "$device" "$@"; }
mkdir -p "$out"
start=$(date +%s)
arm_run() { # seed rho arm [more options]
  local seed=$1 rho=$2 arm=$3
  shift 3
  run --seeds "$seed" --rhos "$rho" --arms "$arm" --out "$out/s${seed}_${rho}_${arm}" "$@" \
    >"$out/s${seed}_${rho}_${arm}.log" 2>&1
}
arms=${ARMS:-gdp l1 slimming uniform}
needs_dense=false
for arm in $arms; do [[ $arm == uniform || $arm == gdp-scratch ]] || needs_dense=true; done
pids=()
for seed in ${SEEDS:-0 1}; do
  if $needs_dense; then
    run --seeds "$seed" --arms --dense-save "$out/dense_seed{seed}.safetensors" --out "$out/dense$seed" "$@" \
      >"$out/dense$seed.log" 2>&1 &
    pids+=($!)
  fi
  # the arms that train from scratch start beside the dense models
  for rho in ${RHOS:-0.5 0.3}; do
    for arm in uniform gdp-scratch; do
      [[ " $arms " == *" $arm "* ]] && arm_run "$seed" "$rho" "$arm" "$@" &
    done
  done
done
[[ ${#pids[@]} -gt 0 ]] && wait "${pids[@]}"
echo "dense models: $(($(date +%s) - start)) s"
for seed in ${SEEDS:-0 1}; do
  for rho in ${RHOS:-0.5 0.3}; do
    for arm in $arms; do
      [[ $arm == uniform || $arm == gdp-scratch ]] && continue
      arm_run "$seed" "$rho" "$arm" --dense-load "$out/dense_seed{seed}.safetensors" "$@" &
    done
  done
done
wait
echo "all arms: $(($(date +%s) - start)) s"
shopt -s nullglob
cat /dev/null "$out"/dense*/rows.jsonl "$out"/s*/rows.jsonl >"$out/rows.jsonl"
"$py" experiments/gdp_quality.py --summarize "$out/rows.jsonl" | tee "$out/summary.md"
