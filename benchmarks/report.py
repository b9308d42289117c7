"""Formatting the results: one Markdown table per problem plus the softlogit profile."""

from __future__ import annotations

import math

GAP_TARGET = 1e-8


def _fmt_time(t):
    return "—" if t is None else (f"{t:.3f}" if t < 10 else f"{t:.1f}")


def _fmt_mb(b):
    return "—" if b is None else f"{b / 2**20:,.0f}"


def problem_table(res: dict) -> str:
    """Rows: every tool's fastest run that reached the gap (or its best attempt)."""
    lines = [f"### {res['name']}: {res['title']}", "",
             f"X: {res['nbytes'] / 2**20:,.0f} MiB; f* = {res['f_star']:.12g} "
             f"(tightest of the reference Newton run and every run below).", ""]
    base = res.get("softlogit_time")
    lines.append("| tool | tol | time to gap (s) | × softlogit fit | gap reached | iters "
                 "| passes | peak extra RSS (MiB) | runs tried |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for row in res["rows"]:
        if row.get("skipped"):
            lines.append(f"| {row['tool']} | — | skipped: {row['skipped']} | | | | | | |")
            continue
        ok = row["gap"] <= GAP_TARGET
        ratio = "" if (base is None or not ok) else f"{row['time'] / base:.2f}"
        t = _fmt_time(row["time"]) + ("" if ok else " (gap not reached)")
        if row.get("over_limit"):
            t = f"> {row['time']:g} (stopped at the per-fit limit)"
        passes = row.get("passes")
        passes = "" if passes is None else f"{passes:.1f}"
        iters = f"{row.get('n_iter', '')}" + (f" ({row['solver']})" if row.get("solver") else "")
        lines.append(f"| {row['tool']} | {row['tol']:g} | {t} | {ratio} | {row['gap']:.1e} | "
                     f"{iters} | {passes} | {_fmt_mb(row.get('mem'))} | {row['tries']} |")
    lines.append("")
    peers = [r for r in res["rows"] if not r.get("skipped") and not r["tool"].startswith("softlogit")
             and r["gap"] <= GAP_TARGET]
    if peers and base:
        fastest = min(peers, key=lambda r: r["time"])
        lines.append(f"Fastest peer to the gap: **{fastest['tool']}**, {fastest['time']:.3f} s → "
                     f"softlogit fit is **{fastest['time'] / base:.2f}×** faster.")
    if res.get("bandwidth"):
        bw = res["bandwidth"]
        lines.append(
            f"One `loss_gradient` at the optimum: {bw['t_lg'] * 1e3:.1f} ms "
            f"({bw['gbs_lg']:.1f} GB/s); plain parallel read of X: {bw['t_read'] * 1e3:.1f} ms "
            f"({bw['gbs_read']:.1f} GB/s) → **{bw['fraction']:.2f}** of the read bandwidth; "
            f"the NumPy reference path takes {bw['t_ref'] * 1e3:.1f} ms.")
    if res.get("profile"):
        p = res["profile"]
        parts = ", ".join(f"{k} {v['calls']}× {v['seconds']:.2f} s" for k, v in p["methods"].items())
        lines.append(f"Profile of `solve auto` ({p['solver']}, tol {p['tol']:g}): total "
                     f"{p['total']:.2f} s = {parts}, solver's own work {p['other']:.2f} s. "
                     f"Estimator overhead (fit − solve): {p['fit_overhead']:.2f} s.")
    lines.append("")
    return "\n".join(lines)


def _peer_rows(res):
    return [r for r in res["rows"] if not r.get("skipped") and not r["tool"].startswith("softlogit")]


def summary_table(results) -> str:
    """One line per problem: softlogit fit against the fastest and the slowest peer that
    reached the gap; then the median and worst ratio to the fastest peer."""
    lines = ["| problem | softlogit fit (s) | solver | passes | peak extra RSS (MiB) | fastest "
             "peer (s) | × fastest peer | slowest peer (s) | × slowest peer |",
             "|---|---|---|---|---|---|---|---|---|"]
    ratios = []
    for res in results:
        fit = next((r for r in res["rows"] if r["tool"].startswith("softlogit fit")
                    and "time" in r), None)
        ok_peers = [r for r in _peer_rows(res) if r["gap"] <= GAP_TARGET]
        base = res.get("softlogit_time")
        if fit is None:
            continue
        t = _fmt_time(fit["time"]) + ("" if base else " (gap not reached)")
        passes = "" if fit.get("passes") is None else f"{fit['passes']:.1f}"
        cells = [f"{res['name']}: {res['title']}", t, fit.get("solver", ""), passes,
                 _fmt_mb(fit.get("mem"))]
        if ok_peers and base:
            fast = min(ok_peers, key=lambda r: r["time"])
            slow = max(ok_peers, key=lambda r: r["time"])
            ratios.append(fast["time"] / base)
            cells += [f"{fast['tool']} {_fmt_time(fast['time'])}",
                      f"**{fast['time'] / base:.2f}×**",
                      f"{slow['tool']} {_fmt_time(slow['time'])}", f"{slow['time'] / base:.2f}×"]
        else:
            cells += ["no peer reached the gap" if base else "—", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    if ratios:
        r = sorted(ratios)
        lines += ["", f"Speed-up over the fastest peer to a {GAP_TARGET:g} gap (peer time / "
                  f"softlogit fit time) over {len(r)} problems: median **{float(_median(r)):.2f}×**, "
                  f"worst **{r[0]:.2f}×**, best {r[-1]:.2f}×; slower than some peer on "
                  f"{sum(x < 1 for x in r)} problems."]
    return "\n".join(lines)


def _median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def finite(x):
    return x is not None and math.isfinite(x)
