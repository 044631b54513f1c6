#!/usr/bin/env bash
# Start-up time to the first frame, scan-to-panel through the real terminal,
# and resident memory of the TUI on a registry of N patients (default 1M).
# Needs tmux. Usage: bench/tui-start.sh [N] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}; RUNS=${2:-5}
dir=$(mktemp -d); trap 'tmux -S "$dir/s" kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/idcards" ./cmd/idcards
IDCARDS_BENCH_N=$N IDCARDS_BENCH_SEED="$dir/reg.db" go test ./tui/ -run TestSeedBenchRegistry -count=1 >/dev/null
mrn=$(sqlite3 "$dir/reg.db" "SELECT mrn FROM identifiers WHERE seq = $((N / 2))" 2>/dev/null || true)
# Desk users sign in: a clerk account, timed from start to the sign-in
# screen (first frame) and from the sign-in to the home screen.
printf 'quiet river 12345\n' >"$dir/pw"
"$dir/idcards" --db "$dir/reg.db" users add bench --role clerk --password-file "$dir/pw" --must-change=false >/dev/null
now_ms() { date +%s%3N; }
for i in $(seq "$RUNS"); do
  t0=$(now_ms)
  tmux -S "$dir/s" new-session -d -s t -x 80 -y 24 "$dir/idcards" --db "$dir/reg.db"
  until tmux -S "$dir/s" capture-pane -p -t t | grep -q "Sign in"; do sleep 0.005; done
  t1=$(now_ms)
  tmux -S "$dir/s" send-keys -t t -l bench; tmux -S "$dir/s" send-keys -t t Enter
  sleep 0.1; tmux -S "$dir/s" send-keys -t t -l "quiet river 12345"; tmux -S "$dir/s" send-keys -t t Enter
  until tmux -S "$dir/s" capture-pane -p -t t | grep -q "Find or register"; do sleep 0.005; done
  t1b=$(now_ms)
  pid=$(tmux -S "$dir/s" list-panes -t t -F '#{pane_pid}')
  if [ -n "$mrn" ]; then
    tmux -S "$dir/s" send-keys -t t -l "$mrn"$'\r'
    until tmux -S "$dir/s" capture-pane -p -t t | grep -q "ACTIVE"; do sleep 0.005; done
  fi
  t2=$(now_ms)
  rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
  echo "run $i: first frame $((t1 - t0)) ms, sign-in $((t1b - t1)) ms, scan to panel (incl. tmux polling) $((t2 - t1b)) ms, RSS $((rss / 1024)) MB"
  tmux -S "$dir/s" kill-server 2>/dev/null || true; sleep 0.3
done
