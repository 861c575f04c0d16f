"""The local Ray a study's driver started, and what a killed driver left of it.

A driver that starts Ray itself (no ``RAY_ADDRESS``) records the Ray session in
``<study>/ray_session.json``: its own PID and Ray's session folder. Ray's head processes (GCS,
raylet, monitors, dashboard) name that folder on their command lines; the agents and workers are
their descendants. ``ray.shutdown()`` stops them when the driver ends normally. After ``kill -9``
of the driver alone the head processes follow it, but agents (``ray::DashboardAgent``,
``ray::RuntimeEnvAgent``) and workers can keep running, orphaned, under names that no longer say
which session they belong to; they still hold the session's log files open. The next driver of
the same study stops exactly those processes, and nothing else (never ``ray stop``, which stops
every Ray of the user). A recorded driver that is still alive means a second driver on the same
study: refused.

Linux only (``/proc``); elsewhere the cleanup is skipped with a message.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

RECORD = "ray_session.json"


class SecondDriver(RuntimeError):
    """Another live driver runs this study."""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _uses(pid: int, folder: str) -> bool:
    """Does ``pid`` hold a file under ``folder`` open (Ray's processes keep their logs open)?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(folder):
                return True
        except OSError:
            continue
    return False


def session_processes(session_dir: str) -> list[int]:
    """PIDs of the processes of the Ray session in ``session_dir``: those whose command line
    names it or that hold a file of it open (agents such as ``ray::DashboardAgent`` rename
    themselves and outlive their raylet), and their descendants."""
    name = os.path.basename(session_dir.rstrip("/"))
    folder = session_dir.rstrip("/") + "/"
    roots = [int(p) for p in os.listdir("/proc") if p.isdigit()
             and (name in _cmdline(int(p)) or _uses(int(p), folder))]
    tree, found, todo = _children(), [], list(roots)
    while todo:
        pid = todo.pop()
        if pid in found or pid == os.getpid():
            continue
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def _alive_driver(pid: int) -> bool:
    return pid != os.getpid() and "search" in _cmdline(pid)


def refuse_second_driver(study_dir: Path) -> None:
    """Raise SecondDriver when another driver of this study is still running."""
    path = study_dir / RECORD
    if not path.exists():
        return
    pid = int(json.loads(path.read_text())["driver_pid"])
    if _alive_driver(pid):
        raise SecondDriver(f"another driver (PID {pid}) is running this study ({study_dir}); "
                           f"wait for it or stop it, then run the command again")


def clean_up(study_dir: Path) -> int:
    """Before starting Ray: stop what a killed driver of this study left running; returns how
    many processes were stopped. Raises SecondDriver when that driver is alive."""
    refuse_second_driver(study_dir)
    path = study_dir / RECORD
    if not path.exists():
        return 0
    record = json.loads(path.read_text())
    if not Path("/proc").is_dir():
        print(f"[tune] cannot look for processes left by an earlier driver here (no /proc); "
              f"its Ray session was {record['session_dir']}", flush=True)
        path.unlink()
        return 0
    if not record.get("session_dir"):          # that driver had joined a cluster
        path.unlink()
        return 0
    pids = session_processes(record["session_dir"])
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f"/proc/{p}").exists() and _cmdline(p) for p in pids):
        time.sleep(0.1)
    if pids:
        print(f"[tune] stopped {len(pids)} process(es) left running by the earlier, killed "
              f"driver of this study (Ray session {os.path.basename(record['session_dir'])})",
              flush=True)
    path.unlink()
    return len(pids)


def record(study_dir: Path, session_dir: str | None) -> None:
    """This driver runs the study; ``session_dir``: the Ray it started (None: joined one)."""
    study_dir.mkdir(parents=True, exist_ok=True)
    tmp = study_dir / f"{RECORD}.tmp"
    tmp.write_text(json.dumps({"driver_pid": os.getpid(), "session_dir": session_dir}))
    tmp.replace(study_dir / RECORD)


def forget(study_dir: Path) -> None:
    """The driver ended and shut its Ray down: nothing to clean up."""
    (study_dir / RECORD).unlink(missing_ok=True)
