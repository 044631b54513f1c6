#!/usr/bin/env bash
# A clerk's whole day on the desk screen, in tmux, on a fresh registry: first
# run, sign-in, register, a probable duplicate, print, scans from every
# screen (2D and Code 128), a reprint and the old card, an edit, a void that
# a supervisor approves at the desk, search, paste, help, lock and sign-out.
# Every screen is saved as text (and shown) so anyone can see them.
#
#   bench/desk-day.sh                 # 80x24, screens to a temp dir
#   SIZE=120x40 OUT=/tmp/day bench/desk-day.sh
#   SLOW=1 bench/desk-day.sh          # pause on each screen; watch it with
#                                     # tmux -S $OUT/tmux.sock attach -r
# Needs tmux and Go. Nothing outside OUT is touched (HOME is OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-80x24}; W=${SIZE%x*}; H=${SIZE#*x}
OUT=${OUT:-$(mktemp -d)}; mkdir -p "$OUT"
SOCK="$OUT/tmux.sock"; BIN="$OUT/idcards"; DATA="$OUT/data"
trap 'tmux -S "$SOCK" kill-server 2>/dev/null || true' EXIT
go build -o "$BIN" ./cmd/idcards
export HOME="$OUT" XDG_DATA_HOME="$DATA" IDCARDS_DB=
n=0
t() { tmux -S "$SOCK" "$@"; }
screen() { t capture-pane -p -t desk; }
keys() { t send-keys -t desk "$@"; }
slowly() { local s=$1 i; for ((i = 0; i < ${#s}; i++)); do keys -l "${s:i:1}"; sleep 0.06; done; }
burst() { keys -l "$1"$'\r'; } # a keyboard-wedge scanner: one write, Enter
esc() { keys Escape; sleep 0.15; } # two ESCs at once would read as alt+esc
home() { # Esc back to Find, however deep the screens are
  local i
  for ((i = 0; i < 6; i++)); do screen | grep -qF "Find or register" && return 0; esc; done
  wait_for "Find or register"
}
wait_for() {
  local i
  for ((i = 0; i < 600; i++)); do
    if screen | grep -qF -- "$1"; then return 0; fi
    sleep 0.05
  done
  echo "desk-day: the screen never showed: $1" >&2; screen >&2; exit 1
}
shot() { # shot NAME: save and show the screen
  n=$((n + 1)); local f; f=$(printf '%s/%02d-%s.txt' "$OUT" "$n" "$1")
  screen >"$f"; printf '\n=== %02d %s (%s)\n' "$n" "$1" "$f"; cat "$f"
  if [ -n "${SLOW:-}" ]; then sleep "${SLOW}"; fi
}
start() { t new-session -d -s desk -x "$W" -y "$H" env TERM=xterm-256color "$BIN"; }

# 07:30 first run: the clinic's registry is created, the first ID previewed.
start
wait_for "No registry was found"; shot first-run
slowly KLA; keys C-s; wait_for "The first ID will be"; shot first-id-preview
keys y; wait_for "create your admin account"
for v in amina "correct horse battery" "correct horse battery"; do slowly "$v"; keys Enter; done
wait_for "Find or register"; shot admin-signed-in
keys C-c; sleep 0.5
printf 'initial pass 1234\n' >"$OUT/pw"; printf 'supervisor pass 99\n' >"$OUT/spw"
"$BIN" users add okot --role clerk --password-file "$OUT/pw" >/dev/null
"$BIN" users add sam --role supervisor --password-file "$OUT/spw" --must-change=false >/dev/null

# 07:45 the clerk's first sign-in: choose a password.
start; wait_for "Sign in"
for v in okot "initial pass 1234"; do slowly "$v"; keys Enter; done
wait_for "choose your own password"; shot first-sign-in
for v in "blue river morning" "blue river morning"; do slowly "$v"; keys Enter; done
wait_for "Signed in as okot"; shot find

# 08:00 a new patient, registered and given a card.
keys C-n; wait_for "Register a new patient"
slowly "Amina"; keys Tab; slowly "Okello"; keys Tab; slowly F; keys Tab; slowly 1990-03-04
shot register-form
keys C-s; wait_for "Registered Amina Okello"; wait_for "card(s) ever"; shot registered
mrn=$(screen | grep -o 'with MRN [0-9A-Z]*' | head -1 | awk '{print $3}')
keys p; wait_for "active, 1 card(s) ever"; shot printed
serial=$(screen | grep -o 'card C[0-9A-Z]\{8\} active' | head -1 | awk '{print $2}')

# 08:20 the same person again, with a different date: a probable duplicate.
esc; wait_for "Find or register"
keys C-n; slowly "Amina"; keys Tab; slowly "Okello"; keys Tab; slowly F; keys Tab; slowly 1990-03-04
keys C-s; wait_for "may be this person"; shot duplicate-warning
keys n; wait_for "Why is this a different person"; shot override-reason
esc; esc; wait_for "Birth date/age  1990-03-04█"
# A scan while the form is half filled: the panel, then the form as it was.
sleep 0.2; burst "$mrn $serial"; wait_for "ACTIVE"; shot scan-over-form
esc; wait_for "Birth date/age  1990-03-04"; shot form-kept
keys C-c; wait_for "Quit and lose it"; shot quit-asks
# Esc on the half-filled form asks too; y goes back to Find.
keys n; esc; wait_for "Go back and lose what was typed"; shot back-asks
keys y; wait_for "Find or register"

# 09:00 the patient comes back with their card: scans on Find.
burst "]Q1$mrn $serial"; wait_for "ACTIVE"; shot scan-2d
esc; burst "$mrn"; wait_for "ACTIVE"; shot scan-code128
keys C-o; wait_for "Patient · Amina Okello"

# 10:00 the card was lost: a reprint; the old card is caught later.
keys r; slowly "lost at the market"; shot reprint-reason
keys Enter; wait_for "active, 2 card(s) ever"; shot reprinted
burst "$mrn $serial"; wait_for "REPLACED"; shot old-card-replaced
esc; wait_for "Patient · Amina Okello"

# 11:00 a typo in the family name: edit.
keys e; wait_for "Edit ·"; keys Tab C-u; slowly "Okelo"; keys C-s
wait_for "needs a reason"; shot edit-reason
slowly "spelling checked with the patient"; keys Enter; sleep 0.5; shot edit-saved
home; keys C-u

# 12:00 a record registered twice: the clerk voids it, a supervisor approves.
keys C-n; slowly "Brian"; keys Tab; slowly "Mugisha"; keys Tab; slowly M; keys Tab; slowly 30
keys C-s; wait_for "Registered Brian Mugisha"
keys v; slowly "registered twice"; keys Enter; wait_for "y/n"; keys y
wait_for "A supervisor approves"; shot supervisor-approval
slowly sam; keys Enter; slowly "supervisor pass 99"; keys Enter; wait_for "voided;"; shot voided
esc; wait_for "Find or register"

# 14:00 search by birth year, a phone, a typo'd ID.
slowly 1990; keys Enter; sleep 0.3; shot search-birth-year
keys C-u; slowly "${mrn%?}X"; keys Enter; sleep 0.3; shot typed-wrong-check
keys C-u

# 15:00 a paste from another window goes into one field.
keys C-n; t set-buffer $'Plot 12\nKasese Road\nKampala\n'; t paste-buffer -p -t desk
sleep 0.2; shot pasted
keys C-u; esc

# 16:00 help, lock, sign out.
keys F1; wait_for "All keys on this screen"; shot help
esc; keys C-l; wait_for "locked"; shot locked
burst "$mrn $serial"; wait_for "shown once you sign in"; shot scan-on-lock-screen
for v in okot "blue river morning"; do slowly "$v"; keys Enter; done
wait_for "REPLACED"; shot after-unlock
esc; keys C-q; wait_for "Signed out"; shot signed-out
keys C-c
echo; echo "desk-day: $n screens in $OUT"
