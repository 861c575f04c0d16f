"""A real multi-node Ray cluster on this machine, for the multi-node tests: a head node and
worker nodes as separate ``ray start --block`` processes on 127.0.0.1, one CPU each, token
authentication on, each node with its own ``--temp-dir`` and ports.

Every node is a process tree this module started (``ray start --block`` -> raylet -> agents and
workers), so a node is lost exactly as a machine would be: every process of its tree is frozen
(SIGSTOP, so none can start another) and then killed (SIGKILL), by PID. Nothing else is touched,
and ``ray stop`` (which stops every Ray of the user) is never used.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

START_S = 120.0          # an upper bound on a node's start under CI load, not a timing
OBJECT_STORE_BYTES = 80 * 1024 ** 2


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            tree.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return tree


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it (by parent PID), root first."""
    tree, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop(0)
        if pid not in found:
            found.append(pid)
            todo.extend(tree.get(pid, []))
    return found


def kill_tree(root: int) -> list[int]:
    """Kill ``root`` and every process under it; returns their PIDs. The tree is frozen first
    (SIGSTOP, repeated until no new process appears), so a raylet cannot start a worker, and a
    child cannot be re-parented away, between listing the tree and killing it."""
    frozen: list[int] = []
    while True:
        new = [p for p in process_tree(root) if p not in frozen]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        frozen.extend(new)
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return frozen


@dataclass
class Node:
    """One ``ray start --block`` process and its log."""
    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class LoopbackCluster:
    """Head + ``workers`` worker nodes on 127.0.0.1 (``start``), token authentication on;
    ``env`` is the environment of every node, and what a driver needs to join the cluster
    (``RAY_ADDRESS`` and the token included)."""
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rc", dir="/tmp")))
    workers: int = 2
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)   # e.g. the S3 endpoint, every node
    nodes: list[Node] = field(default_factory=list)
    started: int = 0                      # nodes started so far (names their folders)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("RAY_") and k != "SSVAE_SPLIT_DIR"}
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token, RAY_ADDRESS=self.address,
                   PYTHONUNBUFFERED="1", **self.extra_env)
        return env

    def _ray_start(self, name: str, args: list[str]) -> Node:
        # Short folders: Ray's socket paths must fit in 107 characters.
        # Its own folder, also for a node that replaces a lost one of the same name.
        self.started += 1
        temp = self.root / f"{self.started}-{name}"
        temp.mkdir(parents=True)
        log = temp.with_suffix(temp.suffix + ".log")
        ports = [f"--{flag}={free_port()}" for flag in (
            "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
            "runtime-env-agent-port", "metrics-export-port")]
        ray = Path(sys.executable).with_name("ray")
        command = [str(ray) if ray.exists() else "ray", "start", "--block",
                   "--node-ip-address=127.0.0.1", "--num-cpus=1",
                   f"--object-store-memory={OBJECT_STORE_BYTES}", f"--temp-dir={temp}",
                   "--disable-usage-stats", *ports, *args]
        with open(log, "ab") as handle:
            proc = subprocess.Popen(command, env=self.env, stdout=handle,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        node = Node(name, proc, log)
        self.nodes.append(node)
        self._wait_started(node)
        return node

    def _wait_started(self, node: Node) -> None:
        deadline = time.time() + START_S
        while time.time() < deadline:
            if "Ray runtime started" in node.log.read_text(errors="replace"):
                return
            if not node.alive():
                raise RuntimeError(f"{node.name} did not start:\n"
                                   f"{node.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"{node.name} did not start in {START_S:.0f} s")

    def start(self) -> "LoopbackCluster":
        self._ray_start("head", [f"--port={self.port}", "--head", "--include-dashboard=false"])
        for i in range(self.workers):
            self._ray_start(f"worker{i + 1}", [f"--address={self.address}"])
        return self

    def revive(self) -> list[str]:
        """Start a new node for every lost worker node (the head must be alive); returns their
        names."""
        if not self.node("head").alive():
            raise RuntimeError("the head node is lost: start a new cluster instead")
        lost = [n for n in self.nodes if n.name != "head" and not n.alive()]
        for node in lost:
            self.nodes.remove(node)
            self._ray_start(node.name, [f"--address={self.address}"])
        return [n.name for n in lost]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def kill(self, name: str) -> list[int]:
        """Lose one node: every process of its tree, by PID."""
        node = self.node(name)
        pids = kill_tree(node.proc.pid)
        node.proc.wait(timeout=30)
        return pids

    def stop(self) -> None:
        """Kill every node this cluster started and remove its folders. A process of a node
        whose ``ray start`` had already ended (re-parented, so not in a tree any more) is found
        by its session folder, which lies under this cluster's own ``root``."""
        from tune.ray_session import session_processes

        for node in self.nodes:
            if node.alive():
                kill_tree(node.proc.pid)
        for pid in session_processes(str(self.root)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for node in self.nodes:
            node.proc.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)
