"""Peak resident memory of the current process, and the report, for the benchmark scripts."""

from __future__ import annotations

import json
import resource


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB).

    Linux's ``VmHWM`` starts afresh at exec; ``ru_maxrss`` can carry the parent's peak into a
    child process, which would make every worker look as large as the harness that started it.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_and_write(report: dict, path: str | None) -> None:
    """Print a benchmark's report, one figure a line, and write it as JSON to ``path`` if given."""
    for key, value in report.items():
        print(f"{key:>26}: {value}")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
