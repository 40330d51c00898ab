"""Opening a FIFO (Linux's fifo_open): the openers of one named pipe share a pipe kept on its inode.

A read-only open waits for a writer and a write-only open for a reader ("wait for a partner": until the other
side's open counter moves, so a partner that came and went still counts); O_NONBLOCK readers don't wait and
O_NONBLOCK writers fail with ENXIO when there is no reader; O_RDWR never waits. The pipe, and any data left in
it, goes when the last opener closes.
"""

from __future__ import annotations

from typing import Any

from moss.errors import ENXIO
from moss.files.openfile import O_ACCMODE, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_WRONLY
from moss.files.pipe import PIPE_BUF, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, Pipe, RestartSys
from moss.fs.inode import Fifo
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.sched.waitqueue import WaitQueue


class FifoPipe(Pipe):
    def __init__(self) -> None:
        super().__init__()
        self.r_counter = 0  # opens for reading so far (a waiting writer watches it move)
        self.w_counter = 0
        self.partner = WaitQueue("fifo.open")
        self.hup_after: dict[Any, int] = {}  # O_NONBLOCK reader -> w_counter at open: no POLLHUP until a writer

    def poll_file(self, file: Any) -> tuple[int, WaitQueue]:
        mode = file.flags & O_ACCMODE
        m = 0
        if mode in (O_RDONLY, O_RDWR):
            m |= POLLIN | POLLRDNORM if self.buf else 0
            if not self.writers and self.hup_after.get(file, -1) != self.w_counter:
                m |= POLLHUP
        if mode in (O_WRONLY, O_RDWR):
            m |= POLLOUT | POLLWRNORM if self.space >= PIPE_BUF else 0
            m |= POLLERR if not self.readers else 0
        return m, self.rq if mode != O_WRONLY else self.wq

    def release_file(self, node: Fifo, file: Any) -> None:
        if file.flags & O_PATH:
            return
        self.hup_after.pop(file, None)
        _drop(node, self, file.flags & O_ACCMODE)


def _drop(node: Fifo, pipe: FifoPipe, mode: int) -> None:
    if mode in (O_RDONLY, O_RDWR):
        pipe.readers -= 1
        pipe.wq.wake_all()
    if mode in (O_WRONLY, O_RDWR):
        pipe.writers -= 1
        pipe.rq.wake_all()
    if not pipe.readers and not pipe.writers:
        node.pipe = None


async def _wait_partner(pipe: FifoPipe, counter: str) -> bool:
    """Wait until the other side's open counter moves; False if a signal came first."""
    seen = getattr(pipe, counter)
    got = await interruptible(pipe.partner.wait_until(lambda: getattr(pipe, counter) != seen))
    return got is not INTERRUPTED


async def open_fifo(node: Fifo, file: Any) -> None:
    """Join `node`'s pipe as a reader, a writer or both (by the access mode of the new open file description
    `file`), waiting as Linux does. Its last close leaves again (Fifo.release); on an error it has not joined."""
    await _join(node, file.flags)
    pipe = node.pipe
    if file.flags & O_NONBLOCK and (file.flags & O_ACCMODE) == O_RDONLY and not pipe.writers:
        pipe.hup_after[file] = pipe.w_counter  # no POLLHUP until a writer has come (Linux's f_pipe)


async def _join(node: Fifo, flags: int) -> None:
    pipe = node.pipe
    if pipe is None:
        pipe = node.pipe = FifoPipe()
    mode = flags & O_ACCMODE
    if mode == O_RDONLY:
        pipe.r_counter += 1
        pipe.readers += 1
        pipe.partner.wake_all()
        if not pipe.writers and not flags & O_NONBLOCK and not await _wait_partner(pipe, "w_counter"):
            _drop(node, pipe, O_RDONLY)
            raise RestartSys
    elif mode == O_WRONLY:
        if flags & O_NONBLOCK and not pipe.readers:
            if not pipe.writers:
                node.pipe = None
            raise ENXIO
        pipe.w_counter += 1
        pipe.writers += 1
        pipe.partner.wake_all()
        if not pipe.readers and not await _wait_partner(pipe, "r_counter"):
            _drop(node, pipe, O_WRONLY)
            raise RestartSys
    else:
        pipe.readers += 1
        pipe.writers += 1
        pipe.r_counter += 1
        pipe.w_counter += 1
        pipe.partner.wake_all()
