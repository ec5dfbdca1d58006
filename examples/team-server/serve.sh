#!/usr/bin/env sh
# Serve one GGUF to a team with llama.cpp's own llama-server, for `assistant --endpoint`.
#
#   examples/team-server/serve.sh MODEL.gguf [PORT]
#
# Settings, and why (see "A team server" in README.md for what was measured):
#   -np SLOTS          one slot per developer working at the same time; each slot keeps
#                      its own conversation's KV cache, and the assistant keeps its slot
#                      (id_slot), so a chat turn evaluates only its new tokens.
#   -c SLOTS*CTX       the context is split evenly between the slots: CTX per developer.
#   --no-kv-unified    each slot gets its own fixed share; a unified KV buffer lets one long
#                      session starve the others.
#   --cache-ram MIB    host-RAM prompt cache: a slot reused by another developer can bring
#                      back an earlier prefix (the system prompt and tools) instead of
#                      evaluating it again.
#   --swa-full         Gemma 4 uses sliding-window attention; with the full-size SWA cache a
#                      prefix can always be re-used and a shorter common prefix rolled back to
#                      (slot save/restore is not reliable for SWA models: llama.cpp #26676).
#   --jinja            use the GGUF's own chat template (the assistant reads it from /props).
#   --api-key          set ASSISTANT_API_KEY on every client to the same value.
#   --no-repack        on a CPU with AMX (Intel Sapphire Rapids and later), llama.cpp puts
#                      quantized weights in its AMX buffer type and the first decode segfaults
#                      (https://github.com/ggml-org/llama.cpp/issues/20824). --no-repack is the
#                      server's only switch for it; it turns off the ordinary CPU repack too, so
#                      it is used only where the CPU has AMX. REPACK=on|off overrides the choice.
set -eu
MODEL=${1:?usage: serve.sh MODEL.gguf [PORT]}
PORT=${2:-8080}
SLOTS=${SLOTS:-4}
CTX=${CTX:-16384}
CACHE_RAM_MIB=${CACHE_RAM_MIB:-8192}
HOST=${HOST:-0.0.0.0}
LLAMA_SERVER=${LLAMA_SERVER:-llama-server}
REPACK=${REPACK:-auto}
if [ "$REPACK" = auto ]; then
    # A llama.cpp build can use AMX only on a CPU that has it; the kernel lists it here.
    if grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then REPACK=off; else REPACK=on; fi
fi
set -- "$LLAMA_SERVER" -m "$MODEL" --host "$HOST" --port "$PORT" \
    -np "$SLOTS" -c $((SLOTS * CTX)) --no-kv-unified \
    --cache-ram "$CACHE_RAM_MIB" --swa-full --jinja --no-webui
if [ "$REPACK" = off ]; then
    set -- "$@" --no-repack
fi
if [ -n "${API_KEY:-}" ]; then
    set -- "$@" --api-key "$API_KEY"
fi
exec "$@"
