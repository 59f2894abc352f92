#!/usr/bin/env bash
# Builds every tests/guests/<name>.c into build/guests/<name>.bin: a flat
# binary linked at 0x200000 with start.S first (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build/guests}
mkdir -p "$out"
CFLAGS=(-ffreestanding -nostdlib -static -O2 -mno-red-zone -fno-pic -no-pie -fno-stack-protector
        -fno-asynchronous-unwind-tables -mgeneral-regs-only -Wall -Wextra -Werror -I"$here")
# up_to_date BIN SRC: BIN is newer than SRC, start.S and every header.
up_to_date() {
  local f
  for f in "$2" "$here/start.S" "$here"/*.h; do [ "$1" -nt "$f" ] || return 1; done
}
for src in "$here"/*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  bin="$out/$name.bin"
  up_to_date "$bin" "$src" && continue
  gcc "${CFLAGS[@]}" -Wl,-Ttext=0x200000 -Wl,--build-id=none -Wl,-e,_start \
      -Wl,--section-start=.text.start=0x200000 -o "$out/$name.elf" "$here/start.S" "$src"
  objcopy -O binary "$out/$name.elf" "$bin"
done
