"""Peak resident memory of the current process, for the benchmark scripts."""

from __future__ import annotations

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
