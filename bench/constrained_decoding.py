#!/usr/bin/env python3
"""constrained_decoding.py — the figures of docs/decoding.md, each from `ocr-crnn` itself.

    bench/constrained_decoding.py reliability SET.tsv [SET.tsv ...] [-- OCR-CRNN FLAGS]
        bins the readings of labelled real crops by confidence and reports the accuracy of
        each bin (a reliability table), with the expected calibration error, the Brier score
        and the AUROC of three definitions of a word's confidence
    bench/constrained_decoding.py margin --choose-on SET.tsv --report-on SET.tsv [...]
        the lexicon's out-of-vocabulary margin: accuracy for each margin on one set, the best
        margin, and what it gives on another set
    bench/constrained_decoding.py digits SET.tsv
        the all-digit words of a set, read freely and with --digits
    bench/constrained_decoding.py patterns [--count N] [--seed S]
        synthetic crops of dates and prices (ocr-crnn synth over a list of random ones, with
        its noise, blur and JPEG), read freely and with --pattern

Common options (before the command): --ocr PATH (default build/ocr-crnn), --model FILE
(default: the installed model), --threads N (default 2). SET.tsv is `path<TAB>label` with
absolute paths, as scripts/make-splits.sh writes them. Only the standard library is used.
"""
import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or "\t" not in line:
                continue
            p, label = line.split("\t", 1)
            if not os.path.isabs(p):
                p = os.path.join(os.path.dirname(os.path.abspath(path)), p)
            rows.append((p, label))
    return rows


def alnum(s):
    """The benchmark convention: lower case, only 0-9a-z."""
    return re.sub(r"[^0-9a-z]", "", s.lower())


def recognise(args, paths, flags):
    """ocr-crnn --jsonl over paths with flags; {path: record}."""
    cmd = ["nice", args.ocr, "-q", "--jsonl", "-j", str(args.threads), "--list", "-"] + flags
    if args.model:
        cmd += ["--model", args.model]
    out = subprocess.run(cmd, input="\n".join(paths) + "\n", capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)}: exit {out.returncode}\n{out.stderr}")
    records = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        if "error" not in r:
            records[r["path"]] = r
    if not records:
        sys.exit(f"{' '.join(cmd)}: nothing recognised\n{out.stderr[:2000]}")
    return records


def evaluate(args, data, flags):
    """Accuracy (exact, benchmark convention) of ocr-crnn eval with flags."""
    cmd = ["nice", args.ocr, "eval", "--json", "--data", data, "-t", str(args.threads)] + flags
    if args.model:
        cmd += ["--model", args.model]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {out.returncode}\n{out.stderr}")
    return json.loads(out.stdout)


# ---- reliability -------------------------------------------------------------------------

def definitions(r):
    """Candidate word confidences of one reading."""
    chars = [c["confidence"] for c in r["chars"]]
    d = {
        "p(text \\| image)": r["confidence"],
        "product of character confidences": math.prod(chars) if chars else 1.0,
        "lowest character confidence": min(chars) if chars else 1.0,
    }
    if "free_log_prob" in r: # under a lexicon or pattern: relative to the unconstrained text
        lp, free = r["log_prob"], r["free_log_prob"]
        d["p(text) / p(free text)"] = (min(1.0, math.exp(lp - free))
                                       if lp is not None and free is not None else 0.0)
    return d


def calibration(pairs, bins):
    """pairs: (confidence, correct). Expected calibration error, Brier score, AUROC."""
    n = len(pairs)
    ece = 0.0
    for lo, hi in bins:
        inside = [(c, k) for c, k in pairs if lo <= c < hi or (hi == 1.0 and c == 1.0)]
        if inside:
            conf = sum(c for c, _ in inside) / len(inside)
            acc = sum(k for _, k in inside) / len(inside)
            ece += len(inside) / n * abs(conf - acc)
    brier = sum((c - k) ** 2 for c, k in pairs) / n
    # AUROC: the chance that a right reading is more confident than a wrong one (ties: half)
    right = sorted(c for c, k in pairs if k)
    wrong = sorted(c for c, k in pairs if not k)
    if not right or not wrong:
        return ece, brier, float("nan")
    wins, j = 0.0, 0
    for c in right:
        while j < len(wrong) and wrong[j] < c:
            j += 1
        k = j
        while k < len(wrong) and wrong[k] == c:
            k += 1
        wins += j + 0.5 * (k - j)
    return ece, brier, wins / (len(right) * len(wrong))


def reliability_rows(pairs, bins):
    """Markdown rows: confidence bin, readings, mean confidence, accuracy."""
    lines = []
    for lo, hi in bins:
        inside = [(c, k) for c, k in pairs if lo <= c < hi or (hi == 1.0 and c == 1.0)]
        if inside:
            conf = sum(c for c, _ in inside) / len(inside)
            acc = sum(k for _, k in inside) / len(inside)
            lines.append(f"| {lo:.2f}–{hi:.2f} | {len(inside)} | {conf:.3f} | {100 * acc:.1f} % |")
        else:
            lines.append(f"| {lo:.2f}–{hi:.2f} | 0 | | |")
    return "\n".join(lines)


def cmd_reliability(args):
    rows = []
    for s in args.sets:
        rows += read_tsv(s)
    truth = dict(rows)
    records = recognise(args, [p for p, _ in rows], args.flags)
    bins = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95),
            (0.95, 0.99), (0.99, 1.0)]
    flags = " ".join(args.flags) or "(none)"
    print(f"{len(records)} readings of {', '.join(args.sets)}; ocr-crnn flags: {flags}\n")
    for name, judge in (("exact (case and punctuation count)", lambda r, t: r["text"] == t),
                        ("in any case (punctuation counts)",
                         lambda r, t: r["text"].lower() == t.lower()),
                        ("benchmark convention (0-9a-z, any case)",
                         lambda r, t: alnum(r["text"]) == alnum(t))):
        print(f"correct = {name}\n")
        print("| confidence | readings | mean confidence | accuracy |")
        print("|---|---|---|---|")
        pairs = [(r["confidence"], judge(r, truth[p])) for p, r in records.items()]
        print(reliability_rows(pairs, bins))
        acc = sum(k for _, k in pairs) / len(pairs)
        print(f"| all | {len(pairs)} | {sum(c for c, _ in pairs) / len(pairs):.3f} | "
              f"{100 * acc:.1f} % |\n")
        print("| definition | ECE | Brier | AUROC |")
        print("|---|---|---|---|")
        for d in definitions(next(iter(records.values()))):
            pd = [(definitions(r)[d], judge(r, truth[p])) for p, r in records.items()]
            ece, brier, auroc = calibration(pd, bins)
            print(f"| {d} | {ece:.3f} | {brier:.3f} | {auroc:.3f} |")
        print()
    empty = [r for r in records.values() if r["text"] == ""]
    print(f"empty readings: {len(empty)}" +
          (f", mean confidence {sum(r['confidence'] for r in empty) / len(empty):.3f}"
           if empty else ""))


# ---- lexicon margin ----------------------------------------------------------------------

def margin_accuracy(records, truth, margin):
    hits = 0
    for p, r in records.items():
        # the margin rule of decoder.c: the word unless it is more than `margin` nats less
        # probable than the free text
        lp = r["log_prob"] if r["log_prob"] is not None else -math.inf
        free = r["free_log_prob"] if r["free_log_prob"] is not None else -math.inf
        use_word = margin is None or not (lp < free - margin)
        text = r["text"] if use_word else r["free_text"]
        hits += alnum(text) == alnum(truth[p])
    return hits / len(records)


def cmd_margin(args):
    flags = ["--lexicon", args.lexicon, "--lexicon-ignore-case", "--lexicon-margin", "off"]
    margins = [None, 0, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30]
    results = {}
    for role, s in (("choose", args.choose_on), ("report", args.report_on)):
        rows = read_tsv(s)
        truth = dict(rows)
        records = recognise(args, [p for p, _ in rows], flags)
        free = sum(alnum(r["free_text"]) == alnum(truth[p]) for p, r in records.items())
        results[role] = (s, records, truth, free / len(records))
    print(f"100k lexicon ({args.lexicon}), ignoring case; accuracy by the benchmark convention\n")
    print(f"| margin (nats) | {results['choose'][0]} | {results['report'][0]} |")
    print("|---|---|---|")
    best, best_acc = None, -1
    for m in margins:
        a = margin_accuracy(results["choose"][1], results["choose"][2], m)
        b = margin_accuracy(results["report"][1], results["report"][2], m)
        name = "off (always a word)" if m is None else f"{m:g}"
        print(f"| {name} | {100 * a:.1f} % | {100 * b:.1f} % |")
        # the smallest margin among the best: the least reliance on the lexicon that wins
        if m is not None and a > best_acc + 1e-12:
            best, best_acc = m, a
    print(f"| no lexicon | {100 * results['choose'][3]:.1f} % | {100 * results['report'][3]:.1f} % |")
    b = margin_accuracy(results["report"][1], results["report"][2], best)
    print(f"\nbest margin on {results['choose'][0]}: {best:g} nats ({100 * best_acc:.1f} %); "
          f"on {results['report'][0]} it gives {100 * b:.1f} %")


# ---- digits ------------------------------------------------------------------------------

def cmd_digits(args):
    rows = [(p, t) for p, t in read_tsv(args.set) if re.fullmatch(r"[0-9]+", t)]
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        for p, t in rows:
            f.write(f"{p}\t{t}\n")
        digits_tsv = f.name
    try:
        print(f"{len(rows)} all-digit words of {args.set}\n")
        print("| decoding | word accuracy | 1 − NED |")
        print("|---|---|---|")
        for name, flags in (("free (best path)", []), ("--digits", ["--digits"]),
                            ("--pattern '\\d+'", ["--pattern", r"\d+"])):
            r = evaluate(args, digits_tsv, flags)
            print(f"| {name} | {100 * r['word_accuracy_exact']:.1f} % | {r['one_minus_ned']:.3f} |")
    finally:
        os.unlink(digits_tsv)


# ---- patterns on synthetic dates and prices ----------------------------------------------

DATE = r"\d{2}/\d{2}/\d{4}"
PRICE = r"\$\d{1,3}(,\d{3})*\.\d\d"


def cmd_patterns(args):
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        words = os.path.join(tmp, "dates-prices.txt")
        with open(words, "w") as f:
            for i in range(5000):
                if i % 2:
                    f.write(f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/"
                            f"{rng.randint(1950, 2030)}\n")
                else:
                    whole = rng.choice([rng.randint(0, 99), rng.randint(100, 999),
                                        rng.randint(1000, 99999)])
                    f.write(f"${whole:,}.{rng.randint(0, 99):02d}\n")
        out = os.path.join(tmp, "crops")
        cmd = ["nice", args.ocr, "synth", "--count", str(args.count), "--out", out, "--seed",
               str(args.seed), "--wordlist", words]
        subprocess.run(cmd, check=True, capture_output=True)
        # the generator also draws its own kinds of text, and prefers short words: keep the
        # dates and as many prices
        labelled = read_tsv(os.path.join(out, "labels.tsv"))
        dates = [(os.path.join(out, p), t) for p, t in labelled if re.fullmatch(DATE, t)]
        prices = [(os.path.join(out, p), t) for p, t in labelled if re.fullmatch(PRICE, t)]
        prices = prices[:len(dates)]
        keep = dates + prices
        truth = dict(keep)
        print(f"{len(keep)} synthetic crops ({len(dates)} dates, {len(prices)} prices) of "
              f"{args.count} drawn by `ocr-crnn synth --seed {args.seed}` from random dates "
              f"and prices, with its noise, blur and JPEG\n")
        print("| decoding | dates | prices | all |")
        print("|---|---|---|---|")
        pattern = ["--pattern", DATE, "--pattern", PRICE]
        runs = (("free (best path)", []), ("free (beam search, width 10)", ["--beam", "10"]),
                ("--pattern DATE --pattern PRICE", pattern),
                ("the same, --lexicon-margin off", pattern + ["--lexicon-margin", "off"]))
        records_of = {}
        for name, flags in runs:
            records = recognise(args, [p for p, _ in keep], flags)
            records_of[name] = records
            acc = []
            for subset in (dates, prices, keep):
                hits = sum(records[p]["text"] == t for p, t in subset if p in records)
                acc.append(f"{100 * hits / len(subset):.1f} %")
            print(f"| {name} | " + " | ".join(acc) + " |")
        print(f"\nDATE = {DATE}\nPRICE = {PRICE}\n")
        bins = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.99),
                (0.99, 1.0)]
        for name in ("free (best path)", "--pattern DATE --pattern PRICE"):
            records = records_of[name]
            pairs = [(r["confidence"], r["text"] == truth[p]) for p, r in records.items()]
            print(f"confidence of {name}, exact text:\n")
            print("| confidence | readings | mean confidence | accuracy |")
            print("|---|---|---|---|")
            print(reliability_rows(pairs, bins))
            ece, brier, auroc = calibration(pairs, bins)
            print(f"\nECE {ece:.3f}, Brier {brier:.3f}, AUROC {auroc:.3f}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ocr", default=os.path.join(HERE, "..", "build", "ocr-crnn"))
    ap.add_argument("--model")
    ap.add_argument("--threads", type=int, default=2)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reliability")
    r.add_argument("sets", nargs="+")
    m = sub.add_parser("margin")
    m.add_argument("--choose-on", required=True)
    m.add_argument("--report-on", required=True)
    m.add_argument("--lexicon", default=os.path.join(HERE, "..", "lexicons", "en.txt"))
    d = sub.add_parser("digits")
    d.add_argument("set")
    p = sub.add_parser("patterns")
    p.add_argument("--count", type=int, default=6000)
    p.add_argument("--seed", type=int, default=7)
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    args = ap.parse_args(argv)
    args.flags = extra
    {"reliability": cmd_reliability, "margin": cmd_margin, "digits": cmd_digits,
     "patterns": cmd_patterns}[args.command](args)


if __name__ == "__main__":
    main()
