#!/usr/bin/env python3
"""Run the README's curl tour against a server and check every answer it shows.

Usage: tour.py README.md http://127.0.0.1:PORT

Which blocks run: the ```sh blocks of the README that the line before marks with
`<!-- tour -->`, in order (the others start servers, use production credentials or
take long; they are covered by the Rust tests). A block runs as one bash
script (so its variables and `$(date ...)` work) with `localhost:8080` replaced by
the server's address. Lines that start the server or write its data directory
(`make ...`, `cargo run ...`, `export ...`) are left out: tour.sh seeds a catalog and
starts the server before the blocks run.

The matching rules (what the README's answers mean):
* Each line that starts with `curl` starts a command (a curl inside `$(...)` only
  feeds a later command). The command's expected answer is the text after
  `# →` (on its own lines or at the end of its last line), continued on the following
  lines that start with `#` and at least two spaces.
* A leading three-digit number is the HTTP status the answer must have; without one,
  any 2xx. A command that shows no answer must answer 2xx.
* Whitespace is ignored (in the answer and in the expectation alike).
* `...` stands for any text, including none.
* `"position":N` matches any log position (positions depend on what ran before),
  as does `"head":N`; ids, times and secrets are written as `...` in the README.
* Everything else must be exactly as written.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ARROW = "# →"
STATUS_MARK = "__TOUR_STATUS__"


def blocks(readme):
    """The sh blocks to run, with the line number each starts at."""
    lines = readme.splitlines()
    found, inside, start, marked = [], False, 0, False
    for number, line in enumerate(lines, 1):
        if not inside and line.strip() == "```sh":
            inside, start, body = True, number, []
            marked = number > 1 and lines[number - 2].strip() == "<!-- tour -->"
        elif inside and line.strip() == "```":
            inside = False
            if marked:
                found.append((start, body))
        elif inside:
            body.append(line)
    return found


def runnable(line):
    stripped = line.lstrip()
    return not stripped.startswith(("make ", "cargo run", "export "))


def expectations(body):
    """For each `curl` command of the block, in order: (line text, expected or None)."""
    commands = []
    for line in body:
        stripped = line.lstrip()
        if stripped.startswith("curl "):
            commands.append([stripped, None])
            if ARROW in line:
                commands[-1][1] = line.split(ARROW, 1)[1]
        elif commands and ARROW in line:
            if commands[-1][1] is None:
                commands[-1][1] = line.split(ARROW, 1)[1]
        elif commands and commands[-1][1] is not None and re.match(r"^#\s{2,}", line):
            commands[-1][1] += line[1:]
    return commands


def pattern(expected):
    """The expectation as a regular expression over the whitespace-free answer."""
    text = re.sub(r"\s+", "", expected)
    status = None
    match = re.match(r"^(\d{3})(.*)$", text)
    if match:
        status, text = int(match.group(1)), match.group(2)
    parts = []
    for piece in re.split(r"(\.\.\.|\"position\":\d+|\"head\":\d+)", text):
        if piece == "...":
            parts.append(".*?")
        elif re.fullmatch(r"\"(position|head)\":\d+", piece):
            parts.append(re.escape(piece.split(":")[0] + ":") + r"\d+")
        else:
            parts.append(re.escape(piece))
    return status, re.compile("".join(parts), re.S)


def run_block(body, base, log):
    script = "\n".join(line for line in body if runnable(line))
    script = script.replace("localhost:8080", base.removeprefix("http://"))
    # Each curl call appends its answer and status to the log, and still prints.
    # A curl inside `$(...)` (a subshell) only feeds the next command, and is not
    # one of the commands whose answers the README shows.
    prelude = f"""set -u
curl() {{
    if [ "$BASH_SUBSHELL" -gt 0 ]; then command curl "$@"; return; fi
    command curl "$@" -w '\\n{STATUS_MARK}%{{http_code}}\\n' | tee -a '{log}'
}}
"""
    result = subprocess.run(
        ["bash", "-c", prelude + script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result


def answers(log):
    """(body, status) of each curl call, in order."""
    text = open(log).read()
    statuses = re.findall(STATUS_MARK + r"(\d{3})", text)
    bodies = re.split(STATUS_MARK + r"\d{3}\n", text)[:-1]
    return list(zip(bodies, (int(s) for s in statuses)))


def main():
    readme_path, base = sys.argv[1], sys.argv[2].rstrip("/")
    readme = open(readme_path, encoding="utf-8").read()
    failures, checked = [], 0
    for start, body in blocks(readme):
        commands = expectations(body)
        with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as log:
            path = log.name
        result = run_block(body, base, path)
        got = answers(path)
        os.unlink(path)
        if len(got) != len(commands):
            failures.append(
                f"README line {start}: {len(commands)} curl commands, {len(got)} answers "
                f"(bash exit {result.returncode}): {result.stderr.strip()[:500]}"
            )
            continue
        for (command, expected), (answer, status) in zip(commands, got):
            checked += 1
            flat = re.sub(r"\s+", "", answer)
            want_status, regex = pattern(expected) if expected is not None else (None, None)
            status_ok = status == want_status if want_status else 200 <= status < 300
            body_ok = regex is None or regex.fullmatch(flat) is not None
            if not (status_ok and body_ok):
                failures.append(
                    f"README line {start}: {command}\n    expected: {expected}\n"
                    f"    got {status}: {answer.strip()[:600]}"
                )
    if not checked:
        failures.append("no README block is marked <!-- tour -->")
    print(f"tour: {checked} answers checked, {len(failures)} differ from the README")
    for failure in failures:
        print("  " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
