"""Start or join Ray for a study, and how many trials it can run at once."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from tune import faults, ray_session
from tune.failures import StudyError
from tune.spec import AblationSpec


def ensure_ray(study_dir: Path | None = None) -> bool:
    """Join ``$RAY_ADDRESS`` when set, else start Ray locally; True when this call started it.
    With ``study_dir``, first stop what a killed earlier driver of the study left running, and
    refuse a second live driver (``tune.ray_session``)."""
    import ray

    if study_dir is not None:
        try:
            ray_session.clean_up(study_dir)
        except ray_session.SecondDriver as err:
            raise StudyError(str(err)) from err
    if ray.is_initialized():
        if study_dir is not None:
            ray_session.record(study_dir, None)
        return False
    address = os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {} if address else {"include_dashboard": False}
    if not address and os.environ.get("RAY_TMPDIR"):
        kwargs["_temp_dir"] = os.environ["RAY_TMPDIR"]
    if faults.env_vars():                   # fault injection reaches the workers (tests)
        kwargs["runtime_env"] = {"env_vars": faults.env_vars()}
    try:
        # Workers' output stays in Ray's log files (the console says where): the study prints
        # one line per cell and per final run instead.
        context = ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                           **kwargs)
    except Exception as err:  # noqa: BLE001 - say what to check, then stop
        where = f"the cluster at RAY_ADDRESS={address}" if address else "a local Ray"
        raise StudyError(f"could not start or join {where}: {err}. For a cluster, check the "
                         f"address and that RAY_AUTH_MODE/the token are the same as the "
                         f"head's (tune/cluster/README.md).") from err
    if study_dir is not None:
        ray_session.record(study_dir, None if address else context.address_info["session_dir"])
    print(f"[tune] Ray's logs (workers' output included): "
          f"{context.address_info.get('session_dir') or 'on the cluster head'}/logs", flush=True)
    return True


def slots(spec: AblationSpec) -> int:
    """Concurrent trials: --max-concurrent, else what the cluster's CPUs (and GPUs) allow."""
    if spec.search.max_concurrent:
        return spec.search.max_concurrent
    import ray

    res = ray.cluster_resources()
    n = int(res.get("CPU", 1) // spec.resources.cpus_per_trial)
    if spec.resources.gpus_per_trial:
        n = min(n, int(res.get("GPU", 0) // spec.resources.gpus_per_trial))
    return max(1, n)
