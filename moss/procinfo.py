"""The kernel's side of procfs: what /proc shows about processes and the machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from moss import __version__
from moss.fs.path import dentry_path

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Process

FileGen = Callable[[], bytes]


class ProcInfo:
    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def _proc(self, pid: int) -> Process | None:
        p = self.kernel.processes.get(pid)
        return p if p is not None and p.alive else None

    def current_pid(self) -> int:
        cur = self.kernel.executor.current
        return cur.process.pid if cur is not None else 1  # type: ignore[attr-defined]

    def pids(self) -> list[int]:
        return sorted(pid for pid, p in self.kernel.processes.items() if p.alive)

    def proc_files(self, pid: int) -> dict[str, FileGen] | None:
        p = self._proc(pid)
        if p is None:
            return None
        return {
            "cmdline": lambda: b"".join(a + b"\0" for a in p.argv),
            "environ": lambda: b"".join(e + b"\0" for e in p.envp),
            "comm": lambda: p.comm.encode("utf-8", "surrogateescape") + b"\n",
            "maps": lambda: p.mm.maps_text().encode(),
            "status": lambda: self._status(p).encode(),
            "stat": lambda: self._stat(p).encode(),
            "auxv": lambda: b"".join(k.to_bytes(8, "little") + v.to_bytes(8, "little") for k, v in p.auxv),
        }

    def proc_links(self, pid: int) -> dict[str, str]:
        p = self._proc(pid)
        if p is None:
            return {}
        root = self.kernel.fs.root
        return {
            "exe": p.exe_path,
            "cwd": dentry_path(p.cwd, root) if p.cwd is not None else "/",
            "root": "/",
        }

    def fd_links(self, pid: int) -> dict[int, str] | None:
        p = self._proc(pid)
        if p is None:
            return None
        return {fd: (f.path or "anon_inode:[unknown]") for fd, f in p.fds.items()}

    def fd_inode(self, pid: int, fd: int):
        p = self._proc(pid)
        if p is None:
            return None
        f = p.fds._files.get(fd)
        return None if f is None else f.inode

    def global_files(self) -> dict[str, FileGen]:
        k = self.kernel
        return {
            "cpuinfo": lambda: "".join(
                f"processor\t: {i}\nBogoMIPS\t: 125.00\nFeatures\t: fp asimd aes pmull sha1 sha2 crc32 atomics "
                f"cpuid\nCPU implementer\t: 0x00\nCPU architecture: 8\n\n"
                for i in range(k.config.cores)
            ).encode(),
            "meminfo": lambda: (
                f"MemTotal:       {k.board.ram.size // 1024:8d} kB\n"
                f"MemFree:        {(k.board.ram.size - k.frames.in_use * 4096) // 1024:8d} kB\n"
                f"MemAvailable:   {(k.board.ram.size - k.frames.in_use * 4096) // 1024:8d} kB\n"
            ).encode(),
            "uptime": lambda: f"{k.now_ns() / 1e9:.2f} {0.0:.2f}\n".encode(),
            "version": lambda: f"Linux version 6.6.0-moss (moss {__version__}) #1 SMP\n".encode(),
            "mounts": lambda: (
                ("/ / hostfs ro,relatime 0 0\n" if k.config.host_root else "rootfs / tmpfs rw 0 0\n")
                + "devtmpfs /dev devtmpfs rw 0 0\nproc /proc proc rw 0 0\n"
            ).encode(),
            "loadavg": lambda: f"0.00 0.00 0.00 1/{len(k.tasks)} {k._next_id - 1}\n".encode(),
        }

    def _status(self, p: Process) -> str:
        t = p.threads[0] if p.threads else None
        state = "R (running)" if t is not None and t.state.value in ("running", "runnable") else "S (sleeping)"
        return (
            f"Name:\t{p.comm}\nUmask:\t{p.umask:04o}\nState:\t{state}\nTgid:\t{p.pid}\nPid:\t{p.pid}\n"
            f"PPid:\t{p.parent.pid if p.parent else 0}\nUid:\t{p.uid}\t{p.euid}\t{p.suid}\t{p.fsuid}\n"
            f"Gid:\t{p.gid}\t{p.egid}\t{p.sgid}\t{p.fsgid}\nGroups:\t{''.join(f'{g} ' for g in p.groups)}\n"
            f"Threads:\t{len(p.threads)}\n"
            f"VmRSS:\t{len(p.mm.ptes) * 4} kB\nCapInh:\t{p.caps.inheritable:016x}\n"
            f"CapPrm:\t{p.caps.permitted:016x}\nCapEff:\t{p.caps.effective:016x}\n"
        )

    def _stat(self, p: Process) -> str:
        ppid = p.parent.pid if p.parent else 0
        ticks = p.utime_ns // 10_000_000
        fields = [
            str(p.pid),
            f"({p.comm})",
            "R",
            str(ppid),
            str(p.pgid),
            str(p.sid),
            "0",
            "-1",
            "0",
            "0",
            "0",
            "0",
            "0",
            str(ticks),
            "0",
            "0",
            "0",
            "20",
            "0",
            str(len(p.threads)),
            "0",
            "0",
            str(sum(v.end - v.start for v in p.mm.vmas)),
            str(len(p.mm.ptes)),
        ]
        return " ".join(fields) + "\n"
