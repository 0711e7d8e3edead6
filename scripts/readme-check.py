#!/usr/bin/env python3
"""Every README statement true by a script: runs the commands and examples the README shows
and compares the figures it states with what this build produces.

   python3 scripts/readme-check.py [--slow]

Uses target/release/blackbox (BLACKBOX_BIN to choose another). The hosts in the examples are
replaced by a simulator's (`blackbox simulate`), the recordings they name by copies of a demo
recording, their captures by ones fetched from the simulator; a ClickHouse example runs when
CLICKHOUSE_URL is set, else it is counted as skipped. Long-running commands (serve-report,
replay --serve, simulate, ship --follow) count as working when they are still serving after
3 s. Prints a line per example (works / fails, with its output) and per figure (stated,
measured, tolerance), and exits 1 on any failure.

The quick part (examples, the demo's first lines, the demo page's bytes) takes under a
minute and runs in .ci/run; --slow adds the figures that need Chromium (the page's height) or
take minutes (the footprint example)."""
import json, os, re, shlex, shutil, signal, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
BIN = os.path.abspath(os.environ.get("BLACKBOX_BIN", os.path.join(ROOT, "target/release/blackbox")))
SLOW = "--slow" in sys.argv
failures = []


def say(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}{(': ' + detail) if detail else ''}")
    if not ok:
        failures.append(what)


def examples():
    """Commands in the README's sh blocks and concrete `blackbox ...` spans in its text."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        text = block.replace("\\\n", " ")
        for line in text.split("\n"):
            line = line.split("   #")[0].split("  # ")[0].strip()
            if line.startswith("blackbox ") or re.match(r"mkdir -p \S+ && blackbox ", line):
                out.append(line)
    for span in re.findall(r"`(blackbox [^`]+)`", README):
        span = " ".join(span.split())
        # Templates (FILE, [--job ID], a|b) are not runnable as they stand.
        if re.search(r"\[|\||\.\.\.|\b[A-Z]{2,}\b|<", span):
            continue
        # A command's name alone (`blackbox verify`) names it; it is not an example.
        if len(span.split()) <= 2:
            continue
        out.append(span)
    seen, unique = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    return unique


def main():
    if not os.access(BIN, os.X_OK):
        print(f"no binary at {BIN}: cargo build --release", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="readme-check-")
    procs = []
    try:
        return check(work, procs)
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(work, ignore_errors=True)


def check(work, procs):
    env = dict(os.environ, HOME=work, NO_COLOR="1")
    env.pop("BLACKBOX_DB", None)
    env.pop("BLACKBOX_RUNNER_TOKEN", None)
    # The demo, as the README's first command runs it.
    t0 = time.time()
    demo = subprocess.run([BIN, "demo"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    say(demo.returncode == 0, "blackbox demo", f"{time.time() - t0:.0f}s")
    demo_db = os.path.join(work, "blackbox-demo.redb")
    figures_of_the_demo(work, env, demo)
    # A simulator for the hosts.
    sim = subprocess.Popen([BIN, "simulate", "--json", "--speed", "60"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, cwd=work)
    procs.append(sim)
    where = json.loads(sim.stdout.readline())
    runner, router = where["runner"], where["router"]
    job = "bias-detection-1759330371966"
    # Captures fetched from it, under the names the examples use.
    view = urllib.request.urlopen(f"{runner}/api/v1/jobs/{job}?include=executions").read()
    open(os.path.join(work, "view.txt"), "wb").write(view)
    # A saved body's time is its file's: after the recordings the examples make before it.
    os.utime(os.path.join(work, "view.txt"), (time.time() + 3600, time.time() + 3600))
    health = urllib.request.urlopen(f"{router}/health").read()
    open(os.path.join(work, "health.json"), "wb").write(health)
    # Captured now: after whatever the recordings made before them hold.
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    open(os.path.join(work, "captures.txt"), "w").write(f"{router}/health health.json {now}\n")
    har = {"log": {"version": "1.2", "creator": {"name": "check", "version": "1"}, "entries": [{
        "startedDateTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3601)), "time": 12,
        "request": {"method": "GET", "url": f"{router}/health", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"text": health.decode(), "mimeType": "application/json"}}}]}}
    json.dump(har, open(os.path.join(work, "portal.har"), "w"))
    # The recordings the examples name are made by the examples themselves, in the README's
    # order (the first `record` makes incident.redb; the always-on one beacon.redb); those
    # named before any example makes them are copies of the demo's.
    for name in ["runner-eu.redb", "big.redb"]:
        shutil.copy(demo_db, os.path.join(work, name))
    tally = {"works": 0, "changed": 0, "fails": 0, "skipped": 0}
    for cmd in examples():
        run_example(cmd, work, env, runner, router, procs, tally)
    print(f"examples: {tally['works']} work as written, {tally['changed']} with a change (said), "
          f"{tally['fails']} fail, {tally['skipped']} skipped (hosts and files are always the check's)")
    print("README check:", "all true" if not failures else f"{len(failures)} false: {', '.join(failures)}")
    return 1 if failures else 0


def run_example(cmd, work, env, runner, router, procs, tally):
    c = cmd.replace("http://runner:8090", runner).replace("http://router:8000", router)
    c = c.replace("/var/lib/blackbox/", "").replace("~/", work + "/")
    # `mkdir -p DIR && blackbox ...`: the folder made as the line makes it.
    m = re.match(r"mkdir -p (\S+) && (blackbox .*)", c)
    if m:
        os.makedirs(os.path.join(work, m.group(1)), exist_ok=True)
        c = m.group(2)
    if "clickhouse" in c:
        url = os.environ.get("CLICKHOUSE_URL")
        if not url:
            tally["skipped"] += 1
            print(f"skip {cmd} (set CLICKHOUSE_URL to run it)")
            return
        c = re.sub(r"http://[^ ]*:8123", url, c)
    if "ssh-keygen" in c or "--sign" in c or "--allowed-signers" in c:
        tally["skipped"] += 1
        print(f"skip {cmd} (needs an OpenSSH key; the tests check signing with ssh-keygen)")
        return
    # Examples hold no times of the README's own incident and no lengths that take a while;
    # should one come back, it is run changed and said so.
    changed = None
    if re.search(r"--duration \S+", c):
        c = re.sub(r"--duration \S+", "--count 2", c)
        changed = "its --duration cut to 2 polls"
    if re.search(r"--from 20\d\d-", c):
        c = re.sub(r"--from 20\d\d-\S+", "--from first", c)
        changed = ((changed + "; ") if changed else "") + "its --from time replaced by first"
    words = shlex.split(c)
    # Redirections in the README's lines.
    out_file = None
    if ">" in words:
        i = words.index(">")
        out_file = words[i + 1]
        words = words[:i]
    if words[:1] == ["blackbox"]:
        words[0] = BIN
    if " record " in f" {c} " and "--count" not in words and "--duration" not in words:
        # A recorder that runs until Ctrl-C: as written, stopped with SIGINT after two polls
        # at its 5 s interval; it must then end cleanly (exit 0) with a summary.
        p = subprocess.Popen(words, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(7)
        p.send_signal(signal.SIGINT)
        try:
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        ok = p.returncode == 0
        tally["works" if ok else "fails"] += 1
        say(ok, cmd, "stopped with Ctrl-C (SIGINT) after 7 s" if ok else err.strip()[-300:])
        return
    long_running = any(k in c for k in ["serve-report", "replay --serve", "--follow", " simulate"])
    if long_running:
        p = subprocess.Popen(words, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        alive = p.poll() is None
        p.kill()
        err = p.stderr.read()
        ok = alive or p.returncode == 0
        tally["works" if ok else "fails"] += 1
        say(ok, cmd, "" if ok else err.strip()[:300])
        return
    try:
        r = subprocess.run(words, cwd=work, env=env, capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        tally["fails"] += 1
        say(False, cmd, "did not end within 120 s")
        return
    if out_file:
        open(out_file, "wb").write(r.stdout)
    ok = r.returncode == 0
    tally[("changed" if changed else "works") if ok else "fails"] += 1
    say(ok, cmd, changed or "" if ok else r.stderr.decode(errors="replace").strip()[:300])


def near(stated, measured, tol):
    return abs(measured - stated) <= tol * stated


def figures_of_the_demo(work, env, demo):
    # The postmortem the demo prints, as the README quotes it (its first two lines: the rest
    # holds times of the run).
    m = re.search(r"begins:\n\n```\n(.*?)```", README, re.S)
    if m:
        quoted = " ".join(" ".join(m.group(1).split("\n")[:2]).split())
        printed = " ".join(demo.stdout.split())
        say(quoted in printed, "the demo's postmortem begins as quoted", quoted[:80] + "...")
    else:
        say(False, "the demo's postmortem begins as quoted", "no quote found in the README")
    # The demo page's bytes: "about N KB".
    db = os.path.join(work, "blackbox-demo.redb")
    page = os.path.join(work, "demo.html")
    subprocess.run([BIN, "--db", db, "report", "--out", page], env=env, capture_output=True, check=True)
    size = os.path.getsize(page)
    m = re.search(r"the demo's: about (\d+) KB", README)
    say(bool(m) and near(int(m.group(1)) * 1000, size, 0.10), "the demo page's size",
        f"README about {m.group(1) if m else '?'} KB (within 10 %), measured {size / 1000:.1f} KB")
    if SLOW:
        slow_figures(work, page)


def slow_figures(work, page):
    # The page's height at 1400 px, as `scripts/pages.sh` measures it.
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    m = re.search(r"HTML page of the demo \| [^|]+\| (\d+) KB, ([\d,]+) px", README)
    if browser and m and shutil.which("identify"):
        png = os.path.join(work, "p.png")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1400,12000", f"--screenshot={png}", f"file://{page}"],
                       capture_output=True)
        subprocess.run(["convert", png, "-trim", "+repage", png], check=True)
        h = int(subprocess.run(["identify", "-format", "%h", png], capture_output=True, text=True).stdout)
        stated = int(m.group(2).replace(",", ""))
        say(near(stated, h, 0.10), "the demo page's height", f"README {stated} px (within 10 %), measured {h} px")
        size = os.path.getsize(page)
        say(near(int(m.group(1)) * 1000, size, 0.10), "the demo page's bytes (performance table)",
            f"README {m.group(1)} KB, measured {size / 1000:.1f} KB")
    # Footprint: bytes per unchanged poll and the ratio, from the example.
    m = re.search(r"nothing changed \(classic job\) \| [^|]+\| (\d+)(?:–(\d+))? B", README)
    r = re.search(r"\| (\d+)×(?:, not met)? \(([\d.]+) MB received", README)
    out = subprocess.run(["cargo", "run", "--quiet", "--release", "--example", "footprint"],
                         cwd=ROOT, capture_output=True, text=True).stdout
    per = re.search(r"([\d.]+) bytes per poll", out)
    ratio = re.search(r"ratio ([\d.]+)x", out)
    if m and per:
        lo, got = int(m.group(1)), float(per.group(1))
        hi = int(m.group(2) or lo)
        say(lo * 0.9 <= got <= hi * 1.1, "bytes per unchanged poll", f"README {lo}-{hi} B, measured {got} B")
    else:
        say(False, "bytes per unchanged poll", f"cannot read the README or the example's output: {out[-300:]}")
    if r and ratio:
        say(near(float(r.group(1)), float(ratio.group(1)), 0.10), "raw JSON / database size",
            f"README {r.group(1)}x, measured {ratio.group(1)}x")


if __name__ == "__main__":
    sys.exit(main())
